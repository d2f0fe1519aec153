"""Scoped control of numba's thread count (never changed globally at import)."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import numba

from .errors import ConfigError


@contextlib.contextmanager
def num_threads(threads: int | None) -> Iterator[int]:
    """Run the body with ``threads`` numba threads (None or -1: all available)."""
    limit = numba.config.NUMBA_NUM_THREADS
    if threads is None or threads == -1:
        threads = limit
    if not isinstance(threads, int) or isinstance(threads, bool) or threads < 1:
        raise ConfigError(f"threads must be a positive integer or -1; got {threads!r}")
    threads = min(threads, limit)
    previous = numba.get_num_threads()
    numba.set_num_threads(threads)
    try:
        yield threads
    finally:
        numba.set_num_threads(previous)
