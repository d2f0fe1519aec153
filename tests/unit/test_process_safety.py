"""Forked workers, concurrent batch calls and read-only installs (pre-fork servers, thread pools,
system packages)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import textwrap
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest

import xmr

SRC = Path(xmr.__file__).resolve().parents[1]


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork")
def test_a_forked_child_predicts_after_its_parent_did(small_model, small_problem):
    X = small_problem.X_test[:50]
    expected = small_model.predict(X, threads=2).indices  # the parent's thread pool is running
    pid = os.fork()
    if pid == 0:  # child: batch and single queries, then a fresh model trained here
        try:
            ok = np.array_equal(small_model.predict(X, threads=2).indices, expected)
            ok &= small_model.predict_one(X[0]).indices.tolist() == expected[0].tolist()
            xmr.XLinearModel().fit(small_problem.X_train[:200], small_problem.Y_train[:200],
                                   threads=2)
        except BaseException:
            os._exit(3)
        os._exit(0 if ok else 4)
    _, status = os.waitpid(pid, 0)
    assert os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0, status


def test_concurrent_batch_calls_agree_with_single_threaded(small_model, small_problem):
    X = small_problem.X_test
    expected = small_model.predict(X, threads=1)
    with ThreadPoolExecutor(8) as pool:
        results = list(pool.map(lambda _: small_model.predict(X, threads=2), range(24)))
    for top in results:
        np.testing.assert_array_equal(top.indices, expected.indices)
        np.testing.assert_array_equal(top.scores, expected.scores)


def test_errors_inside_parallel_loops_reach_the_caller():
    from xmr._threads import num_threads, parallel_for

    def kernel(lo, hi, bad):
        if lo <= bad < hi:
            raise ValueError(f"item {bad}")

    with num_threads(2), pytest.raises(ValueError, match="item 37"):
        parallel_for(kernel, 100, (37,))


@pytest.mark.skipif(shutil.which("unshare") is None, reason="needs unshare (util-linux)")
def test_import_works_from_a_read_only_install(tmp_path):
    """No writable cache next to the sources or in the home directory: kernels are cached in a
    private temporary directory and everything still works."""
    install = tmp_path / "site"
    shutil.copytree(SRC / "xmr", install / "xmr",
                    ignore=shutil.ignore_patterns("__pycache__", "*.nbi", "*.nbc"))
    home = tmp_path / "home"
    home.mkdir()
    script = textwrap.dedent(f"""
        mount --bind {install} {install} && mount -o remount,ro,bind {install} &&
        mount --bind {home} {home} && mount -o remount,ro,bind {home} &&
        HOME={home} XDG_CACHE_HOME={home}/.cache PYTHONPATH={install} {sys.executable} -c '
import xmr
p = xmr.make_problem(60, n_train=200, n_test=5, seed=0)
m = xmr.XLinearModel().fit(p.X_train, p.Y_train)
print(m.predict(p.X_test).indices.shape)'
    """)
    env = {k: v for k, v in os.environ.items() if k != "NUMBA_CACHE_DIR"}
    probe = subprocess.run(["unshare", "-m", "true"], capture_output=True)
    if probe.returncode != 0:
        pytest.skip("mount namespaces are not available here")
    proc = subprocess.run(["unshare", "-m", "sh", "-c", script], capture_output=True, text=True,
                          env=env, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert proc.stdout.strip() == "(5, 10)"
    assert "caching compiled kernels in" in proc.stderr
