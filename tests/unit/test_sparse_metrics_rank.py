from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp

from tests.conftest import random_csr
from xmr import DataError, TopK, ensemble, evaluate
from xmr.sparse import as_csr, as_label_csr, l2_normalize_rows, labels_from_lists


def test_as_csr_normalizes_layout():
    M = sp.coo_matrix(([1.0, 2.0, 3.0], ([0, 0, 1], [2, 2, 0])), shape=(2, 3))
    csr = as_csr(M)
    assert csr.dtype == np.float32 and csr.indices.dtype == csr.indptr.dtype
    assert csr.has_canonical_format
    assert csr.toarray().tolist() == [[0, 0, 3], [3, 0, 0]]
    with pytest.raises(DataError, match="non-finite value.*row 1"):
        as_csr(np.array([[1.0, 0.0], [np.nan, 1.0]]))
    with pytest.raises(DataError, match="has 2 columns; the model expects 3"):
        as_csr(np.ones((1, 2)), n_cols=3)


def test_label_lists_and_errors():
    Y = labels_from_lists([[0, 2], [], [1, 1]])
    assert Y.toarray().tolist() == [[1, 0, 1], [0, 0, 0], [0, 1, 0]]
    with pytest.raises(DataError, match="label id 5 in row 1 is out of range for 3"):
        labels_from_lists([[0], [5]], n_labels=3)
    with pytest.raises(DataError, match="negative label id in row 0"):
        labels_from_lists([[-1]])
    with pytest.raises(DataError, match="rows but the features have"):
        as_label_csr([[0]], n_rows=2)


def test_l2_normalize_rows_unit_norms_and_zero_rows():
    M = l2_normalize_rows(sp.csr_matrix(np.array([[3.0, 4.0], [0.0, 0.0]])))
    assert np.allclose(M.toarray(), [[0.6, 0.8], [0, 0]])


def test_metrics_against_hand_computed_values():
    Y = sp.csr_matrix(np.array([[1, 0, 1, 0], [0, 1, 0, 0], [0, 0, 0, 0]], dtype=np.float32))
    top = TopK(np.array([[2, 1, 0], [3, 0, -1], [0, 1, 2]], dtype=np.int32),
               np.zeros((3, 3), dtype=np.float32))
    m = evaluate(top, Y, ks=(1, 3))
    assert m["P@1"] == pytest.approx(1 / 3)
    assert m["P@3"] == pytest.approx((2 / 3 + 0 + 0) / 3)
    assert m["R@3"] == pytest.approx((1.0 + 0.0) / 2)  # rows without labels are skipped
    idcg = 1 + 1 / np.log2(3)
    assert m["nDCG@3"] == pytest.approx(((1 + 1 / np.log2(4)) / idcg + 0) / 2)
    assert m["MRR"] == pytest.approx((1 + 0 + 0) / 3)


def test_topk_csr_round_trip_and_ensembles():
    a = TopK(np.array([[0, 1], [2, -1]], dtype=np.int32),
             np.array([[0.9, 0.5], [0.7, -np.inf]], dtype=np.float32))
    b = TopK(np.array([[1, 2], [2, 0]], dtype=np.int32),
             np.array([[0.8, 0.1], [0.6, 0.2]], dtype=np.float32))
    back = TopK.from_csr(a.to_csr(3), 2)
    assert back.indices.tolist() == a.indices.tolist()
    avg = ensemble([a, b], 3, "average", top_k=3)
    assert avg.indices[0].tolist() == [1, 0, 2]  # 0.65, 0.45, 0.05
    assert np.allclose(avg.scores[0], [0.65, 0.45, 0.05])
    ranks = ensemble([a, b], 3, "rank-average", top_k=1)
    assert ranks.indices[:, 0].tolist() == [1, 2]
    with pytest.raises(DataError):
        ensemble([a, TopK(a.indices[:1], a.scores[:1])], 3)


def test_text_match_reranker_against_numpy():
    from xmr.rank import TextMatchReranker, TopK
    from xmr.sparse import l2_normalize_rows

    rng = np.random.default_rng(0)
    L = l2_normalize_rows(random_csr(rng, 30, 50, 0.2))
    X = l2_normalize_rows(random_csr(rng, 4, 50, 0.3))
    cand = np.array([[3, 7, -1], [0, 1, 2], [29, 5, 6], [-1, -1, 4]], dtype=np.int32)
    scores = rng.random(cand.shape).astype(np.float32)
    rr = TextMatchReranker(L, 0.3)
    out = rr.rerank(X, TopK(cand, scores))
    cos = (X @ L.T).toarray()
    for i in range(4):
        want = {int(c): 0.7 * scores[i, j] + 0.3 * cos[i, c] for j, c in enumerate(cand[i])
                if c >= 0}
        got = {int(c): float(s) for c, s in zip(out.indices[i], out.scores[i], strict=True)
               if c >= 0}
        assert got == pytest.approx(want, rel=1e-5)
        assert list(got) == sorted(want, key=lambda c: -want[c])
        one = rr.rerank_one((X[i].indices, X[i].data), TopK(cand[i], scores[i]))
        assert one.indices.tolist() == list(got)
        np.testing.assert_allclose(one.scores, list(got.values()), rtol=1e-5)
    with pytest.raises(Exception, match="weight"):
        TextMatchReranker(L, 1.5)
