"""Progress reports of training: what a ``progress=`` callback receives."""

from __future__ import annotations

import threading

import numpy as np
import pytest

import xmr
from xmr._threads import num_threads, parallel_for
from xmr.progress import JobProgress, Progress


def _noop(lo, hi):
    pass


@pytest.mark.parametrize("threads", [1, 2])
def test_parallel_for_reports_every_range_once(threads):
    seen, lock = [], threading.Lock()

    def on_range(lo, hi):
        with lock:
            seen.append((lo, hi))

    with num_threads(threads):
        parallel_for(_noop, 37, (), chunks=9, on_range=on_range)
    covered = np.concatenate([np.arange(lo, hi) for lo, hi in seen])
    assert np.array_equal(np.sort(covered), np.arange(37))


def test_job_progress_estimates_time_left_from_job_costs():
    events = []
    tracker = JobProgress(events.append, "level 2/3", np.array([3.0, 1.0]))
    tracker.jobs_done(0, 1)
    (event,) = events
    assert isinstance(event, Progress) and isinstance(event, str)
    assert (event.stage, event.done, event.total, event.unit) == ("level 2/3", 1, 2, "jobs")
    assert not event.final and event.elapsed >= 0
    # 3/4 of the cost is done: a third of the elapsed time is left
    assert event.eta == pytest.approx(event.elapsed / 3, rel=1e-6, abs=1e-9)
    assert event.startswith("level 2/3: 1/2 jobs, ")
    tracker.jobs_done(1, 2)
    assert len(events) == 1  # the last job: the stage's owner sends the final report
    JobProgress(None, "x", np.ones(3)).jobs_done(0, 3)  # no callback: nothing to do


def test_fit_reports_each_level_and_its_jobs():
    p = xmr.make_problem(2000, seed=1)
    events = []
    model = xmr.XLinearModel(xmr.XLinearConfig().replace(
        {"indexer.max_leaf_size": 20, "indexer.branching_factor": 8})).fit(
        p.X_train, p.Y_train, threads=2, progress=events.append)
    assert all(isinstance(e, Progress) for e in events)
    finals = [e for e in events if e.final]
    depth = model.layout_.depth
    assert [e.stage for e in finals] == ["indexing", *(f"level {i}/{depth}" for i in
                                                        range(1, depth + 1)), "training"]
    assert finals[-1].startswith("training took ")
    running = [e for e in events if not e.final]
    # the first finished job of every level of several jobs is reported
    assert {e.stage for e in running} >= {f"level {depth}/{depth}"}
    for e in running:
        assert 0 < e.done < e.total and e.unit == "jobs" and e.elapsed >= 0
        assert e.eta is not None and e.eta >= 0
    # every report of a level comes before its final one
    for i in range(1, depth + 1):
        stage = f"level {i}/{depth}"
        at = [k for k, e in enumerate(events) if e.stage == stage]
        assert events[at[-1]].final and not any(events[k].final for k in at[:-1])
