"""Evaluate an ensemble of binary decision trees (exported from LightGBM) on rows of features.

Nodes of all trees are stored flat: ``feature``, ``threshold``, ``left``, ``right`` per internal
node, where a child >= 0 is an internal node and a child < 0 is leaf ``~child``; ``missing`` is
0 (none), 1 (zero is missing) or 2 (NaN is missing), with ``default_left`` for where missing
values go; ``roots[t]`` is tree t's root (``~leaf`` for a single-leaf tree).
"""

from __future__ import annotations

import numpy as np

from ._jit import kernel

_ZERO_THRESHOLD = 1e-35  # LightGBM's kZeroThreshold


@kernel(inline=True)
def _goes_left(x, threshold, missing, default_left):
    if missing == 2 and np.isnan(x):
        return default_left
    if missing == 1 and (np.isnan(x) or abs(x) <= _ZERO_THRESHOLD):
        return default_left
    if np.isnan(x):  # no missing handling: NaN is treated as 0 (LightGBM's rule)
        x = 0.0
    return x <= threshold


@kernel
def score_rows(lo, hi, X, roots, feature, threshold, left, right, missing, default_left,
               leaf_value, out):
    """out[i] = sum over trees of the leaf reached by row i of ``X`` (float32 (n, n_features)),
    for rows ``lo .. hi - 1``."""
    for i in range(lo, hi):
        s = 0.0
        for t in range(roots.shape[0]):
            node = roots[t]
            while node >= 0:
                if _goes_left(np.float64(X[i, feature[node]]), threshold[node], missing[node],
                              default_left[node]):
                    node = left[node]
                else:
                    node = right[node]
            s += leaf_value[~node]
        out[i] = s


@kernel
def score_rows_tree_major(X, roots, feature, threshold32, children, leaf_value, out):
    """Sum of the trees' leaves for every row of ``X`` (float32 (n, n_features)), tree after
    tree (a tree's nodes stay in cache across the rows). For ensembles without missing-value
    handling: ``threshold32`` is the float32 equivalent of each threshold (for a float32 x,
    ``x <= t`` iff ``x <= largest float32 <= t``) and ``children[2 * node + go_right]`` is the
    next node (< 0: leaf ``~child``)."""
    n = X.shape[0]
    for i in range(n):
        out[i] = 0.0
    for t in range(roots.shape[0]):
        root = roots[t]
        if root < 0:
            v = leaf_value[~root]
            for i in range(n):
                out[i] += v
            continue
        for i in range(n):
            node = root
            while node >= 0:
                go_right = X[i, feature[node]] > threshold32[node]
                node = children[2 * node + go_right]
            out[i] += leaf_value[~node]
