"""The word translation table and query expansion of the product retriever, against dense
reference computations."""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp
from hypothesis import given, settings
from hypothesis import strategies as st

from xmr.apps.retrieval.expansion import QueryExpansion, translation_table


def _reference_top(row: np.ndarray, k: int) -> tuple[list[int], np.ndarray]:
    """The ``k`` heaviest positive entries (ties: lower column), L2-normalized."""
    order = [int(c) for c in np.lexsort((np.arange(row.shape[0]), -row)) if row[c] > 0][:k]
    values = row[order]
    norm = np.linalg.norm(values)
    return order, values / norm if norm > 0 else values


def _problem(seed: int):
    rng = np.random.default_rng(seed)
    n_q, n_p, word_end, n_features = 30, 12, 15, 20
    X = sp.random(n_q, n_features, density=0.2, format="csr", dtype=np.float32,
                  random_state=rng)
    T = sp.random(n_p, n_features, density=0.3, format="csr", dtype=np.float32,
                  random_state=rng)
    labels = [sorted(rng.choice(n_p, size=rng.integers(0, 3), replace=False).tolist())
              for _ in range(n_q)]
    return X, T, labels, word_end


@settings(max_examples=30, deadline=None)
@given(st.integers(0, 10_000), st.integers(1, 6))
def test_translation_table_keeps_the_heaviest_title_words_of_each_query_word(seed, width):
    X, T, labels, word_end = _problem(seed)
    C = translation_table(X, labels, T, word_end, width)
    assert C.shape == (word_end, word_end) and C.dtype == np.float32
    Y = np.zeros((X.shape[0], T.shape[0]))
    for i, row in enumerate(labels):
        Y[i, row] = 1.0
    dense = X.toarray()[:, :word_end].T.astype(np.float64) @ Y @ T.toarray()[:, :word_end]
    for w in range(word_end):
        cols, values = _reference_top(dense[w], width)
        got = C.getrow(w)
        np.testing.assert_allclose(np.sort(got.data)[::-1], np.sort(values)[::-1], rtol=1e-5)
        top = np.sort(dense[w][dense[w] > 0])[::-1][:width + 1]
        if np.all(np.abs(np.diff(top)) > 1e-5 * top[:1].sum()):  # no near-tie: same words
            assert sorted(got.indices.tolist()) == sorted(cols)


@settings(max_examples=30, deadline=None)
@given(st.integers(0, 10_000), st.integers(1, 8))
def test_expansion_is_the_heaviest_translated_words_and_one_equals_batch(seed, n_terms):
    X, T, labels, word_end = _problem(seed)
    C = translation_table(X, labels, T, word_end, 5)
    expansion = QueryExpansion(C, n_terms)
    idx, val = expansion.batch(X)
    assert idx.shape == val.shape == (X.shape[0], n_terms)
    dense = X.toarray()[:, :word_end].astype(np.float64) @ C.toarray()
    for i in range(X.shape[0]):
        cols, values = _reference_top(dense[i], n_terms)
        kept = idx[i] >= 0
        assert np.all(idx[i][~kept] == -1) and np.all(val[i][~kept] == 0)
        np.testing.assert_allclose(val[i][kept], values, rtol=1e-5)
        gaps = np.abs(np.diff(np.sort(dense[i])[::-1][:n_terms + 1]))
        if gaps.size == 0 or gaps.min() > 1e-6:  # no near-tie: the same words, in order
            assert idx[i][kept].tolist() == cols
        row = X.getrow(i)
        one_idx, one_val = expansion.one(row.indices, row.data)
        np.testing.assert_array_equal(one_idx[0], idx[i])
        np.testing.assert_array_equal(one_val[0], val[i])
    E = expansion.as_matrix(idx, val, X.shape[1])
    assert E.shape == X.shape
    np.testing.assert_allclose(np.asarray(E.sum(axis=1)).ravel(), val.sum(axis=1), rtol=1e-6)


def test_words_without_translations_expand_to_nothing():
    X, T, labels, word_end = _problem(0)
    C = translation_table(X, [[] for _ in labels], T, word_end, 5)
    assert C.nnz == 0
    idx, val = QueryExpansion(C, 4).batch(X)
    assert np.all(idx == -1) and np.all(val == 0)
