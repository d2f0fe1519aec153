"""Distributed training on Dask vs one machine, side by side in one run.

    python -m benchmarks.distributed [--dataset gen-100k] [--workers 1,2] [--project 4,8,16]

On one generated problem (prepared by ``benchmarks.run``'s data step), trains XR-Linear
(PECOS's defaults) three ways: local threads (2), a ``LocalCluster`` of 1 worker and of 2
workers (one thread each; the client's own stages -- embedding, meta-tree, planning, assembly --
use as many threads as there are workers). Reports for each: training wall time (workers
already started and warmed; the warm-up is reported apart), speed-up vs 1 worker, ratio to
local 2-thread training, the bytes each worker's TCP comms read during training (counted by
wrapping distributed's frame reader on the workers) next to the size of X and Y, each worker's
peak RSS, P@1 on the test rows, and whether the model is bit-identical to the local one.

Projected schedules: for 4 / 8 / 16 workers, the job list those worker counts would get is
built and every job is run and timed here, one at a time on one thread (the real jobs, not a
model of them); the schedule is then simulated: the client's serial stages plus a greedy
most-expensive-first assignment of the jobs to the workers (what Dask's priorities do), with no
transfer costs. Writes ``benchmarks/results/distributed-<dataset>.json``.
"""

from __future__ import annotations

import argparse
import heapq
import json
import os
import sys
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent


def _nbytes(M) -> int:
    return int(M.data.nbytes + M.indices.nbytes + M.indptr.nbytes)


def _count_received_bytes(dask_worker=None) -> None:
    """Count every byte this worker's TCP comms read (wraps the one function that reads message
    frames off a socket; benchmark instrumentation only)."""
    import distributed.comm.tcp as tcp

    if getattr(tcp, "_xmr_counted", False):
        return
    original = tcp.read_bytes_rw
    tcp._xmr_received = 0

    async def counted(stream, n):
        tcp._xmr_received += n
        return await original(stream, n)

    tcp.read_bytes_rw = counted
    tcp._xmr_counted = True


def _worker_stats(client) -> dict:
    def stats():
        import distributed.comm.tcp as tcp

        from benchmarks.common import peak_rss_mb

        return {"received": getattr(tcp, "_xmr_received", 0), "peak_rss_mb": peak_rss_mb(),
                "pid": os.getpid()}

    return client.run(stats)


def _makespan(serial: float, jobs: list[float], workers: int) -> float:
    """Serial client time plus a greedy schedule of ``jobs`` (in order) on ``workers``."""
    free = [0.0] * workers
    for t in jobs:
        heapq.heappush(free, heapq.heappop(free) + t)
    return serial + max(free)


def _precision_at_1(model, X, Y) -> float:
    top = model.predict(X, top_k=1).indices[:, 0]
    hit = np.asarray(Y[np.arange(Y.shape[0]), np.maximum(top, 0)]).ravel() > 0
    return float(np.mean(hit & (top >= 0)) * 100)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--dataset", default="gen-100k")
    p.add_argument("--workers", default="1,2", help="LocalCluster sizes to measure")
    p.add_argument("--local-threads", type=int, default=2)
    p.add_argument("--skip-local", action="store_true",
                   help="no local reference run (the 3M-label run: it would take as long "
                        "again); the bit-identity check is then not made")
    p.add_argument("--project", default="4,8,16", help="worker counts to project ('' = none)")
    p.add_argument("--test-rows", type=int, default=20_000)
    p.add_argument("--smoke", action="store_true",
                   help="a seconds-long run on gen-2k that writes nothing (CI keeps this "
                        "script working)")
    args = p.parse_args(argv)
    if args.smoke:
        args.dataset, args.project, args.test_rows = "gen-2k", "2", 200
    try:
        import distributed  # noqa: F401
    except ImportError:
        print("skipping: dask[distributed] is not installed (pip install -e '.[dask]')")
        return 0
    sys.path.insert(0, str(HERE.parent))
    from benchmarks.common import load_split, peak_rss_mb
    from benchmarks.run import prepare_dataset
    from xmr import XLinearModel
    from xmr.distributed import LocalExecutor, local_cluster

    data = prepare_dataset(args.dataset)
    if data is None:
        return 0
    X, Y = load_split(data, "train")
    Xt, Yt = load_split(data, "test")
    Xt, Yt = Xt[:args.test_rows], Yt[:args.test_rows]
    size_xy = _nbytes(X) + _nbytes(Y)
    print(f"{args.dataset}: {X.shape[0]} rows, {X.shape[1]} features, {Y.shape[1]} labels; "
          f"X + Y = {size_xy / 2**20:.1f} MiB", flush=True)
    rows = []
    local, local_s = None, None
    if not args.skip_local:
        t0 = time.perf_counter()
        local = XLinearModel().fit(X, Y, threads=args.local_threads)
        local_s = time.perf_counter() - t0
        rows.append({"run": f"local, {args.local_threads} threads", "train_s": local_s,
                     "p_at_1": _precision_at_1(local, Xt, Yt), "identical": True,
                     "client_peak_rss_mb": peak_rss_mb()})
        print(f"local {args.local_threads} threads: {local_s:.1f} s", flush=True)

    for n in [int(w) for w in args.workers.split(",") if w]:
        with local_cluster(n) as client:
            t0 = time.perf_counter()
            from xmr.distributed import DaskExecutor
            from xmr.linear.distributed import warm_kernels

            executor = DaskExecutor(client, warm=warm_kernels)
            warm = time.perf_counter() - t0
            client.run(_count_received_bytes)
            before = _worker_stats(client)
            t0 = time.perf_counter()
            model = XLinearModel().fit(X, Y, threads=n, executor=executor)
            seconds = time.perf_counter() - t0
            after = _worker_stats(client)
        identical = None if local is None else all(
            a.dtype == b.dtype and np.array_equal(a, b)
            for a, b in zip(model.layout_, local.layout_, strict=True))
        received = {w: after[w]["received"] - before[w]["received"] for w in after
                    if w in before}
        rows.append({"run": f"dask, {n} worker(s) x 1 thread", "workers": n, "train_s": seconds,
                     "warmup_s": warm, "p_at_1": _precision_at_1(model, Xt, Yt),
                     "identical": identical,
                     "bytes_received_per_worker": sorted(received.values()),
                     "received_over_xy": [round(b / size_xy, 3) for b in received.values()],
                     "worker_peak_rss_mb": [after[w]["peak_rss_mb"] for w in after],
                     "client_peak_rss_mb": peak_rss_mb(),  # the whole process so far
                     "report": model.training_["distributed"]})
        print(f"dask {n} worker(s): {seconds:.1f} s (warm-up {warm:.1f} s), identical "
              f"{identical}, received/(X+Y) {rows[-1]['received_over_xy']}", flush=True)
        stages = model.training_["distributed"]["stages"]
        print("  stages (s): " + ", ".join(f"{k} {v:.2f}" for k, v in stages.items()),
              flush=True)

    one = next((r for r in rows if r.get("workers") == 1), None)
    for r in rows:
        r["vs_local"] = r["train_s"] / local_s if local_s else None
        if one is not None:
            r["speedup_vs_1_worker"] = one["train_s"] / r["train_s"]

    projections = []
    for w in [int(x) for x in args.project.split(",") if x]:
        class Planned(LocalExecutor):
            slots = w

        model = XLinearModel().fit(X, Y, threads=1, executor=Planned())
        rep = model.training_["distributed"]
        st = rep["stages"]
        # everything but the two job stages runs on the client, one after another
        serial = (model.training_["seconds"] - st.get("sub-tree clustering", 0)
                  - st.get("training jobs", 0))
        total = (_makespan(serial, rep["cluster_jobs"], w)
                 + _makespan(0.0, rep["train_jobs"], w))
        projections.append({"workers": w, "projected_s": total, "serial_s": serial,
                            "cluster_jobs": len(rep["cluster_jobs"]),
                            "train_jobs": len(rep["train_jobs"]),
                            "jobs_sum_s": sum(rep["cluster_jobs"]) + sum(rep["train_jobs"])})
        print(f"projected {w} workers: {total:.1f} s ({len(rep['train_jobs'])} training jobs, "
              f"serial part {serial:.1f} s)", flush=True)

    print()
    print("| run | train s | vs 1 worker | vs local | P@1 | identical | received / (X+Y) "
          "per worker | worker peak RSS MB |")
    print("|---|---|---|---|---|---|---|---|")
    for r in rows:
        vs_local = "-" if r["vs_local"] is None else f"{r['vs_local']:.2f}"
        print(f"| {r['run']} | {r['train_s']:.1f} | {r.get('speedup_vs_1_worker', 0):.2f}x | "
              f"{vs_local} | {r['p_at_1']:.2f} | {r['identical']} | "
              f"{', '.join(f'{x:.2f}' for x in r.get('received_over_xy', [])) or '-'} | "
              f"{', '.join(f'{x:.0f}' for x in r.get('worker_peak_rss_mb', [])) or '-'} |")
    for pr in projections:
        print(f"| projected, {pr['workers']} workers | {pr['projected_s']:.1f} | "
              f"{one['train_s'] / pr['projected_s'] if one else 0:.2f}x | "
              f"{pr['projected_s'] / local_s if local_s else 0:.2f} | | | | |")
    if args.smoke:
        if not all(r["identical"] for r in rows):  # the smoke run always has its local run
            print("smoke: a distributed model differs from the local one")
            return 1
        return 0
    out = HERE / "results" / f"distributed-{args.dataset}.json"
    out.write_text(json.dumps({"dataset": args.dataset, "threads_on_machine": os.cpu_count(),
                               "x_y_bytes": size_xy, "runs": rows, "projections": projections,
                               "date": time.strftime("%Y-%m-%d %H:%M:%S")}, indent=1))
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
