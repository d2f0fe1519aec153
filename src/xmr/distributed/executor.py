"""Where training jobs run: local threads, or the workers of a Dask cluster.

An executor does two things: it places the data every job reads on the workers once
(:meth:`share`), and it runs a list of independent jobs, most expensive first, reporting each one
as it finishes (:meth:`run`). Training code is written against this seam only; the Dask executor
is the one place that imports ``dask.distributed`` (the optional ``xmr[dask]`` extra).

Why Dask: it already does what a home-made engine would have to: data placement, work stealing
between workers, rerunning the jobs of a worker that died, and a dashboard.
"""

from __future__ import annotations

import contextlib
import logging
import os
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from typing import Any

from ..errors import ConfigError, XmrError

logger = logging.getLogger(__name__)

#: seconds to wait for a Dask scheduler before giving up
CONNECT_TIMEOUT = 10.0


class LocalExecutor:
    """Run jobs one after another in this process; each job uses this thread's thread count.

    The reference for the distributed path (same jobs, same results, no cluster) and what
    ``executor=None`` means for :func:`xmr.linear.distributed.fit_tree`.
    """

    slots = 1

    def share(self, **objects: Any) -> dict[str, Any]:
        return objects

    def close(self) -> None:
        """Nothing to release."""

    def run(self, func: Callable[..., Any], jobs: Sequence[tuple], *, name: str = "jobs",
            on_done: Callable[[int, Any], None] | None = None) -> list[Any]:
        results = []
        for i, args in enumerate(jobs):
            results.append(func(*args))
            if on_done is not None:
                on_done(i, results[-1])
        return results


class DaskExecutor:
    """Run jobs on the workers of a ``dask.distributed.Client``.

    Shared objects are scattered to every worker once (``broadcast=True``); a job's own
    arguments travel with the job. Jobs are submitted in the order given (most expensive
    first) with decreasing priority, so the scheduler starts the long ones first; each job runs
    on one thread of its worker. A worker lost
    in the middle is handled by Dask: its jobs run again on the others (``allowed-failures``)
    and the scattered data is still held by every other worker.

    Parameters
    ----------
    client : dask.distributed.Client
    warm : callable() or None
        Run on every worker, and on every worker that joins later, before its first job: the
        caller's warm-up (training passes one that loads or compiles its kernels). Handed in
        so that this seam never imports the training code above it.
        joins later, before its first job (a worker plugin).
    """

    def __init__(self, client: Any, *, warm: Callable[[], object] | None = None,
                 wait_for_workers: float = CONNECT_TIMEOUT) -> None:
        self.client = client
        self._token = uuid.uuid4().hex[:8]
        self._amm_was_running: bool | None = None
        self.warmup: dict[str, float] = {}
        if not self._workers():  # jobs would wait forever on a cluster without workers
            try:
                client.wait_for_workers(1, timeout=wait_for_workers)
            except (TimeoutError, OSError):
                raise ConfigError(f"the Dask cluster at {client.scheduler.address} has no "
                                  f"workers (waited {wait_for_workers:g} s); start some with "
                                  f"'dask worker {client.scheduler.address}'") from None
        if warm is not None:
            self.warmup = warm_workers(client, warm)

    def _workers(self) -> dict[str, Any]:
        try:
            info = self.client.scheduler_info(n_workers=-1)  # newer Dask lists only a few
        except TypeError:
            info = self.client.scheduler_info()
        return info.get("workers", {})

    @property
    def slots(self) -> int:
        """Threads of all workers together."""
        return max(1, sum(int(w.get("nthreads", 1)) for w in self._workers().values()))

    def share(self, **objects: Any) -> dict[str, Any]:
        # Dask's active memory manager drops replicas no waiting task needs (between two
        # stages, or near the end of one), and the next job on that worker would fetch the
        # data again: keep it off while this executor holds shared data (see close()).
        if self._amm_was_running is None:
            self._amm_was_running = bool(self.client.amm.running())
            self.client.amm.stop()
        futures = self.client.scatter({k: _Aligned(v) for k, v in objects.items()},
                                      broadcast=True, hash=False)
        return dict(futures)

    def close(self) -> None:
        """Restore the cluster's active memory manager as it was before :meth:`share`."""
        if self._amm_was_running:
            self.client.amm.start()
        self._amm_was_running = None

    def run(self, func: Callable[..., Any], jobs: Sequence[tuple], *, name: str = "jobs",
            on_done: Callable[[int, Any], None] | None = None) -> list[Any]:
        from distributed import as_completed

        futures = [self.client.submit(_one_thread, func, *args,
                                      key=f"xmr-{name}-{self._token}-{i}",
                                      priority=len(jobs) - i, pure=False)
                   for i, args in enumerate(jobs)]
        index = {f.key: i for i, f in enumerate(futures)}
        results: list[Any] = [None] * len(jobs)
        try:
            for future in as_completed(futures):
                i = index[future.key]
                results[i] = future.result()
                future.release()
                if on_done is not None:
                    on_done(i, results[i])
        except BaseException:
            self.client.cancel(futures)
            raise
        return results


# -- workers -------------------------------------------------------------------------------------
def _one_thread(func: Callable[..., Any], *args: Any) -> Any:
    """Run one job on the worker thread that picked it: a worker of N threads runs N jobs at
    once, so a job must not spread over the machine's other cores (xmr's kernels would use all
    of them by default). Shared data arrives wrapped in :class:`_Aligned`."""
    from .._threads import num_threads

    args = tuple(a.value if isinstance(a, _Aligned) else a for a in args)
    with num_threads(1):
        return func(*args)


class _Aligned:
    """Data shared with every worker, whose arrays are aligned again when it arrives.

    Dask packs small message frames into one buffer, so arrays can arrive at addresses that
    are not a multiple of their item size (seen: int32 column indices at an odd address).
    numba then compiles a separate, slower specialization of every kernel for unaligned
    arrays (measured: the first job on a worker 0.50 s instead of 0.27 s). Unpickling copies
    any such array once per worker.
    """

    def __init__(self, value: Any) -> None:
        self.value = value

    def __reduce__(self) -> tuple:
        return (_arrived, (self.value,))


def _arrived(value: Any) -> _Aligned:
    import numpy as np
    import scipy.sparse as sp

    def aligned(arr: np.ndarray) -> np.ndarray:
        if arr.flags.aligned and arr.flags.c_contiguous and arr.ctypes.data % arr.itemsize == 0:
            return arr
        return np.array(arr, copy=True, order="C")

    if sp.issparse(value) and hasattr(value, "indptr"):
        value.data, value.indices, value.indptr = (aligned(value.data), aligned(value.indices),
                                                   aligned(value.indptr))
    elif isinstance(value, np.ndarray):
        value = aligned(value)
    return _Aligned(value)


def warm_workers(client: Any, warm: Callable[[], object]) -> dict[str, float]:
    """Warm every worker now and every worker that joins later (a ``WorkerPlugin``).

    Returns
    -------
    dict of worker address -> seconds its warm-up took
    """
    from distributed.diagnostics.plugin import WorkerPlugin

    class _Warm(WorkerPlugin):
        name = "xmr-warm-kernels"

        def setup(self, worker: Any) -> None:
            t0 = time.perf_counter()
            warm()
            worker.xmr_warmup_seconds = time.perf_counter() - t0

    client.register_plugin(_Warm(), name=_Warm.name)
    seconds = client.run(lambda dask_worker: getattr(dask_worker, "xmr_warmup_seconds", 0.0))
    for address, s in sorted(seconds.items()):
        logger.info("worker %s warmed its kernels in %.2f s", address, s)
    return seconds


@contextlib.contextmanager
def local_cluster(n_workers: int, threads_per_worker: int = 1, *,
                  numba_cache_dir: str | None = None, **kwargs: Any) -> Iterator[Any]:
    """A ``LocalCluster`` of worker processes and a client connected to it.

    Parameters
    ----------
    n_workers, threads_per_worker : int
    numba_cache_dir : directory for the workers' compiled kernels. None (default): the workers
        use this machine's cache, as this process does (same installation, and numba's cache is
        safe to share between processes), so they start warm; a directory of their own costs a
        full compilation (about 30 s on 2 cores) the first time.
    kwargs : passed to ``distributed.LocalCluster``
    """
    distributed = _import_distributed()
    if not isinstance(n_workers, int) or isinstance(n_workers, bool) or n_workers < 1:
        raise ConfigError(f"a local cluster needs at least one worker; got {n_workers!r}")
    env = dict(kwargs.pop("env", {}) or {})
    if numba_cache_dir is not None:
        env["NUMBA_CACHE_DIR"] = os.fspath(numba_cache_dir)
    kwargs.setdefault("dashboard_address", ":0")  # any free port, never a clash
    kwargs.setdefault("silence_logs", logging.WARNING)
    with distributed.LocalCluster(n_workers=n_workers, threads_per_worker=threads_per_worker,
                                  processes=True, env=env, **kwargs) as cluster, \
            distributed.Client(cluster) as client:
        yield client


@contextlib.contextmanager
def connect(spec: str, *, timeout: float = CONNECT_TIMEOUT) -> Iterator[Any]:
    """A client for ``spec``: ``local:N`` (a local cluster of N one-thread workers) or a
    scheduler address such as ``tcp://10.0.0.5:8786``.

    Raises
    ------
    ConfigError
        When ``spec`` is malformed, or no scheduler answers at the address within ``timeout``
        seconds.
    """
    if not isinstance(spec, str) or not spec.strip():
        raise ConfigError("--dask needs a scheduler address (tcp://host:port) or local:N")
    spec = spec.strip()
    if not isinstance(timeout, (int, float)) or not timeout > 0:
        raise ConfigError(f"the Dask connection timeout must be a positive number of seconds; "
                          f"got {timeout!r}")
    if spec.startswith("local:"):
        count = spec.partition(":")[2]
        if not count.isdigit() or int(count) < 1:
            raise ConfigError(f"--dask local:N needs a positive number of workers; got {spec!r}")
        with local_cluster(int(count)) as client:
            yield client
        return
    distributed = _import_distributed()
    try:
        client = distributed.Client(spec, timeout=timeout)
    except (OSError, TimeoutError, ValueError) as exc:
        raise ConfigError(f"cannot reach a Dask scheduler at {spec!r} within {timeout:g} s: "
                          f"{exc}") from None
    with client:
        yield client


def _import_distributed() -> Any:
    try:
        import distributed
    except ImportError:
        raise XmrError("distributed training needs Dask: pip install 'xmr[dask]'") from None
    return distributed


def as_executor(executor: Any, warm: Callable[[], object] | None = None) -> Any:
    """``executor`` as an xmr executor: a ``dask.distributed.Client`` is wrapped in a
    :class:`DaskExecutor` whose workers run ``warm`` first; an executor is returned as it
    is."""
    if isinstance(executor, (LocalExecutor, DaskExecutor)):
        return executor
    if type(executor).__name__ == "Client" and hasattr(executor, "scatter"):
        return DaskExecutor(executor, warm=warm)
    if hasattr(executor, "run") and hasattr(executor, "share") and hasattr(executor, "slots"):
        return executor
    raise ConfigError(f"executor must be a dask.distributed.Client or an xmr executor "
                      f"(LocalExecutor, DaskExecutor); got {type(executor).__name__}")
