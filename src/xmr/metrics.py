"""Ranking metrics: P@k, R@k, nDCG@k (binary or graded), MRR, success@k and BLEU.

Everything is computed from a boolean *hits* matrix (row i, rank j: is the j-th result of query
i relevant?), built once from label ids (:func:`hits`) or from suggested strings
(:func:`string_hits`), so the library, the applications and the benchmarks share one
definition of each metric. All vectorized.
"""

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
    return _lookup(pred, sp.csr_matrix(Y)) > 0


def _lookup(pred: np.ndarray, M: sp.csr_matrix) -> np.ndarray:
    """float64 (n, k): ``M[i, pred[i, j]]`` (0 where ``pred`` is -1)."""
    if pred.ndim != 2:
        raise DataError(f"predictions must be 2-d (queries, ranks); got shape {pred.shape}")
    if pred.shape[0] != M.shape[0]:
        raise DataError(f"predictions cover {pred.shape[0]} rows but the truth has {M.shape[0]}")
    n, k = pred.shape
    valid = pred >= 0
    if pred.size and valid.any() and pred[valid].max() >= M.shape[1]:
        raise DataError("a predicted label id is beyond the truth matrix's columns")
    rows = np.repeat(np.arange(n), k)
    cols = np.where(valid, pred, 0).ravel()
    found = np.asarray(M[rows, cols], dtype=np.float64).ravel()
    return np.where(valid.ravel(), found, 0.0).reshape(n, k)


def string_hits(suggestions: Sequence[Sequence[str]], targets: Sequence[str],
                k: int = 10) -> np.ndarray:
    """Boolean (n, k): is the j-th suggestion for example i exactly its target string?"""
    if len(suggestions) != len(targets):
        raise DataError(f"{len(suggestions)} suggestion lists for {len(targets)} targets")
    out = np.zeros((len(targets), k), dtype=bool)
    for i, (sugg, target) in enumerate(zip(suggestions, targets, strict=True)):
        for j, s in enumerate(list(sugg)[:k]):  # string comparison: one pass per evaluation
            if s == target:
                out[i, j] = True
                break
    return out


def reciprocal_ranks(hit: np.ndarray) -> np.ndarray:
    """float64 (n,): 1 / rank of the first hit of each row (0 when none)."""
    if hit.shape[1] == 0:
        return np.zeros(hit.shape[0])
    first = np.argmax(hit, axis=1)
    found = hit[np.arange(hit.shape[0]), first]
    return np.where(found, 1.0 / (first + 1.0), 0.0)


def success_at_k(hit: np.ndarray, k: int) -> np.ndarray:
    """float64 (n,): 1 when a hit is among the first ``k`` results."""
    return hit[:, :k].any(axis=1).astype(np.float64)


def precision_at_k(topk, Y, ks: Sequence[int] = (1, 3, 5)) -> dict[int, float]:
    """Mean over rows of (relevant labels among the top k) / k."""
    h = np.cumsum(hits(topk, Y), axis=1)
    return {k: float(h[:, min(k, h.shape[1]) - 1].mean() / k) if h.size else 0.0 for k in ks}


def recall_at_k(topk, Y, ks: Sequence[int] = (1, 3, 5)) -> dict[int, float]:
    """Mean over rows with at least one relevant label of (relevant in top k) / (relevant)."""
    Y = sp.csr_matrix(Y)
    h = np.cumsum(hits(topk, Y), axis=1)
    n_rel = np.diff(Y.indptr)
    has = n_rel > 0
    return {k: float((h[has, min(k, h.shape[1]) - 1] / n_rel[has]).mean())
            if has.any() and h.shape[1] else 0.0 for k in ks}


def ndcg_at_k(topk, Y, ks: Sequence[int] = (1, 3, 5),
              gains: sp.spmatrix | None = None) -> dict[int, float]:
    """nDCG@k averaged over rows with at least one relevant label.

    Binary relevance by default; with ``gains`` (sparse (n, n_labels), e.g. graded relevance
    of every judged label) the gain of a result is its entry there and the ideal ranking sorts
    each row's gains.
    """
    Y = sp.csr_matrix(Y)
    pred = topk.indices if isinstance(topk, TopK) else np.asarray(topk)
    has = np.diff(Y.indptr) > 0
    if gains is None:
        G = Y.copy()
        G.data[:] = 1.0
    else:
        G = sp.csr_matrix(gains, dtype=np.float64)
        if G.shape != Y.shape:
            raise DataError(f"gains have shape {G.shape}, the truth {Y.shape}")
    g = _lookup(pred, G)
    width = max(max(ks), 1)
    discount = 1.0 / np.log2(np.arange(width) + 2.0)
    ideal = _ideal_dcg(G, width, discount)
    out = {}
    for k in ks:
        kk = min(k, g.shape[1])
        dcg = (g[:, :kk] * discount[:kk]).sum(axis=1)
        idcg = ideal[:, k - 1]
        ok = has & (idcg > 0)
        out[k] = float(np.where(ok, dcg / np.where(ok, idcg, 1.0), 0.0)[has].mean()) \
            if has.any() else 0.0
    return out


def _ideal_dcg(G: sp.csr_matrix, width: int, discount: np.ndarray) -> np.ndarray:
    """(n, width): DCG of each row's gains sorted best first, cut at 1..width."""
    n = G.shape[0]
    counts = np.diff(G.indptr)
    rows = np.repeat(np.arange(n), counts)
    order = np.lexsort((-G.data, rows))
    rank = np.arange(order.shape[0]) - np.repeat(G.indptr[:-1], counts)
    keep = rank < width
    sorted_gains = np.zeros((n, width))
    sorted_gains[rows[order][keep], rank[keep]] = G.data[order][keep]
    return np.cumsum(sorted_gains * discount, axis=1)


def mrr(topk, Y) -> float:
    """Mean reciprocal rank of the first relevant label in the top k (0 when none)."""
    h = hits(topk, Y)
    return float(reciprocal_ranks(h).mean()) if h.shape[0] else 0.0


def evaluate(topk, Y, ks: Sequence[int] = (1, 3, 5),
             gains: sp.spmatrix | None = None) -> dict[str, float]:
    """All metrics in one flat dict: ``P@1``, ``R@5``, ``nDCG@3``, ``MRR`` ...

    ``gains`` makes nDCG graded (see :func:`ndcg_at_k`).
    """
    out: dict[str, float] = {}
    for k, v in precision_at_k(topk, Y, ks).items():
        out[f"P@{k}"] = v
    for k, v in recall_at_k(topk, Y, ks).items():
        out[f"R@{k}"] = v
    for k, v in ndcg_at_k(topk, Y, ks, gains).items():
        out[f"nDCG@{k}"] = v
    out["MRR"] = mrr(topk, Y)
    return out


def bleu_scores(suggestions: Sequence[Sequence[str]], targets: Sequence[str],
                k: int = 10) -> np.ndarray:
    """float64 (n,): sacrebleu sentence BLEU (13a tokens, ``exp`` smoothing, effective order)
    of each suggestion against the target, in [0, 1], averaged with weights 1/(i+1) over the
    (at most ``k``) suggestions returned; 0 when none is. Needs sacrebleu
    (``pip install "xmr[eval]"``)."""
    try:
        from sacrebleu.metrics import BLEU
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ImportError("BLEU needs sacrebleu: pip install 'xmr[eval]'") from exc
    scorer = BLEU(effective_order=True)
    out = np.zeros(len(targets))
    for i, (sugg, target) in enumerate(zip(suggestions, targets, strict=True)):
        top = list(sugg)[:k]
        if top:  # sacrebleu scores one sentence per call
            w = 1.0 / np.arange(1, len(top) + 1)
            b = np.array([scorer.sentence_score(s, [target]).score / 100.0 for s in top])
            out[i] = float((w * b).sum() / w.sum())
    return out
