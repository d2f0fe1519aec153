"""Hashing of n-grams and the vocabulary hash tables of the TF-IDF vectorizer.

Every n-gram is identified by a 64-bit FNV-1a hash of its code points (finalized with a mixer so
that top and low bits are uniform); two different n-grams with the same hash would share a
column, which for a vocabulary of V terms happens with probability about V^2 / 2^65 (1e-7 for a
million terms). Tables use open addressing with linear probing at load <= 0.5; key 0 marks an
empty slot.
"""

from __future__ import annotations

import numpy as np
from numba import prange

from ._jit import kernel

_FNV_OFFSET = np.uint64(14695981039346656037)
_FNV_PRIME = np.uint64(1099511628211)
_MIX1 = np.uint64(0xFF51AFD7ED558CCD)
_MIX2 = np.uint64(0xC4CEB9FE1A85EC53)
_SHIFT33 = np.uint64(33)
_ONE = np.uint64(1)
_ZERO = np.uint64(0)


@kernel(inline=True)
def _fnv(h, c):
    return (h ^ np.uint64(c)) * _FNV_PRIME


@kernel(inline=True)
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


@kernel
def _pow2_at_least(n):
    c = 16
    while c < n:
        c *= 2
    return c


@kernel(parallel=True)
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


@kernel
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


@kernel(inline=True)
def _lookup(keys, values, key):
    mask = np.uint64(keys.shape[0] - 1)
    slot = key & mask
    for _ in range(keys.shape[0]):  # bounded: a damaged table without empty slots ends too
        kk = keys[slot]
        if kk == key:
            return values[slot]
        if kk == _ZERO:
            return -1
        slot = (slot + _ONE) & mask
    return -1


@kernel(parallel=True)
def lookup_ids(keys, values, h):
    """Column of each hash (-1 when not in the vocabulary)."""
    ids = np.empty(h.shape[0], dtype=np.int32)
    for i in prange(h.shape[0]):
        ids[i] = _lookup(keys, values, h[i])
    return ids
