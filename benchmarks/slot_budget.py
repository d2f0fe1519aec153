"""Training memory and time against the solver's slot budget (``xmr.linear.train._MAX_SLOTS``).

    python -m benchmarks.slot_budget [--dataset shape-base] [--budgets 25,23,22]

Each budget (a power of two, in slots of 8 bytes) trains XR-Linear (PECOS's defaults, 2 threads)
on a dataset prepared by ``benchmarks.run`` in a fresh process, and prints the training time,
the peak RSS of that process (``VmHWM``), P@1 and the weight count: a smaller budget must give
the same model (children whose weights overflow their slot are solved again).
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent

_CHILD = """
import sys, time
import scipy.sparse as sp
import xmr.linear.train as T
T._MAX_SLOTS = 1 << int(sys.argv[1])
import xmr
d = sys.argv[2]
X, Y = sp.load_npz(d + "/X_train.npz").tocsr(), sp.load_npz(d + "/Y_train.npz").tocsr()
Xt, Yt = sp.load_npz(d + "/X_test.npz").tocsr(), sp.load_npz(d + "/Y_test.npz").tocsr()
def hwm():
    return next(int(x.split()[1]) / 1024 for x in open("/proc/self/status")
                if x.startswith("VmHWM"))
before = hwm()
t = time.perf_counter()
m = xmr.XLinearModel().fit(X, Y, threads=2)
dt = time.perf_counter() - t
p1 = xmr.evaluate(m.predict(Xt, threads=2), Yt)["P@1"]
print(f"| 2^{sys.argv[1]} | {dt:.1f} | {hwm():.0f} | {before:.0f} | {100 * p1:.2f} | "
      f"{m.layout_.nnz} |")
"""


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--dataset", default="shape-base")
    p.add_argument("--budgets", default="25,23,22", help="log2 of the slot budgets")
    args = p.parse_args(argv)
    sys.path.insert(0, str(HERE.parent))
    from benchmarks.run import prepare_dataset

    data = prepare_dataset(args.dataset)
    if data is None:
        return 0
    print(f"{args.dataset}, 2 threads, one fresh process per budget")
    print("| budget | train s | peak RSS MB | RSS before training MB | P@1 | weights |")
    print("|---|---|---|---|---|---|")
    for b in args.budgets.split(","):
        subprocess.run([sys.executable, "-c", _CHILD, b, str(data)], check=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
