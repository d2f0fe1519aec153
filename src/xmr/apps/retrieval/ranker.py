"""The learned ranker of hybrid product search: LightGBM lambdarank over candidate features.

LightGBM is used to train only (``pip install "xmr[retrieval]"``); the trees are exported to an
:class:`xmr.trees.TreeEnsemble` that xmr evaluates itself. On the Home Depot validation split a
linear (logistic) ranker on the same features reached recall@10 / @100 of 46.8 / 78.2, LightGBM
49.5 / 80.7, so the dependency earns its place.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np

from ...config import Config, check_range, field
from ...trees import TreeEnsemble, fit_lambdarank
from .features import FEATURES, Candidates

logger = logging.getLogger(__name__)


@dataclass(frozen=True, kw_only=True)
class RankerConfig(Config):
    """LightGBM lambdarank settings and how its training data are made."""

    folds: int = field(2, "cross-fitting folds of the training queries: the candidates of each "
                          "fold come from a model trained without it")
    n_trees: int = field(80, "boosting rounds (each costs time at search)")
    learning_rate: float = field(0.1, "shrinkage")
    num_leaves: int = field(15, "leaves per tree")
    truncation: int = field(30, "lambdarank: pairs are formed with the top this many of each "
                                "query (30: as good as 100 and twice as fast to train)")
    min_data_in_leaf: int = field(50, "smallest leaf")
    max_candidates: int = field(1000, "training candidates kept per query (all positives, "
                                      "then the best by any source)")
    seed: int = field(0, "seed of the fold split and of LightGBM")

    def validate(self) -> None:
        name = type(self).__name__
        check_range(name, "folds", self.folds, 2, 10)
        check_range(name, "n_trees", self.n_trees, 1)
        check_range(name, "learning_rate", self.learning_rate, 0.0, low_open=True)
        check_range(name, "num_leaves", self.num_leaves, 2)
        check_range(name, "min_data_in_leaf", self.min_data_in_leaf, 1)
        check_range(name, "max_candidates", self.max_candidates, 10)
        check_range(name, "truncation", self.truncation, 1)


def trim(cands: Candidates, labels: np.ndarray, keep: int) -> tuple[Candidates, np.ndarray]:
    """Per query, its positive candidates and the others best ranked by any source, at most
    ``keep`` in all (vectorized)."""
    n = cands.ptr.shape[0] - 1
    sizes = np.diff(cands.ptr)
    query = np.repeat(np.arange(n), sizes)
    ranks = cands.features[:, [FEATURES.index("bm25_rank"), FEATURES.index("model_rank"),
                               FEATURES.index("cosine_rank"),
                               FEATURES.index("expansion_rank")]].min(axis=1)
    order = np.lexsort((ranks, labels <= 0, query))  # positives first, then by best rank
    pos_in_query = np.arange(order.shape[0]) - np.repeat(cands.ptr[:-1], sizes)
    kept = np.sort(order[pos_in_query < keep])
    new_sizes = np.bincount(query[kept], minlength=n)
    ptr = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(new_sizes, out=ptr[1:])
    return Candidates(ptr, cands.ids[kept], cands.features[kept]), labels[kept]


def train(cands: Candidates, labels: np.ndarray, cfg: RankerConfig,
          threads: int) -> TreeEnsemble:
    """Fit lambdarank on candidate features and integer relevance labels (0 = not relevant)."""
    cands, labels = trim(cands, labels, cfg.max_candidates)
    trees = fit_lambdarank(cands.features, labels, np.diff(cands.ptr), feature_names=FEATURES,
                           n_trees=cfg.n_trees, learning_rate=cfg.learning_rate,
                           num_leaves=cfg.num_leaves, min_data_in_leaf=cfg.min_data_in_leaf,
                           truncation=cfg.truncation, threads=threads, seed=cfg.seed)
    logger.info("ranker: %d trees on %d queries", cfg.n_trees, cands.ptr.shape[0] - 1)
    return trees
