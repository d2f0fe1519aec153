"""A/B training time of two xmr source trees on one benchmark data set, alternating runs.

    git worktree add /tmp/xmr-base <commit>
    python -m benchmarks.train_ab --a /tmp/xmr-base/src --b src --dataset gen-100k --threads 2

Each run is a fresh process that imports xmr from the given ``src`` directory, warms up the
kernels (untimed, as the benchmark worker does), trains with PECOS-matched settings and reports
the wall time, the indexing and per-level times from ``fit``'s progress messages and a checksum
of the model's arrays, so a change that must not alter the model can be checked for that too.
Runs alternate a, b, a, b, ... so slow drift of the shared machine hits both sides alike; the
fastest run of each side is reported.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent

_CHILD = r"""
import hashlib, json, sys, time
import numba, numpy as np
import xmr
from benchmarks.common import load_split
from benchmarks.workers import XmrAdapter
threads = int(sys.argv[2])
numba.set_num_threads(threads)
adapter = XmrAdapter()
adapter.warmup(threads)  # compile / load kernels, untimed
X, Y = load_split(sys.argv[1], "train")
stages = []
t = time.perf_counter()
m = xmr.XLinearModel(adapter.config("matched")).fit(X, Y, threads=threads,
                                                    progress=stages.append)
seconds = time.perf_counter() - t
h = hashlib.sha256()
for a in m.layout_:
    h.update(np.ascontiguousarray(a).tobytes())
print(json.dumps({"seconds": seconds, "stages": stages, "sha256": h.hexdigest(),
                  "xmr": xmr.__file__}))
"""


def run_once(src: Path, data: Path, threads: int) -> dict:
    env = dict(os.environ, PYTHONPATH=f"{src}{os.pathsep}{HERE.parent}",
               NUMBA_NUM_THREADS=str(threads), OMP_NUM_THREADS=str(threads))
    out = subprocess.run([sys.executable, "-c", _CHILD, str(data), str(threads)], env=env,
                         capture_output=True, text=True, check=True, cwd=HERE.parent)
    res = json.loads(out.stdout.strip().splitlines()[-1])
    if not res["xmr"].startswith(str(src.resolve())):
        raise RuntimeError(f"imported xmr from {res['xmr']}, not from {src}")
    return res


def _stages(messages: list[str]) -> str:
    """'index 14.9, L1 2.5, ...' from the progress messages of ``XLinearModel.fit``."""
    parts = []
    for msg in messages:
        m = re.search(r"level (\d+)/\d+: .* ([\d.]+) s$", msg)
        if m:
            parts.append(f"L{m.group(1)} {float(m.group(2)):.1f}")
        m = re.search(r"^indexing: .* ([\d.]+) s$", msg)
        if m:
            parts.append(f"index {float(m.group(1)):.1f}")
    return ", ".join(parts)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="benchmarks.train_ab", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--a", required=True, help="the baseline's src directory")
    p.add_argument("--b", required=True, help="the candidate's src directory")
    p.add_argument("--dataset", default="gen-100k")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--repeats", type=int, default=2)
    args = p.parse_args(argv)
    from benchmarks.run import prepare_dataset

    data = prepare_dataset(args.dataset)
    if data is None:
        return 2
    best: dict[str, dict] = {}
    for _ in range(args.repeats):
        for side in ("a", "b"):
            res = run_once(Path(getattr(args, side)), data, args.threads)
            print(f"{side}: {res['seconds']:.2f} s ({_stages(res['stages'])})", flush=True)
            if side not in best or res["seconds"] < best[side]["seconds"]:
                best[side] = res
    a, b = best["a"], best["b"]
    print(f"{args.dataset}, {args.threads} threads, fastest of {args.repeats}: "
          f"a {a['seconds']:.2f} s, b {b['seconds']:.2f} s, b/a {b['seconds'] / a['seconds']:.2f}x;"
          f" models {'identical' if a['sha256'] == b['sha256'] else 'DIFFERENT'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
