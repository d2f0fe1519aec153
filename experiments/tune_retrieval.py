"""Choose the retriever's pruning threshold, title-match weight and candidate count on a
validation split cut from the Home Depot training queries (80/20, seed 1); the test queries of
docs/product-retrieval.md are never read.

    python -m experiments.tune_retrieval
"""

from __future__ import annotations

import copy
import sys
import time

import numpy as np

from xmr.apps.retrieval import ProductRetriever, RetrieverConfig, read_catalog, read_judgments
from xmr.apps.retrieval.data import split_queries

from .product_retrieval import DATA


def main() -> int:
    if not (DATA / "pairs.csv.gz").exists():
        print(f"skipping: {DATA} is absent")
        return 0
    catalog = read_catalog(DATA / "products.csv.gz")
    train, _ = split_queries(read_judgments(DATA / "pairs.csv.gz"), 0.2, seed=0)
    sub, val = split_queries(train, 0.2, seed=1)
    queries = list(dict.fromkeys(val.queries))[:400]
    for threshold in (0.1, 0.05):
        model = ProductRetriever(RetrieverConfig().replace(
            {"text2text.model.solver.threshold": threshold})).fit(catalog, sub, threads=2)
        for weight, candidates in ((0.0, 300), (0.3, 300), (0.5, 300), (0.7, 300), (0.5, 100),
                                   (0.5, 500)):
            v = copy.copy(model)
            v.config = model.config.replace(title_match_weight=weight,
                                            rerank_candidates=candidates)
            r = v.evaluate(val, threads=2)
            for q in queries[:30]:
                v.search(q, 10)
            lat = []
            for q in queries:  # one query at a time is what is measured
                t = time.perf_counter()
                v.search(q, 10)
                lat.append(time.perf_counter() - t)
            print(f"threshold {threshold} weight {weight} candidates {candidates}: "
                  f"recall@10 {100 * r['R@10']:.2f} recall@100 {100 * r['R@100']:.2f} "
                  f"p50 {np.percentile(lat, 50) * 1e3:.3f} ms")
    return 0


if __name__ == "__main__":
    sys.exit(main())
