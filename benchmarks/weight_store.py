"""float32 vs bfloat16 weights: size on disk, accuracy, batch and single-query speed, one run.

    python -m benchmarks.weight_store [--datasets gen-10k,gen-100k] [--threads 2] [--repeats 5]

Per data set, one model is trained (PECOS-matched settings, float32) and also saved with its
weights rounded to bfloat16 (``solver.weight_store="bfloat16"`` gives the same model: the
rounding happens after training). Both are loaded from disk (memory-mapped) and measured side
by side, runs alternating so that the machine's drift hits both: batch prediction of the test
set (top 100, beam 10, ``--threads``; fastest of ``--repeats``) and single queries (one thread,
p50 / p99 over ``--queries`` test rows, after 200 warm-up calls; the better of ``--repeats``
passes). libpecos's model size on the same data comes from the newest ``benchmarks.run``
record, when there is one (the peers are not run here). Writes
``benchmarks/results/weight_store-<time>.json`` and prints a Markdown table.
"""

from __future__ import annotations

import argparse
import glob
import json
import time
from pathlib import Path

import numpy as np

from .common import dir_size_mb, load_split
from .run import prepare_dataset

HERE = Path(__file__).resolve().parent


def _libpecos_model_mb(dataset: str) -> float | None:
    """libpecos's model size on ``dataset`` (matched setting) from the newest run record."""
    best = None
    for file in sorted(glob.glob(str(HERE / "results" / "run-*.json"))):
        data = json.loads(Path(file).read_text())
        records = data if isinstance(data, list) else data.get("records", [])
        for rec in records:
            train = rec.get("train") or {}
            if (rec.get("lib") == "libpecos" and rec.get("dataset") == dataset
                    and train.get("status") == "ok" and "model_mb" in train):
                best = float(train["model_mb"])
    return best


def _single(model, X, queries: int) -> np.ndarray:
    rows = [(X.indices[X.indptr[i]:X.indptr[i + 1]], X.data[X.indptr[i]:X.indptr[i + 1]])
            for i in range(min(queries, X.shape[0]))]
    for q in rows[:200]:
        model.predict_one(q)
    lat = np.empty(len(rows))
    for i, q in enumerate(rows):  # one call at a time is what is measured
        t = time.perf_counter()
        model.predict_one(q)
        lat[i] = time.perf_counter() - t
    return lat


def measure(dataset: str, threads: int, repeats: int, queries: int) -> dict | None:
    import xmr
    from xmr.metrics import precision_at_k

    from .workers import XmrAdapter

    data = prepare_dataset(dataset)
    if data is None:
        print(f"skipping {dataset}: not available")
        return None
    X, Y = load_split(data, "train")
    Xt, Yt = load_split(data, "test")
    adapter = XmrAdapter()
    adapter.warmup(threads)
    work = HERE / "_work" / "weight_store" / dataset
    t = time.perf_counter()
    model = xmr.XLinearModel(adapter.config("matched")).fit(X, Y, threads=threads)
    train_s = time.perf_counter() - t
    paths = {}
    for store in ("float32", "bfloat16"):
        model.layout_ = model.layout_.with_weight_store(store)
        paths[store] = work / store
        model.save(paths[store])
    models = {store: xmr.load(path).warmup() for store, path in paths.items()}
    out: dict = {"dataset": dataset, "threads": threads, "train_s": train_s,
                 "test_rows": int(Xt.shape[0]), "libpecos_model_mb": _libpecos_model_mb(dataset),
                 "stores": {}}
    batch = {s: float("inf") for s in models}
    p50 = {s: float("inf") for s in models}
    p99 = {s: float("inf") for s in models}
    tops = {}
    for _ in range(repeats):
        for store, m in models.items():
            t = time.perf_counter()
            tops[store] = m.predict(Xt, top_k=100, threads=threads)
            batch[store] = min(batch[store], time.perf_counter() - t)
            lat = _single(m, Xt, queries)
            p50[store] = min(p50[store], float(np.percentile(lat, 50)))
            p99[store] = min(p99[store], float(np.percentile(lat, 99)))
    for store, m in models.items():
        prec = precision_at_k(tops[store], Yt, (1, 3, 5))
        out["stores"][store] = {
            "model_mb": dir_size_mb(xmr.io.store.resolve(paths[store])),
            "weights_mb": m.layout_.entry_val.nbytes / 2**20,
            "P@1": prec[1], "P@3": prec[3], "P@5": prec[5],
            "batch_s": batch[store], "p50_ms": 1e3 * p50[store], "p99_ms": 1e3 * p99[store]}
    same = tops["float32"].indices[:, 0] == tops["bfloat16"].indices[:, 0]
    out["top1_agreement"] = float(same.mean())
    return out


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="benchmarks.weight_store", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--datasets", default="gen-10k,gen-100k")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--repeats", type=int, default=5)
    p.add_argument("--queries", type=int, default=2000)
    args = p.parse_args(argv)
    results = [r for d in args.datasets.split(",")
               if (r := measure(d, args.threads, args.repeats, args.queries)) is not None]
    if not results:
        return 0
    target = HERE / "results" / f"weight_store-{time.strftime('%Y%m%d-%H%M%S')}.json"
    target.write_text(json.dumps(results, indent=1))
    print("| data | store | model MB | vs libpecos | P@1 | P@3 | P@5 | batch s | p50 ms | p99 ms |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for r in results:
        pecos = r["libpecos_model_mb"]
        for store, s in r["stores"].items():
            ratio = f"{s['model_mb'] / pecos:.2f}x" if pecos else "-"
            print(f"| {r['dataset']} | {store} | {s['model_mb']:.1f} | {ratio} | "
                  f"{100 * s['P@1']:.2f} | {100 * s['P@3']:.2f} | {100 * s['P@5']:.2f} | "
                  f"{s['batch_s']:.3f} | {s['p50_ms']:.3f} | {s['p99_ms']:.3f} |")
        print(f"| {r['dataset']} | top-1 agreement | {100 * r['top1_agreement']:.2f}% | "
              f"| | | | | | |")
    print(f"\nwrote {target}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
