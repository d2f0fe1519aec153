from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp

from xmr import DataError, LabelTree


def test_from_parents_makes_children_contiguous():
    # level 1: 2 nodes; labels 0..4 assigned to clusters out of order
    tree = LabelTree.from_parents([np.zeros(2, dtype=int), np.array([1, 0, 1, 0, 1])])
    assert tree.level_sizes() == [1, 2, 5]
    assert tree.child_ptr[1].tolist() == [0, 2, 5]
    assert tree.label_perm.tolist() == [1, 3, 0, 2, 4]
    assert [c.tolist() for c in tree.leaf_clusters()] == [[1, 3], [0, 2, 4]]


def test_variable_fanout_and_level_targets():
    tree = LabelTree((np.array([0, 3]), np.array([0, 1, 3, 6])), np.arange(6))
    Y = sp.csr_matrix(np.array([[0, 0, 1, 0, 0, 1], [1, 0, 0, 0, 0, 0]], dtype=np.float32))
    T = tree.level_targets(Y, 1)
    assert T.toarray().tolist() == [[0, 1, 1], [1, 0, 0]]
    assert tree.ancestors(1).tolist() == [0, 1, 1, 2, 2, 2]


@pytest.mark.parametrize("ptrs,perm,needle", [
    ((np.array([0, 2]),), np.array([0, 0]), "not a permutation"),
    ((np.array([0, 2, 2]),), np.arange(2), "must have 2 entries"),
    ((np.array([0, 2]), np.array([0, 0, 3])), np.arange(3), "has no children"),
    ((np.array([1, 2]),), np.arange(1), "start at 0"),
])
def test_invalid_trees_are_refused(ptrs, perm, needle):
    with pytest.raises(DataError, match=needle):
        LabelTree(ptrs, perm)


def test_from_leaf_clusters_groups_bottom_up_like_pecos():
    codes = np.repeat(np.arange(40), 3)  # 40 leaf clusters of 3 labels
    tree = LabelTree.from_leaf_clusters(codes, 16)
    assert tree.level_sizes() == [1, 3, 40, 120]
    single = LabelTree.from_leaf_clusters(np.zeros(5, dtype=int), 16)
    assert single.level_sizes() == [1, 5]
