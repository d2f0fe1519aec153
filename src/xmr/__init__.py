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

from ._version import __version__ as __version__
from .errors import ConfigError, DataError, ModelFormatError, NotFittedError, XmrError
from .index.config import IndexerConfig
from .index.embed import label_embedding, pifa
from .index.kmeans import hierarchical_kmeans
from .index.tree import LabelTree
from .io.datasets import Dataset, read_dataset, read_libsvm, read_npz, read_xc, write_xc
from .io.persist import Persistent, describe
from .linear.config import PredictConfig, SolverConfig, XLinearConfig
from .linear.model import XLinearModel
from .metrics import evaluate, mrr, ndcg_at_k, precision_at_k, recall_at_k
from .rank import Predictor, Reranker, ScoreReranker, TopK, TwoStage, ensemble
from .synthetic import make_problem

logging.getLogger(__name__).addHandler(logging.NullHandler())


def load(path: str | os.PathLike, *, mmap: bool = True, verify: bool = False) -> Persistent:
    """Load any saved xmr model (XR-Linear, TF-IDF, text2text, retrieval, qac, ...),
    dispatching on the format named in its manifest.

    Parameters
    ----------
    path : model directory
    mmap : bool
        Map arrays from disk (instant start-up, pages shared between processes).
    verify : bool
        First check every file against the sha256 recorded in the manifest.

    Raises
    ------
    ModelFormatError
        Naming the directory and the part when the model is missing, damaged or of a format
        or version this xmr does not read.
    """
    from .io.persist import load_path

    return load_path(path, mmap=mmap, verify=verify)


__all__ = [
    "ConfigError", "DataError", "Dataset", "IndexerConfig", "LabelTree", "ModelFormatError",
    "NotFittedError", "Persistent", "PredictConfig", "Predictor", "Reranker", "ScoreReranker",
    "SolverConfig", "TopK", "TwoStage", "XLinearConfig", "XLinearModel", "XmrError", "describe",
    "ensemble", "evaluate", "hierarchical_kmeans", "label_embedding", "load", "make_problem",
    "mrr", "ndcg_at_k", "pifa", "precision_at_k", "read_dataset", "read_libsvm", "read_npz",
    "read_xc", "recall_at_k", "write_xc",
]
