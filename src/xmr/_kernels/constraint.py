"""Output constraints: the node mask of a set of allowed labels."""

from __future__ import annotations

import numpy as np

from ._jit import kernel


@kernel
def ancestor_mask(labels, label_slot, leaf_start, node_parent, n_nodes):
    """uint8 mask (n_nodes,) of the nodes with an allowed label (int64 ids ``labels``) below
    them; beam search skips the others. Stops climbing at the first node already marked, so the
    cost is the number of allowed labels plus their distinct ancestors."""
    mask = np.zeros(n_nodes, dtype=np.uint8)
    for t in range(labels.shape[0]):
        node = leaf_start + label_slot[labels[t]]
        while mask[node] == 0:
            mask[node] = 1
            if node == 0:
                break
            node = node_parent[node]
    mask[0] = 1
    return mask
