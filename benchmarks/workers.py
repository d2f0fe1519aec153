"""One benchmark phase of one library, in its own process.

Usage (the runner calls this; run from the repository root)::

    python -m benchmarks.workers LIB train   --data DIR --model DIR --threads T --setting S --out F
    python -m benchmarks.workers LIB predict --data DIR --model DIR --threads T --setting S --out F

LIB is one of xmr, libpecos, napkinxc, omikuji. Each library is imported only inside its own
adapter, so this file runs in xmr's environment and in the peers' (numpy<2) environment alike.
``train`` reports wall time (data already loaded), peak RSS and model size; ``predict`` reports
load time, batch prediction time with T threads, accuracy, and single-query latency with one
thread through the library's Python API, after warm-up.
"""

from __future__ import annotations

import argparse
import logging
import os
import shutil
import sys
import time
from pathlib import Path

import numpy as np
import scipy.sparse as sp

from benchmarks.common import (
    Timer,
    dir_size_mb,
    latency_stats,
    load_split,
    peak_rss_mb,
    ranking_metrics,
    rss_source,
    write_json,
)

BEAM = 10

# Settings: "matched" = PECOS's defaults for everyone who has them (B=16, leaf 100,
# threshold 0.1, beam 10); "default" = the library's own documented defaults.
SETTINGS = {
    "xmr": ("default", "matched"),
    "libpecos": ("matched",),
    "napkinxc": ("default", "matched"),
    "omikuji": ("default", "matched"),
}


def topk_from_csr(P: sp.csr_matrix, k: int) -> np.ndarray:
    """(n, k) label ids from a sparse score matrix, best first, -1 padded."""
    P = P.tocsr()
    n = P.shape[0]
    rows = np.repeat(np.arange(n), np.diff(P.indptr))
    order = np.lexsort((P.indices, -P.data, rows))
    rank = np.arange(order.shape[0]) - np.repeat(P.indptr[:-1], np.diff(P.indptr))
    keep = rank < k
    out = np.full((n, k), -1, dtype=np.int64)
    out[rows[order][keep], rank[keep]] = P.indices[order][keep]
    return out


def topk_from_lists(pred: list, k: int) -> np.ndarray:
    out = np.full((len(pred), k), -1, dtype=np.int64)
    for i, row in enumerate(pred):  # converting a peer's Python output, not timed
        ids = [p[0] if isinstance(p, tuple) else p for p in row][:k]
        out[i, : len(ids)] = ids
    return out


# --------------------------------------------------------------------------------------------
class XmrAdapter:
    def warmup(self, threads):
        """Load (or, on a fresh install, compile) the numba kernels before the clock starts:
        compilation is a one-time cost per installation, cached on disk, not training work."""
        import xmr

        p = xmr.make_problem(2000, n_train=2000, n_test=10, seed=1)
        xmr.XLinearModel().fit(p.X_train, p.Y_train, threads=threads).predict(p.X_test)

    @staticmethod
    def config(setting):
        import xmr

        # matched = PECOS's behaviour exactly: raw rows, no normalization
        return xmr.XLinearConfig().replace({"normalize_rows": setting != "matched"})

    def train(self, X, Y, threads, setting, model_dir):
        import xmr

        self.warmup(threads)
        cfg = self.config(setting)
        start = time.perf_counter()
        self.model = xmr.XLinearModel(cfg).fit(X, Y, threads=threads)
        self.train_s = time.perf_counter() - start
        self.model.save(model_dir)

    def load(self, model_dir, X_sample):
        import xmr

        self.model = xmr.load(model_dir, mmap=True)
        self.model.warmup()

    def prepare_load(self, threads):
        self.warmup(threads)  # untimed: kernels of a fresh install compile once

    def predict_batch(self, X, k, threads):
        return self.model.predict(X, beam_size=BEAM, top_k=k, threads=threads).indices

    def queries(self, X, rows):
        return [(X.indices[X.indptr[i]:X.indptr[i + 1]], X.data[X.indptr[i]:X.indptr[i + 1]])
                for i in rows]

    def predict_one(self, q, k):
        return self.model.predict_one(q, beam_size=BEAM, top_k=k)


class PecosAdapter:
    def train(self, X, Y, threads, setting, model_dir):
        from pecos.xmc import Indexer, LabelEmbeddingFactory
        from pecos.xmc.xlinear.model import XLinearModel

        emb = LabelEmbeddingFactory.create(Y, X, method="pifa", threads=threads)
        C = Indexer.gen(emb, indexer_type="hierarchicalkmeans", nr_splits=16,
                        max_leaf_size=100, threads=threads)
        model = XLinearModel.train(X, Y, C=C, threads=threads, threshold=0.1)
        model.save(model_dir)

    def load(self, model_dir, X_sample):
        from pecos.xmc.xlinear.model import XLinearModel

        self.model = XLinearModel.load(model_dir, is_predict_only=True)

    def predict_batch(self, X, k, threads):
        P = self.model.predict(X, beam_size=BEAM, only_topk=k, threads=threads)
        return topk_from_csr(P, k)

    def queries(self, X, rows):
        return [X[i] for i in rows]

    def predict_one(self, q, k):
        return self.model.predict(q, beam_size=BEAM, only_topk=k, threads=1)


class NapkinAdapter:
    def _params(self, setting):
        if setting == "matched":  # PECOS-like tree: 16-ary k-means, leaves of 100
            return {"arity": 16, "max_leaves": 100, "tree_type": "hierarchicalKmeans"}
        return {}

    def train(self, X, Y, threads, setting, model_dir):
        from napkinxc.models import PLT

        labels = [Y.indices[Y.indptr[i]:Y.indptr[i + 1]].tolist() for i in range(Y.shape[0])]
        self.model = PLT(str(model_dir), threads=threads, seed=0, **self._params(setting))
        self._timer_start = time.perf_counter()
        self.model.fit(X, labels)

    def load(self, model_dir, X_sample):
        from napkinxc.models import PLT

        self.model = PLT(str(model_dir))
        self.model.load()

    def predict_batch(self, X, k, threads):
        self.model.set_params(threads=threads)
        return topk_from_lists(self.model.predict(X, top_k=k), k)

    def single_thread(self):
        self.model.set_params(threads=1)

    def queries(self, X, rows):
        return [X[i] for i in rows]

    def predict_one(self, q, k):
        return self.model.predict(q, top_k=k)


class OmikujiAdapter:
    def _params(self, setting):
        import omikuji

        hp = omikuji.Model.default_hyper_param()
        if setting == "matched":
            hp.n_trees = 1
            hp.cluster_k = 16
            hp.min_branch_size = 100
        return hp

    def train(self, X, Y, threads, setting, model_dir):
        import omikuji

        path = Path(model_dir).with_suffix(".train.txt")
        if not path.exists():  # omikuji trains from a file; writing it is not timed
            _write_xc(path, X, Y)
        self._train_file = path
        self.hp = self._params(setting)
        self.threads = threads
        self.model = omikuji.Model.train_on_data(str(path), self.hp, n_threads=threads)
        self.model.save(str(model_dir))

    def load(self, model_dir, X_sample):
        import omikuji

        self.model = omikuji.Model.load(str(model_dir))

    def predict_batch(self, X, k, threads):
        # omikuji's Python API predicts one example per call: a Python loop is its batch path
        out = np.full((X.shape[0], k), -1, dtype=np.int64)
        for i in range(X.shape[0]):
            q = list(zip(X.indices[X.indptr[i]:X.indptr[i + 1]].tolist(),
                         X.data[X.indptr[i]:X.indptr[i + 1]].tolist(), strict=True))
            pred = self.model.predict(q, beam_size=BEAM, top_k=k)
            out[i, : len(pred)] = [p[0] for p in pred]
        return out

    def queries(self, X, rows):
        return [list(zip(X.indices[X.indptr[i]:X.indptr[i + 1]].tolist(),
                         X.data[X.indptr[i]:X.indptr[i + 1]].tolist(), strict=True))
                for i in rows]

    def predict_one(self, q, k):
        return self.model.predict(q, beam_size=BEAM, top_k=k)


def _write_xc(path: Path, X: sp.csr_matrix, Y: sp.csr_matrix) -> None:
    with open(path, "w") as fh:
        fh.write(f"{X.shape[0]} {X.shape[1]} {Y.shape[1]}\n")
        for i in range(X.shape[0]):
            labs = ",".join(map(str, Y.indices[Y.indptr[i]:Y.indptr[i + 1]]))
            feats = " ".join(f"{j}:{v:.6g}" for j, v in zip(
                X.indices[X.indptr[i]:X.indptr[i + 1]], X.data[X.indptr[i]:X.indptr[i + 1]],
                strict=True))
            fh.write(f"{labs} {feats}\n")


ADAPTERS = {"xmr": XmrAdapter, "libpecos": PecosAdapter, "napkinxc": NapkinAdapter,
            "omikuji": OmikujiAdapter}


def run_train(lib, args) -> dict:
    X, Y = load_split(args.data, "train")
    base_rss = peak_rss_mb()
    model_dir = Path(args.model)
    if model_dir.exists():
        shutil.rmtree(model_dir)
    adapter = ADAPTERS[lib]()
    with Timer() as t:
        adapter.train(X, Y, args.threads, args.setting, model_dir)
    # adapters that do untimed preparation inside train() report their own training time
    train_s = getattr(adapter, "train_s", t.seconds)
    return {"train_s": train_s, "train_peak_rss_mb": peak_rss_mb(), "rss_source": rss_source(),
            "data_rss_mb": base_rss, "model_mb": dir_size_mb(model_dir)}


def run_predict(lib, args) -> dict:
    X, Y = load_split(args.data, "test")
    if args.test_rows:  # the same first rows for every library
        X, Y = X[: args.test_rows], Y[: args.test_rows]
    base_rss = peak_rss_mb()
    adapter = ADAPTERS[lib]()
    if hasattr(adapter, "prepare_load"):
        adapter.prepare_load(args.threads)
    with Timer() as t_load:
        adapter.load(args.model, X[:1])
    k = min(100, Y.shape[1])
    adapter.predict_batch(X[: min(50, X.shape[0])], k, args.threads)  # warm-up
    with Timer() as t_pred:
        pred = adapter.predict_batch(X, k, args.threads)
    out = {"load_s": t_load.seconds, "predict_s": t_pred.seconds,
           "predict_rows": int(X.shape[0]), "qps": X.shape[0] / t_pred.seconds,
           **ranking_metrics(pred, Y)}
    rng = np.random.default_rng(0)
    rows = rng.choice(X.shape[0], size=min(args.queries, X.shape[0]), replace=False)
    queries = adapter.queries(X, rows)
    # single-query latency is a one-thread measurement, whatever the batch's thread count
    if hasattr(adapter, "single_thread"):
        adapter.single_thread()
    for q in queries[: min(200, len(queries))]:
        adapter.predict_one(q, 10)
    times = np.empty(len(queries))
    for i, q in enumerate(queries):  # timing individual calls is the measurement
        start = time.perf_counter()
        adapter.predict_one(q, 10)
        times[i] = time.perf_counter() - start
    out.update({f"latency_{key}": v for key, v in latency_stats(times).items()})
    out["latency_queries"] = len(queries)
    out["predict_peak_rss_mb"] = peak_rss_mb()
    out["test_data_rss_mb"] = base_rss
    return out


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="benchmarks.workers")
    p.add_argument("lib", choices=sorted(ADAPTERS))
    p.add_argument("mode", choices=["train", "predict"])
    p.add_argument("--data", required=True)
    p.add_argument("--model", required=True)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--setting", default="matched")
    p.add_argument("--queries", type=int, default=2000)
    p.add_argument("--test-rows", type=int, default=0, help="first N test rows (0 = all)")
    p.add_argument("--out", required=True)
    args = p.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    if args.lib == "xmr":
        import numba

        numba.set_num_threads(min(args.threads, numba.config.NUMBA_NUM_THREADS))
    os.environ.setdefault("OMP_NUM_THREADS", str(args.threads))
    result = (run_train if args.mode == "train" else run_predict)(args.lib, args)
    result.update({"lib": args.lib, "mode": args.mode, "threads": args.threads,
                   "setting": args.setting, "python": sys.version.split()[0]})
    write_json(args.out, result)
    return 0


if __name__ == "__main__":
    sys.exit(main())
