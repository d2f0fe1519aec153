"""Numba kernels of the TF-IDF vectorizer: whitespace normalization, n-gram hashing, vocabulary
hash tables, per-document term counting.

Text arrives as one uint32 array of Unicode code points for the whole corpus (documents back to
back, located by a pointer array) plus a parallel uint8 class array (1 = word character, 2 =
whitespace, 0 = other). Every n-gram is identified by a 64-bit FNV-1a hash of its code points
(finalized with a mixer so that top and low bits are uniform); two different n-grams with the
same hash would share a column, which for a vocabulary of V terms happens with probability about
V^2 / 2^65 (1e-7 for a million terms). n-gram strings are only materialized for the vocabulary.

Analyzer kinds: 0 = word n-grams, 1 = char n-grams with end-of-word marker ``#``, 2 = char n-grams
of space-padded words (scikit-learn's ``char_wb``), 3 = char n-grams of the whole text (prefixes).
An n-gram is located by ``pos`` (code position of the first token / word / text) and ``aux``
(``offset * 256 + length`` for char kinds, the number of tokens for word n-grams).
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

CLS_OTHER = 0
CLS_WORD = 1
CLS_SPACE = 2

_FNV_OFFSET = np.uint64(14695981039346656037)
_FNV_PRIME = np.uint64(1099511628211)
_MIX1 = np.uint64(0xFF51AFD7ED558CCD)
_MIX2 = np.uint64(0xC4CEB9FE1A85EC53)
_SHIFT33 = np.uint64(33)
_ONE = np.uint64(1)
_ZERO = np.uint64(0)
_SPACE = 32
_MARK = 35  # '#', the end-of-word marker of char blocks


@njit(cache=True, nogil=True, inline="always")
def _fnv(h, c):
    return (h ^ np.uint64(c)) * _FNV_PRIME


@njit(cache=True, nogil=True, inline="always")
def _finish(h):
    """fmix64 of MurmurHash3: spreads FNV's bits; 0 is reserved for empty table slots."""
    h ^= h >> _SHIFT33
    h *= _MIX1
    h ^= h >> _SHIFT33
    h *= _MIX2
    h ^= h >> _SHIFT33
    if h == _ZERO:
        h = _ONE
    return h


# -- whitespace normalization ---------------------------------------------------------------------
@njit(cache=True, nogil=True)
def _normalized_length(cls, a, b):
    n = 0
    prev_space = True  # drops leading whitespace
    for i in range(a, b):
        if cls[i] == CLS_SPACE:
            if not prev_space:
                n += 1
            prev_space = True
        else:
            n += 1
            prev_space = False
    return n


@njit(cache=True, nogil=True, parallel=True)
def normalize_whitespace(codes, cls, starts, ends):
    """Drop leading whitespace and collapse each whitespace run to one space (a trailing run
    stays as one space: "echo " has finished a word, which prefix features can see).

    Returns (nptr int64 (n_docs + 1,), ncodes uint32, ncls uint8).
    """
    n_docs = starts.shape[0]
    nptr = np.zeros(n_docs + 1, dtype=np.int64)
    for d in prange(n_docs):
        nptr[d + 1] = _normalized_length(cls, starts[d], ends[d])
    for d in range(n_docs):
        nptr[d + 1] += nptr[d]
    ncodes = np.empty(nptr[n_docs], dtype=np.uint32)
    ncls = np.empty(nptr[n_docs], dtype=np.uint8)
    for d in prange(n_docs):
        _write_normalized(codes, cls, starts[d], ends[d], ncodes, ncls, nptr[d])
    return nptr, ncodes, ncls


@njit(cache=True, nogil=True, inline="always")
def _write_normalized(codes, cls, a, b, ncodes, ncls, o):
    """Write the whitespace-normalized text [a, b) at ``o`` (length from _normalized_length)."""
    prev_space = True
    for i in range(a, b):
        if cls[i] == CLS_SPACE:
            if not prev_space:
                ncodes[o] = _SPACE
                ncls[o] = CLS_SPACE
                o += 1
            prev_space = True
        else:
            ncodes[o] = codes[i]
            ncls[o] = cls[i]
            o += 1
            prev_space = False


# -- n-gram enumeration ---------------------------------------------------------------------------
@njit(cache=True, nogil=True, inline="always")
def _vchar(nc, ws, we, kind, v):
    """Code point ``v`` of the virtual string of a word [ws, we) for char kinds."""
    if kind == 1:  # word + '#'
        return nc[ws + v] if v < we - ws else _MARK
    if kind == 2:  # ' ' + word + ' '
        if v == 0 or v == we - ws + 1:
            return _SPACE
        return nc[ws + v - 1]
    return nc[ws + v]  # kind 3: the text itself


@njit(cache=True, nogil=True, inline="always")
def _emit(out_h, out_w, out_pos, out_aux, k, write, h, w, pos, aux):
    if write:
        out_h[k] = _finish(h)
        out_w[k] = w
        if out_pos.shape[0] > 0:
            out_pos[k] = pos
            out_aux[k] = aux


@njit(cache=True, nogil=True, inline="always")
def _char_segment(nc, ncls, ws, we, kind, nmin, nmax, wmode, inner_w, base,
                  out_h, out_w, out_pos, out_aux, k, write, vs):
    """Emit the char n-grams of one virtual string; ``base`` = code position of the text start
    (prefix kind: weights depend on the offset from it); ``vs``: scratch for the virtual
    string (at least ``we - ws + 2`` entries). The counting pass does no hashing."""
    if kind == 1:
        length = we - ws + 1
    elif kind == 2:
        length = we - ws + 2
    else:
        length = we - ws
    if not write:
        for n in range(nmin, nmax + 1):
            if length <= n:
                if length > 0:
                    k += 1
                break
            k += length - n + 1
        return k
    for v in range(length):
        vs[v] = _vchar(nc, ws, we, kind, v)
    for n in range(nmin, nmax + 1):
        if length <= n:
            # shorter than n (or exactly n): the whole string once, then stop (scikit-learn)
            if length > 0:
                h = _FNV_OFFSET
                for v in range(length):
                    h = _fnv(h, vs[v])
                w = 1.0
                if wmode == 1:
                    w = 1.0 / (ws - base + 1)
                _emit(out_h, out_w, out_pos, out_aux, k, write, h, w, ws, length)
                k += 1
            break
        for off in range(length - n + 1):
            h = _FNV_OFFSET
            for v in range(off, off + n):
                h = _fnv(h, vs[v])
            w = 1.0
            if wmode == 1:
                w = 1.0 / (ws + off - base + 1)
            elif wmode == 2:
                p = ws + off
                if p > base and ncls[p - 1] != CLS_SPACE:
                    w = inner_w
            _emit(out_h, out_w, out_pos, out_aux, k, write, h, w, ws, off * 256 + n)
            k += 1
    return k


@njit(cache=True, nogil=True, inline="always")
def _next_token(ncls, i, b, tokmin):
    """(start, end) of the first token (run of word characters, length >= tokmin) at or after
    ``i`` and before ``b``; (b, b) when there is none."""
    while i < b:
        if ncls[i] == CLS_WORD:
            j = i
            while j < b and ncls[j] == CLS_WORD:
                j += 1
            if j - i >= tokmin:
                return i, j
            i = j
        else:
            i += 1
    return b, b


@njit(cache=True, nogil=True, inline="always")
def emit_doc(nc, ncls, a, b, kind, nmin, nmax, tokmin, wmode, inner_w,
             out_h, out_w, out_pos, out_aux, k, write, ts, te):
    """Enumerate the n-grams of the normalized text [a, b); writes from index ``k`` when
    ``write``; returns the index after the last n-gram. ``out_pos`` may be empty (not kept).
    ``ts``, ``te``: scratch of at least ``b - a + 2`` entries (token bounds of word blocks;
    ``te`` holds the virtual string of char blocks)."""
    if kind == 0:
        n_tok = 0
        i = a
        while True:
            s, e = _next_token(ncls, i, b, tokmin)
            if s == b:
                break
            ts[n_tok] = s
            te[n_tok] = e
            n_tok += 1
            i = e
        for t in range(n_tok):
            h = _FNV_OFFSET
            for n in range(1, nmax + 1):
                if t + n > n_tok:
                    break
                if n > 1:
                    h = _fnv(h, _SPACE)
                for p in range(ts[t + n - 1], te[t + n - 1]):
                    h = _fnv(h, nc[p])
                if n >= nmin:
                    _emit(out_h, out_w, out_pos, out_aux, k, write, h, 1.0, ts[t], n)
                    k += 1
        return k
    if kind == 3:
        return _char_segment(nc, ncls, a, b, kind, nmin, nmax, wmode, inner_w, a,
                             out_h, out_w, out_pos, out_aux, k, write, te)
    i = a
    while i < b:  # kinds 1, 2: words are runs of non-space characters
        if ncls[i] == CLS_SPACE:
            i += 1
            continue
        j = i
        while j < b and ncls[j] != CLS_SPACE:
            j += 1
        k = _char_segment(nc, ncls, i, j, kind, nmin, nmax, 0, 1.0, a,
                          out_h, out_w, out_pos, out_aux, k, write, te)
        i = j
    return k


@njit(cache=True, nogil=True, parallel=True)
def emit_corpus(nc, ncls, nptr, kind, nmin, nmax, tokmin, wmode, inner_w, keep_locations):
    """All n-grams of all documents, document after document.

    Returns (eptr int64 (n_docs + 1,), h uint64, w float32, pos int64, aux int64); ``pos`` and
    ``aux`` are empty unless ``keep_locations``.
    """
    n_docs = nptr.shape[0] - 1
    eptr = np.zeros(n_docs + 1, dtype=np.int64)
    dummy_h = np.empty(0, dtype=np.uint64)
    dummy_w = np.empty(0, dtype=np.float32)
    dummy_i = np.empty(0, dtype=np.int64)
    n_chunks = (n_docs + _CHUNK - 1) // _CHUNK
    for c in prange(n_chunks):
        lo = c * _CHUNK
        hi = min(n_docs, lo + _CHUNK)
        ts, te = _scratch(nptr, lo, hi)
        for d in range(lo, hi):
            eptr[d + 1] = emit_doc(nc, ncls, nptr[d], nptr[d + 1], kind, nmin, nmax, tokmin,
                                   wmode, inner_w, dummy_h, dummy_w, dummy_i, dummy_i, 0, False,
                                   ts, te)
    for d in range(n_docs):
        eptr[d + 1] += eptr[d]
    total = eptr[n_docs]
    h = np.empty(total, dtype=np.uint64)
    w = np.empty(total, dtype=np.float32)
    n_loc = total if keep_locations else 0
    pos = np.empty(n_loc, dtype=np.int64)
    aux = np.empty(n_loc, dtype=np.int64)
    for c in prange(n_chunks):
        lo = c * _CHUNK
        hi = min(n_docs, lo + _CHUNK)
        ts, te = _scratch(nptr, lo, hi)
        for d in range(lo, hi):
            emit_doc(nc, ncls, nptr[d], nptr[d + 1], kind, nmin, nmax, tokmin, wmode, inner_w,
                     h, w, pos, aux, eptr[d], True, ts, te)
    return eptr, h, w, pos, aux


_CHUNK = 256  # documents per parallel task: scratch is allocated once per task


@njit(cache=True, nogil=True)
def _scratch(nptr, lo, hi):
    longest = 0
    for d in range(lo, hi):
        longest = max(longest, nptr[d + 1] - nptr[d])
    return np.empty(longest + 2, dtype=np.int64), np.empty(longest + 2, dtype=np.int64)


# -- vocabulary hash tables -----------------------------------------------------------------------
@njit(cache=True, nogil=True)
def _pow2_at_least(n):
    c = 16
    while c < n:
        c *= 2
    return c


@njit(cache=True, nogil=True, parallel=True)
def assign_ids(h, n_shard_bits):
    """Dense ids for the distinct hashes of ``h``, sharded by the top bits so that shards are
    built in parallel in small, cache-friendly tables.

    Ids are ordered by shard, then by first occurrence: deterministic for any thread count.
    Returns (ids int32 (len(h),), first int64 (n_terms,): index of each term's first occurrence).
    """
    n = h.shape[0]
    n_shards = 1 << n_shard_bits
    shift = np.uint64(64 - n_shard_bits)
    shard_of = np.empty(n, dtype=np.int32)
    counts = np.zeros(n_shards + 1, dtype=np.int64)
    for i in range(n):
        s = np.int32(h[i] >> shift) if n_shard_bits > 0 else 0
        shard_of[i] = s
        counts[s + 1] += 1
    for s in range(n_shards):
        counts[s + 1] += counts[s]
    order = np.empty(n, dtype=np.int64)
    fill = counts[:-1].copy()
    for i in range(n):
        s = shard_of[i]
        order[fill[s]] = i
        fill[s] += 1
    local = np.empty(n, dtype=np.int32)
    n_local = np.zeros(n_shards, dtype=np.int64)
    firsts = np.empty(n, dtype=np.int64)  # per shard, in the shard's range of ``order``
    for s in prange(n_shards):
        lo = counts[s]
        hi = counts[s + 1]
        cap = _pow2_at_least(2 * (hi - lo))
        mask = np.uint64(cap - 1)
        keys = np.zeros(cap, dtype=np.uint64)
        vals = np.empty(cap, dtype=np.int32)
        m = 0
        for r in range(lo, hi):
            i = order[r]
            key = h[i]
            slot = key & mask
            while True:
                kk = keys[slot]
                if kk == key:
                    local[i] = vals[slot]
                    break
                if kk == _ZERO:
                    keys[slot] = key
                    vals[slot] = m
                    local[i] = m
                    firsts[lo + m] = i
                    m += 1
                    break
                slot = (slot + _ONE) & mask
        n_local[s] = m
    offset = np.zeros(n_shards + 1, dtype=np.int64)
    for s in range(n_shards):
        offset[s + 1] = offset[s] + n_local[s]
    first = np.empty(offset[n_shards], dtype=np.int64)
    for s in prange(n_shards):
        for t in range(n_local[s]):
            first[offset[s] + t] = firsts[counts[s] + t]
    ids = np.empty(n, dtype=np.int32)
    for i in prange(n):
        ids[i] = np.int32(offset[shard_of[i]] + local[i])
    return ids, first


@njit(cache=True, nogil=True)
def build_table(keys_in, values_in):
    """Open-addressing table (linear probing, load <= 0.5) mapping hash -> value.

    Returns (keys uint64 (cap,), values int32 (cap,)); empty slots have key 0.
    """
    cap = _pow2_at_least(2 * keys_in.shape[0])
    mask = np.uint64(cap - 1)
    keys = np.zeros(cap, dtype=np.uint64)
    values = np.full(cap, -1, dtype=np.int32)
    for i in range(keys_in.shape[0]):
        key = keys_in[i]
        slot = key & mask
        while keys[slot] != _ZERO and keys[slot] != key:
            slot = (slot + _ONE) & mask
        keys[slot] = key
        values[slot] = values_in[i]
    return keys, values


@njit(cache=True, nogil=True, inline="always")
def _lookup(keys, values, key):
    mask = np.uint64(keys.shape[0] - 1)
    slot = key & mask
    while True:
        kk = keys[slot]
        if kk == key:
            return values[slot]
        if kk == _ZERO:
            return -1
        slot = (slot + _ONE) & mask


@njit(cache=True, nogil=True, parallel=True)
def lookup_ids(keys, values, h):
    """Column of each hash (-1 when not in the vocabulary)."""
    ids = np.empty(h.shape[0], dtype=np.int32)
    for i in prange(h.shape[0]):
        ids[i] = _lookup(keys, values, h[i])
    return ids


# -- per-document counts --------------------------------------------------------------------------
@njit(cache=True, nogil=True, inline="always")
def _merge_doc(ids, w, lo, hi, out_idx, out_val, o):
    """Sort the ids of one document, sum the weights of equal ids, drop -1; writes at ``o``."""
    m = hi - lo
    if m == 0:
        return o
    if m <= 48:  # short documents (the usual case): insertion sort in the output buffer
        n = 0
        for j in range(lo, hi):
            c = ids[j]
            if c < 0:
                continue
            r = o + n
            while r > o and out_idx[r - 1] > c:
                out_idx[r] = out_idx[r - 1]
                out_val[r] = out_val[r - 1]
                r -= 1
            out_idx[r] = c
            out_val[r] = w[j]
            n += 1
        end = o
        for r in range(o, o + n):  # merge equal ids in place
            if end > o and out_idx[end - 1] == out_idx[r]:
                out_val[end - 1] += out_val[r]
            else:
                out_idx[end] = out_idx[r]
                out_val[end] = out_val[r]
                end += 1
        return end
    order = np.argsort(ids[lo:hi], kind="mergesort")
    prev = -1
    for r in range(m):
        j = lo + order[r]
        c = ids[j]
        if c < 0:
            continue
        if c == prev:
            out_val[o - 1] += w[j]
        else:
            out_idx[o] = c
            out_val[o] = w[j]
            o += 1
            prev = c
    return o


@njit(cache=True, nogil=True, parallel=True)
def count_matrix(ids, w, eptr):
    """CSR (indptr int64, indices int32, data float32) of summed n-gram weights per document;
    columns sorted within each row, unknown (-1) ids dropped."""
    n_docs = eptr.shape[0] - 1
    tmp_idx = np.empty(ids.shape[0], dtype=np.int32)
    tmp_val = np.empty(ids.shape[0], dtype=np.float32)
    nnz = np.zeros(n_docs + 1, dtype=np.int64)
    for d in prange(n_docs):
        end = _merge_doc(ids, w, eptr[d], eptr[d + 1], tmp_idx, tmp_val, eptr[d])
        nnz[d + 1] = end - eptr[d]
    for d in range(n_docs):
        nnz[d + 1] += nnz[d]
    indices = np.empty(nnz[n_docs], dtype=np.int32)
    data = np.empty(nnz[n_docs], dtype=np.float32)
    for d in prange(n_docs):
        src = eptr[d]
        for r in range(nnz[d + 1] - nnz[d]):
            indices[nnz[d] + r] = tmp_idx[src + r]
            data[nnz[d] + r] = tmp_val[src + r]
    return nnz, indices, data


# -- vocabulary strings ---------------------------------------------------------------------------
@njit(cache=True, nogil=True, inline="always")
def _term_codes(nc, ncls, kind, tokmin, pos, aux, lim, out, o, write):
    """Write the code points of one n-gram at ``out[o:]`` (when ``write``); returns the end.
    ``lim`` is the end of the n-gram's document."""
    if kind == 0:
        i = pos
        for t in range(aux):
            s, e = _next_token(ncls, i, lim, tokmin)
            if t > 0:
                if write:
                    out[o] = _SPACE
                o += 1
            for p in range(s, e):
                if write:
                    out[o] = nc[p]
                o += 1
            i = e
        return o
    off = aux // 256
    length = aux % 256
    we = pos
    if kind != 3:
        while we < lim and ncls[we] != CLS_SPACE:
            we += 1
    else:
        we = pos + off + length
    for v in range(off, off + length):
        if write:
            out[o] = _vchar(nc, pos, we, kind, v)
        o += 1
    return o


@njit(cache=True, nogil=True, parallel=True)
def term_strings(nc, ncls, kind, tokmin, pos, aux, lim):
    """Code points of the given n-grams (located by ``pos``, ``aux`` in documents ending at
    ``lim``), each followed by a newline (10)."""
    n = pos.shape[0]
    ptr = np.zeros(n + 1, dtype=np.int64)
    dummy = np.empty(0, dtype=np.uint32)
    for t in prange(n):
        ptr[t + 1] = _term_codes(nc, ncls, kind, tokmin, pos[t], aux[t], lim[t], dummy, 0,
                                 False) + 1
    for t in range(n):
        ptr[t + 1] += ptr[t]
    out = np.empty(ptr[n], dtype=np.uint32)
    for t in prange(n):
        end = _term_codes(nc, ncls, kind, tokmin, pos[t], aux[t], lim[t], out, ptr[t], True)
        out[end] = 10
    return out


@njit(cache=True, nogil=True)
def normalize_one(codes, cls):
    """Whitespace normalization of a single text (no thread pool: the serving path)."""
    n = _normalized_length(cls, 0, codes.shape[0])
    ncodes = np.empty(n, dtype=np.uint32)
    ncls = np.empty(n, dtype=np.uint8)
    _write_normalized(codes, cls, 0, codes.shape[0], ncodes, ncls, 0)
    return ncodes, ncls


@njit(cache=True, nogil=True)
def _normalize_values(val, lo, hi, norm):
    """Scale val[lo:hi] to unit norm (norm: 0 none, 1 l1, 2 l2)."""
    if norm == 0:
        return
    s = 0.0
    for i in range(lo, hi):
        s += abs(val[i]) if norm == 1 else val[i] * val[i]
    if norm == 2:
        s = np.sqrt(s)
    if s > 0:
        for i in range(lo, hi):
            val[i] = val[i] / s


@njit(cache=True, nogil=True)
def transform_one_text(codes, cls, ascii_cls, params, inner_w, key_off, keys, values, col_off,
                       idf, final_norm):
    """All blocks of one text in one call (the real-time path).

    Parameters
    ----------
    codes : uint32 (m,) code points (lower-cased / normalized already)
    cls : uint8 (m,) classes, or empty when every code point is ASCII (then ``ascii_cls``)
    params : int64 (n_blocks, 8): kind, min_n, max_n, tokmin, wmode, sublinear, use_idf, norm
    inner_w : float32 (n_blocks,)
    key_off : int64 (n_blocks + 1,): block b's table is keys/values[key_off[b]:key_off[b+1]]
    col_off : int64 (n_blocks + 1,): block b's columns (and idf entries)
    final_norm : 0 none, 1 l1, 2 l2

    Returns (indices int32 sorted, values float32).
    """
    m = codes.shape[0]
    if cls.shape[0] != m:
        cls = np.empty(m, dtype=np.uint8)
        for i in range(m):
            cls[i] = ascii_cls[codes[i]]
    nc, ncls = normalize_one(codes, cls)
    n = nc.shape[0]
    ts = np.empty(n + 2, dtype=np.int64)
    te = np.empty(n + 2, dtype=np.int64)
    empty_i = np.empty(0, dtype=np.int64)
    n_blocks = params.shape[0]
    total = 0
    counts = np.empty(n_blocks, dtype=np.int64)
    for b in range(n_blocks):
        counts[b] = emit_doc(nc, ncls, 0, n, params[b, 0], params[b, 1], params[b, 2],
                             params[b, 3], params[b, 4], inner_w[b], np.empty(0, np.uint64),
                             np.empty(0, np.float32), empty_i, empty_i, 0, False, ts, te)
        total += counts[b]
    h = np.empty(total, dtype=np.uint64)
    w = np.empty(total, dtype=np.float32)
    ids = np.empty(total, dtype=np.int32)
    out_idx = np.empty(total, dtype=np.int32)
    out_val = np.empty(total, dtype=np.float32)
    k = 0
    o = 0
    for b in range(n_blocks):
        k0 = k
        k = emit_doc(nc, ncls, 0, n, params[b, 0], params[b, 1], params[b, 2], params[b, 3],
                     params[b, 4], inner_w[b], h, w, empty_i, empty_i, k, True, ts, te)
        bk = keys[key_off[b]:key_off[b + 1]]
        bv = values[key_off[b]:key_off[b + 1]]
        for i in range(k0, k):
            c = _lookup(bk, bv, h[i])
            ids[i] = c + col_off[b] if c >= 0 else -1
        o0 = o
        o = _merge_doc(ids, w, k0, k, out_idx, out_val, o)
        for i in range(o0, o):
            v = out_val[i]
            if params[b, 5]:
                v = np.float32(1.0 + np.log(v))
            if params[b, 6]:
                v = v * idf[out_idx[i]]
            out_val[i] = v
        _normalize_values(out_val, o0, o, params[b, 7])
    _normalize_values(out_val, 0, o, final_norm)
    return out_idx[:o], out_val[:o]
