"""Damerau-Levenshtein (optimal string alignment) distance with an early stop, for spelling
correction of query words against a vocabulary."""

from __future__ import annotations

import numpy as np

from ._jit import kernel


@kernel
def osa_distance(a, b, limit):
    """Edit distance between code-point arrays ``a`` and ``b`` (insertions, deletions,
    substitutions and transpositions of adjacent characters); ``limit + 1`` as soon as it
    must exceed ``limit``."""
    n = a.shape[0]
    m = b.shape[0]
    if abs(n - m) > limit:
        return limit + 1
    prev2 = np.empty(m + 1, dtype=np.int64)
    prev = np.empty(m + 1, dtype=np.int64)
    cur = np.empty(m + 1, dtype=np.int64)
    for j in range(m + 1):
        prev[j] = j
        prev2[j] = j
    for i in range(1, n + 1):
        cur[0] = i
        row_min = i
        for j in range(1, m + 1):
            cost = 0 if a[i - 1] == b[j - 1] else 1
            v = min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + cost)
            if i > 1 and j > 1 and a[i - 1] == b[j - 2] and a[i - 2] == b[j - 1]:
                v = min(v, prev2[j - 2] + 1)
            cur[j] = v
            row_min = min(row_min, v)
        if row_min > limit:
            return limit + 1
        for j in range(m + 1):
            prev2[j] = prev[j]
            prev[j] = cur[j]
    return prev[m]


@kernel
def closest(word, flat, starts, lengths, candidates, limit):
    """The candidate (index into ``candidates`` of vocabulary word ids) nearest to ``word``
    within ``limit`` edits, as (position, distance); (-1, limit + 1) when none is."""
    best = -1
    best_d = limit + 1
    for c in range(candidates.shape[0]):
        w = candidates[c]
        d = osa_distance(word, flat[starts[w]:starts[w] + lengths[w]], min(limit, best_d))
        if d < best_d:
            best_d = d
            best = c
    return best, best_d
