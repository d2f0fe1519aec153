"""Bring user inputs into the one layout the kernels use, once, with clear errors.

Kernel layout of a sparse matrix: CSR with ``float32`` values, column indices sorted within each
row, no explicit duplicates. Indices and row pointers share one integer dtype, as scipy requires:
``int32`` while the matrix fits, ``int64`` beyond 2**31 nonzeros (kernels accept both).
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from .errors import DataError

VALUE_DTYPE = np.float32
INDEX_DTYPE = np.int32
POINTER_DTYPE = np.int64


def as_csr(matrix, name: str = "X", n_cols: int | None = None) -> sp.csr_matrix:
    """Return ``matrix`` as a kernel-layout CSR matrix, after checking it.

    Parameters
    ----------
    matrix : scipy.sparse matrix or array, shape (n_rows, n_cols)
        Dense 2-d arrays are accepted and converted.
    name : str
        Name used in error messages.
    n_cols : int, optional
        When given, the number of columns must equal it.

    Returns
    -------
    scipy.sparse.csr_matrix
        float32 data, sorted indices, no duplicates; copies only when needed.

    Raises
    ------
    DataError
        Naming ``name`` (and the row) when the matrix is not 2-d numbers, its structure is
        inconsistent (pointers that decrease or do not match the entries, an index outside
        ``[0, n_cols)``), or it holds NaN or infinity. The checks are vectorized and run before
        any kernel or scipy routine reads the arrays.
    """
    if isinstance(matrix, np.ndarray) or (
        not sp.issparse(matrix) and hasattr(matrix, "__array__")
    ):
        arr = np.asarray(matrix)
        if arr.ndim == 1:
            arr = arr[None, :]
        if arr.ndim != 2:
            raise DataError(f"{name} must be 2-dimensional; got an array of shape {arr.shape}")
        if not (np.issubdtype(arr.dtype, np.number) or arr.dtype == bool):
            raise DataError(f"{name} must hold numbers; got dtype {arr.dtype}")
        matrix = sp.csr_matrix(arr)
    if not sp.issparse(matrix):
        raise DataError(
            f"{name} must be a scipy.sparse matrix or a 2-d numpy array; "
            f"got {type(matrix).__name__}"
        )
    _check_structure(matrix, name)
    csr = matrix.tocsr() if matrix.format != "csr" else matrix
    if n_cols is not None and csr.shape[1] != n_cols:
        raise DataError(f"{name} has {csr.shape[1]} columns; the model expects {n_cols}")
    if csr.dtype != VALUE_DTYPE:
        if not (np.issubdtype(csr.dtype, np.number) or csr.dtype == bool) \
                or np.issubdtype(csr.dtype, np.complexfloating):
            raise DataError(f"{name} must hold real numbers; got dtype {csr.dtype}")
        csr = csr.astype(VALUE_DTYPE)
    if not csr.has_canonical_format:
        csr = csr.copy()
        csr.sum_duplicates()
        csr.sort_indices()
    if csr.nnz and not np.all(np.isfinite(csr.data)):
        bad_row = int(np.searchsorted(csr.indptr, np.flatnonzero(~np.isfinite(csr.data))[0],
                                      side="right") - 1)
        raise DataError(f"{name} has a non-finite value (NaN or inf, or too large for float32) "
                        f"in row {bad_row}")
    return csr


def _check_structure(matrix: sp.spmatrix, name: str) -> None:
    """The compressed arrays of a CSR/CSC matrix (or the coordinates of a COO one) are
    consistent with its shape; DataError otherwise."""
    n_rows, n_cols = matrix.shape
    if matrix.format in ("csr", "csc"):
        n_major, n_minor = (n_rows, n_cols) if matrix.format == "csr" else (n_cols, n_rows)
        ptr, idx = np.asarray(matrix.indptr), np.asarray(matrix.indices)
        what = "row" if matrix.format == "csr" else "column"
        if ptr.ndim != 1 or idx.ndim != 1 or np.asarray(matrix.data).shape != idx.shape:
            raise DataError(f"{name}: its index arrays are not 1-d or do not match its data")
        if not (np.issubdtype(ptr.dtype, np.integer) and np.issubdtype(idx.dtype, np.integer)):
            raise DataError(f"{name}: its index arrays must hold integers")
        if ptr.shape[0] != n_major + 1 or (ptr.size and (ptr[0] != 0 or ptr[-1] != idx.size)):
            raise DataError(f"{name}: its {what} pointers do not match its {n_major} {what}s "
                            f"and {idx.size} entries")
        steps = np.diff(ptr)
        if steps.size and steps.min() < 0:
            raise DataError(f"{name}: its {what} pointers decrease at {what} "
                            f"{int(np.argmax(steps < 0))}")
        bad = (idx < 0) | (idx >= n_minor) if idx.size else np.zeros(0, dtype=bool)
        if bad.any():
            at = int(np.flatnonzero(bad)[0])
            major = int(np.searchsorted(ptr, at, side="right") - 1)
            kind = "column" if matrix.format == "csr" else "row"
            raise DataError(f"{name}: {what} {major} has {kind} index {int(idx[at])}, outside "
                            f"[0, {n_minor})")
    elif matrix.format == "coo":
        for coord, bound, kind in ((matrix.row, n_rows, "row"), (matrix.col, n_cols, "column")):
            coord = np.asarray(coord)
            if coord.size and (coord.min() < 0 or coord.max() >= bound):
                raise DataError(f"{name}: a {kind} index is outside [0, {bound})")


def as_label_csr(labels, name: str = "Y", n_rows: int | None = None,
                 n_labels: int | None = None) -> sp.csr_matrix:
    """Return a binary label matrix in kernel layout (values 1.0).

    ``labels`` may be a sparse/dense matrix of shape (n_rows, n_labels) or a sequence of label
    id lists (one list per row), in which case ``n_labels`` defaults to ``max id + 1``.
    """
    if not sp.issparse(labels) and not isinstance(labels, np.ndarray):
        labels = labels_from_lists(labels, n_labels=n_labels, name=name)
    csr = as_csr(labels, name=name, n_cols=n_labels)
    if n_rows is not None and csr.shape[0] != n_rows:
        raise DataError(f"{name} has {csr.shape[0]} rows but the features have {n_rows}")
    if csr.nnz and (csr.data <= 0).any():
        csr = csr.copy()
        csr.data[csr.data <= 0] = 0
        csr.eliminate_zeros()
    csr.data[:] = 1.0
    return csr


def labels_from_lists(rows, n_labels: int | None = None, name: str = "Y") -> sp.csr_matrix:
    """Build a binary CSR label matrix from per-row lists of integer label ids.

    Raises
    ------
    DataError
        When an id is negative, not an integer, or >= ``n_labels``.
    """
    rows = list(rows)
    lengths = np.fromiter((len(r) for r in rows), dtype=np.int64, count=len(rows))
    flat = np.fromiter((lab for r in rows for lab in r), dtype=np.float64, count=int(lengths.sum()))
    if flat.size and (np.any(flat != np.floor(flat))):
        raise DataError(f"{name}: label ids must be integers")
    ids = flat.astype(np.int64)
    if ids.size and ids.min() < 0:
        row = int(np.searchsorted(np.cumsum(lengths), np.flatnonzero(ids < 0)[0], side="right"))
        raise DataError(f"{name}: negative label id in row {row}")
    if n_labels is None:
        n_labels = int(ids.max()) + 1 if ids.size else 0
    elif ids.size and ids.max() >= n_labels:
        row = int(np.searchsorted(np.cumsum(lengths), np.flatnonzero(ids >= n_labels)[0],
                                  side="right"))
        raise DataError(
            f"{name}: label id {int(ids.max())} in row {row} is out of range for {n_labels} labels"
        )
    indptr = np.zeros(len(rows) + 1, dtype=POINTER_DTYPE)
    np.cumsum(lengths, out=indptr[1:])
    mat = sp.csr_matrix(
        (np.ones(ids.size, dtype=VALUE_DTYPE), ids.astype(INDEX_DTYPE), indptr),
        shape=(len(rows), n_labels),
    )
    mat.sum_duplicates()
    mat.data[:] = 1.0
    return mat


def row_norm_scale(csr: sp.csr_matrix, norm: str = "l2") -> np.ndarray:
    """float64 (nnz,) factor that brings each row to unit ``norm`` ("l1" or "l2"); 0 for
    entries of zero rows. Works on the arrays as given (no validation, no copy)."""
    counts = np.diff(csr.indptr)
    row_of = np.repeat(np.arange(csr.shape[0]), counts)
    data = csr.data.astype(np.float64)
    sums = np.bincount(row_of, weights=np.abs(data) if norm == "l1" else np.square(data),
                       minlength=csr.shape[0])
    norms = sums if norm == "l1" else np.sqrt(sums)
    scale = np.divide(1.0, norms, out=np.zeros_like(norms), where=norms > 0)
    return scale[row_of]


def l2_normalize_rows(csr: sp.csr_matrix) -> sp.csr_matrix:
    """Rows scaled to unit L2 norm (zero rows stay zero). Returns a new kernel-layout matrix."""
    csr = as_csr(csr)
    data = (csr.data * row_norm_scale(csr, "l2")).astype(VALUE_DTYPE)
    return sp.csr_matrix((data, csr.indices.copy(), csr.indptr.copy()), shape=csr.shape)
