"""Known queries sorted lexicographically: the queries extending a prefix are one id range,
and the most frequent of them a partial selection over their counts."""

from __future__ import annotations

import bisect
from typing import NamedTuple

import numpy as np

_END = "\U0010ffff"  # sorts after every character: prefix + _END bounds the prefix's range


class Suggestion(NamedTuple):
    """A completion and its score (filled-in popular completions score 0)."""

    query: str
    score: float


def prefix_range(labels: list[str], prefix: str) -> tuple[int, int]:
    """Ids ``[lo, hi)`` of the sorted ``labels`` that start with ``prefix``."""
    lo = bisect.bisect_left(labels, prefix)
    hi = bisect.bisect_left(labels, prefix + _END, lo)
    return lo, hi


def top_popular(counts: np.ndarray, lo: int, hi: int, k: int, exclude=()) -> list[int]:
    """Up to ``k`` ids in ``[lo, hi)`` by decreasing count (ties: lower id), skipping
    ``exclude``."""
    need = k + len(exclude)
    seg = counts[lo:hi]
    if seg.shape[0] > need:
        part = np.argpartition(-seg, need - 1)[:need]
        order = part[np.lexsort((part, -seg[part]))]
    else:
        order = np.lexsort((np.arange(seg.shape[0]), -seg))
    skip = set(exclude)
    return [lo + int(i) for i in order if lo + int(i) not in skip][:k]
