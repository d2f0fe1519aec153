"""Run xmr and its peers side by side and write JSON results plus ``RESULTS.md``.

    python -m benchmarks.run --datasets bibtex,gen-100k --threads 1,2
    python -m benchmarks.run --suite full --skip-done   # everything RESULTS.md shows
    python -m benchmarks.run --smoke          # tiny generated data, xmr only: the CI check

Every (library, setting, dataset, threads) is measured in fresh processes (one to train, one to
predict), on the same ``.npz`` files, on the same machine, in one run. The peers (libpecos 1.2.8,
napkinXC 0.7.2, Omikuji 0.5.2) live in their own virtual environment, created on first use under
``benchmarks/_venv`` (libpecos needs numpy<2 and scipy<1.14; it is never a dependency of xmr).
A phase that fails or exceeds ``--timeout`` is recorded as such, not dropped.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import scipy.sparse as sp

from . import text_datasets

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
VENV = HERE / "_venv"
WORK = HERE / "_work"
SHARED_DATA = ROOT.parent / "shared" / "data"
PEER_REQUIREMENTS = [
    # the CPU build of torch first (libpecos depends on torch; unpinned it pulls a CUDA build)
    ["torch==2.13.0"],
    ["numpy<2", "scipy<1.14", "libpecos==1.2.8", "omikuji==0.5.2", "napkinxc==0.7.2"],
]
PEERS = ("libpecos", "napkinxc", "omikuji")
GENERATED = {"gen-2k": 2_000, "gen-10k": 10_000, "gen-100k": 100_000, "gen-1m": 1_000_000,
             "gen-3m": 3_000_000}
# One size (50K labels, 100K training rows), one knob of the generator changed at a time: the
# project's default generator may flatter xmr, so the suite 'shapes' reports the spread of the
# ratios to the peers over these (benchmarks/RESULTS.md, "Spread over shapes").
_SHAPE_SIZE = {"n_labels": 50_000, "n_train": 100_000, "n_test": 10_000}
SHAPES = {
    "shape-base": {},  # 100K features, ~28 nonzeros and ~2.4 labels per row, Zipf 1.0
    "shape-flat": {"zipf_a": 0.6},  # flatter label frequencies (fewer rare labels)
    "shape-steep": {"zipf_a": 1.4},  # a heavier head and a longer tail
    "shape-dense": {"tokens_per_label": 24, "noise": 0.5},  # ~59 nonzeros per row
    "shape-wide": {"n_features": 400_000},
    "shape-fewlabels": {"extra_labels": 0.9},  # ~1.85 labels per row
    # the shape of issue 17's outside problem: 200K features, ~59 nonzeros, ~1.85 labels per row
    "shape-outside": {"n_features": 200_000, "tokens_per_label": 24, "noise": 0.5,
                      "extra_labels": 0.9},
}


def log(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", flush=True)


def ensure_peer_venv() -> Path:
    """Create the peers' virtual environment once; returns its python."""
    python = VENV / "bin" / "python"
    marker = VENV / ".installed"
    if marker.exists():
        return python
    log(f"creating the peers' virtual environment in {VENV} (one time, a few minutes)")
    subprocess.run([sys.executable, "-m", "venv", str(VENV)], check=True)
    for reqs in PEER_REQUIREMENTS:
        subprocess.run([str(python), "-m", "pip", "install", "--quiet", *reqs], check=True)
    marker.write_text("ok\n")
    return python


def prepare_dataset(name: str) -> Path | None:
    """Write X/Y train/test .npz files for a dataset; None (with a message) when unavailable."""
    out = WORK / "data" / name
    if (out / "Y_test.npz").exists():
        return out
    if name == "bibtex":
        src = SHARED_DATA / "bibtex"
        if not (src / "train.txt.gz").exists():
            log(f"skipping bibtex: {src}/train.txt.gz not found (see shared/data)")
            return None
        from xmr.io.datasets import read_xc

        parts = {"train": read_xc(src / "train.txt.gz"), "test": read_xc(src / "test.txt.gz")}
    elif name in text_datasets.NAMES:
        parts = text_datasets.build(name, SHARED_DATA)
        if parts is None:
            log(f"skipping {name}: its files are not in {SHARED_DATA} (see shared/data)")
            return None
    elif name in GENERATED or name in SHAPES:
        from xmr.synthetic import make_problem

        p = (make_problem(GENERATED[name], seed=0) if name in GENERATED
             else make_problem(**_SHAPE_SIZE, **SHAPES[name], seed=0))
        parts = {"train": (p.X_train, p.Y_train), "test": (p.X_test, p.Y_test)}
    else:
        known = ", ".join(["bibtex", *text_datasets.NAMES, *GENERATED, *SHAPES])
        log(f"skipping {name}: unknown dataset (known: {known})")
        return None
    out.mkdir(parents=True, exist_ok=True)
    for split, (X, Y) in parts.items():
        sp.save_npz(out / f"X_{split}.npz", sp.csr_matrix(X), compressed=False)
        sp.save_npz(out / f"Y_{split}.npz", sp.csr_matrix(Y), compressed=False)
    return out



def prepared_splits(name: str):
    """(X, Y, X_test, Y_test) of a dataset prepared by :func:`prepare_dataset`; None (with
    its message) when the data are unavailable."""
    from .common import load_split

    data = prepare_dataset(name)
    if data is None:
        return None
    return (*load_split(data, "train"), *load_split(data, "test"))

def run_phase(python: Path, lib: str, mode: str, data: Path, model: Path, threads: int,
              setting: str, out: Path, timeout: float, queries: int, test_rows: int) -> dict:
    cmd = [str(python), "-m", "benchmarks.workers", lib, mode, "--data", str(data),
           "--model", str(model), "--threads", str(threads), "--setting", setting,
           "--out", str(out), "--queries", str(queries), "--test-rows", str(test_rows)]
    env = dict(os.environ, OMP_NUM_THREADS=str(threads), NUMBA_NUM_THREADS=str(threads),
               PYTHONPATH=str(ROOT))
    start = time.perf_counter()
    try:
        proc = subprocess.run(cmd, cwd=ROOT, env=env, timeout=timeout, capture_output=True,
                              text=True)
    except subprocess.TimeoutExpired:
        return {"status": f"timeout after {timeout:.0f} s"}
    log_dir = WORK / "logs"
    log_dir.mkdir(parents=True, exist_ok=True)
    (log_dir / f"{model.name}-{mode}.log").write_text(proc.stdout + proc.stderr)
    if proc.returncode != 0:
        tail = (proc.stderr or proc.stdout).strip().splitlines()[-3:]
        reason = "out of memory (killed)" if proc.returncode in (-9, 137) else " | ".join(tail)
        return {"status": f"failed: {reason}"}
    result = json.loads(out.read_text())
    result["status"] = "ok"
    result["wall_s"] = time.perf_counter() - start
    return result


def _save(out_dir: Path, run_id: str, args: argparse.Namespace, records: list) -> None:
    payload = {"run_id": run_id, "machine": machine_info(), "args": vars(args),
               "records": records}
    tmp = out_dir / f".run-{run_id}.json.tmp"
    tmp.write_text(json.dumps(payload, indent=1))
    os.replace(tmp, out_dir / f"run-{run_id}.json")


def machine_info() -> dict:
    return {"cpus": os.cpu_count(), "platform": platform.platform(),
            "python": platform.python_version(), "processor": platform.processor(),
            "date": time.strftime("%Y-%m-%d %H:%M:%S")}


# The whole issue-3 matrix: every library and setting at 1 and 2 threads on the real sets and on
# generated problems of 10K and 100K labels; at 1M labels 2 threads and the PECOS-matched settings
# only, with the first 20,000 test rows (a library's batch over all 200,000 would take longer than
# its training), so that the one command fits in a few hours.
SUITES = {
    "full": [
        {"datasets": "bibtex,homedepot-queries,homedepot-titles,aol-queries,gen-10k,gen-100k",
         "threads": "1,2"},
        {"datasets": "gen-1m", "threads": "2",
         "settings": "xmr:matched,libpecos:matched,napkinxc:matched,omikuji:matched",
         "test_rows": 20_000},
    ],
    "shapes": [{"datasets": ",".join(SHAPES), "threads": "2",
                "settings": "xmr:matched,libpecos:matched,omikuji:matched,napkinxc:matched"}],
}


def plan_jobs(datasets: str, libs: list[str], threads: str, settings: str,
              test_rows: int) -> list[dict]:
    """(dataset, lib, setting, threads, test_rows) jobs in run order."""
    from benchmarks.workers import SETTINGS

    jobs = []
    for name in [d for d in datasets.split(",") if d]:
        for lib in libs:
            wanted = {x.split(":")[1] for x in settings.split(",") if x.startswith(lib + ":")}
            if settings and not wanted:
                continue
            for setting in SETTINGS[lib]:
                if wanted and setting not in wanted:
                    continue
                for t in [int(t) for t in threads.split(",") if t]:
                    jobs.append({"dataset": name, "lib": lib, "setting": setting,
                                 "threads": t, "test_rows": test_rows})
    return jobs


def job_key(job: dict) -> tuple:
    """What identifies a job (and its record): dataset, library, setting, threads, test rows."""
    return (job["dataset"], job["lib"], job["setting"], job["threads"], job.get("test_rows", 0))


def _finished(rec: dict) -> bool:
    """A record that needs no re-run: both phases ok, or an outcome that is itself the result
    (a timeout or running out of memory)."""
    statuses = [rec.get(m, {}).get("status", "") for m in ("train", "predict")]
    if all(s == "ok" for s in statuses):
        return True
    return any(s.startswith(("timeout", "failed: out of memory")) for s in statuses)


def done_jobs(results_dir: Path) -> set[tuple]:
    """Keys of the jobs that already have a finished record in ``results_dir``."""
    done = set()
    for path in results_dir.glob("run-*.json"):
        for rec in json.loads(path.read_text())["records"]:
            if _finished(rec):
                done.add(job_key(rec))
    return done


def data_shape(data: Path) -> dict:
    """Rows, nonzeros per row and labels per row of a prepared dataset's training part."""
    X = sp.load_npz(data / "X_train.npz")
    Y = sp.load_npz(data / "Y_train.npz")
    n = max(X.shape[0], 1)
    return {"rows": int(X.shape[0]), "features": int(X.shape[1]), "labels": int(Y.shape[1]),
            "nnz_per_row": round(X.nnz / n, 2), "labels_per_row": round(Y.nnz / n, 3)}


def run_job(job: dict, data: Path, python: Path, args: argparse.Namespace,
            shape: dict) -> dict:
    name, lib, setting, t = job["dataset"], job["lib"], job["setting"], job["threads"]
    model = WORK / "models" / f"{name}-{lib}-{setting}-{t}"
    rec = dict(job, n_train=shape["rows"], data=shape)
    for mode in ("train", "predict"):
        best = None
        for _ in range(max(1, args.repeats)):
            log(f"{name} {lib}/{setting} threads={t}: {mode}")
            res = run_phase(python, lib, mode, data, model, t, setting, WORK / "phase.json",
                            args.timeout, args.queries, job["test_rows"])
            key = "train_s" if mode == "train" else "predict_s"
            if best is None or (res.get("status") == "ok" and
                                res.get(key, np.inf) < best.get(key, np.inf)):
                best = res
        rec[mode] = best
        if best["status"] != "ok":
            log(f"  {best['status']}")
            break
    return rec


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="benchmarks.run", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--suite", choices=sorted(SUITES),
                   help="run a whole predefined matrix (overrides --datasets/--threads/"
                        "--settings/--test-rows): 'full' is everything RESULTS.md shows")
    p.add_argument("--datasets", default="bibtex,gen-10k,gen-100k")
    p.add_argument("--libs", default="xmr,libpecos,napkinxc,omikuji")
    p.add_argument("--threads", default="1,2")
    p.add_argument("--settings", default="",
                   help="only these settings, e.g. lib:setting,lib:setting (default: all)")
    p.add_argument("--test-rows", type=int, default=0,
                   help="predict only the first N test rows, the same for every library "
                        "(0 = all)")
    p.add_argument("--timeout", type=float, default=1800.0, help="seconds per phase")
    p.add_argument("--queries", type=int, default=2000, help="single-query latency samples")
    p.add_argument("--repeats", type=int, default=1,
                   help="repeat each phase and keep the fastest (the machine is noisy)")
    p.add_argument("--skip-done", action="store_true",
                   help="skip jobs that already have a finished record (ok, timeout or out of "
                        "memory) in --out; resumes an interrupted suite")
    p.add_argument("--out", default=str(HERE / "results"))
    p.add_argument("--smoke", action="store_true", help="tiny generated data, xmr only")
    p.add_argument("--no-report", action="store_true")
    args = p.parse_args(argv)
    if args.smoke:
        args.datasets, args.libs, args.queries = "gen-2k", "xmr", 200
        args.out = str(WORK / "smoke")
    libs = [x for x in args.libs.split(",") if x]
    unknown = sorted(set(libs) - {"xmr", *PEERS})
    if unknown:
        p.error(f"--libs: unknown {', '.join(unknown)} (known: xmr, {', '.join(PEERS)})")
    if args.suite:
        parts = SUITES[args.suite]
    else:
        parts = [{"datasets": args.datasets, "threads": args.threads,
                  "settings": args.settings, "test_rows": args.test_rows}]
    jobs = [job for part in parts
            for job in plan_jobs(part["datasets"], libs, part["threads"],
                                 part.get("settings", ""), part.get("test_rows", 0))]
    out_dir = Path(args.out)
    out_dir.mkdir(parents=True, exist_ok=True)
    if args.skip_done:
        done = done_jobs(out_dir)
        todo = [j for j in jobs if job_key(j) not in done]
        log(f"--skip-done: {len(jobs) - len(todo)} jobs already have results, "
            f"{len(todo)} to run")
        jobs = todo
    run_id = time.strftime("%Y%m%d-%H%M%S")
    peer_python = ensure_peer_venv() if any(j["lib"] in PEERS for j in jobs) else None

    records = []
    prepared: dict[str, tuple[Path, dict] | None] = {}  # dataset -> (directory, its shape)
    for job in jobs:
        name = job["dataset"]
        if name not in prepared:
            data = prepare_dataset(name)
            prepared[name] = None if data is None else (data, data_shape(data))
        if prepared[name] is None:
            continue
        data, shape = prepared[name]
        python = Path(sys.executable) if job["lib"] == "xmr" else peer_python
        records.append(run_job(job, data, python, args, shape))
        _save(out_dir, run_id, args, records)  # a stopped run keeps what it has
    if records:
        _save(out_dir, run_id, args, records)
        log(f"wrote {out_dir / f'run-{run_id}.json'}")
    if not args.no_report and not args.smoke:
        from benchmarks.report import write_report

        write_report(out_dir, HERE / "RESULTS.md")
        log(f"wrote {HERE / 'RESULTS.md'}")
    if args.smoke:
        bad = [r for r in records for m in ("train", "predict")
               if r.get(m, {}).get("status") != "ok"]
        return 1 if bad or not records else 0
    return 0


if __name__ == "__main__":
    sys.exit(main())
