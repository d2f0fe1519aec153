"""The chunked weight layout used for inference and storage (see ``xmr._kernels.beam``)."""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
import scipy.sparse as sp

from .._kernels import layout as _layout
from .._kernels.weights import bfloat16_to_float32, float32_to_bfloat16
from .._threads import parallel_for
from ..index.tree import LabelTree


class ChunkedLayout(NamedTuple):
    """Arrays of a trained tree model in per-parent chunks (MSCM layout).

    Attributes
    ----------
    level_start : int64 (depth + 2,)  global id of the first node of each level; last = n_nodes
    child_start : int64 (n_internal + 1,)  children range of each internal node (global ids)
    chunk_row_ptr : int64 (n_internal + 1,)  rows of each internal node's weight chunk
    row_feat : int32 (n_rows,)  feature id of each row (sorted within a chunk)
    row_entry_ptr : int32 or int64 (n_rows + 1,)  entries of each row (int32 when they fit)
    entry_child : uint8, uint16 or uint32 (nnz,)  child offset within the chunk: the narrowest
        type that holds the largest fan-out (uint8 up to 256 children per node, which covers
        PECOS's defaults B=16 and leaves of 100); unsigned, so no wraparound checks
    entry_val : float32 (nnz,)  weight; or uint16 (nnz,), the weight's bfloat16 bits (the upper
        half of its float32: half the bytes, about 3 significant digits; see
        ``xmr._kernels.weights``)
    node_bias : float32 (n_nodes,)  bias term of each node's score (0 for the root)
    label_perm : int32 (n_labels,)  label id of each leaf node, in leaf order
    """

    level_start: np.ndarray
    child_start: np.ndarray
    chunk_row_ptr: np.ndarray
    row_feat: np.ndarray
    row_entry_ptr: np.ndarray
    entry_child: np.ndarray
    entry_val: np.ndarray
    node_bias: np.ndarray
    label_perm: np.ndarray

    @property
    def depth(self) -> int:
        return int(self.level_start.shape[0] - 2)

    @property
    def n_nodes(self) -> int:
        return int(self.level_start[-1])

    @property
    def nnz(self) -> int:
        """Stored weight entries (dense rows count their zeros)."""
        return int(self.entry_val.shape[0])

    @property
    def weight_store(self) -> str:
        """How ``entry_val`` holds the weights: "float32" or "bfloat16"."""
        return "bfloat16" if self.entry_val.dtype == np.uint16 else "float32"

    def with_weight_store(self, store: str) -> ChunkedLayout:
        """This layout with its weights held as ``store`` ("float32" or "bfloat16"; float32 ->
        bfloat16 rounds to nearest even, bfloat16 -> float32 is exact)."""
        if store == self.weight_store:
            return self
        if store == "bfloat16":
            return self._replace(entry_val=float32_to_bfloat16(self.entry_val))
        if store == "float32":
            return self._replace(entry_val=bfloat16_to_float32(self.entry_val))
        raise ValueError(f"unknown weight store {store!r}; expected float32 or bfloat16")

    def max_fanout(self) -> int:
        return int(np.diff(self.child_start).max()) if self.child_start.shape[0] > 1 else 1

    def narrowed(self) -> ChunkedLayout:
        """This layout with the narrowest index types (itself when it has them already; a
        layout read from format 1 has int64 / uint32)."""
        child = child_offset_dtype(self.max_fanout())
        ptr = entry_pointer_dtype(self.nnz)
        if self.entry_child.dtype == child and self.row_entry_ptr.dtype == ptr:
            return self
        return self._replace(entry_child=self.entry_child.astype(child),
                             row_entry_ptr=self.row_entry_ptr.astype(ptr))

    def tree(self) -> LabelTree:
        """The label tree this layout was built on."""
        ptrs = []
        for d in range(self.depth):
            a, b = self.level_start[d], self.level_start[d + 1]
            ptrs.append(self.child_start[a:b + 1] - self.level_start[d + 1])
        return LabelTree(tuple(ptrs), self.label_perm)

    def node_parent(self) -> np.ndarray:
        """Parent (global id) of every node; -1 for the root. int64 (n_nodes,)."""
        parent = np.full(self.n_nodes, -1, dtype=np.int64)
        counts = np.diff(self.child_start)
        parent[1:] = np.repeat(np.arange(counts.shape[0], dtype=np.int64), counts)
        return parent

    def level_weights(self, level: int) -> tuple[sp.csc_matrix, np.ndarray]:
        """Weights (n_features_seen, n_nodes(level)) CSC and bias of one level (1-based).

        The feature dimension is ``row_feat.max() + 1``; callers pad as needed.
        """
        a, b = int(self.level_start[level - 1]), int(self.level_start[level])
        first_child = int(self.level_start[level])
        r0, r1 = int(self.chunk_row_ptr[a]), int(self.chunk_row_ptr[b])
        e0, e1 = int(self.row_entry_ptr[r0]), int(self.row_entry_ptr[r1])
        rows_per_chunk = np.diff(self.chunk_row_ptr[a:b + 1])
        parent_of_row = np.repeat(np.arange(a, b), rows_per_chunk)
        entries_per_row = np.diff(self.row_entry_ptr[r0:r1 + 1])
        feat = np.repeat(self.row_feat[r0:r1], entries_per_row)
        parent = np.repeat(parent_of_row, entries_per_row)
        col = self.child_start[parent] + self.entry_child[e0:e1] - first_child
        n_cols = int(self.level_start[level + 1] - self.level_start[level])
        n_rows = int(self.row_feat.max()) + 1 if self.row_feat.size else 0
        values = self.entry_val[e0:e1]
        if self.weight_store == "bfloat16":
            values = bfloat16_to_float32(values)
        W = sp.csc_matrix((values, (feat, col)), shape=(n_rows, n_cols))
        W.eliminate_zeros()  # dense rows store explicit zeros
        bias = np.asarray(self.node_bias[first_child:first_child + n_cols])
        return W, bias


def child_offset_dtype(max_fanout: int) -> np.dtype:
    """The narrowest unsigned type of ``entry_child`` for nodes of up to ``max_fanout``
    children (a saved model is mostly entries: 1 byte per entry instead of 4)."""
    for dtype in (np.uint8, np.uint16):
        if max_fanout <= np.iinfo(dtype).max + 1:
            return np.dtype(dtype)
    return np.dtype(np.uint32)


def entry_pointer_dtype(n_entries: int) -> np.dtype:
    """int32 for ``row_entry_ptr`` when every entry offset fits, else int64."""
    return np.dtype(np.int32 if n_entries <= np.iinfo(np.int32).max else np.int64)


# Chunks whose rows cover at least this share of all features are made direct-indexed; rows
# with weights for at least this share of their chunk's children are stored dense. Both trade a
# little memory (at most 4x the row index of a top chunk, 2x the entries of a dense row) for
# search-free lookups and contiguous, vectorized scoring.
DIRECT_FRAC = 0.25
DENSE_FRAC = 0.5


def build_layout(tree: LabelTree, weights: list[tuple[np.ndarray, np.ndarray, np.ndarray]],
                 biases: list[np.ndarray], bias_value: float,
                 n_features: int | None = None) -> ChunkedLayout:
    """Assemble the layout from per-level CSC weights.

    Parameters
    ----------
    tree : LabelTree
    weights : list of (col_ptr int64, idx int32, val float32), one per level (1..depth);
        level d has one column per node of level d, row indices sorted within a column.
    biases : list of float arrays, the bias weight of each node of each level
    bias_value : float, the constant bias feature (scores add ``bias_value * bias weight``)
    n_features : int, the model's input dimension (enables direct-indexed chunks)
    """
    if n_features is None:
        n_features = max((int(w[1].max()) + 1 for w in weights if w[1].size), default=0)
    sizes = tree.level_sizes()
    fanouts = [int(np.diff(ptr).max()) for ptr in tree.child_ptr if ptr.shape[0] > 1]
    child_dtype = child_offset_dtype(max(fanouts, default=1))
    level_start = np.zeros(len(sizes) + 1, dtype=np.int64)
    np.cumsum(sizes, out=level_start[1:])
    child_start_parts = []
    chunk_rows_parts = []
    row_feat_parts = []
    row_entry_parts = []
    entry_child_parts = []
    entry_val_parts = []
    row_base = 0
    entry_base = 0
    for d, (col_ptr, idx, val) in enumerate(weights):
        cptr = tree.child_ptr[d]
        child_start_parts.append(cptr[:-1] + level_start[d + 1])
        n_par = cptr.shape[0] - 1
        n_rows = np.zeros(n_par, dtype=np.int64)
        n_entries = np.zeros(n_par, dtype=np.int64)
        direct = np.zeros(n_par, dtype=np.uint8)
        parallel_for(_layout.count_chunks, n_par, (col_ptr, idx, cptr, n_features, DIRECT_FRAC,
                                                   DENSE_FRAC, n_rows, n_entries, direct))
        row_off = np.zeros(n_rows.shape[0] + 1, dtype=np.int64)
        np.cumsum(n_rows, out=row_off[1:])
        entry_off = np.zeros(n_entries.shape[0] + 1, dtype=np.int64)
        np.cumsum(n_entries, out=entry_off[1:])
        total_rows, total_entries = int(row_off[-1]), int(entry_off[-1])
        row_feat = np.empty(total_rows, dtype=np.int32)
        row_entry_ptr = np.empty(total_rows, dtype=np.int64)
        entry_child = np.empty(total_entries, dtype=child_dtype)
        entry_val = np.empty(total_entries, dtype=np.float32)
        parallel_for(_layout.fill_chunks, n_par, (col_ptr, idx, val, cptr, row_off, entry_off,
                                                  direct, DENSE_FRAC, row_feat, row_entry_ptr,
                                                  entry_child, entry_val))
        chunk_rows_parts.append(row_off[:-1] + row_base)
        row_feat_parts.append(row_feat)
        row_entry_parts.append(row_entry_ptr + entry_base)
        entry_child_parts.append(entry_child)
        entry_val_parts.append(entry_val)
        row_base += total_rows
        entry_base += total_entries
    child_start = np.concatenate(child_start_parts + [[level_start[-1]]]).astype(np.int64)
    chunk_row_ptr = np.concatenate(chunk_rows_parts + [[row_base]]).astype(np.int64)
    row_entry_ptr = np.concatenate(row_entry_parts + [[entry_base]]).astype(
        entry_pointer_dtype(entry_base))
    node_bias = np.concatenate([[0.0]] + [b * bias_value for b in biases]).astype(np.float32)
    return ChunkedLayout(
        level_start=level_start,
        child_start=child_start,
        chunk_row_ptr=chunk_row_ptr,
        row_feat=np.concatenate(row_feat_parts).astype(np.int32),
        row_entry_ptr=row_entry_ptr,
        entry_child=np.concatenate(entry_child_parts).astype(child_dtype, copy=False),
        entry_val=np.concatenate(entry_val_parts).astype(np.float32),
        node_bias=node_bias,
        label_perm=tree.label_perm,
    )
