"""Progress of long work (training), for a ``progress=`` callback and for a terminal display.

Long calls take ``progress: Callable[[str], None] | None``. Each report is a :class:`Progress`:
a ``str`` (a readable line, so ``progress=print`` works) that also carries the numbers -- the
stage, work done and total, seconds elapsed and the estimated seconds left. A stage ends with a
report whose ``done == total`` (``final``); the reports before it (at most a few per second)
show the stage advancing. Final reports are also logged at INFO level through the ``xmr``
logger; the reports in between go to the callback only.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

import numpy as np

ProgressCallback = Callable[[str], None]

# reports in between the final ones are at least this far apart (a callback printing every job
# of a 64-job level would flood a log)
_MIN_INTERVAL = 0.25


class Progress(str):
    """One progress report: the line itself, plus its numbers as attributes.

    Attributes
    ----------
    stage : str, e.g. ``"level 2/4"``
    done, total : float, work done and in all (jobs, or their estimated cost)
    unit : str, what ``done`` and ``total`` count
    elapsed : float, seconds since the stage began
    eta : float or None, estimated seconds left (None when nothing is done yet)
    """

    stage: str
    done: float
    total: float
    unit: str
    elapsed: float
    eta: float | None

    def __new__(cls, text: str, stage: str, done: float = 1.0, total: float = 1.0,
                unit: str = "", elapsed: float = 0.0, eta: float | None = None) -> Progress:
        obj = super().__new__(cls, text)
        obj.stage, obj.done, obj.total, obj.unit = stage, done, total, unit
        obj.elapsed, obj.eta = elapsed, eta
        return obj

    @property
    def final(self) -> bool:
        """True for the report that ends its stage."""
        return self.done >= self.total


def report(progress: ProgressCallback | None, logger: logging.Logger, text: str,
           stage: str = "", elapsed: float = 0.0) -> None:
    """Send the final report of a stage to ``progress`` (if any), then log it at INFO.

    The callback runs first, so a terminal display can clear its bar before the line prints.
    """
    if progress is not None:
        if not stage:
            stage = text.split(":")[0] if ":" in text else text.split(" ")[0]
        progress(Progress(text, stage, elapsed=elapsed))
    logger.info(text)


class JobProgress:
    """Counts finished jobs of one stage and reports the stage's advance to ``progress``.

    Jobs finish in worker threads (``parallel_for(..., on_range=tracker.jobs_done)``), so the
    count is kept under a lock. The share done and the time left are estimated from each job's
    cost (jobs of a level differ by orders of magnitude), not from the job count.

    Parameters
    ----------
    progress : the callback (None: nothing is reported)
    stage : name of the stage, e.g. ``"level 2/4"``
    costs : float (n_jobs,), estimated cost of each job, in the order the jobs are numbered
    unit : what a job is, in the reports
    """

    def __init__(self, progress: ProgressCallback | None, stage: str, costs: np.ndarray,
                 unit: str = "jobs") -> None:
        self.progress = progress
        self.stage = stage
        self.unit = unit
        self.costs = np.asarray(costs, dtype=np.float64)
        self.total_cost = max(float(self.costs.sum()), 1e-12)
        self.n_jobs = int(self.costs.shape[0])
        self.jobs = 0
        self.cost = 0.0
        self.t0 = time.perf_counter()
        self._last = 0.0
        self._lock = threading.Lock()

    def jobs_done(self, lo: int, hi: int, offset: int = 0) -> None:
        """Jobs ``offset + lo .. offset + hi - 1`` finished."""
        if self.progress is None:
            return
        with self._lock:
            self.jobs += hi - lo
            self.cost += float(self.costs[offset + lo:offset + hi].sum())
            now = time.perf_counter()
            if now - self._last < _MIN_INTERVAL or self.jobs >= self.n_jobs:
                return  # the stage's final report is sent by its owner, with its results
            self._last = now
            elapsed = now - self.t0
            share = min(self.cost / self.total_cost, 1.0)
            eta = elapsed * (1.0 - share) / share if share > 0 else None
            left = time_left(eta)
            text = (f"{self.stage}: {self.jobs}/{self.n_jobs} {self.unit}, {elapsed:.1f} s"
                    + (f", {left}" if left else ""))
            event = Progress(text, self.stage, self.jobs, self.n_jobs, self.unit, elapsed, eta)
        self.progress(event)


def time_left(eta: float | None) -> str:
    """"about N s left" ("under 1 s left"; empty when unknown)."""
    if eta is None:
        return ""
    return "under 1 s left" if eta < 1 else f"about {eta:.0f} s left"
