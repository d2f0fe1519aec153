"""Enumeration of the n-grams of normalized texts (the analyzers of the TF-IDF blocks).

Analyzer kinds: 0 = word n-grams, 1 = char n-grams with end-of-word marker ``#``, 2 = char n-grams
of space-padded words (scikit-learn's ``char_wb``), 3 = char n-grams of the whole text (prefixes).
An n-gram is located by ``pos`` (code position of the first token / word / text) and ``aux``
(``offset * 256 + length`` for char kinds, the number of tokens for word n-grams); n-gram strings
are only materialized for the vocabulary (:func:`term_strings`).
"""

from __future__ import annotations

import numpy as np

from ._jit import kernel
from .hashing import _FNV_OFFSET, _finish, _fnv
from .whitespace import CLS_SPACE, CLS_WORD, SPACE

_MARK = 35  # '#', the end-of-word marker of char blocks


@kernel(inline=True)
def _vchar(nc, ws, we, kind, v):
    """Code point ``v`` of the virtual string of a word [ws, we) for char kinds."""
    if kind == 1:  # word + '#'
        return nc[ws + v] if v < we - ws else _MARK
    if kind == 2:  # ' ' + word + ' '
        if v == 0 or v == we - ws + 1:
            return SPACE
        return nc[ws + v - 1]
    return nc[ws + v]  # kind 3: the text itself


@kernel(inline=True)
def _emit(out_h, out_w, out_pos, out_aux, k, write, h, w, pos, aux):
    if write:
        out_h[k] = _finish(h)
        out_w[k] = w
        if out_pos.shape[0] > 0:
            out_pos[k] = pos
            out_aux[k] = aux


@kernel(inline=True)
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


@kernel(inline=True)
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


@kernel(inline=True)
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
                    h = _fnv(h, SPACE)
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


@kernel
def _scratch(nptr, lo, hi):
    """Token-bound scratch for documents ``lo .. hi - 1`` (sized by the longest)."""
    longest = 0
    for d in range(lo, hi):
        longest = max(longest, nptr[d + 1] - nptr[d])
    return np.empty(longest + 2, dtype=np.int64), np.empty(longest + 2, dtype=np.int64)


@kernel
def count_ngrams(lo, hi, nc, ncls, nptr, kind, nmin, nmax, tokmin, wmode, inner_w, counts):
    """counts[d] = number of n-grams of document d, for documents ``lo .. hi - 1``."""
    dummy_h = np.empty(0, dtype=np.uint64)
    dummy_w = np.empty(0, dtype=np.float32)
    dummy_i = np.empty(0, dtype=np.int64)
    ts, te = _scratch(nptr, lo, hi)
    for d in range(lo, hi):
        counts[d] = emit_doc(nc, ncls, nptr[d], nptr[d + 1], kind, nmin, nmax, tokmin, wmode,
                             inner_w, dummy_h, dummy_w, dummy_i, dummy_i, 0, False, ts, te)


@kernel
def write_ngrams(lo, hi, nc, ncls, nptr, kind, nmin, nmax, tokmin, wmode, inner_w, eptr, h, w,
                 pos, aux):
    """The n-grams of documents ``lo .. hi - 1``, document d from ``eptr[d]``: hash ``h``
    (uint64), weight ``w`` (float32), and, when ``pos`` is not empty, location ``pos``/``aux``
    (int64)."""
    ts, te = _scratch(nptr, lo, hi)
    for d in range(lo, hi):
        emit_doc(nc, ncls, nptr[d], nptr[d + 1], kind, nmin, nmax, tokmin, wmode, inner_w,
                 h, w, pos, aux, eptr[d], True, ts, te)


@kernel(inline=True)
def _term_codes(nc, ncls, kind, tokmin, pos, aux, lim, out, o, write):
    """Write the code points of one n-gram at ``out[o:]`` (when ``write``); returns the end.
    ``lim`` is the end of the n-gram's document."""
    if kind == 0:
        i = pos
        for t in range(aux):
            s, e = _next_token(ncls, i, lim, tokmin)
            if t > 0:
                if write:
                    out[o] = SPACE
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


@kernel
def term_lengths(lo, hi, nc, ncls, kind, tokmin, pos, aux, lim, lengths):
    """lengths[t] = code points of n-gram t (``lo .. hi - 1``) plus one for its newline."""
    dummy = np.empty(0, dtype=np.uint32)
    for t in range(lo, hi):
        lengths[t] = _term_codes(nc, ncls, kind, tokmin, pos[t], aux[t], lim[t], dummy, 0,
                                 False) + 1


@kernel
def write_terms(lo, hi, nc, ncls, kind, tokmin, pos, aux, lim, ptr, out):
    """Code points of n-grams ``lo .. hi - 1`` (located by ``pos``, ``aux`` in documents ending
    at ``lim``), n-gram t at ``ptr[t]``, each followed by a newline (10)."""
    for t in range(lo, hi):
        end = _term_codes(nc, ncls, kind, tokmin, pos[t], aux[t], lim[t], out, ptr[t], True)
        out[end] = 10
