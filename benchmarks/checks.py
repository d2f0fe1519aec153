"""What validation costs: boundary checks on batch predict, structural checks at load, verify.

    python -m benchmarks.checks [--dataset gen-100k] [--threads 2] [--repeats 7]

Side by side in one process, fastest of ``--repeats``:

- batch predict through ``XLinearModel.predict`` (input checks, row normalization, beam search)
  vs the same beam search called directly on the already checked and normalized matrix;
- ``xmr.load`` (structural validation of every array a kernel indexes with) vs mapping the same
  ``.npy`` files with ``np.load(mmap_mode="c")`` and no check;
- ``xmr.load(verify=True)`` (sha256 of every file).

Writes ``benchmarks/results/checks-<time>.json`` and prints a Markdown table.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np

from .common import load_split
from .run import prepare_dataset

HERE = Path(__file__).resolve().parent


def _best(fn, repeats: int) -> float:
    best = float("inf")
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t)
    return best


def _ab(checked, unchecked, repeats: int) -> tuple[float, float]:
    """Fastest of each, runs alternating so that drift of the shared machine hits both."""
    a = b = float("inf")
    for _ in range(repeats):
        a = min(a, _best(checked, 1))
        b = min(b, _best(unchecked, 1))
    return a, b


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--dataset", default="gen-100k")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--repeats", type=int, default=7)
    args = p.parse_args(argv)
    import xmr
    from xmr._threads import num_threads
    from xmr.io.store import resolve
    from xmr.linear.postprocess import post_processor_code
    from xmr.linear.search import beam_search

    data = prepare_dataset(args.dataset)
    if data is None:
        print(f"skipping: data set {args.dataset} is not available")
        return 0
    X, Y = load_split(data, "train")
    Xt, _ = load_split(data, "test")
    work = HERE / "_work" / "checks"
    model_dir = work / args.dataset
    if not model_dir.exists():
        xmr.XLinearModel().fit(X, Y, threads=args.threads).save(model_dir)
    model = xmr.load(model_dir).warmup()
    checked = model._inputs(xmr.sparse.as_csr(Xt, n_cols=model.n_features_))
    code = post_processor_code(model.config.predict.post_processor)
    empty = np.zeros(0, dtype=np.uint8)

    def raw_predict():
        with num_threads(args.threads):
            beam_search(model.layout_, checked, empty, 10, 10, code)

    def raw_load():
        directory = resolve(model_dir)
        return [np.load(f, mmap_mode="c") for f in sorted(directory.glob("*.npy"))]

    model.predict(Xt, threads=args.threads)
    rows = {
        "predict": _ab(lambda: model.predict(Xt, threads=args.threads), raw_predict,
                       args.repeats),
        "check inputs (as_csr)": (_best(lambda: xmr.sparse.as_csr(Xt, n_cols=model.n_features_),
                                        args.repeats), None),
        "load": _ab(lambda: xmr.load(model_dir), raw_load, args.repeats),
        "load with verify": (_best(lambda: xmr.load(model_dir, verify=True), args.repeats),
                             None),
    }
    size_mb = sum(f.stat().st_size for f in resolve(model_dir).glob("*")) / 2**20
    result = {"dataset": args.dataset, "threads": args.threads, "test_rows": int(Xt.shape[0]),
              "model_mb": round(size_mb, 1), "nnz_test": int(Xt.nnz),
              "rows": {k: {"checked_s": a, "unchecked_s": b} for k, (a, b) in rows.items()}}
    out = HERE / "results" / f"checks-{time.strftime('%Y%m%d-%H%M%S')}.json"
    out.write_text(json.dumps(result, indent=1))
    print(f"{args.dataset}: {Xt.shape[0]} test rows, model {size_mb:.1f} MB, "
          f"{args.threads} threads, fastest of {args.repeats}\n")
    print("| step | with checks (ms) | without (ms) | checks cost |\n|---|---|---|---|")
    for name, (a, b) in rows.items():
        ratio = f"{100 * (a - b) / b:+.1f}%" if b else "-"
        print(f"| {name} | {1e3 * a:.2f} | {'-' if b is None else f'{1e3 * b:.2f}'} | "
              f"{ratio} |")
    print(f"\nwrote {out}")
    return 0


if __name__ == "__main__":
    import sys

    sys.exit(main())
