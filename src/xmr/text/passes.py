"""The corpus-wide passes of the vectorizer, each a count pass and a fill pass of serial kernels
run in parallel over ranges of documents (``xmr._threads.parallel_for``).

Every function returns the same arrays whatever the thread count.
"""

from __future__ import annotations

import numpy as np

from .._kernels import featurize as _featurize
from .._kernels import hashing as _hashing
from .._kernels import ngrams as _ngrams
from .._kernels import whitespace as _whitespace
from .._threads import parallel_for


def _offsets(lengths: np.ndarray) -> np.ndarray:
    ptr = np.zeros(lengths.shape[0] + 1, dtype=np.int64)
    np.cumsum(lengths, out=ptr[1:])
    return ptr


def normalize_whitespace(codes: np.ndarray, cls: np.ndarray, starts: np.ndarray,
                         ends: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Whitespace-normalize documents ``codes[starts[d]:ends[d]]`` (see
    ``_kernels.whitespace``). Returns (nptr int64 (n_docs + 1,), codes uint32, classes uint8)."""
    n_docs = starts.shape[0]
    lengths = np.empty(n_docs, dtype=np.int64)
    parallel_for(_whitespace.normalized_lengths, n_docs, (cls, starts, ends, lengths))
    nptr = _offsets(lengths)
    ncodes = np.empty(int(nptr[-1]), dtype=np.uint32)
    ncls = np.empty(int(nptr[-1]), dtype=np.uint8)
    parallel_for(_whitespace.write_normalized, n_docs,
                 (codes, cls, starts, ends, nptr, ncodes, ncls))
    return nptr, ncodes, ncls


def emit_corpus(nc: np.ndarray, ncls: np.ndarray, nptr: np.ndarray, kind: int, nmin: int,
                nmax: int, tokmin: int, wmode: int, inner_w: np.float32,
                keep_locations: bool) -> tuple[np.ndarray, ...]:
    """All n-grams of all documents, document after document.

    Returns (eptr int64 (n_docs + 1,), h uint64, w float32, pos int64, aux int64); ``pos`` and
    ``aux`` are empty unless ``keep_locations``.
    """
    n_docs = nptr.shape[0] - 1
    params = (nc, ncls, nptr, kind, nmin, nmax, tokmin, wmode, inner_w)
    counts = np.empty(n_docs, dtype=np.int64)
    parallel_for(_ngrams.count_ngrams, n_docs, (*params, counts))
    eptr = _offsets(counts)
    total = int(eptr[-1])
    h = np.empty(total, dtype=np.uint64)
    w = np.empty(total, dtype=np.float32)
    n_loc = total if keep_locations else 0
    pos = np.empty(n_loc, dtype=np.int64)
    aux = np.empty(n_loc, dtype=np.int64)
    parallel_for(_ngrams.write_ngrams, n_docs, (*params, eptr, h, w, pos, aux))
    return eptr, h, w, pos, aux


def term_strings(nc: np.ndarray, ncls: np.ndarray, kind: int, tokmin: int, pos: np.ndarray,
                 aux: np.ndarray, lim: np.ndarray) -> np.ndarray:
    """Code points (uint32) of the given n-grams, each followed by a newline (10)."""
    n = pos.shape[0]
    params = (nc, ncls, kind, tokmin, pos, aux, lim)
    lengths = np.empty(n, dtype=np.int64)
    parallel_for(_ngrams.term_lengths, n, (*params, lengths))
    ptr = _offsets(lengths)
    out = np.empty(int(ptr[-1]), dtype=np.uint32)
    parallel_for(_ngrams.write_terms, n, (*params, ptr, out))
    return out


def assign_ids(h: np.ndarray, n_shard_bits: int) -> tuple[np.ndarray, np.ndarray]:
    """Dense ids for the distinct hashes of ``h``, sharded by their top bits so that shards are
    numbered in parallel in small, cache-friendly tables.

    Ids are ordered by shard, then by first occurrence. Returns (ids int32 (len(h),), first
    int64 (n_terms,): index of each term's first occurrence).
    """
    shard_of, counts, order = _hashing.shard_order(h, n_shard_bits)
    n_shards = counts.shape[0] - 1
    local = np.empty(h.shape[0], dtype=np.int32)
    n_local = np.zeros(n_shards, dtype=np.int64)
    firsts = np.empty(h.shape[0], dtype=np.int64)
    parallel_for(_hashing.dedupe_shards, n_shards, (h, counts, order, local, n_local, firsts))
    offset = _offsets(n_local)
    owner = np.repeat(np.arange(n_shards), n_local)
    first = firsts[counts[owner] + np.arange(int(offset[-1])) - offset[owner]]
    ids = (offset[shard_of] + local).astype(np.int32)
    return ids, first


def lookup_ids(keys: np.ndarray, values: np.ndarray, h: np.ndarray) -> np.ndarray:
    """Column (int32) of each hash; -1 when not in the vocabulary."""
    ids = np.empty(h.shape[0], dtype=np.int32)
    parallel_for(_hashing.lookup_ids, h.shape[0], (keys, values, h, ids))
    return ids


def count_matrix(ids: np.ndarray, w: np.ndarray,
                 eptr: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """CSR (indptr int64, indices int32, data float32) of summed n-gram weights per document;
    columns sorted within each row, unknown (-1) ids dropped."""
    n_docs = eptr.shape[0] - 1
    tmp_idx = np.empty(ids.shape[0], dtype=np.int32)
    tmp_val = np.empty(ids.shape[0], dtype=np.float32)
    nnz = np.empty(n_docs, dtype=np.int64)
    parallel_for(_featurize.merge_docs, n_docs, (ids, w, eptr, tmp_idx, tmp_val, nnz))
    indptr = _offsets(nnz)
    indices = np.empty(int(indptr[-1]), dtype=np.int32)
    data = np.empty(int(indptr[-1]), dtype=np.float32)
    parallel_for(_featurize.copy_docs, n_docs, (tmp_idx, tmp_val, eptr, indptr, indices, data))
    return indptr, indices, data
