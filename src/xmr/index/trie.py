"""Character-trie and trie/k-means hybrid indexers over label strings (query autocompletion).

A trie node holds the labels sharing a prefix; its children split them by the next character.
Chains of single-child nodes are collapsed (the split moves on to the next character without
adding a level), and a node with at most ``max_leaf_size`` labels becomes a leaf cluster. The
hybrid stops the trie at ``trie_depth`` characters and clusters what remains of each trie node
with balanced k-means on label embeddings. Leaves end at different depths; the flat
:class:`LabelTree` needs one depth, so a shallow leaf cluster is repeated down the levels as a
chain of single-child nodes (a pass-through that costs one small classifier per level).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import scipy.sparse as sp

from ..errors import DataError
from .config import IndexerConfig
from .kmeans import hierarchical_kmeans
from .tree import LabelTree


class SortedCodes:
    """The code points of the labels in lexicographic order, as one flat buffer.

    ``column(a, b, c)`` gives the c-th code point of sorted labels ``a .. b - 1`` (0 past a
    label's end); memory is the labels' total length, not ``n_labels x longest label``.
    """

    def __init__(self, flat: np.ndarray, starts: np.ndarray, lengths: np.ndarray) -> None:
        self.flat = flat
        self.starts = starts
        self.lengths = lengths
        self.max_len = int(lengths.max()) if lengths.size else 0

    def column(self, a: int, b: int, c: int) -> np.ndarray:
        """uint32 (b - a,): code point ``c`` of sorted labels a .. b - 1 (0 when shorter)."""
        inside = self.lengths[a:b] > c
        out = np.zeros(b - a, dtype=np.uint32)
        out[inside] = self.flat[self.starts[a:b][inside] + c]
        return out


def sorted_label_codes(labels: Sequence[str]) -> tuple[np.ndarray, SortedCodes]:
    """(lexicographic order int64 (n,), code points of the sorted labels). Label strings must
    be distinct and non-empty."""
    n = len(labels)
    if n == 0:
        raise DataError("a trie needs at least one label")
    order = np.array(sorted(range(n), key=labels.__getitem__), dtype=np.int64)
    ordered = np.asarray([labels[i] for i in order], dtype=object)
    lengths = np.fromiter(map(len, ordered), dtype=np.int64, count=n)
    if lengths.min() == 0:
        raise DataError("labels of a trie must be non-empty strings")
    same = ordered[1:] == ordered[:-1]
    if same.any():
        raise DataError(f"duplicate label {ordered[int(np.flatnonzero(same)[0])]!r}: trie "
                        "labels must be distinct")
    try:
        flat = np.frombuffer("".join(ordered).encode("utf-32-le"), dtype=np.uint32)
    except UnicodeEncodeError:
        raise DataError("a label holds a lone surrogate (not a valid character)") from None
    starts = np.cumsum(lengths) - lengths
    return order, SortedCodes(flat, starts, lengths)


def _tree_from_blocks(blocks: list[tuple[np.ndarray, np.ndarray]]) -> LabelTree:
    """Tree from blocks ``(label ids (m,), node keys (m, L))`` in slot order: keys are unique
    per node, top level first; shorter paths are padded by repeating their last key (a chain of
    single-child nodes) down to the deepest path."""
    depth = max(keys.shape[1] for _, keys in blocks)
    order = np.concatenate([ids for ids, _ in blocks])
    if depth == 0:
        return LabelTree.from_parents([np.zeros(order.shape[0], dtype=np.int64)])
    P = np.concatenate([np.concatenate([k, np.repeat(k[:, -1:], depth - k.shape[1], axis=1)],
                                       axis=1) for _, k in blocks])
    parents = []
    prev_index = np.zeros(order.shape[0], dtype=np.int64)
    for d in range(depth):
        keys = P[:, d]
        new = np.r_[True, keys[1:] != keys[:-1]]
        index = np.cumsum(new) - 1  # node index at this level of every slot
        parents.append(prev_index[new])
        prev_index = index
    last = np.empty(order.shape[0], dtype=np.int64)
    last[order] = prev_index
    parents.append(last)
    return LabelTree.from_parents(parents)


def _expand(codes: SortedCodes, a: int, b: int, c: int, max_leaf_size: int, stop_depth: int,
            next_key: list[int], on_stop) -> list[tuple[int, int, list[int]]]:
    """Trie expansion of the sorted range [a, b) from character ``c``: returns leaf ranges with
    their key paths. ``on_stop(a, b, path)`` handles ranges cut by ``stop_depth`` (hybrid)."""
    out: list[tuple[int, int, list[int]]] = []
    stack = [(a, b, c, [])]
    while stack:  # one iteration per trie node: a few per leaf cluster
        a, b, c, path = stack.pop()
        if b - a <= max_leaf_size or c >= codes.max_len:
            out.append((a, b, path))
            continue
        if c >= stop_depth:
            out.extend(on_stop(a, b, path))
            continue
        col = codes.column(a, b, c)
        cuts = np.flatnonzero(col[1:] != col[:-1]) + 1
        if cuts.size == 0:  # single child: collapse the chain, no new level
            stack.append((a, b, c + 1, path))
            continue
        bounds = np.r_[0, cuts, b - a] + a
        children = []
        for lo, hi in zip(bounds[:-1].tolist(), bounds[1:].tolist(), strict=True):
            key = next_key[0]
            next_key[0] += 1
            children.append((lo, hi, c + 1, path + [key]))
        stack.extend(reversed(children))  # keep lexicographic order of leaves
    return out


def trie_tree(labels: Sequence[str], max_leaf_size: int = 100) -> LabelTree:
    """Character trie over distinct label strings (see module docstring)."""
    if max_leaf_size < 1:
        raise DataError(f"max_leaf_size must be >= 1; got {max_leaf_size}")
    order, codes = sorted_label_codes(labels)
    next_key = [0]
    leaves = _expand(codes, 0, len(labels), 0, max_leaf_size, codes.max_len + 1, next_key,
                     on_stop=None)
    blocks = sorted(_leaf_blocks(order, leaves, next_key), key=lambda blk: blk[0])
    return _tree_from_blocks([(ids, keys) for _, ids, keys in blocks])


def _leaf_blocks(order, leaves, next_key) -> list[tuple[int, np.ndarray, np.ndarray]]:
    blocks = []
    for a, b, path in leaves:  # one per leaf cluster
        key = next_key[0]
        next_key[0] += 1
        keys = np.tile(np.array(path + [key], dtype=np.int64), (b - a, 1))
        blocks.append((a, order[a:b], keys))
    return blocks


def hybrid_tree(labels: Sequence[str], embedding: sp.spmatrix, trie_depth: int = 2,
                config: IndexerConfig | None = None) -> LabelTree:
    """Trie on the first ``trie_depth`` characters, balanced k-means (``config``) below each trie
    node that still holds more than ``config.max_leaf_size`` labels.

    Parameters
    ----------
    labels : n distinct non-empty strings
    embedding : (n, dim) label embeddings for the k-means part (rows in label-id order)
    """
    config = config or IndexerConfig()
    if trie_depth < 0:
        raise DataError(f"trie_depth must be >= 0; got {trie_depth}")
    emb = sp.csr_matrix(embedding)
    if emb.shape[0] != len(labels):
        raise DataError(f"embedding has {emb.shape[0]} rows for {len(labels)} labels")
    order, codes = sorted_label_codes(labels)
    next_key = [0]
    blocks: list[tuple[int, np.ndarray, np.ndarray]] = []

    def kmeans_below(a: int, b: int, path: list[int]):
        ids = order[a:b]
        sub = hierarchical_kmeans(emb[ids], config)
        sub_keys = _node_paths(sub)
        base = next_key[0]
        next_key[0] += int(sub_keys.max()) + 1 if sub_keys.size else 1
        prefix = np.tile(np.array(path, dtype=np.int64), (b - a, 1))
        blocks.append((a, ids[sub.label_perm], np.concatenate([prefix, sub_keys + base], axis=1)))
        return []

    leaves = _expand(codes, 0, len(labels), 0, config.max_leaf_size, trie_depth, next_key,
                     on_stop=kmeans_below)
    blocks.extend(_leaf_blocks(order, leaves, next_key))
    blocks.sort(key=lambda blk: blk[0])
    return _tree_from_blocks([(ids, keys) for _, ids, keys in blocks])


def _node_paths(tree: LabelTree) -> np.ndarray:
    """(n_labels, depth - 1) keys of every slot's nodes at levels 1..depth-1 (ancestors of the
    labels, top first), unique across levels; (n_labels, 1) zeros for a flat tree."""
    n = tree.n_labels
    depth = tree.depth
    if depth <= 1:
        return np.zeros((n, 1), dtype=np.int64)
    sizes = tree.level_sizes()
    out = np.empty((n, depth - 1), dtype=np.int64)
    node = np.arange(n, dtype=np.int64)
    for d in range(depth - 1, 0, -1):
        node = np.searchsorted(tree.child_ptr[d], node, side="right") - 1
        out[:, d - 1] = node + sum(sizes[1:d])
    return out
