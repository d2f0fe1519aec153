"""Trie and trie/k-means hybrid indexers, and the prefix node mask."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import given, settings
from hypothesis import strategies as st

from xmr.errors import DataError
from xmr.index.config import IndexerConfig
from xmr.index.trie import hybrid_tree, trie_tree
from xmr.linear.model import XLinearModel

LABELS = ["echo", "echo dot", "echo show", "eat", "apple", "apply", "b", "banana", "band",
          "bandana"]


def clusters(tree, labels):
    return [sorted(labels[i] for i in c) for c in tree.leaf_clusters()]


def test_trie_splits_by_character_and_collapses_chains():
    tree = trie_tree(LABELS, max_leaf_size=2)
    got = clusters(tree, LABELS)
    assert got == [["apple", "apply"], ["b"], ["banana"], ["band", "bandana"], ["eat"], ["echo"],
                   ["echo dot", "echo show"]]
    # "ap" -> "appl" is a single-child chain: "apple"/"apply" sit directly under the "a" node
    assert tree.level_sizes()[1] == 3  # a, b, e


def test_trie_leaf_of_small_set_and_errors():
    assert trie_tree(["x", "y"], max_leaf_size=5).level_sizes() == [1, 1, 2]
    with pytest.raises(DataError, match="duplicate label 'x'"):
        trie_tree(["x", "y", "x"], max_leaf_size=1)
    with pytest.raises(DataError, match="non-empty"):
        trie_tree(["", "y"], max_leaf_size=1)


@settings(max_examples=40, deadline=None)
@given(st.sets(st.text(alphabet="ab c", min_size=1, max_size=6), min_size=1, max_size=60),
       st.integers(1, 5))
def test_trie_properties(label_set, leaf):
    labels = sorted(label_set)
    tree = trie_tree(labels, max_leaf_size=leaf)
    leaves = tree.leaf_clusters()
    assert sorted(np.concatenate(leaves).tolist()) == list(range(len(labels)))
    for c in leaves:
        assert len(c) <= leaf
    # leaves follow lexicographic order: concatenated they list the labels sorted
    flat = [labels[i] for c in leaves for i in sorted(c, key=lambda j: labels[j])]
    assert flat == sorted(labels)


def test_hybrid_keeps_trie_prefixes_on_top():
    rng = np.random.default_rng(0)
    words = ["echo", "alpha", "beta", "gamma", "delta"]
    labels = sorted({f"{a} {b} {i}" for a in words for b in words for i in range(4)})
    emb = sp.csr_matrix(rng.random((len(labels), 8)).astype(np.float32))
    tree = hybrid_tree(labels, emb, trie_depth=1,
                       config=IndexerConfig(max_leaf_size=10, branching_factor=2))
    for c in tree.leaf_clusters():
        assert len(c) <= 10
        assert len({labels[i][0] for i in c}) == 1  # one first character per leaf
    assert sorted(np.concatenate(tree.leaf_clusters()).tolist()) == list(range(len(labels)))


def test_label_mask_marks_exactly_the_ancestors(small_problem):
    P = small_problem
    model = XLinearModel().fit(P.X_train, P.Y_train)
    layout = model.layout_
    parent = layout.node_parent()
    slot = np.empty(model.n_labels_, dtype=np.int64)
    slot[layout.label_perm] = np.arange(model.n_labels_)
    for labels in [np.array([0]), np.arange(5, 60), np.arange(model.n_labels_),
                   np.array([7, 3, 7])]:
        want = np.zeros(layout.n_nodes, dtype=np.uint8)  # walk every path up, in numpy
        nodes = slot[labels] + layout.level_start[layout.depth]
        for _ in range(layout.depth + 1):
            want[nodes] = 1
            nodes = parent[np.maximum(nodes, 1)]
        want[0] = 1
        np.testing.assert_array_equal(model.label_mask(labels), want)


def test_masked_beam_gives_pair_scores(small_problem):
    """The QAC completer scores a few given labels with a masked single-query beam search."""
    P = small_problem
    model = XLinearModel().fit(P.X_train, P.Y_train)
    x = P.X_test[0]
    labels = np.array([4, 17, 250, 399])
    top = model.predict_one((x.indices, x.data), top_k=4, beam_size=10,
                            labels=model.label_mask(labels))
    pair = model.score(x, np.zeros(4, dtype=np.int64), labels)
    got = dict(zip(top.indices.tolist(), top.scores.tolist(), strict=True))
    assert sorted(got) == sorted(labels.tolist())
    np.testing.assert_allclose([got[int(i)] for i in labels], pair, rtol=1e-5)
