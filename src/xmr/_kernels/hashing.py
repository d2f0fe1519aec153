"""Hashing of n-grams and the vocabulary hash tables of the TF-IDF vectorizer.

Every n-gram is identified by a 64-bit FNV-1a hash of its code points (finalized with a mixer so
that top and low bits are uniform); two different n-grams with the same hash would share a
column, which for a vocabulary of V terms happens with probability about V^2 / 2^65 (1e-7 for a
million terms). Tables use open addressing with linear probing at load <= 0.5; key 0 marks an
empty slot.
"""

from __future__ import annotations

import numpy as np

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


@kernel
def shard_order(h, n_shard_bits):
    """Group the hashes by shard (their top bits), keeping their order within a shard.

    Returns (shard_of int32 (n,), counts int64 (n_shards + 1,) shard boundaries in ``order``,
    order int64 (n,)).
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
    return shard_of, counts, order


@kernel
def dedupe_shards(lo, hi, h, counts, order, local, n_local, firsts):
    """Number the distinct hashes of shards ``lo .. hi - 1`` in order of first occurrence, each
    shard in its own small table: ``local[i]`` = id of hash i within its shard, ``n_local[s]`` =
    distinct hashes of shard s, ``firsts[counts[s] + t]`` = first occurrence of its t-th."""
    for s in range(lo, hi):
        a = counts[s]
        b = counts[s + 1]
        cap = _pow2_at_least(2 * (b - a))
        mask = np.uint64(cap - 1)
        keys = np.zeros(cap, dtype=np.uint64)
        vals = np.empty(cap, dtype=np.int32)
        m = 0
        for r in range(a, b):
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
                    firsts[a + m] = i
                    m += 1
                    break
                slot = (slot + _ONE) & mask
        n_local[s] = m


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


@kernel
def lookup_ids(lo, hi, keys, values, h, ids):
    """ids[i] = column of hash ``h[i]`` (-1 when not in the vocabulary), ``lo <= i < hi``."""
    for i in range(lo, hi):
        ids[i] = _lookup(keys, values, h[i])
