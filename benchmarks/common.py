"""Helpers shared by the benchmark runner and its workers.

Imported both by xmr's environment and by the peers' virtual environment (numpy<2, no xmr), so
this module needs numpy and scipy only.
"""

from __future__ import annotations

import json
import os
import resource
import time
from pathlib import Path

import numpy as np
import scipy.sparse as sp


def load_split(data_dir: str | os.PathLike, split: str) -> tuple[sp.csr_matrix, sp.csr_matrix]:
    """(X, Y) of ``train`` or ``test`` from ``X_<split>.npz`` / ``Y_<split>.npz``."""
    d = Path(data_dir)
    X = sp.load_npz(d / f"X_{split}.npz").tocsr().astype(np.float32)
    Y = sp.load_npz(d / f"Y_{split}.npz").tocsr().astype(np.float32)
    X.sort_indices()
    Y.sort_indices()
    return X, Y


def rss_source() -> str:
    """Where :func:`peak_rss_mb` reads from on this machine (recorded with every result)."""
    return "VmHWM" if Path("/proc/self/status").exists() else "ru_maxrss"


def peak_rss_mb() -> float:
    """Peak resident set size of this process so far, in MiB.

    Reads ``VmHWM`` (the high-water mark of this process's own address space): ``ru_maxrss``
    also carries the parent's high-water mark across fork/exec, so a worker spawned by a runner
    that had just generated a large data set would report the runner's memory.
    """
    try:
        with open("/proc/self/status") as fh:
            for line in fh:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024.0
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def dir_size_mb(path: str | os.PathLike) -> float:
    p = Path(path)
    if p.is_file():
        return p.stat().st_size / 2**20
    return sum(f.stat().st_size for f in p.rglob("*") if f.is_file()) / 2**20


def ranking_metrics(pred: np.ndarray, Y: sp.csr_matrix) -> dict[str, float]:
    """P@1/3/5, nDCG@5, R@10, R@100 from an (n, k) array of label ids (-1 = none), k >= 100
    where R@100 is wanted (computed over the available columns otherwise).

    The same definitions as ``xmr.metrics``, copied because this module also runs in the peers'
    virtual environment, where xmr is not installed (libpecos needs numpy<2);
    ``tests/unit/test_benchmark_runner.py`` checks that both agree.
    """
    n, k = pred.shape
    valid = pred >= 0
    rows = np.repeat(np.arange(n), k)
    cols = np.where(valid, pred, 0).ravel()
    hit = (np.asarray(Y[rows, cols]).ravel() > 0).reshape(n, k) & valid
    cum = np.cumsum(hit, axis=1)
    n_rel = np.diff(Y.indptr)
    has = n_rel > 0
    out = {}
    for kk in (1, 3, 5):
        out[f"P@{kk}"] = float(cum[:, min(kk, k) - 1].mean() / kk)
    disc = 1.0 / np.log2(np.arange(2, 7))
    kk = min(5, k)
    dcg = (hit[:, :kk] * disc[:kk]).sum(axis=1)
    idcg = np.cumsum(disc)[np.minimum(n_rel, kk) - 1]
    out["nDCG@5"] = float((dcg[has] / idcg[has]).mean())
    for kk in (10, 100):
        out[f"R@{kk}"] = float((cum[has, min(kk, k) - 1] / n_rel[has]).mean())
    return out


def time_each(fn, items, *, warmup: int = 0) -> np.ndarray:
    """Seconds of ``fn(item)`` for each of ``items``, one call at a time (after ``fn`` has run
    on the first ``warmup`` items untimed)."""
    for item in items[:warmup]:
        fn(item)
    out = np.empty(len(items))
    for i, item in enumerate(items):
        t = time.perf_counter()
        fn(item)
        out[i] = time.perf_counter() - t
    return out


def latency_stats(seconds: np.ndarray) -> dict[str, float]:
    ms = 1e3 * np.asarray(seconds)
    return {"p50_ms": float(np.percentile(ms, 50)), "p99_ms": float(np.percentile(ms, 99)),
            "mean_ms": float(ms.mean())}


class Timer:
    """``with Timer() as t: ...`` then ``t.seconds``."""

    def __enter__(self) -> Timer:
        self._start = time.perf_counter()
        return self

    def __exit__(self, *exc) -> None:
        self.seconds = time.perf_counter() - self._start


def write_json(path: str | os.PathLike, payload: dict) -> None:
    Path(path).write_text(json.dumps(payload, indent=1, sort_keys=True))
