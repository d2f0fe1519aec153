"""Check xmr's product-retrieval defaults on a validation split (the test queries are not read).

    python -m experiments.tune_retrieval [--threads 2]

The training queries of ``experiments.product_retrieval`` (80/20 split, seed 0) are split again
(80/20, seed 1): each setting is trained on the first part and scored on the validation part.
Prints one line per setting and writes ``experiments/_work/retrieval/tuning.json``, which
``docs/product-retrieval.md`` cites.
"""

from __future__ import annotations

import argparse
import json
import sys
import time

from xmr.apps.retrieval import (
    ProductRetriever,
    RetrieverConfig,
    judged_matrices,
    read_catalog,
    read_judgments,
    split_queries,
)
from xmr.metrics import evaluate

from .product_retrieval import DATA, WORK, log

SETTINGS = (
    ("default (100 candidates per source, spelling at search time, 80 trees, truncation 30, "
     "expansion: 10 words, weight 1, 30 title words per query word)", {}),
    ("150 candidates per source", {"bm25_candidates": 150, "model_candidates": 150,
                                   "text_candidates": 150, "expansion_candidates": 150}),
    ("50 candidates per source", {"bm25_candidates": 50, "model_candidates": 50,
                                  "text_candidates": 50, "expansion_candidates": 50}),
    ("no spelling correction", {"spelling": False}),
    ("lambdarank truncation 10", {"ranker.truncation": 10}),
    ("lambdarank truncation 100", {"ranker.truncation": 100}),
    ("120 trees", {"ranker.n_trees": 120}),
    ("no expansion source and feature", {"expansion_candidates": 0}),
    ("expansion weight 0.5", {"expansion_weight": 0.5}),
    ("20 expansion words", {"expansion_terms": 20}),
    ("100 title words per query word", {"translation_width": 100}),
)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--threads", type=int, default=2)
    args = p.parse_args(argv)
    if not (DATA / "pairs.csv.gz").exists():
        print(f"skipping: {DATA} is absent (see ../shared/data/homedepot-search/PROVENANCE.md)")
        return 0
    catalog = read_catalog(DATA / "products.csv.gz")
    train, _ = split_queries(read_judgments(DATA / "pairs.csv.gz"), 0.2, seed=0)
    fit, val = split_queries(train, 0.2, seed=1)
    val_q, Y_val, G_val = judged_matrices(val, catalog.ids, 2.5)
    rows = []
    for name, overrides in SETTINGS:
        t = time.perf_counter()
        model = ProductRetriever(RetrieverConfig().replace(overrides)).fit(
            catalog, fit, threads=args.threads)
        train_s = time.perf_counter() - t
        m = evaluate(model.search_batch(val_q, top_k=100, threads=args.threads), Y_val,
                     ks=(10, 100), gains=G_val)
        rows.append({"name": name, "overrides": overrides, "R@10": m["R@10"],
                     "R@100": m["R@100"], "nDCG@10": m["nDCG@10"], "train_s": train_s})
        log(f"{name}: R@10 {100 * m['R@10']:.1f} R@100 {100 * m['R@100']:.1f} "
            f"nDCG@10 {100 * m['nDCG@10']:.1f} (train {train_s:.0f} s)")
    WORK.mkdir(parents=True, exist_ok=True)
    (WORK / "tuning.json").write_text(json.dumps({"validation_queries": len(val_q),
                                                  "rows": rows}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
