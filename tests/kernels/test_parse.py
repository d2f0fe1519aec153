"""The byte-level sparse text parser against a plain Python reading."""

from __future__ import annotations

import gzip
import lzma

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from xmr.errors import DataError
from xmr.io.datasets import read_libsvm, read_xc


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.lists(st.integers(0, 9), max_size=3),
                          st.dictionaries(st.integers(0, 19),
                                          st.floats(-1e3, 1e3, allow_nan=False), max_size=5)),
                min_size=1, max_size=8))
def test_xc_parser_matches_python_reference(tmp_path_factory, rows):
    path = tmp_path_factory.mktemp("xc") / "data.txt"
    lines = [f"{len(rows)} 20 10"]
    for labels, feats in rows:
        lab = ",".join(str(v) for v in labels)
        fs = " ".join(f"{j}:{v!r}" for j, v in feats.items())
        lines.append(f"{lab} {fs}".strip() if lab else (" " + fs if fs else ""))
    path.write_text("\n".join(lines) + "\n")
    ds = read_xc(path)
    assert ds.X.shape == (len(rows), 20) and ds.Y.shape == (len(rows), 10)
    for i, (labels, feats) in enumerate(rows):
        assert sorted(set(labels)) == ds.Y[i].indices.tolist()
        dense = np.zeros(20)
        for j, v in feats.items():
            dense[j] = v
        assert np.allclose(ds.X[i].toarray().ravel(), dense.astype(np.float32), rtol=1e-6)


@pytest.mark.parametrize("opener,suffix", [(open, ""), (gzip.open, ".gz"), (lzma.open, ".xz")])
def test_compressed_files_are_read(tmp_path, opener, suffix):
    path = tmp_path / f"d.txt{suffix}"
    with opener(path, "wt") as fh:
        fh.write("2 3 2\n0,1 0:1 2:0.5\n1 1:2e-1\n")
    ds = read_xc(path)
    assert ds.Y.toarray().tolist() == [[1, 1], [0, 1]]
    assert np.allclose(ds.X.toarray(), [[1, 0, 0.5], [0, 0.2, 0]])


@pytest.mark.parametrize("body,line,what", [
    ("2 3 2\n0 0:1\n1 1:x\n", 3, "not a finite number"),
    ("2 3 2\n0 0:1\n1, 1:1\n", 3, "label id"),
    ("2 3 2\n0 0:1\n1 11\n", 3, "index:value"),
    ("2 3 2\n0 0:1\n1 5:1\n", 3, "out of range for 3 features"),
    ("2 3 2\n0 0:1\n7 1:1\n", 3, "out of range for 2 labels"),
    ("3 3 2\n0 0:1\n1 1:1\n", None, "announces 3 documents"),
    ("hello\n0 0:1\n", 1, "header"),
])
def test_malformed_files_name_file_line_and_problem(tmp_path, body, line, what):
    path = tmp_path / "bad.txt"
    path.write_text(body)
    with pytest.raises(DataError) as err:
        read_xc(path)
    msg = str(err.value)
    assert str(path) in msg and what in msg
    if line is not None:
        assert f"line {line}" in msg


def test_libsvm_is_one_based_and_skips_qid(tmp_path):
    path = tmp_path / "d.svm"
    path.write_text("0,2 qid:3 1:1.5 3:2\n1 2:1\n")
    ds = read_libsvm(path)
    assert ds.X.toarray().tolist() == [[1.5, 0, 2], [0, 1, 0]]
    assert ds.Y.toarray().tolist() == [[1, 0, 1], [0, 1, 0]]
    with pytest.raises(DataError, match="line 1"):
        path.write_text("0 0:1\n")
        read_libsvm(path)


def test_missing_file_and_directory(tmp_path):
    with pytest.raises(DataError, match="no such file"):
        read_xc(tmp_path / "nope.txt")
    with pytest.raises(DataError, match="directory"):
        read_xc(tmp_path)
