"""Cost and accuracy of the solver's pass cap and tolerance on one generated shape.

    python -m benchmarks.solver_passes [--shape shape-outside]

Trains XR-Linear (PECOS's defaults, 2 threads) on a shape of ``benchmarks.run.SHAPES`` once per
setting, all on the tree of the first run (so only the solver differs), and prints the training
time with its per-level times, P@1 / P@5 on the test rows and the weight count. Only the first
setting's training time includes indexing: compare the settings by their level times.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
SETTINGS = [{}, {"solver.max_iter": 20}, {"solver.max_iter": 10}, {"solver.eps": 0.3}]


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--shape", default="shape-outside")
    args = p.parse_args(argv)
    sys.path.insert(0, str(HERE.parent))
    import xmr
    from benchmarks.run import prepared_splits

    splits = prepared_splits(args.shape)
    if splits is None:
        return 0
    X, Y, Xt, Yt = splits
    tree = None
    print(f"{args.shape}, 2 threads; the tree of the first setting (whose time includes "
          "indexing) is reused by the others")
    print("| setting | train s | levels s | P@1 | P@5 | weights |")
    print("|---|---|---|---|---|---|")
    for overrides in SETTINGS:
        finals = []
        t = time.perf_counter()
        model = xmr.XLinearModel(xmr.XLinearConfig().replace(overrides)).fit(
            X, Y, threads=2, tree=tree,
            progress=finals.append)
        seconds = time.perf_counter() - t
        tree = tree or model.layout_.tree()
        m = xmr.evaluate(model.predict(Xt, threads=2), Yt)
        levels = " / ".join(f"{e.elapsed:.1f}" for e in finals
                            if e.final and e.stage.startswith("level"))
        print(f"| {json.dumps(overrides)} | {seconds:.1f} | {levels} | {100 * m['P@1']:.2f} | "
              f"{100 * m['P@5']:.2f} | {model.layout_.nnz} |", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
