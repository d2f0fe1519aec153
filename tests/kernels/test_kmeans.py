"""Balanced 2-means splits and the hierarchical indexer."""

from __future__ import annotations

import numba
import numpy as np
import pytest
import scipy.sparse as sp

from xmr.index.config import IndexerConfig
from xmr.index.kmeans import binary_depth, hierarchical_kmeans
from xmr.sparse import l2_normalize_rows


def _planted(n_groups=8, per=30, d=200, seed=0):
    """Labels in n_groups groups; members of a group share a disjoint block of features."""
    rng = np.random.default_rng(seed)
    rows, cols = [], []
    block = d // n_groups
    for g in range(n_groups):
        for m in range(per):
            feats = rng.choice(block, size=6, replace=False) + g * block
            rows += [g * per + m] * 6
            cols += feats.tolist()
    emb = sp.csr_matrix((np.ones(len(rows), dtype=np.float32), (rows, cols)),
                        shape=(n_groups * per, d))
    return l2_normalize_rows(emb), np.repeat(np.arange(n_groups), per)


def test_every_label_in_exactly_one_balanced_leaf():
    emb, _ = _planted()
    tree = hierarchical_kmeans(emb, IndexerConfig(max_leaf_size=30, branching_factor=4))
    clusters = tree.leaf_clusters()
    members = np.concatenate(clusters)
    assert sorted(members.tolist()) == list(range(emb.shape[0]))
    sizes = [len(c) for c in clusters]
    assert max(sizes) <= 30 and max(sizes) - min(sizes) <= 1


def test_planted_groups_are_recovered():
    emb, group = _planted()
    tree = hierarchical_kmeans(emb, IndexerConfig(max_leaf_size=30, branching_factor=16))
    purity = [np.bincount(group[c]).max() / len(c) for c in tree.leaf_clusters()]
    assert np.mean(purity) >= 0.9


@pytest.mark.parametrize("n_labels", [16, 300])
def test_same_tree_for_any_thread_count(n_labels):
    emb, _ = _planted(n_groups=n_labels // 8 if n_labels > 16 else 2, per=8 if n_labels > 16
                      else 8, d=400)
    cfg = IndexerConfig(max_leaf_size=4, branching_factor=4, seed=7)
    previous = numba.get_num_threads()
    try:
        numba.set_num_threads(1)
        one = hierarchical_kmeans(emb, cfg)
        numba.set_num_threads(min(2, numba.config.NUMBA_NUM_THREADS))
        two = hierarchical_kmeans(emb, cfg)
    finally:
        numba.set_num_threads(previous)
    assert np.array_equal(one.label_perm, two.label_perm)
    assert all(np.array_equal(a, b) for a, b in zip(one.child_ptr, two.child_ptr, strict=True))


def test_binary_depth_matches_pecos_rule():
    assert binary_depth(159, 100) == 1
    assert binary_depth(20_000, 100) == 8
    assert binary_depth(3, 1) == 1  # capped so that no cluster is empty
    assert binary_depth(1_000_000, 100) == 14
