"""Byte-level parser for sparse multi-label text formats (XC repository and LIBSVM).

Hand-written because neither numpy nor scipy reads ``l1,l2 f:v f:v`` lines, and scikit-learn's
svmlight reader needs a Python pass per line and reports no line numbers. A line is
``[labels] [feature:value ...]`` where ``labels`` is a comma-separated list of non-negative
integers and features are ``index:value`` pairs separated by blanks.

The kernel runs twice: once to count (``fill=False``), once to fill preallocated arrays.
It returns a status code (see ``STATUS_MESSAGES``) and the 1-based line number of a problem.
"""

from __future__ import annotations

import numpy as np

from ._jit import kernel

OK = 0
BAD_LABEL = 1
BAD_FEATURE_INDEX = 2
MISSING_COLON = 3
BAD_VALUE = 4
NEGATIVE_INDEX = 5

#: ids are stored as int32: larger ones are refused, not wrapped around
MAX_ID = 2**31 - 2

STATUS_MESSAGES = {
    BAD_LABEL: f"a label id is not an integer in [0, {MAX_ID}]",
    BAD_FEATURE_INDEX: f"a feature index is not an integer in [0, {MAX_ID}]",
    MISSING_COLON: "a feature is not written as index:value",
    BAD_VALUE: "a feature value is not a finite number",
    NEGATIVE_INDEX: "a 1-based feature index is 0",
}

_SPACE = 32
_TAB = 9
_NL = 10
_CR = 13
_COMMA = 44
_COLON = 58
_DOT = 46
_MINUS = 45
_PLUS = 43
_ZERO = 48
_NINE = 57
_E_LOW = 101
_E_UP = 69


@kernel
def _is_blank(c):
    return c == _SPACE or c == _TAB or c == _CR


@kernel
def _parse_int(buf, pos, end):
    """Parse digits at ``pos``; return (value, new_pos, ok). ``ok`` is False without digits or
    when the value exceeds ``MAX_ID`` (the digits are still consumed: no silent wrap-around)."""
    value = 0
    start = pos
    too_large = False
    while pos < end and _ZERO <= buf[pos] <= _NINE:
        if not too_large:
            value = value * 10 + (np.int64(buf[pos]) - _ZERO)
            too_large = value > MAX_ID
        pos += 1
    return value, pos, pos > start and not too_large


@kernel
def _parse_float(buf, pos, end):
    """Parse ``[+-]digits[.digits][e[+-]digits]``; return (value, new_pos, ok)."""
    sign = 1.0
    if pos < end and (buf[pos] == _MINUS or buf[pos] == _PLUS):
        if buf[pos] == _MINUS:
            sign = -1.0
        pos += 1
    mant = 0.0
    digits = 0
    while pos < end and _ZERO <= buf[pos] <= _NINE:
        mant = mant * 10.0 + (np.int64(buf[pos]) - _ZERO)
        pos += 1
        digits += 1
    scale = 0
    if pos < end and buf[pos] == _DOT:
        pos += 1
        while pos < end and _ZERO <= buf[pos] <= _NINE:
            mant = mant * 10.0 + (np.int64(buf[pos]) - _ZERO)
            scale -= 1
            pos += 1
            digits += 1
    if digits == 0:
        return 0.0, pos, False
    if pos < end and (buf[pos] == _E_LOW or buf[pos] == _E_UP):
        pos += 1
        esign = 1
        if pos < end and (buf[pos] == _MINUS or buf[pos] == _PLUS):
            if buf[pos] == _MINUS:
                esign = -1
            pos += 1
        e, pos, ok = _parse_int(buf, pos, end)
        if not ok:
            return 0.0, pos, False
        scale += esign * e
    value = sign * mant * 10.0 ** scale
    if not np.isfinite(value):
        return 0.0, pos, False
    return value, pos, True


@kernel
def parse_sparse_lines(buf, start, index_base, fill, row_ptr, lab_ptr, labels, feat_ids, feat_vals):
    """Parse all lines of ``buf[start:]``.

    Parameters
    ----------
    buf : uint8 array
        The (decompressed) file contents.
    start : int
        Byte offset of the first data line (after any header).
    index_base : int
        0 for 0-based feature indices, 1 for 1-based (LIBSVM).
    fill : bool
        False: only count. True: write into the output arrays, sized from the counting pass.
    row_ptr, lab_ptr : int64 arrays (n_rows + 1)
        Feature and label pointers per row (written when ``fill``).
    labels, feat_ids : int64 arrays; feat_vals : float32 array

    Returns
    -------
    status, line_number, n_rows, n_labels_total, n_features_total, max_label, max_feature
    """
    end = buf.shape[0]
    pos = start
    n_rows = 0
    n_lab = 0
    n_feat = 0
    max_label = -1
    max_feat = -1
    line_no = 0
    if fill:
        row_ptr[0] = 0
        lab_ptr[0] = 0
    while pos < end:
        line_no += 1
        # find the end of this line
        line_end = pos
        while line_end < end and buf[line_end] != _NL:
            line_end += 1
        p = pos
        while p < line_end and _is_blank(buf[p]):
            p += 1
        # label part: first token, unless it holds a colon (then the row has no labels)
        tok_end = p
        has_colon = False
        while tok_end < line_end and not _is_blank(buf[tok_end]):
            if buf[tok_end] == _COLON:
                has_colon = True
            tok_end += 1
        if tok_end > p and not has_colon:
            while p < tok_end:
                v, p, ok = _parse_int(buf, p, tok_end)
                if not ok:
                    return BAD_LABEL, line_no, n_rows, n_lab, n_feat, max_label, max_feat
                if fill:
                    labels[n_lab] = v
                n_lab += 1
                if v > max_label:
                    max_label = v
                if p < tok_end:
                    if buf[p] != _COMMA:
                        return BAD_LABEL, line_no, n_rows, n_lab, n_feat, max_label, max_feat
                    p += 1
                    if p == tok_end:  # trailing comma
                        return BAD_LABEL, line_no, n_rows, n_lab, n_feat, max_label, max_feat
        # feature part
        while True:
            while p < line_end and _is_blank(buf[p]):
                p += 1
            if p >= line_end:
                break
            idx, p, ok = _parse_int(buf, p, line_end)
            if not ok:
                # LIBSVM's optional "qid:N" token is skipped
                if (p + 3 < line_end and buf[p] == 113 and buf[p + 1] == 105
                        and buf[p + 2] == 100 and buf[p + 3] == _COLON):
                    p += 4
                    while p < line_end and not _is_blank(buf[p]):
                        p += 1
                    continue
                return BAD_FEATURE_INDEX, line_no, n_rows, n_lab, n_feat, max_label, max_feat
            if p >= line_end or buf[p] != _COLON:
                return MISSING_COLON, line_no, n_rows, n_lab, n_feat, max_label, max_feat
            p += 1
            val, p, ok = _parse_float(buf, p, line_end)
            if not ok or (p < line_end and not _is_blank(buf[p])):
                return BAD_VALUE, line_no, n_rows, n_lab, n_feat, max_label, max_feat
            idx -= index_base
            if idx < 0:
                return NEGATIVE_INDEX, line_no, n_rows, n_lab, n_feat, max_label, max_feat
            if fill:
                feat_ids[n_feat] = idx
                feat_vals[n_feat] = val
            n_feat += 1
            if idx > max_feat:
                max_feat = idx
        n_rows += 1
        if fill:
            row_ptr[n_rows] = n_feat
            lab_ptr[n_rows] = n_lab
        pos = line_end + 1
    return OK, line_no, n_rows, n_lab, n_feat, max_label, max_feat
