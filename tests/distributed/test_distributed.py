"""Distributed training: the same bits as one machine, whoever runs the jobs.

The planning and the jobs are checked with the in-process executor (many shapes, quickly); the
Dask executor with real worker processes (a ``LocalCluster``): 1 and 2 workers, a worker killed
in the middle of training, an unreachable scheduler, and ``xmr train --dask local:2``.
"""

from __future__ import annotations

import os
import signal
import threading
import time

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from xmr import XLinearConfig, XLinearModel
from xmr.cli.main import main
from xmr.distributed import LocalExecutor, connect, local_cluster
from xmr.errors import ConfigError
from xmr.io.datasets import write_xc
from xmr.linear.jobs import plan_jobs
from xmr.synthetic import make_problem

pytest.importorskip("distributed")


def _config(branching: int, leaf: int) -> XLinearConfig:
    return XLinearConfig().replace({"indexer.branching_factor": branching,
                                    "indexer.max_leaf_size": leaf})


def _same_model(a: XLinearModel, b: XLinearModel) -> bool:
    """Bit for bit: every array of the layout (weights, tree, biases), dtypes included."""
    return all(x.dtype == y.dtype and np.array_equal(x, y) for x, y in zip(a.layout_, b.layout_,
                                                                              strict=True))


class _Slots(LocalExecutor):
    """The in-process executor, planning as if it had ``slots`` worker threads."""

    def __init__(self, slots: int) -> None:
        self.slots = slots


@pytest.fixture(scope="module")
def problem():
    return make_problem(1500, n_train=1500, n_test=50, seed=11)


@pytest.fixture(scope="module")
def reference(problem):
    """Single-machine models, one per tree shape."""
    return {shape: XLinearModel(_config(*shape)).fit(problem.X_train, problem.Y_train)
            for shape in ((4, 10), (16, 100), (3, 7))}


@settings(max_examples=12, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(shape=st.sampled_from([(4, 10), (16, 100), (3, 7)]), slots=st.integers(1, 40))
def test_any_job_cut_gives_the_single_machine_model(problem, reference, shape, slots):
    model = XLinearModel(_config(*shape)).fit(problem.X_train, problem.Y_train,
                                              executor=_Slots(slots))
    assert _same_model(model, reference[shape])
    report = model.training_["distributed"]
    assert report["slots"] == slots and report["meta_levels"] >= 0


def test_plan_covers_every_node_once_and_balances(problem, reference):
    tree = reference[(4, 10)].tree_
    work = [np.linspace(1.0, 3.0, n) for n in tree.level_sizes()[1:]]
    for n_jobs in (1, 4, 16, 1000):
        jobs = plan_jobs(tree.child_ptr, tree.label_perm, work, n_jobs)
        assert [j.cost for j in jobs] == sorted((j.cost for j in jobs), reverse=True)
        for level in range(1, tree.depth + 1):  # each node of each level in exactly one job
            spans = sorted((int(j.ranges[level - j.level, 0]), int(j.ranges[level - j.level, 1]))
                           for j in jobs if j.level <= level < j.level + j.ranges.shape[0])
            assert spans[0][0] == 0 and spans[-1][1] == tree.level_sizes()[level]
            assert all(a[1] == b[0] for a, b in zip(spans, spans[1:], strict=False))
        total = sum(w.sum() for w in work)
        assert sum(j.cost for j in jobs) == pytest.approx(total)
        if 1 < n_jobs <= 16:
            assert len(jobs) >= n_jobs // 2 and max(j.cost for j in jobs) <= 3 * total / n_jobs


def test_matcher_aware_negatives_are_refused(problem):
    cfg = _config(4, 10).replace({"solver.negatives": "tfn+man"})
    with pytest.raises(ConfigError, match="teacher-forced"):
        XLinearModel(cfg).fit(problem.X_train, problem.Y_train, executor=LocalExecutor())


def test_not_an_executor_is_refused(problem):
    with pytest.raises(ConfigError, match="executor must be"):
        XLinearModel().fit(problem.X_train, problem.Y_train, executor="local:2")


# -- real worker processes ------------------------------------------------------------------------
@pytest.fixture(scope="module")
def cluster2():
    # the workers use this process's numba cache: the kernels the test run compiled
    with local_cluster(2, numba_cache_dir=None) as client:
        yield client


def test_dask_workers_train_the_same_model(problem, reference, cluster2):
    messages: list[str] = []
    model = XLinearModel(_config(4, 10)).fit(problem.X_train, problem.Y_train,
                                             executor=cluster2, progress=messages.append)
    assert _same_model(model, reference[(4, 10)])
    assert any("training:" in m and "jobs done" in m for m in messages)
    assert any(m.startswith("sub-tree clustering:") for m in messages)
    report = model.training_["distributed"]
    assert report["slots"] == 2 and len(report["train_jobs"]) >= 2
    top = model.predict(problem.X_test, top_k=5)
    assert np.array_equal(top.indices, reference[(4, 10)].predict(problem.X_test,
                                                                 top_k=5).indices)


def test_one_worker_gives_the_same_model(problem, reference):
    with local_cluster(1, numba_cache_dir=None) as client:
        model = XLinearModel(_config(16, 100)).fit(problem.X_train, problem.Y_train,
                                                   executor=client)
    assert _same_model(model, reference[(16, 100)])


def test_a_worker_killed_mid_training_changes_nothing(reference):
    # a problem big enough that the kill lands while jobs are still running
    prob = make_problem(6000, n_train=12000, n_test=10, seed=2)
    cfg = _config(4, 10)
    expected = XLinearModel(cfg).fit(prob.X_train, prob.Y_train)
    killed = threading.Event()
    with local_cluster(2, numba_cache_dir=None) as client:
        pids = list(client.run(os.getpid).values())

        def progress(msg: str) -> None:
            if "training: 1/" in msg and not killed.is_set():
                os.kill(pids[0], signal.SIGKILL)  # the nanny starts a fresh worker
                killed.set()

        model = XLinearModel(cfg).fit(prob.X_train, prob.Y_train, executor=client,
                                      progress=progress)
        assert pids[0] not in client.run(os.getpid).values()  # that worker is gone
    assert killed.is_set()
    assert _same_model(model, expected)


def test_unreachable_scheduler_fails_fast():
    t0 = time.perf_counter()
    with pytest.raises(ConfigError, match="cannot reach a Dask scheduler"), \
            connect("tcp://127.0.0.1:9", timeout=2):
        pass
    assert time.perf_counter() - t0 < 30


@pytest.mark.parametrize("spec", ["local:0", "local:x", "", "  "])
def test_bad_cluster_specs_are_refused(spec):
    with pytest.raises(ConfigError), connect(spec):
        pass


def test_cli_train_on_a_local_cluster(problem, reference, tmp_path, capsys):
    data = tmp_path / "train.txt"
    write_xc(data, problem.X_train, problem.Y_train)
    assert main(["-q", "train", "-x", str(data), "-m", str(tmp_path / "m"), "--dask", "local:2",
                 "--indexer.branching-factor", "4", "--indexer.max-leaf-size", "10"]) == 0
    model = XLinearModel.load(tmp_path / "m")
    local = XLinearModel(_config(4, 10)).fit(*_read(data))
    assert _same_model(model, local)
    assert main(["-q", "train", "-x", str(data), "-m", str(tmp_path / "m2"),
                 "--dask", "tcp://127.0.0.1:9", "--dask-timeout", "1"]) != 0
    assert "cannot reach a Dask scheduler" in capsys.readouterr().err
    assert not (tmp_path / "m2").exists()


def _read(path):
    from xmr.io.datasets import read_xc

    d = read_xc(path)
    return d.X, d.Y


def test_a_given_embedding_travels_with_the_clustering_jobs(problem):
    from xmr.index.embed import pifa
    from xmr.sparse import as_csr, as_label_csr, l2_normalize_rows

    X = l2_normalize_rows(as_csr(problem.X_train))
    emb = pifa(X, as_label_csr(problem.Y_train, n_rows=X.shape[0]))
    emb.data = emb.data ** 2  # not PIFA any more: the workers cannot recompute it
    cfg = _config(4, 10)
    expected = XLinearModel(cfg).fit(problem.X_train, problem.Y_train, embedding=emb)
    model = XLinearModel(cfg).fit(problem.X_train, problem.Y_train, embedding=emb,
                                  executor=_Slots(3))
    assert _same_model(model, expected)


def test_a_cluster_without_workers_is_refused():
    from distributed import Client, LocalCluster

    from xmr.distributed import DaskExecutor

    with LocalCluster(n_workers=0, processes=False, dashboard_address=":0") as cluster, \
            Client(cluster) as client, pytest.raises(ConfigError, match="has no workers"):
        DaskExecutor(client, wait_for_workers=0.5)
