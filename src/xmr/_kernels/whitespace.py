"""Whitespace normalization of code-point arrays (corpus-wide and for one text).

Text arrives as one uint32 array of Unicode code points for the whole corpus (documents back to
back, located by a pointer array) plus a parallel uint8 class array.
"""

from __future__ import annotations

import numpy as np

from ._jit import kernel

CLS_OTHER = 0
CLS_WORD = 1
CLS_SPACE = 2
SPACE = 32


@kernel
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


@kernel
def normalized_lengths(lo, hi, cls, starts, ends, lengths):
    """lengths[d] = length of document d (``lo .. hi - 1``) after whitespace normalization:
    leading whitespace dropped, each whitespace run collapsed to one space (a trailing run
    stays as one space: "echo " has finished a word, which prefix features can see)."""
    for d in range(lo, hi):
        lengths[d] = _normalized_length(cls, starts[d], ends[d])


@kernel
def write_normalized(lo, hi, codes, cls, starts, ends, nptr, ncodes, ncls):
    """Write documents ``lo .. hi - 1`` normalized, document d at ``nptr[d]``."""
    for d in range(lo, hi):
        _write_normalized(codes, cls, starts[d], ends[d], ncodes, ncls, nptr[d])


@kernel(inline=True)
def _write_normalized(codes, cls, a, b, ncodes, ncls, o):
    """Write the whitespace-normalized text [a, b) at ``o`` (length from _normalized_length)."""
    prev_space = True
    for i in range(a, b):
        if cls[i] == CLS_SPACE:
            if not prev_space:
                ncodes[o] = SPACE
                ncls[o] = CLS_SPACE
                o += 1
            prev_space = True
        else:
            ncodes[o] = codes[i]
            ncls[o] = cls[i]
            o += 1
            prev_space = False


@kernel
def normalize_one(codes, cls):
    """Whitespace normalization of a single text (no thread pool: the serving path)."""
    n = _normalized_length(cls, 0, codes.shape[0])
    ncodes = np.empty(n, dtype=np.uint32)
    ncls = np.empty(n, dtype=np.uint8)
    _write_normalized(codes, cls, 0, codes.shape[0], ncodes, ncls, 0)
    return ncodes, ncls
