"""Separate indexing luck from model quality on bibtex: libpecos vs xmr on the same label tree.

    python -m benchmarks.same_tree --seeds 0,1,2,3,4

For every seed, libpecos (in the peers' venv) builds its hierarchical k-means tree, trains and
predicts with PECOS's defaults (B=16, leaf 100, threshold 0.1, tfn, l3-hinge, beam 10); its tree
is exported and xmr is trained on *that* tree with the same settings, and also on its own tree
built with the same seed. bibtex has 159 labels and so a single split into two clusters: which
handful of labels land on which side moves P@1 by up to a point, so a comparison at one seed
mixes the two libraries' random tree choices with the quality of their solvers and search.
Writes ``benchmarks/results/same-tree-<time>.json`` and prints a Markdown table.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time

import numpy as np

from .common import load_split, ranking_metrics, write_json
from .run import HERE, ensure_peer_venv, prepare_dataset

_PECOS_SIDE = r"""
import sys, json, numpy as np, scipy.sparse as sp
from pecos.xmc import Indexer, LabelEmbeddingFactory
from pecos.xmc.xlinear.model import XLinearModel
data, seed, out = sys.argv[1], int(sys.argv[2]), sys.argv[3]
ld = lambda n: sp.load_npz(f"{data}/{n}.npz").tocsr().astype(np.float32)
X, Y, Xt = ld("X_train"), ld("Y_train"), ld("X_test")
emb = LabelEmbeddingFactory.create(Y, X, method="pifa", threads=1)
C = Indexer.gen(emb, indexer_type="hierarchicalkmeans", nr_splits=16, max_leaf_size=100,
                threads=1, seed=seed)
m = XLinearModel.train(X, Y, C=C, threads=1, threshold=0.1)
P = m.predict(Xt, beam_size=10, only_topk=10, threads=1).tocsr()
top = np.full((Xt.shape[0], 10), -1, dtype=np.int64)
for i in range(Xt.shape[0]):
    s, e = P.indptr[i], P.indptr[i + 1]
    o = np.argsort(-P.data[s:e], kind="stable")
    top[i, :len(o)] = P.indices[s:e][o]
np.savez(out, top=top, **{f"parents{i}": c.tocsr().indices for i, c in enumerate(C)})
"""


def _xmr_topk(X, Y, Xt, seed: int, tree) -> np.ndarray:
    from xmr.linear.config import XLinearConfig
    from xmr.linear.model import XLinearModel

    cfg = XLinearConfig().replace(**{"normalize_rows": False, "indexer.seed": seed})
    return XLinearModel(cfg).fit(X, Y, tree=tree).predict(Xt, top_k=10).indices


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", default="0,1,2,3,4")
    args = parser.parse_args(argv)
    from xmr.index.tree import LabelTree

    data = prepare_dataset("bibtex")
    if data is None:
        return 0
    python = ensure_peer_venv()
    X, Y = load_split(data, "train")
    Xt, Yt = load_split(data, "test")
    rows = []
    for seed in (int(s) for s in args.seeds.split(",")):
        out = HERE / "_work" / f"same-tree-pecos-{seed}.npz"
        subprocess.run([str(python), "-c", _PECOS_SIDE, str(data), str(seed), str(out)],
                       check=True)
        z = np.load(out)
        parents = [z[f"parents{i}"] for i in range(len([k for k in z if k.startswith("par")]))]
        pecos_tree = LabelTree.from_parents(parents)
        rows.append({
            "seed": seed,
            "libpecos": ranking_metrics(z["top"], Yt),
            "xmr_on_pecos_tree": ranking_metrics(_xmr_topk(X, Y, Xt, seed, pecos_tree), Yt),
            "xmr_own_tree": ranking_metrics(_xmr_topk(X, Y, Xt, seed, None), Yt),
        })
    keys = ("libpecos", "xmr_on_pecos_tree", "xmr_own_tree")
    print("| seed | " + " | ".join(f"{k} P@1/3/5" for k in keys) + " |")
    print("|---" * (len(keys) + 1) + "|")
    for r in rows + [{"seed": "mean", **{k: {m: float(np.mean([r[k][m] for r in rows]))
                                             for m in ("P@1", "P@3", "P@5")} for k in keys}}]:
        cells = [" / ".join(f"{100 * r[k][m]:.2f}" for m in ("P@1", "P@3", "P@5")) for k in keys]
        print(f"| {r['seed']} | " + " | ".join(cells) + " |")
    stamp = time.strftime("%Y%m%d-%H%M%S")
    write_json(HERE / "results" / f"same-tree-{stamp}.json", {"rows": rows})
    return 0


if __name__ == "__main__":
    sys.exit(main())
