"""Batch beam search and pair scoring over a chunked layout, parallel over rows."""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from .._kernels import beam as _beam
from .._threads import parallel_for
from ..rank import TopK
from .layout import ChunkedLayout


def beam_search(layout: ChunkedLayout, X: sp.csr_matrix, mask: np.ndarray, beam: int,
                top_k: int, code: int) -> TopK:
    """Top-k labels of every row of ``X`` (kernel layout, ``layout``'s feature space).

    Parameters
    ----------
    mask : uint8 (n_nodes,) node mask, or empty for no output constraint
    beam, top_k : beam width and results per row
    code : post-processor code (``xmr.linear.postprocess``)

    Returns
    -------
    TopK of int32 indices and float32 scores, shape (n_rows, top_k)
    """
    n, n_features = X.shape
    out_labels = np.empty((n, top_k), dtype=np.int32)
    out_scores = np.empty((n, top_k), dtype=np.float32)
    width = max(beam, top_k)
    fanout = layout.max_fanout()
    args = (X.indptr, X.indices, X.data, layout.depth, layout.level_start, layout.child_start,
            layout.chunk_row_ptr, layout.row_feat, layout.row_entry_ptr, layout.entry_child,
            layout.entry_val, layout.node_bias, layout.label_perm, mask, beam, top_k, code,
            out_labels, out_scores)

    def scratch():
        return (np.zeros(n_features, dtype=np.float32), np.empty(fanout, dtype=np.float64),
                np.empty(width, dtype=np.float64), np.empty(width, dtype=np.int64),
                np.empty(width, dtype=np.float64), np.empty(width, dtype=np.int64),
                np.empty(top_k, dtype=np.int32), np.empty(top_k, dtype=np.float64))

    parallel_for(_beam.beam_search_rows, n, args, scratch=scratch)
    return TopK(out_labels, out_scores)


def score_pairs(layout: ChunkedLayout, X: sp.csr_matrix, rows: np.ndarray,
                leaf_nodes: np.ndarray, node_parent: np.ndarray, code: int) -> np.ndarray:
    """float64 score of each (row, leaf node) pair along its tree path (see ``score``)."""
    out = np.empty(rows.shape[0], dtype=np.float64)
    args = (X.indptr, X.indices, X.data, rows, leaf_nodes, layout.depth, node_parent,
            layout.child_start, layout.chunk_row_ptr, layout.row_feat, layout.row_entry_ptr,
            layout.entry_child, layout.entry_val, layout.node_bias, code, out)

    parallel_for(_beam.score_pairs, rows.shape[0], args)
    return out
