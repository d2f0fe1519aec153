"""Chunked layout: round trip to per-level CSC weights, chunk scoring vs dense products."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp

from tests.conftest import random_csr
from xmr._kernels import beam as B
from xmr.index.tree import LabelTree
from xmr.linear.layout import build_layout


def _random_model(seed=0, d=40):
    rng = np.random.default_rng(seed)
    tree = LabelTree.from_parents([np.zeros(3, dtype=np.int64), np.array([0, 0, 1, 2, 2, 2, 1])])
    weights, biases, dense = [], [], []
    for size in tree.level_sizes()[1:]:
        W = random_csr(rng, size, d, 0.3).T.tocsc()
        W.sort_indices()
        weights.append((W.indptr.astype(np.int64), W.indices.astype(np.int32), W.data))
        biases.append(rng.normal(size=size).astype(np.float32))
        dense.append(W.toarray())
    return tree, weights, biases, dense


def test_layout_round_trips_level_weights():
    tree, weights, biases, dense = _random_model()
    lay = build_layout(tree, weights, biases, bias_value=2.0)
    for level in (1, 2):
        W, b = lay.level_weights(level)
        got = np.zeros_like(dense[level - 1])
        got[: W.shape[0]] = W.toarray()
        assert np.allclose(got, dense[level - 1])
        assert np.allclose(b, 2.0 * biases[level - 1])
    assert lay.tree().level_sizes() == tree.level_sizes()


@pytest.mark.parametrize("n_features", [40, 4000])
def test_score_chunk_matches_dense_product_on_every_lookup_path(n_features):
    """40 features: chunks are direct-indexed; 4000: binary search (short queries) or a scan
    (long queries). Dense rows are scored by the contiguous loop in every case."""
    tree, weights, biases, dense = _random_model(1)
    lay = build_layout(tree, weights, biases, bias_value=1.0, n_features=n_features)
    rows = np.diff(lay.chunk_row_ptr)
    assert (rows == 40).any() == (n_features == 40)
    entries = np.diff(lay.row_entry_ptr)
    nc_of_row = np.repeat(np.diff(lay.child_start), rows)
    assert (entries == nc_of_row).any()  # some rows are stored dense
    rng = np.random.default_rng(5)
    for density in (0.05, 0.9):
        q = random_csr(rng, 1, 40, density)
        qd = np.zeros(n_features, dtype=np.float32)
        qd[q.indices] = q.data
        z = np.empty(8)
        for g in range(int(lay.level_start[-2])):
            nc = B.score_chunk(g, q.indices, q.data, qd, lay.child_start, lay.chunk_row_ptr,
                               lay.row_feat, lay.row_entry_ptr, lay.entry_child, lay.entry_val,
                               lay.node_bias, z)
            cs = lay.child_start[g]
            level = int(np.searchsorted(lay.level_start, cs, "right")) - 1
            first = cs - lay.level_start[level]
            ref = qd[:40].astype(np.float64) @ dense[level - 1][:, first:first + nc]
            ref += lay.node_bias[cs:cs + nc]
            assert np.allclose(z[:nc], ref, atol=1e-5)


def test_empty_level_weights_are_handled():
    tree = LabelTree.flat(3)
    empty = (np.zeros(4, dtype=np.int64), np.zeros(0, dtype=np.int32),
             np.zeros(0, dtype=np.float32))
    lay = build_layout(tree, [empty], [np.zeros(3, dtype=np.float32)], 1.0)
    assert lay.nnz == 0 and lay.row_feat.shape == (0,)
    assert sp.issparse(lay.level_weights(1)[0])


@pytest.mark.parametrize("fanout, child_dtype", [(7, np.uint8), (256, np.uint8),
                                                 (257, np.uint16), (70_000, np.uint32)])
def test_index_types_are_the_narrowest_that_fit(fanout, child_dtype):
    from xmr.linear.layout import child_offset_dtype, entry_pointer_dtype

    assert child_offset_dtype(fanout) == child_dtype
    assert entry_pointer_dtype(2**31 - 1) == np.int32 and entry_pointer_dtype(2**31) == np.int64


def test_narrow_and_wide_layouts_search_alike():
    """A model whose root has 300 children (uint16 offsets) and its widened copy (format 1's
    uint32 / int64) return the same labels and scores."""
    import xmr
    from xmr.linear.search import beam_search

    rng = np.random.default_rng(4)
    n_labels, d = 300, 60
    X = random_csr(rng, 400, d, 0.2).astype(np.float32)
    Y = sp.csr_matrix((np.ones(400, np.float32), (np.arange(400), rng.integers(0, n_labels, 400))),
                      shape=(400, n_labels))
    model = xmr.XLinearModel().fit(X, Y, tree=LabelTree.flat(n_labels), threads=1)
    lay = model.layout_
    assert lay.entry_child.dtype == np.uint16 and lay.row_entry_ptr.dtype == np.int32
    wide = lay._replace(entry_child=lay.entry_child.astype(np.uint32),
                        row_entry_ptr=lay.row_entry_ptr.astype(np.int64))
    assert wide.narrowed().entry_child.dtype == np.uint16 and lay.narrowed() is lay
    Xq = sp.csr_matrix(X[:50])
    a = beam_search(lay, Xq, np.zeros(0, dtype=np.uint8), 10, 10, 0)
    b = beam_search(wide, Xq, np.zeros(0, dtype=np.uint8), 10, 10, 0)
    assert np.array_equal(a.indices, b.indices) and np.array_equal(a.scores, b.scores)


def test_a_format_1_model_is_resaved_narrow(tmp_path):
    import json
    from pathlib import Path

    import xmr

    fixture = Path(__file__).resolve().parents[1] / "data" / "xlinear_v1"
    old = xmr.load(fixture)
    assert old.layout_.entry_child.dtype == np.uint32  # as format 1 stored it
    new = xmr.load(old.save(tmp_path / "m"))
    manifest = json.loads((xmr.io.store.resolve(tmp_path / "m") / "manifest.json").read_text())
    assert manifest["version"] == type(old).format_version
    assert manifest["arrays"]["entry_val"]["dtype"] == np.dtype(np.float32).str
    assert new.layout_.entry_child.dtype == np.uint8
    assert new.layout_.row_entry_ptr.dtype == np.int32
    X = sp.csr_matrix(np.random.default_rng(0).random((5, old.n_features_)).astype(np.float32))
    assert np.array_equal(old.predict(X).indices, new.predict(X).indices)
