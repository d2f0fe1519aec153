"""Configuration of XR-Linear training and inference."""

from __future__ import annotations

from dataclasses import dataclass

from ..config import Config, check_choice, check_range, field
from ..index.config import IndexerConfig
from .postprocess import POST_PROCESSORS

LOSSES = ("l2-svm", "l1-svm", "logistic")
NEGATIVES = ("tfn", "man", "tfn+man")
WEIGHT_STORES = ("float32", "bfloat16")


@dataclass(frozen=True, kw_only=True)
class SolverConfig(Config):
    """One-vs-rest linear models at every tree level. Defaults are PECOS's."""

    loss: str = field("l2-svm", "l2-svm (L2-loss SVM dual CD), l1-svm, logistic")
    Cp: float = field(1.0, "cost of errors on positive rows")
    Cn: float = field(1.0, "cost of errors on negative rows")
    bias: float = field(1.0, "value of the constant bias feature (0 disables the bias)")
    eps: float = field(0.1, "stopping tolerance of the dual solver")
    max_iter: int = field(100, "most passes over a node's rows")
    threshold: float = field(0.1, "drop weights whose absolute value is below this")
    max_nonzeros_per_label: int = field(0, "keep at most this many weights per node (0: no cap)")
    negatives: str = field("tfn", "negative rows: tfn (teacher-forced), man (matcher-aware), "
                                  "tfn+man")
    seed: int = field(0, "seed of the solver's row shuffling")
    weight_store: str = field("float32", "how the trained weights are kept: float32, or "
                                         "bfloat16 (half the bytes, about 3 significant "
                                         "digits; training itself is float32)")

    def validate(self) -> None:
        name = type(self).__name__
        check_choice(name, "loss", self.loss, LOSSES)
        check_range(name, "Cp", self.Cp, 0.0, low_open=True)
        check_range(name, "Cn", self.Cn, 0.0, low_open=True)
        check_range(name, "bias", self.bias, 0.0)
        check_range(name, "eps", self.eps, 0.0, low_open=True)
        check_range(name, "max_iter", self.max_iter, 1)
        check_range(name, "threshold", self.threshold, 0.0)
        check_range(name, "max_nonzeros_per_label", self.max_nonzeros_per_label, 0)
        check_choice(name, "negatives", self.negatives, NEGATIVES)
        check_range(name, "seed", self.seed, 0)
        check_choice(name, "weight_store", self.weight_store, WEIGHT_STORES)


@dataclass(frozen=True, kw_only=True)
class PredictConfig(Config):
    """Default inference knobs stored with a model; every call may override them."""

    beam_size: int = field(10, "nodes kept per level during beam search")
    top_k: int = field(10, "labels returned per query")
    post_processor: str = field("l3-hinge",
                                "score transform/combiner: " + ", ".join(POST_PROCESSORS))

    def validate(self) -> None:
        name = type(self).__name__
        check_range(name, "beam_size", self.beam_size, 1)
        check_range(name, "top_k", self.top_k, 1)
        check_choice(name, "post_processor", self.post_processor, POST_PROCESSORS)


@dataclass(frozen=True, kw_only=True)
class XLinearConfig(Config):
    """Everything that defines an XR-Linear model."""

    normalize_rows: bool = field(True, "scale every input row to unit L2 norm, in training and "
                                       "inference (a no-op for TF-IDF rows; PECOS: false)")
    indexer: IndexerConfig = field(IndexerConfig(), "label indexing")
    solver: SolverConfig = field(SolverConfig(), "per-level linear models")
    predict: PredictConfig = field(PredictConfig(), "inference defaults")
