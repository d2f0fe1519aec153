"""The one decorator every xmr kernel is compiled with.

``@kernel`` is ``numba.njit(cache=True, nogil=True)``; ``@kernel(inline=True)`` and
``@kernel(fastmath=True)`` add the option named. There is no parallel option: kernels are serial
and ``xmr._threads.parallel_for`` runs them on ranges of items in parallel (see there why).
Kernels are compiled lazily, on their first call, and cached on disk next to the sources (or in
numba's user-wide cache directory).

When no cache directory is writable (a read-only install with a read-only home), numba refuses
to decorate a ``cache=True`` function, which would make ``import xmr`` fail. Kernels are then
cached in a per-user directory under the system's temporary directory instead; numba's own
setting is changed only while the decorator runs and restored at once.
"""

from __future__ import annotations

import contextlib
import logging
import os
import tempfile
from collections.abc import Callable, Iterator
from typing import Any

import numba

logger = logging.getLogger(__name__)
_warned = False


def kernel(fn: Callable | None = None, *, inline: bool = False, fastmath: bool = False) -> Any:
    """Compile ``fn`` with numba (no Python objects, GIL released, cached on disk).

    Parameters
    ----------
    inline : bool
        Inline the function into its callers at the numba IR level (small helpers).
    fastmath : bool
        Allow reassociation of floating-point operations (solver inner products).
    """
    options: dict[str, Any] = {"cache": True, "nogil": True}
    if inline:
        options["inline"] = "always"
    if fastmath:
        options["fastmath"] = True

    def decorate(func: Callable) -> Any:
        try:
            return numba.njit(**options)(func)
        except RuntimeError as exc:
            if "no locator available" not in str(exc):
                raise
            with _fallback_cache_dir():
                return numba.njit(**options)(func)

    return decorate if fn is None else decorate(fn)


@contextlib.contextmanager
def _fallback_cache_dir() -> Iterator[None]:
    """Point numba's cache at a private temporary directory while one kernel is decorated."""
    global _warned
    directory = os.path.join(tempfile.gettempdir(), f"xmr-numba-cache-{os.getuid()}")
    os.makedirs(directory, mode=0o700, exist_ok=True)
    if not _warned:
        _warned = True
        logger.warning("no writable numba cache next to xmr or in the home directory; caching "
                       "compiled kernels in %s (set NUMBA_CACHE_DIR to choose)", directory)
    previous = numba.config.CACHE_DIR
    numba.config.CACHE_DIR = directory
    try:
        yield
    finally:
        numba.config.CACHE_DIR = previous
