"""Product retrieval on Home Depot search queries: xmr's hybrid vs BM25, dense and fusions.

    python -m experiments.product_retrieval [--threads 2]

Regenerates ``docs/product-retrieval.md`` (and ``experiments/_work/retrieval/results.json``).
Protocol: the distinct queries of ``pairs.csv.gz`` are split 80/20 (seed 0); a pair is a
positive from relevance 2.5. The BM25+dense fusion weight is tuned on a validation split cut
from the training queries (80/20, seed 1), and xmr's defaults are compared on it by
``experiments.tune_retrieval`` (run it first to have that table in the report). The
baselines run in ``experiments/_venv`` (bm25s with PyStemmer, the MiniLM sentence encoder),
created on first use.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

from xmr.apps.retrieval import (
    Catalog,
    ProductRetriever,
    RetrieverConfig,
    judged_matrices,
    read_catalog,
    read_judgments,
    split_queries,
    split_recall,
)
from xmr.apps.retrieval.data import Judgments
from xmr.io import store
from xmr.metrics import evaluate
from xmr.rank import TopK

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
DATA = ROOT.parent / "shared" / "data" / "homedepot-search"
WORK = HERE / "_work" / "retrieval"
VENV = HERE / "_venv"
DOCS = ROOT / "docs"


def log(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", flush=True)


def ensure_venv() -> Path:
    python = VENV / "bin" / "python"
    marker = VENV / ".installed"
    if not marker.exists():
        log(f"creating {VENV} (torch CPU build, sentence-transformers, bm25s)")
        subprocess.run([sys.executable, "-m", "venv", str(VENV)], check=True)
        subprocess.run([str(python), "-m", "pip", "install", "-q", "torch==2.13.0"], check=True)
        subprocess.run([str(python), "-m", "pip", "install", "-q", "-r",
                        str(HERE / "requirements-baselines.txt")], check=True)
        marker.write_text("ok\n")
    return python


def baseline(name: str) -> tuple[dict, dict]:
    """Run (or reuse) one baseline in the venv: its top-1000 lists and its info."""
    if not (WORK / f"{name}.npz").exists():
        env = {"HF_HUB_OFFLINE": "1", "PATH": "/usr/bin:/bin"}
        subprocess.run([str(ensure_venv()), str(HERE / "retrieval_baselines.py"), str(WORK),
                        name], check=True, env=env)
    lists = dict(np.load(WORK / f"{name}.npz"))
    return lists, json.loads((WORK / f"{name}.json").read_text())


def top_of(ids: np.ndarray, scores: np.ndarray, k: int = 100) -> TopK:
    return TopK(ids[:, :k].astype(np.int32), scores[:, :k].astype(np.float32))


def fuse(a: TopK, b: TopK, method: str, weight: float = 0.5, k: int = 60) -> TopK:
    """Reciprocal-rank fusion (k = 60) or a linear fusion of max-normalized scores."""
    n = a.indices.shape[0]
    out = np.full((n, 100), -1, dtype=np.int32)
    for i in range(n):  # per query: dictionaries of a few hundred products
        score: dict[int, float] = {}
        for w, t in ((weight, a), (1 - weight, b)):
            ids, sc = t.indices[i], t.scores[i]
            best = sc[0] if sc[0] > 0 else 1.0
            for r, (p, s) in enumerate(zip(ids.tolist(), sc.tolist(), strict=True)):
                if p < 0:
                    continue
                add = 1.0 / (k + r + 1) if method == "rrf" else w * s / best
                score[p] = score.get(p, 0.0) + add
        best_ids = sorted(score, key=score.__getitem__, reverse=True)[:100]
        out[i, :len(best_ids)] = best_ids
    return TopK(out, np.zeros(out.shape, dtype=np.float32))


def metrics(top: TopK, Y, G, ids, seen) -> dict:
    m = evaluate(top, Y, ks=(10, 100), gains=G)
    return {"R@10": m["R@10"], "R@100": m["R@100"], "nDCG@10": m["nDCG@10"], "MRR": m["MRR"],
            **split_recall(top, Y, ids, seen)}


def latency(fn, queries: list[str]) -> dict:
    for q in queries[:50]:
        fn(q)
    lat = np.empty(len(queries))
    for i, q in enumerate(queries):
        t = time.perf_counter()
        fn(q)
        lat[i] = time.perf_counter() - t
    return {"p50_ms": float(np.percentile(lat, 50) * 1e3),
            "p99_ms": float(np.percentile(lat, 99) * 1e3)}


def dir_mb(path: Path) -> float:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file()) / 2**20


XMR_VARIANTS = (
    ("xmr hybrid (default)", {}),
    ("hybrid without spelling correction", {"spelling": False}),
    ("hybrid without the XR-Linear source", {"model_candidates": 1}),
    ("hybrid without the title-cosine source", {"text_candidates": 1}),
    ("hybrid without the expansion source and feature", {"expansion_candidates": 0}),
    ("hybrid, pifa-convex index", {"indexer.embedding": "pifa-convex"}),
    ("hybrid, 2 title pseudo-queries per product", {"pseudo_queries": 2}),
    ("XR-Linear + title match (xmr 0.1's retriever)", {"method": "model"}),
    ("XR-Linear alone (concatenated PIFA + title index)",
     {"method": "model", "title_match_weight": 0.0}),
    ("XR-Linear alone, pifa-convex index",
     {"method": "model", "title_match_weight": 0.0, "indexer.embedding": "pifa-convex"}),
    ("XR-Linear alone, 2 title pseudo-queries per product",
     {"method": "model", "title_match_weight": 0.0, "pseudo_queries": 2}),
)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--threads", type=int, default=2, help="training threads")
    args = p.parse_args(argv)
    if not (DATA / "pairs.csv.gz").exists():
        print(f"skipping: {DATA} is absent (see ../shared/data/homedepot-search/PROVENANCE.md)")
        return 0
    WORK.mkdir(parents=True, exist_ok=True)
    catalog = read_catalog(DATA / "products.csv.gz")
    train, test = split_queries(read_judgments(DATA / "pairs.csv.gz"), 0.2, seed=0)
    _, val = split_queries(train, 0.2, seed=1)
    val_q, Y_val, G_val = judged_matrices(val, catalog.ids, 2.5)
    test_q, Y, G = judged_matrices(test, catalog.ids, 2.5)
    seen = sorted({p for p, g in zip(train.products, train.grades, strict=True) if g >= 2.5})
    for name, value in (("titles", catalog.titles), ("val_queries", val_q),
                        ("test_queries", test_q)):
        (WORK / f"{name}.json").write_text(json.dumps(value))
    res: dict = {"split": {"train_queries": len(set(train.queries)), "test_queries": len(test_q),
                           "products": len(catalog.ids), "seen_products": len(seen)},
                 "rows": []}

    def add(name: str, top: TopK, **info) -> None:
        row = {"name": name, **metrics(top, Y, G, catalog.ids, seen), **info}
        res["rows"].append(row)
        log(f"{name}: R@10 {100 * row['R@10']:.1f} R@100 {100 * row['R@100']:.1f}")

    # -- baselines ---------------------------------------------------------------------------------
    lists = {}
    for name in ("bm25", "bm25-stem", "dense"):
        lists[name], info = baseline(name)
        label = {"bm25": "BM25 over titles, bm25s, no stemming",
                 "bm25-stem": "BM25 over titles, bm25s, English stemmer + stop words",
                 "dense": "dense all-MiniLM-L6-v2, exact inner product"}[name]
        add(label, top_of(lists[name]["test_ids"], lists[name]["test_scores"]), **info)
    b_val = top_of(lists["bm25-stem"]["val_ids"], lists["bm25-stem"]["val_scores"], 1000)
    d_val = top_of(lists["dense"]["val_ids"], lists["dense"]["val_scores"], 1000)
    tuning = []
    for w in np.round(np.linspace(0.1, 0.9, 9), 1):
        m = evaluate(fuse(d_val, b_val, "linear", w), Y_val, ks=(10, 100))
        tuning.append({"weight": float(w), "R@10": m["R@10"], "R@100": m["R@100"]})
    best_w = max(tuning, key=lambda r: r["R@10"] + r["R@100"])["weight"]
    res["fusion_tuning"] = tuning
    b_test = top_of(lists["bm25-stem"]["test_ids"], lists["bm25-stem"]["test_scores"], 1000)
    d_test = top_of(lists["dense"]["test_ids"], lists["dense"]["test_scores"], 1000)
    add("RRF of stemmed BM25 and dense (k = 60)", fuse(d_test, b_test, "rrf"))
    add(f"linear fusion of stemmed BM25 and dense (weight {best_w} on dense, tuned on "
        "validation)", fuse(d_test, b_test, "linear", best_w))

    # -- xmr ----------------------------------------------------------------------------------
    default_model = None
    for name, overrides in XMR_VARIANTS:
        cfg = RetrieverConfig().replace(overrides)
        t = time.perf_counter()
        model = ProductRetriever(cfg).fit(catalog, train, threads=args.threads)
        train_s = time.perf_counter() - t
        path = WORK / "models" / name.split(" (")[0].replace(" ", "_").replace(",", "")
        model.save(path)
        model = ProductRetriever.load(path).warmup()
        top = model.search_batch(test_q, top_k=100, threads=args.threads)
        add(name, top, train_s=train_s, size_mb=dir_mb(store.resolve(path)),  # live version
            **latency(lambda q, m=model: m.search(q, 10), test_q))
        if not overrides:
            default_model = model
            bm = model.bm25_
            add("BM25 over titles, xmr (English stemmer + stop words, query words "
                "spelling-corrected)",
                bm.search([model.speller_.correct(q) for q in test_q], 100),
                **latency(lambda q, b=bm: b.search_one(q, 10), test_q))

    # -- catalog updates ----------------------------------------------------------------------
    res["update"] = update_experiment(catalog, train, test, default_model, args.threads)
    tuning = WORK / "tuning.json"  # written by experiments.tune_retrieval
    if tuning.exists():
        res["xmr_tuning"] = json.loads(tuning.read_text())
    (WORK / "results.json").write_text(json.dumps(res, indent=1))
    from .retrieval_report import write_report

    write_report(res, DOCS)
    log(f"wrote {DOCS / 'product-retrieval.md'}")
    return 0


def update_experiment(catalog: Catalog, train: Judgments, test: Judgments,
                      full_model: ProductRetriever, threads: int) -> dict:
    """Hold 10% of the products out of training, add them with ``update``, and measure recall
    on the test queries' positives among them, beside the model trained on every product."""
    rng = np.random.default_rng(2)
    held = set(np.asarray(catalog.ids)[rng.permutation(len(catalog.ids))[
        :len(catalog.ids) // 10]].tolist())
    keep = [i for i, p in enumerate(catalog.ids) if p not in held]
    part = Catalog([catalog.ids[i] for i in keep], [catalog.titles[i] for i in keep])
    pairs = [i for i, p in enumerate(train.products) if p not in held]
    train_part = Judgments([train.queries[i] for i in pairs], [train.products[i] for i in pairs],
                           train.grades[pairs])
    model = ProductRetriever().fit(part, train_part, threads=threads)
    added = [i for i, p in enumerate(catalog.ids) if p in held]
    t = time.perf_counter()
    model.update(add=Catalog([catalog.ids[i] for i in added],
                             [catalog.titles[i] for i in added]), threads=threads)
    update_s = time.perf_counter() - t
    out = {"held_out_products": len(held), "update_s": update_s}
    for name, m in (("added by update", model), ("trained with every product", full_model)):
        queries, Y, _ = judged_matrices(test, m.product_ids_, 2.5)
        top = m.search_batch(queries, top_k=100, threads=threads)
        # recall over the held-out products only: "seen" = every other product
        r = split_recall(top, Y, m.product_ids_, [p for p in m.product_ids_ if p not in held])
        out[name] = {"R@10": r["R@10 unseen"], "R@100": r["R@100 unseen"],
                     "queries": r["queries unseen"]}
        log(f"update experiment, {name}: {out[name]}")
    return out


if __name__ == "__main__":
    sys.exit(main())
