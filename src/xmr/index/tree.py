"""The flat label tree shared by indexers, training and inference.

Level 0 holds the root alone; level ``depth`` holds one node per label. ``child_ptr[d]`` is an
int64 array of length ``n_nodes(d) + 1``: the children of node ``j`` of level ``d`` are the nodes
``child_ptr[d][j] .. child_ptr[d][j + 1] - 1`` of level ``d + 1``. Children of a node are
therefore contiguous, so the weights a node needs form one contiguous block (the MSCM layout).
``label_perm[s]`` is the label id at leaf slot ``s``. Fan-out may vary from node to node, which
also covers tries.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from ..errors import DataError


@dataclass(frozen=True, eq=False)
class LabelTree:
    """A label tree in flat form.

    Attributes
    ----------
    child_ptr : tuple of int64 arrays
        ``child_ptr[d]`` has shape (n_nodes(d) + 1,).
    label_perm : int32 array, shape (n_labels,)
        Label id at each leaf slot; a permutation of ``range(n_labels)``.
    """

    child_ptr: tuple[np.ndarray, ...]
    label_perm: np.ndarray

    def __post_init__(self) -> None:
        if len(self.child_ptr) == 0:
            raise DataError("LabelTree needs at least one level of child pointers")
        n_nodes = 1
        for d, ptr in enumerate(self.child_ptr):
            ptr = np.asarray(ptr)
            if ptr.ndim != 1 or ptr.shape[0] != n_nodes + 1:
                raise DataError(f"LabelTree level {d}: child_ptr must have {n_nodes + 1} entries, "
                                f"got shape {ptr.shape}")
            if ptr[0] != 0 or np.any(np.diff(ptr) < 0):
                raise DataError(f"LabelTree level {d}: child_ptr must start at 0 and not decrease")
            if np.any(np.diff(ptr) == 0):
                node = int(np.flatnonzero(np.diff(ptr) == 0)[0])
                raise DataError(f"LabelTree level {d}: node {node} has no children")
            n_nodes = int(ptr[-1])
        perm = np.asarray(self.label_perm)
        if perm.shape != (n_nodes,):
            raise DataError(f"LabelTree: the last level has {n_nodes} slots but label_perm has "
                            f"shape {perm.shape}")
        if n_nodes and not np.array_equal(np.sort(perm), np.arange(n_nodes)):
            raise DataError("LabelTree: label_perm is not a permutation of range(n_labels)")
        object.__setattr__(self, "child_ptr",
                           tuple(np.ascontiguousarray(p, dtype=np.int64) for p in self.child_ptr))
        object.__setattr__(self, "label_perm", np.ascontiguousarray(perm, dtype=np.int32))

    # -- shape ----------------------------------------------------------------------------------
    @property
    def depth(self) -> int:
        """Number of levels below the root (= number of trained model layers)."""
        return len(self.child_ptr)

    @property
    def n_labels(self) -> int:
        return int(self.label_perm.shape[0])

    def level_sizes(self) -> list[int]:
        """Number of nodes at each level, root (1) first, labels last."""
        return [1] + [int(p[-1]) for p in self.child_ptr]

    def parents(self, level: int) -> np.ndarray:
        """Parent index (in level ``level - 1``) of each node of ``level`` (>= 1), int64."""
        ptr = self.child_ptr[level - 1]
        return np.repeat(np.arange(ptr.shape[0] - 1, dtype=np.int64), np.diff(ptr))

    def label_slots(self) -> np.ndarray:
        """Leaf slot of each label id (inverse of ``label_perm``), int64."""
        slots = np.empty(self.n_labels, dtype=np.int64)
        slots[self.label_perm] = np.arange(self.n_labels)
        return slots

    def ancestors(self, level: int) -> np.ndarray:
        """Node of ``level`` above each label id, int64 array of shape (n_labels,)."""
        node = self.label_slots()
        for d in range(self.depth, level, -1):
            node = self.parents(d)[node]
        return node

    def level_targets(self, Y: sp.csr_matrix, level: int) -> sp.csr_matrix:
        """Binary (n_rows, n_nodes(level)) matrix: node is positive when a label below it is.

        Parameters
        ----------
        Y : csr_matrix, shape (n_rows, n_labels)
        level : int in [1, depth]
        """
        anc = self.ancestors(level)
        n_nodes = self.level_sizes()[level]
        cols = anc[Y.indices]
        out = sp.csr_matrix((np.ones(cols.shape[0], dtype=np.float32), cols.astype(np.int32),
                             Y.indptr.astype(np.int64)), shape=(Y.shape[0], n_nodes))
        out.sum_duplicates()
        out.data[:] = 1.0
        return out

    def leaf_clusters(self) -> list[np.ndarray]:
        """Label ids under each node of level ``depth - 1`` (for inspection and tests)."""
        ptr = self.child_ptr[-1]
        return [self.label_perm[ptr[j]:ptr[j + 1]] for j in range(ptr.shape[0] - 1)]

    # -- constructors ---------------------------------------------------------------------------
    @classmethod
    def flat(cls, n_labels: int) -> LabelTree:
        """One level: the root's children are the labels (plain one-vs-rest)."""
        if n_labels < 1:
            raise DataError("a label tree needs at least one label")
        return cls((np.array([0, n_labels], dtype=np.int64),),
                   np.arange(n_labels, dtype=np.int32))

    @classmethod
    def from_parents(cls, parents: Sequence[np.ndarray]) -> LabelTree:
        """Build from parent assignments, top level first.

        Parameters
        ----------
        parents : sequence of int arrays
            ``parents[0]`` gives, for each node of level 1, its parent (must be all 0);
            ``parents[d]`` gives, for each node of level ``d + 1``, its parent in level ``d``;
            the last array gives, for each label id, its cluster in the level above the labels.
            Nodes need not be sorted by parent: they are reordered (stably) so that children of
            a node are contiguous.
        """
        if len(parents) == 0:
            raise DataError("from_parents needs at least one level")
        order_prev = np.zeros(1, dtype=np.int64)  # position of each original node of prev level
        child_ptr = []
        perm = None
        n_prev = 1
        for d, par in enumerate(parents):
            par = np.asarray(par, dtype=np.int64)
            if par.ndim != 1:
                raise DataError(f"from_parents: level {d + 1} parents must be 1-d")
            if par.size and (par.min() < 0 or par.max() >= n_prev):
                raise DataError(f"from_parents: level {d + 1} has a parent id outside "
                                f"[0, {n_prev})")
            new_parent_pos = order_prev[par]
            perm = np.argsort(new_parent_pos, kind="stable")  # original node at each new slot
            counts = np.bincount(new_parent_pos, minlength=n_prev)
            ptr = np.zeros(n_prev + 1, dtype=np.int64)
            np.cumsum(counts, out=ptr[1:])
            child_ptr.append(ptr)
            order_prev = np.empty(par.shape[0], dtype=np.int64)
            order_prev[perm] = np.arange(par.shape[0])
            n_prev = par.shape[0]
        return cls(tuple(child_ptr), perm.astype(np.int32))

    @classmethod
    def from_leaf_clusters(cls, cluster_of_label: np.ndarray, branching_factor: int) -> LabelTree:
        """Tree whose leaf clusters are given; groups of ``branching_factor`` consecutive
        clusters are merged bottom-up until at most ``branching_factor`` remain (as PECOS does
        with the codes of a binary k-means tree, where consecutive codes are siblings)."""
        cluster_of_label = np.asarray(cluster_of_label)
        if cluster_of_label.ndim != 1 or (cluster_of_label.size and (
                not np.issubdtype(cluster_of_label.dtype, np.integer)
                or cluster_of_label.min() < 0)):
            raise DataError("from_leaf_clusters: cluster ids must be a 1-d array of "
                            "non-negative integers")
        if branching_factor < 2:
            raise DataError(f"from_leaf_clusters: branching_factor must be >= 2; got "
                            f"{branching_factor}")
        cluster_of_label = cluster_of_label.astype(np.int64)
        n_codes = int(cluster_of_label.max()) + 1 if cluster_of_label.size else 0
        parents = [cluster_of_label]
        while n_codes > branching_factor:
            codes = np.arange(n_codes, dtype=np.int64) // branching_factor
            parents.insert(0, codes)
            n_codes = int(codes[-1]) + 1
        if n_codes > 1:  # a single cluster is the root itself
            parents.insert(0, np.zeros(n_codes, dtype=np.int64))
        return cls.from_parents(parents)
