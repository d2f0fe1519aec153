"""Shared fixtures: small generated problems (tests build their own data)."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp

from xmr.synthetic import make_problem


@pytest.fixture(scope="session")
def small_problem():
    """~400 labels, a few hundred rows: fast to train, deep enough for a 3-level tree."""
    return make_problem(400, n_train=1200, n_test=300, seed=3)


@pytest.fixture(scope="session")
def small_model(small_problem):
    from xmr import XLinearConfig, XLinearModel

    cfg = XLinearConfig().replace({"indexer.branching_factor": 4, "indexer.max_leaf_size": 20})
    return XLinearModel(cfg).fit(small_problem.X_train, small_problem.Y_train)


def random_csr(rng: np.random.Generator, n_rows: int, n_cols: int, density: float) -> sp.csr_matrix:
    """Random float32 CSR with sorted indices and no explicit zeros."""
    M = sp.random(n_rows, n_cols, density=density, format="csr", dtype=np.float64,
                  random_state=rng)
    M.data = (M.data + 0.1).astype(np.float32)
    M = M.astype(np.float32).tocsr()
    M.sort_indices()
    return M
