"""Gradient-boosted tree ensembles for ranking: trained by LightGBM, evaluated by xmr.

LightGBM trains (``pip install "xmr[retrieval]"``); the trees are then exported into flat arrays
and scored by a numba kernel (``xmr._kernels.trees``), so a saved model needs no LightGBM to
answer queries and one query's candidates are scored in one call without Python overhead.
Scores equal LightGBM's ``predict`` (tested).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from ._kernels import trees as _trees
from ._threads import parallel_for
from .errors import ConfigError, DataError
from .io.persist import Persistent, State, Stored

_MISSING = {"None": 0, "Zero": 1, "NaN": 2}


class TreeEnsemble(Persistent):
    """A sum of regression trees over dense float32 feature rows.

    Attributes
    ----------
    n_features : int
    feature_names : list[str]
    """

    format_name = "xmr.trees"
    format_version = 1

    def __init__(self, roots, feature, threshold, left, right, missing, default_left,
                 leaf_value, n_features: int, feature_names: Sequence[str]) -> None:
        self.roots = np.asarray(roots, dtype=np.int32)
        self.feature = np.asarray(feature, dtype=np.int32)
        self.threshold = np.asarray(threshold, dtype=np.float64)
        self.left = np.asarray(left, dtype=np.int32)
        self.right = np.asarray(right, dtype=np.int32)
        self.missing = np.asarray(missing, dtype=np.uint8)
        self.default_left = np.asarray(default_left, dtype=np.uint8)
        self.leaf_value = np.asarray(leaf_value, dtype=np.float64)
        self.n_features = int(n_features)
        self.feature_names = list(feature_names)
        # the fast layout, when no node routes missing values (xmr's features never are NaN)
        self._fast = None
        if not np.any(self.missing):
            t32 = self.threshold.astype(np.float32)
            t32 = np.where(t32.astype(np.float64) > self.threshold,
                           np.nextafter(t32, np.float32(-np.inf)), t32).astype(np.float32)
            children = np.empty(2 * self.left.shape[0], dtype=np.int32)
            children[0::2], children[1::2] = self.left, self.right
            self._fast = (t32, children)

    @classmethod
    def from_lightgbm(cls, booster: Any) -> TreeEnsemble:
        """Export a trained ``lightgbm.Booster`` (numerical splits only)."""
        model = booster.dump_model()
        feature, threshold, left, right, missing, default_left, leaf_value = ([] for _ in
                                                                              range(7))
        roots = []

        def walk(node: dict) -> int:
            if "leaf_value" in node or "split_index" not in node:
                leaf_value.append(float(node.get("leaf_value", 0.0)))
                return ~(len(leaf_value) - 1)
            if node.get("decision_type", "<=") != "<=":
                raise ConfigError("only numerical '<=' splits can be exported")
            i = len(feature)
            feature.append(int(node["split_feature"]))
            threshold.append(float(node["threshold"]))
            missing.append(_MISSING[node.get("missing_type", "None")])
            default_left.append(int(bool(node.get("default_left", True))))
            left.append(0)
            right.append(0)
            left[i] = walk(node["left_child"])
            right[i] = walk(node["right_child"])
            return i

        for tree in model["tree_info"]:
            roots.append(walk(tree["tree_structure"]))
        names = model.get("feature_names") or [f"f{i}" for i in range(model["max_feature_idx"] +
                                                                      1)]
        return cls(roots, feature, threshold, left, right, missing, default_left, leaf_value,
                   model["max_feature_idx"] + 1, names)

    def predict(self, X: np.ndarray) -> np.ndarray:
        """float64 (n,) scores of float32 rows ``X`` (n, n_features)."""
        X = np.ascontiguousarray(X, dtype=np.float32)
        if X.ndim != 2 or X.shape[1] != self.n_features:
            raise DataError(f"expected feature rows of width {self.n_features}; got shape "
                            f"{X.shape}")
        out = np.empty(X.shape[0], dtype=np.float64)
        if self._fast is not None and X.shape[0] <= 4096:  # one query's candidates
            if not np.all(np.isfinite(X)):
                raise DataError("feature rows hold NaN or infinity")
            t32, children = self._fast
            _trees.score_rows_tree_major(X, self.roots, self.feature, t32, children,
                                         self.leaf_value, out)
            return out
        args = (X, self.roots, self.feature, self.threshold, self.left, self.right,
                self.missing, self.default_left, self.leaf_value, out)
        parallel_for(_trees.score_rows, X.shape[0], args)
        return out

    # -- persistence ----------------------------------------------------------------------------
    def state(self) -> State:
        return State(arrays={"roots": self.roots, "feature": self.feature,
                             "threshold": self.threshold, "left": self.left,
                             "right": self.right, "missing": self.missing,
                             "default_left": self.default_left, "leaf_value": self.leaf_value},
                     strings={"feature_names": self.feature_names},
                     meta={"n_features": self.n_features, "n_trees": int(self.roots.shape[0])})

    @classmethod
    def from_stored(cls, stored: Stored) -> TreeEnsemble:
        n_features = stored.count("n_features")
        roots = stored.array("roots", np.int32, shape=(stored.count("n_trees"),))
        feature = stored.array("feature", np.int32, ndim=1)
        n_nodes = feature.shape[0]
        arrays = {name: stored.array(name, dtype, shape=(n_nodes,)) for name, dtype in
                  (("threshold", np.float64), ("left", np.int32), ("right", np.int32),
                   ("missing", np.uint8), ("default_left", np.uint8))}
        leaf_value = stored.array("leaf_value", np.float64, ndim=1)
        n_leaves = leaf_value.shape[0]
        stored.check_range("feature", feature, 0, max(n_features, 1))
        for name in ("left", "right"):
            stored.check_range(name, arrays[name], -n_leaves, max(n_nodes, 1))
        stored.check_range("roots", roots, -n_leaves, max(n_nodes, 1))
        _check_acyclic(stored, arrays["left"], arrays["right"])
        names = stored.strings("feature_names", n_features)
        return cls(roots, feature, arrays["threshold"], arrays["left"], arrays["right"],
                   arrays["missing"], arrays["default_left"], leaf_value, n_features, names)


def fit_lambdarank(X: np.ndarray, labels: np.ndarray, group_sizes: np.ndarray, *,
                   feature_names: Sequence[str], n_trees: int, learning_rate: float,
                   num_leaves: int, min_data_in_leaf: int, truncation: int, threads: int,
                   seed: int) -> TreeEnsemble:
    """Train LightGBM lambdarank on groups of rows (one group per query, in order) with integer
    relevance labels, and export the trees. Groups without a relevant row are dropped (they
    teach lambdarank nothing and cost time).

    Raises
    ------
    ConfigError when LightGBM is not installed; DataError when no group has a relevant row.
    """
    try:
        import lightgbm as lgb
    except ImportError:
        raise ConfigError("training a ranker needs LightGBM: pip install 'xmr[retrieval]' "
                          "or 'xmr[qac]'") from None
    group_sizes = np.asarray(group_sizes, dtype=np.int64)
    starts = np.cumsum(group_sizes) - group_sizes
    nonempty = group_sizes > 0
    has_positive = np.zeros(group_sizes.shape[0], dtype=bool)
    if labels.size:
        has_positive[nonempty] = np.add.reduceat(labels > 0, starts[nonempty]) > 0
    if not has_positive.any():
        raise DataError("no training query has a relevant candidate")
    rows = np.repeat(has_positive, group_sizes)
    params = {"objective": "lambdarank", "learning_rate": learning_rate,
              "num_leaves": num_leaves, "min_data_in_leaf": min_data_in_leaf,
              "lambdarank_truncation_level": truncation, "num_threads": threads,
              "seed": seed, "deterministic": True, "force_row_wise": True, "verbose": -1}
    data = lgb.Dataset(np.asarray(X, dtype=np.float32)[rows], label=labels[rows],
                       group=group_sizes[has_positive], feature_name=list(feature_names),
                       free_raw_data=True)
    return TreeEnsemble.from_lightgbm(lgb.train(params, data, num_boost_round=n_trees))


def _check_acyclic(stored: Stored, left: np.ndarray, right: np.ndarray) -> None:
    """Every child index points forward (export order), so no walk can loop forever."""
    n = left.shape[0]
    pos = np.arange(n)
    for name, child in (("left", left), ("right", right)):
        inner = child >= 0
        stored.check(bool(np.all(child[inner] > pos[inner])),
                     f"array {name!r} points backwards (a cycle)")
