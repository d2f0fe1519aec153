"""Ranked results, rerankers and model ensembles."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import NamedTuple, Protocol, runtime_checkable

import numpy as np
import scipy.sparse as sp

from .errors import ConfigError, DataError


class TopK(NamedTuple):
    """Top-ranked labels per query, best first.

    Attributes
    ----------
    indices : int32 array (n_queries, k); -1 pads rows with fewer than k results
    scores : float32 array (n_queries, k); -inf where ``indices`` is -1
    """

    indices: np.ndarray
    scores: np.ndarray

    def to_csr(self, n_labels: int) -> sp.csr_matrix:
        """Scores as a sparse (n_queries, n_labels) matrix (padding dropped)."""
        valid = self.indices >= 0
        rows = np.repeat(np.arange(self.indices.shape[0]), valid.sum(axis=1))
        return sp.csr_matrix((self.scores[valid].astype(np.float32), (rows, self.indices[valid])),
                             shape=(self.indices.shape[0], n_labels))

    @classmethod
    def from_csr(cls, scores: sp.spmatrix, k: int) -> TopK:
        """The k highest entries of each row of a sparse score matrix (ties: lower label id)."""
        csr = sp.csr_matrix(scores)
        csr.sum_duplicates()
        n = csr.shape[0]
        rows = np.repeat(np.arange(n), np.diff(csr.indptr))
        order = np.lexsort((csr.indices, -csr.data, rows))
        rank = np.arange(order.shape[0]) - np.repeat(csr.indptr[:-1], np.diff(csr.indptr))
        keep = order[rank < k]
        kept_rank = rank[rank < k]
        indices = np.full((n, k), -1, dtype=np.int32)
        out = np.full((n, k), -np.inf, dtype=np.float32)
        indices[rows[keep], kept_rank] = csr.indices[keep]
        out[rows[keep], kept_rank] = csr.data[keep]
        return cls(indices, out)


@runtime_checkable
class Reranker(Protocol):
    """Anything that rescores a model's candidates, e.g. a second model or a cross-encoder.

    ``rerank(X, candidates)`` receives the query features (csr, n_queries rows) and the
    candidates of the first stage, and returns a new :class:`TopK` (any k).
    """

    def rerank(self, X: sp.csr_matrix, candidates: TopK) -> TopK: ...


def ensemble(results: Sequence[TopK], n_labels: int, method: str = "average",
             top_k: int | None = None, weights: Sequence[float] | None = None) -> TopK:
    """Combine the rankings of several models over the same queries.

    Parameters
    ----------
    results : sequence of TopK, all with the same number of rows
    method : ``average`` (mean score, 0 where a model did not return the label) or
        ``rank-average`` (mean of ``1 - rank / k``, 0 where absent)
    top_k : labels kept per query (default: the widest input's k)
    weights : optional weight of each model (default equal)
    """
    if not results:
        raise DataError("ensemble needs at least one result")
    n = results[0].indices.shape[0]
    if any(r.indices.shape[0] != n for r in results):
        raise DataError("ensemble: every result must cover the same number of queries")
    if method not in ("average", "rank-average"):
        raise ConfigError(f"ensemble method must be 'average' or 'rank-average'; got {method!r}")
    weights = np.ones(len(results)) if weights is None else np.asarray(weights, dtype=np.float64)
    if weights.shape != (len(results),):
        raise ConfigError("ensemble: one weight per result is needed")
    for r in results:
        _checked_candidates(r, n_labels, ndim=2)
    total = sp.csr_matrix((n, n_labels), dtype=np.float32)
    for w, r in zip(weights, results, strict=True):
        if method == "average":
            part = r.to_csr(n_labels)
        else:
            k = r.indices.shape[1]
            ranked = TopK(r.indices, np.broadcast_to(1.0 - np.arange(k) / k, r.indices.shape)
                          .astype(np.float32))
            part = ranked.to_csr(n_labels)
        total = total + part * (w / weights.sum())
    return TopK.from_csr(total, top_k or max(r.indices.shape[1] for r in results))


@runtime_checkable
class Predictor(Protocol):
    """Anything that ranks labels for a batch: ``predict(X, top_k=k) -> TopK``.

    :class:`xmr.XLinearModel` is one; so is a user's own matcher (an ANN index, a rule system).
    """

    def predict(self, X, *, top_k: int) -> TopK: ...


class ScoreReranker:
    """Rescore first-stage candidates with another model's pair scores.

    The new score is ``alpha * first + (1 - alpha) * second``, where ``second`` comes from
    ``model.score(X, rows, labels)`` (e.g. an XLinearModel trained on other features or with
    another loss). ``alpha = 0`` ranks by the second model alone.
    """

    def __init__(self, model, alpha: float = 0.0, X_transform=None) -> None:
        if not 0.0 <= alpha <= 1.0:
            raise ConfigError(f"ScoreReranker.alpha must be in [0, 1]; got {alpha!r}")
        self.model = model
        self.alpha = alpha
        self.X_transform = X_transform

    def rerank(self, X, candidates: TopK) -> TopK:
        valid = candidates.indices >= 0
        rows = np.repeat(np.arange(candidates.indices.shape[0]), valid.sum(axis=1))
        labels = candidates.indices[valid]
        Xs = X if self.X_transform is None else self.X_transform(X)
        second = self.model.score(Xs, rows, labels)
        combined = self.alpha * candidates.scores[valid] + (1.0 - self.alpha) * second
        n_labels = int(labels.max()) + 1 if labels.size else 1
        mat = sp.csr_matrix((combined.astype(np.float32), (rows, labels)),
                            shape=(candidates.indices.shape[0], n_labels))
        return TopK.from_csr(mat, candidates.indices.shape[1])


class TwoStage:
    """A first stage that proposes ``n_candidates`` labels and a reranker that orders them.

    Parameters
    ----------
    first : Predictor (e.g. an XLinearModel with a wide beam)
    reranker : Reranker
    n_candidates : how many first-stage labels the reranker sees per query
    """

    def __init__(self, first: Predictor, reranker: Reranker, n_candidates: int = 100) -> None:
        if n_candidates < 1:
            raise ConfigError(f"TwoStage.n_candidates must be >= 1; got {n_candidates!r}")
        self.first = first
        self.reranker = reranker
        self.n_candidates = n_candidates

    def predict(self, X, *, top_k: int = 10) -> TopK:
        candidates = self.first.predict(X, top_k=self.n_candidates)
        out = self.reranker.rerank(X, candidates)
        return TopK(out.indices[:, :top_k], out.scores[:, :top_k])


class TextMatchReranker:
    """Blend a model's candidate scores with the cosine between the query and each candidate's
    own text features: ``(1 - weight) * score + weight * <x, label_features[label]>``.

    Useful when many labels were rarely or never a training positive (new products): their
    classifiers know little, their text still matches the query.

    Parameters
    ----------
    label_features : csr_matrix (n_labels, n_features), rows L2-normalized (e.g. title TF-IDF)
    weight : float in [0, 1]
    """

    def __init__(self, label_features: sp.csr_matrix, weight: float) -> None:
        from .sparse import as_csr

        if not 0.0 <= weight <= 1.0:
            raise ConfigError(f"TextMatchReranker.weight must be in [0, 1]; got {weight!r}")
        self.label_features = as_csr(label_features, name="label_features")
        self.weight = float(weight)
        self._local = threading.local()

    def rerank(self, X: sp.csr_matrix, candidates: TopK) -> TopK:
        from ._kernels.rerank import candidate_dots
        from ._threads import parallel_for
        from .sparse import as_csr

        X = as_csr(X, n_cols=self.label_features.shape[1])
        L = self.label_features
        cand = _checked_candidates(candidates, L.shape[0], ndim=2)
        if cand.shape[0] != X.shape[0]:
            raise DataError(f"rerank: {cand.shape[0]} candidate rows for {X.shape[0]} queries")
        sim = np.empty(cand.shape, dtype=np.float32)
        parallel_for(candidate_dots, cand.shape[0], (X.indptr, X.indices, X.data, cand,
                                                     L.indptr, L.indices, L.data, sim))
        valid = cand >= 0
        blended = np.where(valid, (1.0 - self.weight) * np.where(valid, candidates.scores, 0.0)
                           + self.weight * sim, -np.inf).astype(np.float32)
        order = np.argsort(-blended, axis=1, kind="stable")
        return TopK(np.take_along_axis(cand, order, axis=1).astype(np.int32),
                    np.take_along_axis(blended, order, axis=1))

    def rerank_one(self, x: tuple[np.ndarray, np.ndarray], candidates: TopK) -> TopK:
        """Single query ``x = (indices, values)`` (sorted, in range); ``candidates`` of shape
        (k,). Returns the valid candidates, best first (the real-time path: one numba call)."""
        from ._kernels.rerank import rerank_one

        L = self.label_features
        idx, val = np.asarray(x[0]), np.asarray(x[1])
        if idx.ndim != 1 or idx.shape != val.shape or (
                idx.size and (idx.min() < 0 or idx.max() >= L.shape[1])):
            raise DataError(f"rerank_one: the query's indices must be 1-d, in [0, {L.shape[1]}),"
                            " with one value each")
        cand = _checked_candidates(candidates, L.shape[0], ndim=1)
        dense = getattr(self._local, "dense", None)
        if dense is None:  # per-thread scratch: concurrent searches must not share it
            dense = self._local.dense = np.zeros(L.shape[1], dtype=np.float32)
        labels, scores = rerank_one(idx, val, cand, candidates.scores, L.indptr, L.indices,
                                    L.data, dense, self.weight)
        return TopK(labels, scores)


def _checked_candidates(candidates: TopK, n_labels: int, ndim: int) -> np.ndarray:
    """Candidate ids as int64, checked to be -1 (padding) or a label id; DataError otherwise."""
    cand = np.asarray(candidates.indices)
    scores = np.asarray(candidates.scores)
    if cand.ndim != ndim or cand.shape != scores.shape:
        raise DataError(f"candidates must be {ndim}-d indices with one score each; got shapes "
                        f"{cand.shape} and {scores.shape}")
    if cand.size and not np.issubdtype(cand.dtype, np.integer):
        raise DataError(f"candidate ids must be integers; got dtype {cand.dtype}")
    if cand.size and (cand.min() < -1 or cand.max() >= n_labels):
        raise DataError(f"a candidate id is outside [0, {n_labels}) (or -1 for padding)")
    return cand.astype(np.int64)
