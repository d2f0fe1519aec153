"""A tiny counter-seeded xorshift generator usable inside numba kernels.

Hand-written because ``np.random`` inside kernels shares one global state (results would depend
on thread scheduling) and costs ~20% in the solver's inner loop; here each job derives its own
stream from ``(seed, job_id)``, which makes results independent of the thread count.
"""

from __future__ import annotations

import numpy as np

from ._jit import kernel

_MASK = np.uint64(0xFFFFFFFFFFFFFFFF)


@kernel
def rng_seed(seed, job_id):
    """Initial state for job ``job_id`` of a run seeded with ``seed`` (splitmix64 mixing)."""
    z = np.uint64(seed) * np.uint64(0x9E3779B97F4A7C15) + np.uint64(job_id) + np.uint64(1)
    z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    z = z ^ (z >> np.uint64(31))
    if z == np.uint64(0):
        z = np.uint64(0x2545F4914F6CDD1D)
    return z


@kernel
def rng_next(state):
    """Advance a xorshift64 state; returns the new state (also the random value)."""
    state ^= state << np.uint64(13)
    state ^= state >> np.uint64(7)
    state ^= state << np.uint64(17)
    return state


@kernel
def rng_below(state, n):
    """A number in ``[0, n)`` and the new state (``n`` >= 1)."""
    state = rng_next(state)
    return np.int64(state % np.uint64(n)), state
