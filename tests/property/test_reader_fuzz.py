"""Fuzz every reader of user files and the sparse-input boundary: any bytes give a result or a
DataError naming the file, never another exception."""

from __future__ import annotations

import gzip
import io

import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import xmr
from xmr import DataError
from xmr.apps.qac import read_queries
from xmr.apps.retrieval import read_catalog, read_judgments
from xmr.apps.text2text import read_items, read_labeled_texts
from xmr.sparse import as_csr

SETTINGS = settings(max_examples=150, deadline=None,
                    suppress_health_check=[HealthCheck.function_scoped_fixture])
VALID_XC = b"3 5 4\n0,1 0:1 3:0.5\n2 1:2\n3 4:1e-3 2:7\n"
VALID_CSV = b"search_term,product_uid,relevance,product_uid2\nred drill,1,3,x\nsaw,2,2.5,y\n"


def _mutate(data: bytes, edits: list[tuple[int, int]]) -> bytes:
    out = bytearray(data)
    for pos, value in edits:
        if out:
            out[pos % len(out)] = value
    return bytes(out)


edits = st.lists(st.tuples(st.integers(0, 10**6), st.integers(0, 255)), max_size=6)
blobs = st.binary(max_size=400)


def _call(reader, path):
    try:
        return reader(path)
    except DataError as exc:
        assert str(path) in str(exc)  # the error names the file
        return None


@SETTINGS
@given(blob=blobs, cuts=edits, compressed=st.booleans())
def test_sparse_text_readers(tmp_path, blob, cuts, compressed):
    for data in (blob, _mutate(VALID_XC, cuts)):
        f = tmp_path / "d.txt"
        f.write_bytes(gzip.compress(data) if compressed else data)
        for reader in (xmr.read_xc, xmr.read_libsvm, xmr.read_dataset):
            result = _call(reader, f)
            if result is not None:
                assert result.X.shape[0] == result.Y.shape[0]
                assert np.all(np.isfinite(result.X.data))


@SETTINGS
@given(blob=blobs, cuts=edits)
def test_table_readers(tmp_path, blob, cuts):
    for data in (blob, _mutate(VALID_CSV, cuts)):
        f = tmp_path / "t.csv"
        f.write_bytes(data)
        _call(lambda p: read_judgments(p, product_column="product_uid"), f)
        _call(lambda p: read_catalog(p, id_column="product_uid", title_column="search_term"), f)


@SETTINGS
@given(blob=blobs, cuts=edits)
def test_line_readers(tmp_path, blob, cuts):
    for data in (blob, _mutate(b"0,1\ta\n1\tb c\n\n2\td\n", cuts)):
        f = tmp_path / "l.txt"
        f.write_bytes(data)
        _call(read_items, f)
        _call(read_labeled_texts, f)
        _call(lambda p: read_labeled_texts(p, n_items=2, labels_required=False), f)
        _call(read_queries, f)


@SETTINGS
@given(cuts=edits, chop=st.integers(0, 2000))
def test_npz_reader(tmp_path, cuts, chop):
    buf = io.BytesIO()
    sp.save_npz(buf, sp.random(6, 5, density=0.4, format="csr", random_state=1),
                compressed=False)
    f = tmp_path / "m.npz"
    data = _mutate(buf.getvalue(), cuts)
    f.write_bytes(data[: len(data) - chop] if chop < len(data) else data)
    _call(xmr.read_npz, f)


@settings(max_examples=300, deadline=None)
@given(n_rows=st.integers(0, 4), n_cols=st.integers(1, 6),
       ptr=st.lists(st.integers(-3, 8), min_size=1, max_size=6),
       idx=st.lists(st.integers(-8, 8), max_size=8), fmt=st.sampled_from(["csr", "csc"]))
def test_as_csr_checks_any_structure(n_rows, n_cols, ptr, idx, fmt):
    """Arbitrary (possibly inconsistent) compressed arrays: a valid matrix or a DataError,
    never a crash inside scipy or a kernel."""
    cls = sp.csr_matrix if fmt == "csr" else sp.csc_matrix
    M = cls((n_rows, n_cols), dtype=np.float32)
    M.indptr = np.asarray(ptr, dtype=np.int32)
    M.indices = np.asarray(idx, dtype=np.int32)
    M.data = np.ones(len(idx), dtype=np.float32)
    try:
        X = as_csr(M)
    except DataError:
        return
    assert X.shape == (n_rows, n_cols) and X.has_canonical_format
    assert X.nnz == 0 or (X.indices.min() >= 0 and X.indices.max() < n_cols)


@pytest.mark.parametrize("text", ["", " ", "\x00", "\ud800", "ｆｕｌｌ", "a" * 5000, "\r\n\t"])
def test_featurizer_takes_any_text(text):
    from xmr.text import TfidfVectorizer

    vec = TfidfVectorizer().fit(["red drill", "blue saw"])
    try:
        idx, val = vec.transform_one(text)
    except DataError:
        assert "\ud800" in text
        return
    assert idx.shape == val.shape
