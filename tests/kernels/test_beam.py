"""Beam search and chunk scoring against an exhaustive numpy reference."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from xmr._kernels import beam as B
from xmr.linear.postprocess import POST_PROCESSORS


def _transform(z, parent, name):
    h = np.maximum(1.0 - z, 0.0)
    if name == "noop":
        return z
    if name == "sigmoid":
        return parent / (1 + np.exp(-z))
    if name == "log-sigmoid":
        return parent + np.log(1 / (1 + np.exp(-z)))
    p = int(name.split("-")[-2][-1])
    if name.startswith("log-"):
        return parent - h ** p
    return parent * np.exp(-(h ** p))


def exhaustive_scores(model, X, name):
    """(n_rows, n_labels) path scores computed level by level with dense numpy algebra."""
    lay = model.layout_
    Xd = X.toarray().astype(np.float64)
    if model.config.normalize_rows:
        norms = np.linalg.norm(Xd, axis=1, keepdims=True)
        Xd = np.divide(Xd, norms, out=np.zeros_like(Xd), where=norms > 0)
    n = Xd.shape[0]
    multiplicative = name == "sigmoid" or (name.endswith("hinge") and not name.startswith("log"))
    root = 1.0 if multiplicative else 0.0
    parent_scores = np.full((n, 1), root)
    for level in range(1, lay.depth + 1):
        W, b = model.layout_.level_weights(level)
        Wd = np.zeros((Xd.shape[1], W.shape[1]))
        Wd[: W.shape[0]] = W.toarray()
        z = Xd @ Wd + b
        parents = model.tree_.parents(level)
        parent_scores = _transform(z, parent_scores[:, parents], name)
    scores = np.empty_like(parent_scores)
    scores[:, lay.label_perm] = parent_scores
    return scores


@pytest.mark.parametrize("name", list(POST_PROCESSORS))
def test_wide_beam_equals_exhaustive_scoring(small_model, small_problem, name):
    X = small_problem.X_test[:40]
    widest = max(small_model.tree_.level_sizes())
    top = small_model.predict(X, beam_size=widest, top_k=7, post_processor=name)
    ref = exhaustive_scores(small_model, X, name)
    ref_sorted = -np.sort(-ref, axis=1)[:, :7]
    assert np.allclose(top.scores, ref_sorted, rtol=1e-4, atol=1e-5)
    picked = np.take_along_axis(ref, top.indices.astype(np.int64), axis=1)
    assert np.allclose(picked, top.scores, rtol=1e-4, atol=1e-5)


def test_predict_one_matches_batch(small_model, small_problem):
    X = small_problem.X_test[:30]
    batch = small_model.predict(X, beam_size=3, top_k=5)
    for i in range(X.shape[0]):
        row = (X.indices[X.indptr[i]:X.indptr[i + 1]], X.data[X.indptr[i]:X.indptr[i + 1]])
        one = small_model.predict_one(row, beam_size=3, top_k=5)
        assert one.indices.tolist() == batch.indices[i].tolist()
        assert np.allclose(one.scores, batch.scores[i])


def test_score_pairs_match_exhaustive(small_model, small_problem):
    X = small_problem.X_test[:10]
    ref = exhaustive_scores(small_model, X, "l3-hinge")
    rows = np.repeat(np.arange(10), 5)
    labels = np.tile(np.array([0, 7, 99, 250, 399]), 10)
    got = small_model.score(X, rows, labels)
    assert np.allclose(got, ref[rows, labels], rtol=1e-4, atol=1e-6)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.integers(-5, 60), min_size=0, max_size=40), st.integers(-10, 70))
def test_lower_bound_matches_searchsorted(values, target):
    arr = np.array(sorted(values), dtype=np.int32)
    assert B.lower_bound(arr, 0, arr.shape[0], target) == np.searchsorted(arr, target, "left")


@settings(max_examples=100, deadline=None)
@given(st.lists(st.floats(-5, 5, allow_nan=False, width=32), min_size=1, max_size=60),
       st.integers(1, 12))
def test_heap_keeps_top_k_sorted(scores, k):
    hs = np.empty(k)
    hn = np.empty(k, dtype=np.int64)
    size = 0
    for node, s in enumerate(scores):
        size = B._heap_push(hs, hn, size, k, s, node)
    out_s = np.empty(k)
    out_n = np.empty(k, dtype=np.int64)
    B._heap_sorted(hs, hn, size, out_s, out_n)
    order = sorted(range(len(scores)), key=lambda i: (-scores[i], i))[:k]
    assert out_n[:size].tolist() == order
    assert size == min(k, len(scores))
