"""Parallel loops: serial numba kernels over ranges of items, run on a shared thread pool.

Every parallel kernel of xmr is a serial ``nogil`` kernel that processes items ``[lo, hi)`` (rows,
label segments, training jobs, documents); :func:`parallel_for` hands out such ranges to
threads, which run the kernels without the GIL. Chunks are coarse (a few per thread, or one
training job each), so the Python loop runs over chunks, never over rows or labels.

Why not numba's ``prange``: parallel lowering doubled the compile time of the kernels (a cold
``fit`` compiled in 32.8 s with ``parallel=True`` vs 17.4 s without, 2 cores), which is what a
first run on a machine waits for; and numba's OpenMP threading layer kills a forked child that
predicts after its parent did, while the workqueue layer aborts under concurrent calls. With
plain threads there is no threading layer at all: forked workers, concurrent callers and
pre-fork servers are safe, and scheduling is dynamic (a slow chunk never holds up the others).

Thread counts are per call (``threads=`` of the public batch methods, through
:func:`num_threads`) and never change global state; the pool is created on first use.
"""

from __future__ import annotations

import contextlib
import itertools
import os
import threading
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor

from .errors import ConfigError

_pool: ThreadPoolExecutor | None = None
_pool_pid = 0
_pool_lock = threading.Lock()
_local = threading.local()


def available_cores() -> int:
    """Cores this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):  # not Linux
        return os.cpu_count() or 1


def resolve_threads(threads: int | None) -> int:
    """``threads`` checked and capped at the available cores (None or -1: all of them)."""
    cores = available_cores()
    if threads is None or threads == -1:
        return cores
    if not isinstance(threads, int) or isinstance(threads, bool) or threads < 1:
        raise ConfigError(f"threads must be a positive integer or -1; got {threads!r}")
    return min(threads, cores)


@contextlib.contextmanager
def num_threads(threads: int | None) -> Iterator[int]:
    """Run the body's parallel loops on at most ``threads`` threads (None or -1: all cores).

    The setting belongs to the calling thread only, so concurrent callers do not interfere.
    """
    count = resolve_threads(threads)
    previous = getattr(_local, "threads", None)
    _local.threads = count
    try:
        yield count
    finally:
        _local.threads = previous


def current_threads() -> int:
    """Threads the calling thread's parallel loops may use now."""
    count = getattr(_local, "threads", None)
    return available_cores() if count is None else count


def _executor() -> ThreadPoolExecutor:
    global _pool, _pool_pid
    with _pool_lock:
        if _pool is None or _pool_pid != os.getpid():  # a forked child starts its own pool
            _pool = ThreadPoolExecutor(max_workers=available_cores(),
                                       thread_name_prefix="xmr-worker")
            _pool_pid = os.getpid()
        return _pool


def _in_worker() -> bool:
    return getattr(_local, "worker", False)


def parallel_for(kernel: Callable[..., None], n_items: int, args: tuple = (), *,
                 scratch: Callable[[], tuple] | None = None, chunks: int | None = None,
                 bounds: Sequence[int] | None = None,
                 on_range: Callable[[int, int], None] | None = None) -> None:
    """Call ``kernel(lo, hi, *args, *buffers)`` for consecutive ranges covering ``[0, n_items)``.

    Parameters
    ----------
    kernel : a serial ``nogil`` kernel processing items ``lo .. hi - 1``; what it computes must
        not depend on which thread runs it or how the items are cut into ranges
    n_items : int
    args : the kernel's other arguments
    scratch : callable returning a tuple of per-thread buffers (appended to the arguments),
        called once by each thread used
    chunks : number of ranges (default: 4 per thread, at most one per item)
    bounds : explicit range boundaries ``[0, ..., n_items]`` instead of ``chunks``
    on_range : called as ``on_range(lo, hi)`` after each range is done, in the thread that did
        it (progress reports)

    Ranges are handed out dynamically, in order, to ``current_threads()`` threads; with one
    thread (or inside a pool thread) everything runs on the calling thread. The first exception
    raised by a kernel call propagates to the caller once every thread has stopped.
    """
    if bounds is None:
        n_chunks = max(1, min(n_items, chunks or 4 * current_threads()))
        bounds = [n_items * i // n_chunks for i in range(n_chunks + 1)]
    ranges = [(lo, hi) for lo, hi in itertools.pairwise(bounds) if hi > lo]
    if not ranges:
        return
    threads = min(current_threads(), len(ranges))
    if threads == 1 or _in_worker():
        buffers = scratch() if scratch is not None else ()
        for lo, hi in ranges:
            kernel(lo, hi, *args, *buffers)
            if on_range is not None:
                on_range(lo, hi)
        return
    next_range = iter(ranges)
    lock = threading.Lock()
    failed = threading.Event()

    def work() -> None:
        was_worker = _in_worker()
        _local.worker = True
        try:
            buffers = scratch() if scratch is not None else ()
            while not failed.is_set():
                with lock:
                    item = next(next_range, None)
                if item is None:
                    return
                kernel(item[0], item[1], *args, *buffers)
                if on_range is not None:
                    on_range(item[0], item[1])
        except BaseException:
            failed.set()
            raise
        finally:
            _local.worker = was_worker

    futures = [_executor().submit(work) for _ in range(threads - 1)]
    errors = []
    try:
        work()  # the calling thread is one of the workers
    except BaseException as exc:  # noqa: BLE001 - re-raised below, after every thread ended
        errors.append(exc)
    for future in futures:
        try:
            future.result()
        except BaseException as exc:  # noqa: BLE001
            errors.append(exc)
    if errors:
        raise errors[0]


def job_bounds(n_jobs: int) -> list[int]:
    """One range per job (dynamic scheduling of uneven jobs, most expensive first)."""
    return list(range(n_jobs + 1))
