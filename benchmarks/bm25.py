"""xmr's BM25 vs bm25s on the Home Depot product titles, in one process, one thread.

    python -m benchmarks.bm25 [--repeats 3]

Both index the 54,667 titles with English stemming (PyStemmer) and stop words, then answer the
test queries of ``docs/product-retrieval.md`` one at a time (the real-time path: text in, top 10
out, tokenization included) and as one batch. Rankings are the same up to ties (tested in
``tests/unit/test_lexical.py``). Reports p50 / p99 per query, batch time and indexing time, as
ratios bm25s / xmr. Skips with a message when the data or bm25s is absent.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

from .common import time_each

HERE = Path(__file__).resolve().parent
DATA = HERE.parent.parent / "shared" / "data" / "homedepot-search"


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--repeats", type=int, default=3, help="passes over the queries (fastest)")
    args = p.parse_args(argv)
    try:
        import bm25s
        import Stemmer
    except ImportError:
        print("skipping: bm25s and PyStemmer are not installed (pip install -e '.[test]')")
        return 0
    if not (DATA / "pairs.csv.gz").exists():
        print(f"skipping: {DATA} is absent (see shared/data)")
        return 0
    from xmr._threads import num_threads
    from xmr.apps.retrieval import judged_matrices, read_catalog, read_judgments, split_queries
    from xmr.lexical import Bm25Index

    catalog = read_catalog(DATA / "products.csv.gz")
    _, test = split_queries(read_judgments(DATA / "pairs.csv.gz"), 0.2, seed=0)
    queries = judged_matrices(test, catalog.ids, 2.5)[0]
    stemmer = Stemmer.Stemmer("english")
    tok = {"stopwords": "en", "stemmer": stemmer, "show_progress": False}

    t = time.perf_counter()
    ref = bm25s.BM25()
    ref.index(bm25s.tokenize(catalog.titles, **tok), show_progress=False)
    ref_index_s = time.perf_counter() - t
    with num_threads(1):
        t = time.perf_counter()
        ours = Bm25Index().fit(catalog.titles).warmup()
        our_index_s = time.perf_counter() - t

        def ref_one(q):
            return ref.retrieve(bm25s.tokenize([q], **tok), k=10, show_progress=False,
                                n_threads=1)

        rows = {"xmr": [], "bm25s": []}
        batch = {"xmr": [], "bm25s": []}
        for _ in range(args.repeats):  # alternate, so drift of the machine hits both
            rows["xmr"].append(time_each(lambda q: ours.search_one(q, 10), queries, warmup=50))
            rows["bm25s"].append(time_each(ref_one, queries, warmup=50))
            t = time.perf_counter()
            ours.search(queries, 10)
            batch["xmr"].append(time.perf_counter() - t)
            t = time.perf_counter()
            ref.retrieve(bm25s.tokenize(queries, **tok), k=10, show_progress=False, n_threads=1)
            batch["bm25s"].append(time.perf_counter() - t)
    stats = {}
    for lib in ("xmr", "bm25s"):
        best = min(rows[lib], key=lambda a: np.percentile(a, 50))
        stats[lib] = {"p50_ms": float(np.percentile(best, 50) * 1e3),
                      "p99_ms": float(np.percentile(best, 99) * 1e3),
                      "batch_s": float(min(batch[lib])),
                      "index_s": our_index_s if lib == "xmr" else ref_index_s}
    result = {"queries": len(queries), "products": len(catalog.ids), "threads": 1, **stats}
    out = HERE / "results" / f"bm25-{time.strftime('%Y%m%d-%H%M%S')}.json"
    out.write_text(json.dumps(result, indent=1))
    x, b = stats["xmr"], stats["bm25s"]
    print(f"{len(queries)} queries over {len(catalog.ids)} titles, 1 thread, fastest of "
          f"{args.repeats}\n")
    print("| | xmr | bm25s | bm25s / xmr |\n|---|---|---|---|")
    for key, label in (("p50_ms", "one query p50 ms"), ("p99_ms", "one query p99 ms"),
                       ("batch_s", "all queries as a batch, s"), ("index_s", "indexing s")):
        print(f"| {label} | {x[key]:.3f} | {b[key]:.3f} | {b[key] / x[key]:.1f}x |")
    print(f"\nwrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
