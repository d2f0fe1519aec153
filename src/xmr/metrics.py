"""Ranking metrics over top-k predictions: P@k, R@k, nDCG@k, MRR (all vectorized)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import scipy.sparse as sp

from .errors import DataError
from .rank import TopK


def hits(topk: TopK | np.ndarray, Y: sp.spmatrix) -> np.ndarray:
    """Boolean (n, k) matrix: is the label ranked j-th for row i relevant?

    Parameters
    ----------
    topk : TopK or int array (n, k) of label ids (-1 = no prediction)
    Y : sparse (n, n_labels) ground truth, nonzero = relevant
    """
    pred = topk.indices if isinstance(topk, TopK) else np.asarray(topk)
    Y = sp.csr_matrix(Y)
    if pred.shape[0] != Y.shape[0]:
        raise DataError(f"predictions cover {pred.shape[0]} rows but the truth has {Y.shape[0]}")
    n, k = pred.shape
    valid = pred >= 0
    if pred.size and valid.any() and pred[valid].max() >= Y.shape[1]:
        raise DataError("a predicted label id is beyond the truth matrix's columns")
    rows = np.repeat(np.arange(n), k)
    cols = np.where(valid, pred, 0).ravel()
    found = np.asarray(Y[rows, cols]).ravel() > 0
    return (found & valid.ravel()).reshape(n, k)


def precision_at_k(topk, Y, ks: Sequence[int] = (1, 3, 5)) -> dict[int, float]:
    """Mean over rows of (relevant labels among the top k) / k."""
    h = np.cumsum(hits(topk, Y), axis=1)
    return {k: float(h[:, min(k, h.shape[1]) - 1].mean() / k) for k in ks}


def recall_at_k(topk, Y, ks: Sequence[int] = (1, 3, 5)) -> dict[int, float]:
    """Mean over rows with at least one relevant label of (relevant in top k) / (relevant)."""
    Y = sp.csr_matrix(Y)
    h = np.cumsum(hits(topk, Y), axis=1)
    n_rel = np.diff(Y.indptr)
    has = n_rel > 0
    return {k: float((h[has, min(k, h.shape[1]) - 1] / n_rel[has]).mean()) if has.any() else 0.0
            for k in ks}


def ndcg_at_k(topk, Y, ks: Sequence[int] = (1, 3, 5)) -> dict[int, float]:
    """Binary-relevance nDCG@k, averaged over rows with at least one relevant label."""
    Y = sp.csr_matrix(Y)
    h = hits(topk, Y).astype(np.float64)
    discount = 1.0 / np.log2(np.arange(h.shape[1]) + 2.0)
    dcg = np.cumsum(h * discount, axis=1)
    n_rel = np.diff(Y.indptr)
    ideal = np.cumsum(discount)
    has = n_rel > 0
    out = {}
    for k in ks:
        kk = min(k, h.shape[1])
        idcg = ideal[np.minimum(n_rel[has], kk) - 1]
        out[k] = float((dcg[has, kk - 1] / idcg).mean()) if has.any() else 0.0
    return out


def mrr(topk, Y) -> float:
    """Mean reciprocal rank of the first relevant label in the top k (0 when none)."""
    h = hits(topk, Y)
    first = np.argmax(h, axis=1)
    found = h[np.arange(h.shape[0]), first]
    return float(np.where(found, 1.0 / (first + 1.0), 0.0).mean()) if h.shape[0] else 0.0


def evaluate(topk, Y, ks: Sequence[int] = (1, 3, 5)) -> dict[str, float]:
    """All metrics in one flat dict: ``P@1``, ``R@5``, ``nDCG@3``, ``MRR`` ..."""
    out: dict[str, float] = {}
    for name, fn in (("P", precision_at_k), ("R", recall_at_k), ("nDCG", ndcg_at_k)):
        for k, v in fn(topk, Y, ks).items():
            out[f"{name}@{k}"] = v
    out["MRR"] = mrr(topk, Y)
    return out
