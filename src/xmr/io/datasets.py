"""Readers and writers for sparse multi-label data sets.

Formats
-------
``xc``
    Extreme Classification Repository: a header ``n_docs n_features n_labels`` then lines
    ``l1,l2,... f:v f:v ...`` with 0-based ids.
``libsvm``
    LIBSVM multi-label: the same lines without a header, 1-based feature indices by default.
``npz``
    A scipy sparse matrix saved with :func:`scipy.sparse.save_npz` (features or labels alone).

Text files may be plain or compressed with gzip, xz or bzip2 (detected from the magic bytes).
"""

from __future__ import annotations

import bz2
import gzip
import lzma
import os
from pathlib import Path
from typing import NamedTuple

import numpy as np
import scipy.sparse as sp

from .._kernels import parse as _parse
from ..errors import DataError
from ..sparse import INDEX_DTYPE, POINTER_DTYPE, VALUE_DTYPE, as_csr, as_label_csr


class Dataset(NamedTuple):
    """Features and labels read from one file.

    Attributes
    ----------
    X : scipy.sparse.csr_matrix, shape (n_docs, n_features), float32
    Y : scipy.sparse.csr_matrix, shape (n_docs, n_labels), float32 with values 1.0
    """

    X: sp.csr_matrix
    Y: sp.csr_matrix


def read_bytes(path: str | os.PathLike) -> bytes:
    """Read a file, transparently decompressing gzip, xz or bzip2 content."""
    path = Path(path)
    if not path.exists():
        raise DataError(f"{path}: no such file")
    if path.is_dir():
        raise DataError(f"{path}: is a directory, expected a data file")
    with open(path, "rb") as fh:
        magic = fh.read(6)
    try:
        if magic[:2] == b"\x1f\x8b":
            with gzip.open(path, "rb") as fh:
                return fh.read()
        if magic[:6] == b"\xfd7zXZ\x00":
            with lzma.open(path, "rb") as fh:
                return fh.read()
        if magic[:3] == b"BZh":
            with bz2.open(path, "rb") as fh:
                return fh.read()
    except (OSError, EOFError, lzma.LZMAError) as exc:
        raise DataError(f"{path}: the compressed file is corrupt or truncated ({exc})") from exc
    return path.read_bytes()


def read_xc(path: str | os.PathLike) -> Dataset:
    """Read an Extreme Classification Repository file (header + ``labels f:v ...`` lines).

    Raises
    ------
    DataError
        Naming the file, the line number and the problem, when the file is malformed or its
        contents disagree with its header.
    """
    data = read_bytes(path)
    newline = data.find(b"\n")
    header_line = data[: newline if newline >= 0 else len(data)].decode("utf-8", "replace")
    parts = header_line.split()
    if len(parts) != 3 or not all(p.isdigit() for p in parts):
        raise DataError(
            f"{path}, line 1: expected a header 'n_docs n_features n_labels', "
            f"got {header_line!r:.80}"
        )
    n_docs, n_features, n_labels = (int(p) for p in parts)
    if max(n_features, n_labels) > _parse.MAX_ID + 1:
        raise DataError(f"{path}, line 1: the header announces {n_features} features and "
                        f"{n_labels} labels; at most {_parse.MAX_ID + 1} of each are supported")
    start = newline + 1 if newline >= 0 else len(data)
    ds = _parse_lines(path, data, start, index_base=0, line_offset=1,
                      n_features=n_features, n_labels=n_labels)
    if ds.X.shape[0] != n_docs:
        raise DataError(f"{path}: the header announces {n_docs} documents, the file has "
                        f"{ds.X.shape[0]}")
    return ds


def read_libsvm(path: str | os.PathLike, n_features: int | None = None,
                n_labels: int | None = None, zero_based: bool = False) -> Dataset:
    """Read a LIBSVM multi-label file (``l1,l2 f:v ...`` lines, no header).

    Parameters
    ----------
    zero_based : bool
        Feature indices start at 0 (True) or 1 (False, LIBSVM's convention). Labels are
        always taken as written.
    n_features, n_labels : int, optional
        Shape of the output; by default the largest id seen plus one.
    """
    data = read_bytes(path)
    return _parse_lines(path, data, 0, index_base=0 if zero_based else 1, line_offset=0,
                        n_features=n_features, n_labels=n_labels)


def _parse_lines(path, data: bytes, start: int, index_base: int, line_offset: int,
                 n_features: int | None, n_labels: int | None) -> Dataset:
    buf = np.frombuffer(data, dtype=np.uint8)
    dummy_i = np.zeros(1, dtype=np.int64)
    dummy_f = np.zeros(1, dtype=np.float32)
    status, line, n_rows, n_lab, n_feat, max_lab, max_feat = _parse.parse_sparse_lines(
        buf, start, index_base, False, dummy_i, dummy_i, dummy_i, dummy_i, dummy_f
    )
    if status != _parse.OK:
        raise DataError(f"{path}, line {line + line_offset}: {_parse.STATUS_MESSAGES[status]}")
    row_ptr = np.zeros(n_rows + 1, dtype=np.int64)
    lab_ptr = np.zeros(n_rows + 1, dtype=np.int64)
    labels = np.zeros(n_lab, dtype=np.int64)
    feat_ids = np.zeros(n_feat, dtype=np.int64)
    feat_vals = np.zeros(n_feat, dtype=np.float32)
    _parse.parse_sparse_lines(buf, start, index_base, True, row_ptr, lab_ptr, labels,
                              feat_ids, feat_vals)
    if n_features is None:
        n_features = max_feat + 1
    elif max_feat >= n_features:
        row = int(np.searchsorted(row_ptr, np.flatnonzero(feat_ids >= n_features)[0], "right"))
        raise DataError(f"{path}, line {row + line_offset}: feature index {int(feat_ids.max())} "
                        f"is out of range for {n_features} features")
    if n_labels is None:
        n_labels = max_lab + 1
    elif max_lab >= n_labels:
        row = int(np.searchsorted(lab_ptr, np.flatnonzero(labels >= n_labels)[0], "right"))
        raise DataError(f"{path}, line {row + line_offset}: label id {int(labels.max())} "
                        f"is out of range for {n_labels} labels")
    X = sp.csr_matrix((feat_vals, feat_ids.astype(INDEX_DTYPE), row_ptr.astype(POINTER_DTYPE)),
                      shape=(n_rows, max(n_features, 0)))
    Y = sp.csr_matrix((np.ones(n_lab, dtype=VALUE_DTYPE), labels.astype(INDEX_DTYPE),
                       lab_ptr.astype(POINTER_DTYPE)), shape=(n_rows, max(n_labels, 0)))
    X = as_csr(X, name=str(path))  # sorts indices, merges duplicates
    Y = as_csr(Y, name=str(path))
    Y.data[:] = 1.0
    return Dataset(X, Y)


def read_npz(path: str | os.PathLike) -> sp.csr_matrix:
    """Read a scipy ``.npz`` sparse matrix into kernel layout."""
    path = Path(path)
    if not path.exists():
        raise DataError(f"{path}: no such file")
    try:
        mat = sp.load_npz(path)
    except Exception as exc:  # scipy raises several types for a bad archive
        raise DataError(f"{path}: not a scipy sparse .npz file ({exc})") from exc
    return as_csr(mat, name=str(path))


def detect_format(path: str | os.PathLike) -> str:
    """Guess ``npz``, ``xc`` or ``libsvm`` from the name and first line of a file."""
    name = str(path).lower()
    if name.endswith(".npz"):
        return "npz"
    data = read_bytes(path)[:4096]
    first = data.split(b"\n", 1)[0].split()
    if len(first) == 3 and all(tok.isdigit() for tok in first):
        return "xc"
    return "libsvm"


def read_dataset(path: str | os.PathLike, fmt: str = "auto",
                 labels_path: str | os.PathLike | None = None, **kwargs) -> Dataset:
    """Read features and labels in any supported format.

    For ``npz``, features come from ``path`` and labels from ``labels_path``.
    """
    if fmt == "auto":
        fmt = detect_format(path)
    if fmt == "xc":
        return read_xc(path)
    if fmt == "libsvm":
        return read_libsvm(path, **kwargs)
    if fmt == "npz":
        X = read_npz(path)
        if labels_path is None:
            raise DataError(f"{path}: an .npz feature file needs a label file (labels_path)")
        Y = as_label_csr(read_npz(labels_path), name=str(labels_path))  # > 0 is a positive
        if Y.shape[0] != X.shape[0]:
            raise DataError(f"{labels_path}: {Y.shape[0]} rows, but {path} has {X.shape[0]}")
        return Dataset(X, Y)
    raise DataError(f"unknown data format {fmt!r}; expected auto, xc, libsvm or npz")


def write_xc(path: str | os.PathLike, X: sp.spmatrix, Y: sp.spmatrix) -> None:
    """Write features and labels as an XC-format text file (gzip when the name ends in .gz)."""
    X = as_csr(X, name="X")
    Y = as_csr(Y, name="Y")
    if X.shape[0] != Y.shape[0]:
        raise DataError(f"X has {X.shape[0]} rows but Y has {Y.shape[0]}")
    lines = [f"{X.shape[0]} {X.shape[1]} {Y.shape[1]}"]
    for i in range(X.shape[0]):  # writing test fixtures; not a hot path
        labs = ",".join(str(j) for j in Y.indices[Y.indptr[i]:Y.indptr[i + 1]])
        feats = " ".join(
            f"{j}:{v:.6g}" for j, v in zip(X.indices[X.indptr[i]:X.indptr[i + 1]],
                                           X.data[X.indptr[i]:X.indptr[i + 1]], strict=True)
        )
        lines.append(f"{labs} {feats}".rstrip())
    text = ("\n".join(lines) + "\n").encode()
    opener = gzip.open if str(path).endswith(".gz") else open
    with opener(path, "wb") as fh:
        fh.write(text)
