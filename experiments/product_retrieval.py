"""Product-retrieval experiments on the Home Depot search data; writes docs/product-retrieval.md.

    python -m experiments.product_retrieval              # everything (about 20-30 min, 2 cores)
    python -m experiments.product_retrieval --sizes ''   # without the padded-catalog runs

Split: the distinct queries of ``../shared/data/homedepot-search/pairs.csv.gz`` are split 80/20
with seed 0; positives are pairs with relevance >= 2.5; test metrics are over the test queries
that have at least one positive. xmr trains on the training queries plus one row per product
title, and indexes products by PIFA + title TF-IDF. Baselines (BM25 over titles with bm25s, a
MiniLM dense retriever with exact inner-product search, Omikuji on xmr's features) run in
``experiments/_venv``, created on first use from ``experiments/requirements-baselines.txt``.
Latency is one query at a time through the Python API (xmr: featurization included), one
thread, after warm-up, over every test query.
"""

from __future__ import annotations

import argparse
import copy
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import scipy.sparse as sp

from xmr.apps.retrieval import ProductRetriever, RetrieverConfig, read_catalog, read_judgments
from xmr.apps.retrieval.data import Catalog, split_queries
from xmr.apps.retrieval.retriever import judged_matrices
from xmr.io.datasets import write_xc
from xmr.metrics import evaluate
from xmr.rank import TopK
from xmr.sparse import labels_from_lists
from xmr.text.config import BlockConfig

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
DATA = ROOT.parent / "shared" / "data" / "homedepot-search"
WORK = HERE / "_work" / "retrieval"
VENV = HERE / "_venv"
DOCS = ROOT / "docs"
WORD = BlockConfig(kind="word", min_n=1, max_n=2)
CHAR = BlockConfig(kind="char", min_n=3, max_n=3)
THRESHOLDS = (0.0, 0.05, 0.1, 0.2, 0.3, 0.5)
BEAMS = (1, 2, 5, 10, 20, 50)


def log(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", flush=True)


def ensure_venv() -> Path:
    python = VENV / "bin" / "python"
    marker = VENV / ".installed"
    if not marker.exists():
        log(f"creating {VENV} (torch CPU build, sentence-transformers, bm25s, omikuji)")
        subprocess.run([sys.executable, "-m", "venv", str(VENV)], check=True)
        subprocess.run([str(python), "-m", "pip", "install", "-q", "torch==2.13.0"], check=True)
        subprocess.run([str(python), "-m", "pip", "install", "-q", "-r",
                        str(HERE / "requirements-baselines.txt")], check=True)
        marker.write_text("ok\n")
    return python


def dir_mb(path: Path) -> float:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file()) / 2**20


def latency(model: ProductRetriever, queries: list[str], beam: int | None = None) -> dict:
    for q in queries[:50]:
        model.search(q, 10, beam_size=beam)
    lat = np.empty(len(queries))
    for i, q in enumerate(queries):  # one query at a time is what is being measured
        t = time.perf_counter()
        model.search(q, 10, beam_size=beam)
        lat[i] = time.perf_counter() - t
    return {"p50_ms": float(np.percentile(lat, 50) * 1e3),
            "p99_ms": float(np.percentile(lat, 99) * 1e3)}


def train_eval(name: str, cfg: RetrieverConfig, catalog: Catalog, train, test, threads: int
               ) -> tuple[ProductRetriever, dict]:
    t = time.perf_counter()
    model = ProductRetriever(cfg).fit(catalog, train, threads=threads)
    train_s = time.perf_counter() - t
    path = model.save(WORK / f"model-{name}")  # replaces the directory: its size is this run's
    rec = {"name": name, "train_s": train_s, "size_mb": dir_mb(path),
           **model.evaluate(test, threads=threads)}
    log(f"{name}: {json.dumps({k: round(v, 4) for k, v in rec.items() if k != 'name'})}")
    return model, rec


def padded_catalog(catalog: Catalog, size: int, seed: int = 0) -> Catalog:
    """The real catalog plus generated products up to ``size``: each generated title is a real
    title with its words shuffled and two words swapped for words of other titles, so the
    padding looks like catalog text and competes with the real products."""
    rng = np.random.default_rng(seed)
    vocab = np.array(" ".join(catalog.titles).split())
    n_new = size - len(catalog.ids)
    base = rng.integers(len(catalog.titles), size=n_new)
    extra = vocab[rng.integers(len(vocab), size=(n_new, 2))]
    titles = []
    for i in range(n_new):  # generating data, once per run
        words = catalog.titles[base[i]].split()
        rng.shuffle(words)
        words[: min(2, len(words))] = extra[i, : min(2, len(words))]
        titles.append(" ".join(words))
    ids = [f"gen-{i}" for i in range(n_new)]
    return Catalog(catalog.ids + ids, catalog.titles + titles)


def run_baselines(catalog, train, test_queries, model: ProductRetriever, threads) -> dict:
    python = ensure_venv()
    (WORK / "titles.json").write_text(json.dumps(catalog.titles))
    (WORK / "test_queries.json").write_text(json.dumps(test_queries))
    texts, labels = model.training_rows(catalog, train)
    vec = model.pipeline_.vectorizer_
    X = vec.transform(texts, threads=threads)
    # Omikuji reads the XC text format
    write_xc(WORK / "train.txt", X, labels_from_lists(labels, n_labels=len(catalog.ids)))
    sp.save_npz(WORK / "X_test.npz", vec.transform(test_queries, threads=threads))
    out = {}
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "EXP_THREADS": str(threads),
           "TOKENIZERS_PARALLELISM": "false"}
    for name in ("bm25", "dense", "omikuji"):
        log(f"baseline {name}")
        proc = subprocess.run([str(python), str(HERE / "retrieval_baselines.py"), str(WORK), name],
                              env=env, capture_output=True, text=True)
        if proc.returncode != 0:
            log(f"{name} failed:\n{proc.stderr[-3000:]}")
            continue
        info = json.loads((WORK / f"{name}.json").read_text())
        out[name] = {"top": np.load(WORK / f"{name}.npz")["top"], **info}
    return out


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=2, help="training threads")
    parser.add_argument("--sizes", default="100000,300000",
                        help="padded catalog sizes for the latency-vs-size runs ('' = none)")
    parser.add_argument("--skip-baselines", action="store_true")
    args = parser.parse_args(argv)
    if not (DATA / "pairs.csv.gz").exists():
        print(f"skipping: {DATA} is absent (see ../shared/data/homedepot-search/PROVENANCE.md)")
        return 0
    WORK.mkdir(parents=True, exist_ok=True)
    catalog = read_catalog(DATA / "products.csv.gz")
    train, test = split_queries(read_judgments(DATA / "pairs.csv.gz"), 0.2, seed=0)
    queries, Y_test, G_test = judged_matrices(test, catalog.ids, 2.5)
    seen = {p for p, g in zip(train.products, train.grades, strict=True) if g >= 2.5}
    unseen = np.mean([catalog.ids[i] not in seen for i in Y_test.indices])
    res: dict = {"split": {"train_queries": len(set(train.queries)),
                           "test_queries": len(queries), "products": len(catalog.ids),
                           "test_positives_never_trained": float(unseen)}}
    log(f"split: {res['split']}")
    base = RetrieverConfig()

    res["features"] = []
    models = {}
    for name, blocks in (("word 1-2", (WORD,)), ("char 3", (CHAR,)),
                         ("word 1-2 + char 3", (WORD, CHAR))):
        cfg = base.replace({"vectorizer.blocks": [b.to_dict() for b in blocks]})
        models[name], rec = train_eval(name, cfg, catalog, train, test, args.threads)
        res["features"].append(rec)
    best = models["word 1-2 + char 3"]
    res["no_title_rows"] = train_eval("no title rows", base.replace({"title_rows": False}),
                                      catalog, train, test, args.threads)[1]
    no_match = copy.copy(best)
    no_match.config = base.replace(title_match_weight=0.0)
    res["no_title_match"] = {**res["features"][2], "name": "no title match",
                             **no_match.evaluate(test, threads=args.threads)}
    log(f"no title match: {res['no_title_match']}")

    res["pruning"] = []
    default_threshold = base.solver.threshold
    for th in THRESHOLDS:
        if th == default_threshold:
            rec = dict(res["features"][2], name=f"threshold {th}")
        else:
            rec = train_eval(f"threshold {th}", base.replace(
                {"solver.threshold": th}), catalog, train, test,
                args.threads)[1]
        res["pruning"].append({"threshold": th, **rec})

    res["beams"] = []
    for beam in BEAMS:
        rec = {"beam": beam, **best.evaluate(test, beam_size=beam, threads=args.threads),
               **latency(best, queries, beam)}
        log(f"beam {beam}: {rec}")
        res["beams"].append(rec)

    if not args.skip_baselines:
        res["baselines"] = {}
        for name, info in run_baselines(catalog, train, queries, best,
                                        args.threads).items():
            top = info.pop("top")
            m = evaluate(TopK(top, np.zeros(top.shape, np.float32)), Y_test, ks=(10, 100),
                         gains=G_test)
            res["baselines"][name] = {**info, "R@10": m["R@10"], "R@100": m["R@100"],
                                      "nDCG@10": m["nDCG@10"], "MRR": m["MRR"]}
            log(f"{name}: {res['baselines'][name]}")

    res["sizes"] = []
    for size in [int(s) for s in args.sizes.split(",") if s.strip()]:
        big = padded_catalog(catalog, size)
        model, rec = train_eval(f"catalog {size}", base, big, train, test, args.threads)
        rec.update(latency(model, queries))
        res["sizes"].append({"products": size, **rec})
        log(f"catalog {size}: {rec}")
    res["default_latency"] = latency(best, queries)
    (WORK / "results.json").write_text(json.dumps(res, indent=1))
    from .retrieval_report import write_report

    write_report(res, DOCS)
    log(f"wrote {DOCS / 'product-retrieval.md'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
