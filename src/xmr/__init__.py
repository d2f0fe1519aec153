"""xmr: extreme multi-label ranking with label trees, linear matchers and beam search.

Quick start::

    import xmr
    prob = xmr.make_problem(10_000)                    # or xmr.read_xc("train.txt")
    model = xmr.XLinearModel().fit(prob.X_train, prob.Y_train)
    top = model.predict(prob.X_test, beam_size=10, top_k=5)
    print(xmr.evaluate(top, prob.Y_test))
    model.save("model_dir"); model = xmr.load("model_dir")   # memory-mapped
"""

from __future__ import annotations

import logging
import os

from .errors import ConfigError, DataError, ModelFormatError, NotFittedError, XmrError
from .index.config import IndexerConfig
from .index.embed import label_embedding, pifa
from .index.kmeans import hierarchical_kmeans
from .index.tree import LabelTree
from .io.datasets import Dataset, read_dataset, read_libsvm, read_npz, read_xc, write_xc
from .io.store import read_manifest
from .linear.config import PredictConfig, SolverConfig, XLinearConfig
from .linear.model import XLinearModel
from .metrics import evaluate, mrr, ndcg_at_k, precision_at_k, recall_at_k
from .rank import Predictor, Reranker, ScoreReranker, TopK, TwoStage, ensemble
from .synthetic import make_problem

__version__ = "0.1.0"

logging.getLogger(__name__).addHandler(logging.NullHandler())

_LOADERS = {"xmr.xlinear": XLinearModel.load}


def load(path: str | os.PathLike, mmap: bool = True):
    """Load any saved xmr model, dispatching on the format named in its manifest."""
    fmt = read_manifest(path)["format"]
    try:
        loader = _LOADERS[fmt]
    except KeyError:
        raise ModelFormatError(f"{path}: unknown model format {fmt!r}") from None
    return loader(path, mmap=mmap)


__all__ = [
    "ConfigError", "DataError", "Dataset", "IndexerConfig", "LabelTree", "ModelFormatError",
    "NotFittedError", "PredictConfig", "Predictor", "Reranker", "ScoreReranker", "SolverConfig",
    "TopK", "TwoStage", "XLinearConfig",
    "XLinearModel", "XmrError", "ensemble", "evaluate", "hierarchical_kmeans", "label_embedding",
    "load", "make_problem", "mrr", "ndcg_at_k", "pifa", "precision_at_k", "read_dataset",
    "read_libsvm", "read_npz", "read_xc", "recall_at_k", "write_xc",
]
