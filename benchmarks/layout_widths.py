"""Size and query speed of one model's weight layout stored with different index widths.

    python -m benchmarks.layout_widths [--dataset gen-100k] [--repeats 3]

Trains XR-Linear once (PECOS's defaults, 2 threads) on a dataset prepared by
``benchmarks.run``, then searches with the same weights under three layouts: format 2 (uint8
child offsets, int32 entry pointers: what xmr saves), format 1 (uint32 / int64) and uint8 offsets
with int64 pointers. For each: layout MB, batch search over the test rows on 1 thread, and
single-query p50 / p99 over 2,000 test rows; the repeats are interleaved and the best kept (the
machine is noisy). The three must return the same labels.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--dataset", default="gen-100k")
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--queries", type=int, default=2000)
    args = p.parse_args(argv)
    sys.path.insert(0, str(HERE.parent))
    import xmr
    from benchmarks.run import prepared_splits

    splits = prepared_splits(args.dataset)
    if splits is None:
        return 0
    X, Y, Xt, _ = splits
    model = xmr.XLinearModel().fit(X, Y, threads=2)
    lay = model.layout_
    variants = {
        "format 2: uint8 / int32": lay,
        "format 1: uint32 / int64": lay._replace(entry_child=lay.entry_child.astype(np.uint32),
                                                 row_entry_ptr=lay.row_entry_ptr.astype(np.int64)),
        "uint8 / int64": lay._replace(row_entry_ptr=lay.row_entry_ptr.astype(np.int64)),
    }
    rows = [(Xt.indices[Xt.indptr[i]:Xt.indptr[i + 1]], Xt.data[Xt.indptr[i]:Xt.indptr[i + 1]])
            for i in range(min(args.queries, Xt.shape[0]))]
    best: dict[str, list[float]] = {k: [np.inf, np.inf, np.inf] for k in variants}
    labels = {}
    for _ in range(args.repeats):
        for name, layout in variants.items():
            model.layout_ = layout
            model._reset_caches()
            model.predict(Xt[:100], threads=1)
            model.predict_one(rows[0])
            t = time.perf_counter()
            labels[name] = model.predict(Xt, threads=1).indices
            batch = time.perf_counter() - t
            lat = np.empty(len(rows))
            for i, r in enumerate(rows):
                t = time.perf_counter()
                model.predict_one(r)
                lat[i] = time.perf_counter() - t
            got = [batch, np.percentile(lat, 50) * 1e3, np.percentile(lat, 99) * 1e3]
            best[name] = [min(a, b) for a, b in zip(best[name], got, strict=True)]
    first = next(iter(labels.values()))
    assert all(np.array_equal(first, v) for v in labels.values()), "layouts disagree"
    print(f"{args.dataset}: {Xt.shape[0]} test rows, 1 thread, best of {args.repeats}")
    print("| layout | MB | batch s | single p50 ms | single p99 ms |")
    print("|---|---|---|---|---|")
    for name, layout in variants.items():
        mb = sum(a.nbytes for a in layout) / 2**20
        b = best[name]
        print(f"| {name} | {mb:.1f} | {b[0]:.3f} | {b[1]:.4f} | {b[2]:.4f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
