"""Configuration of label indexing (embedding + hierarchical balanced k-means)."""

from __future__ import annotations

from dataclasses import dataclass

from ..config import Config, check_choice, check_range, field

EMBEDDINGS = ("pifa", "pifa+label-features", "pifa-convex", "label-features")


@dataclass(frozen=True, kw_only=True)
class IndexerConfig(Config):
    """How labels are grouped into a tree.

    Defaults are PECOS's: B = 16, at most 100 labels per leaf cluster, 20 k-means iterations.
    """

    embedding: str = field("pifa", "label embedding: pifa, pifa+label-features (concatenated), "
                                   "pifa-convex (mixed per label by its positives), "
                                   "label-features")
    branching_factor: int = field(16, "children per internal node above the leaf clusters")
    max_leaf_size: int = field(100, "most labels in one leaf cluster")
    n_iter: int = field(20, "2-means iterations per split")
    seed: int = field(0, "random seed of the k-means initialization")

    def validate(self) -> None:
        name = type(self).__name__
        check_choice(name, "embedding", self.embedding, EMBEDDINGS)
        check_range(name, "branching_factor", self.branching_factor, 2)
        check_range(name, "max_leaf_size", self.max_leaf_size, 1)
        check_range(name, "n_iter", self.n_iter, 1)
        check_range(name, "seed", self.seed, 0)
