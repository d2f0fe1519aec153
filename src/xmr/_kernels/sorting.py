"""Selection and sorting for the other kernels.

Hand-written because numba's implementations of ``np.partition``, ``np.sort`` and
``np.argsort(kind="mergesort")`` take 1.3-4.8 s each to compile (per dtype), which made a cold
``xmr demo`` spend most of its first minute compiling; these take a fraction of that and give
the same results (a selected value is a value; stable sorts give numpy's stable order).
"""

from __future__ import annotations

import numpy as np

from ._jit import kernel


@kernel
def kth_smallest(buf, k):
    """The ``k``-th smallest value (0-based) of ``buf``, which is reordered (Hoare quickselect
    with a median-of-three pivot; NaN-free input)."""
    lo = 0
    hi = buf.shape[0] - 1
    while lo < hi:
        mid = (lo + hi) >> 1
        a = buf[lo]
        b = buf[mid]
        c = buf[hi]
        if a > b:
            a, b = b, a
        if b > c:
            b = c
            if a > b:
                b = a
        pivot = b
        i = lo
        j = hi
        while i <= j:
            while buf[i] < pivot:
                i += 1
            while buf[j] > pivot:
                j -= 1
            if i <= j:
                t = buf[i]
                buf[i] = buf[j]
                buf[j] = t
                i += 1
                j -= 1
        if k <= j:
            hi = j
        elif k >= i:
            lo = i
        else:
            return buf[k]
    return buf[k]


@kernel
def argsort_stable(keys):
    """int64 indices that sort ``keys`` ascending, equal keys in input order (bottom-up merge
    sort: numpy's ``kind="stable"`` order)."""
    n = keys.shape[0]
    idx = np.empty(n, dtype=np.int64)
    for i in range(n):
        idx[i] = i
    if n < 2:
        return idx
    run = 16  # insertion-sort short runs first
    for start in range(0, n, run):
        end = min(start + run, n)
        for i in range(start + 1, end):
            v = idx[i]
            kv = keys[v]
            j = i - 1
            while j >= start and keys[idx[j]] > kv:
                idx[j + 1] = idx[j]
                j -= 1
            idx[j + 1] = v
    src = idx
    dst = np.empty(n, dtype=np.int64)
    width = run
    while width < n:
        for lo in range(0, n, 2 * width):
            mid = min(lo + width, n)
            hi = min(lo + 2 * width, n)
            i = lo
            j = mid
            o = lo
            while i < mid and j < hi:
                if keys[src[j]] < keys[src[i]]:
                    dst[o] = src[j]
                    j += 1
                else:
                    dst[o] = src[i]
                    i += 1
                o += 1
            while i < mid:
                dst[o] = src[i]
                i += 1
                o += 1
            while j < hi:
                dst[o] = src[j]
                j += 1
                o += 1
        src, dst = dst, src
        width *= 2
    return src


@kernel
def sort_in_place(a):
    """Sort ``a`` ascending in place (for arrays of distinct integers, where order among equal
    values cannot matter)."""
    order = argsort_stable(a)
    tmp = np.empty_like(a)
    for i in range(a.shape[0]):
        tmp[i] = a[order[i]]
    for i in range(a.shape[0]):
        a[i] = tmp[i]
