"""A saved sparse matrix (format ``xmr.csr``): CSR arrays, memory-mapped on load."""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from ..sparse import as_csr
from .persist import Persistent, State, Stored


class SparseMatrix(Persistent):
    """A CSR matrix as a saveable part of a model (e.g. product title features).

    Parameters
    ----------
    matrix : sparse or dense (n_rows, n_cols); stored in kernel layout (float32, sorted)
    """

    format_name = "xmr.csr"
    format_version = 1

    def __init__(self, matrix) -> None:
        self.matrix = as_csr(matrix, name="matrix")

    def state(self) -> State:
        M = self.matrix
        return State(arrays={"indptr": M.indptr, "indices": M.indices, "data": M.data},
                     meta={"shape": [int(M.shape[0]), int(M.shape[1])]})

    @classmethod
    def from_stored(cls, stored: Stored) -> SparseMatrix:
        shape = stored.meta("shape", list)
        stored.check(len(shape) == 2 and all(isinstance(s, int) and s >= 0 for s in shape),
                     f"invalid shape {shape!r}")
        n_rows, n_cols = shape
        indptr = stored.array("indptr", ndim=1, shape=(n_rows + 1,))
        stored.check(indptr.dtype in (np.int32, np.int64), "indptr must hold integers")
        indices = stored.array("indices", ndim=1)
        stored.check(indices.dtype == indptr.dtype, "indices and indptr must share a dtype")
        data = stored.array("data", np.float32, ndim=1, shape=(indices.shape[0],))
        stored.check_pointers("indptr", indptr, total=indices.shape[0])
        stored.check_range("indices", indices, 0, max(n_cols, 1))
        obj = cls.__new__(cls)
        obj.matrix = sp.csr_matrix((data, indices, indptr), shape=(n_rows, n_cols))
        return obj
