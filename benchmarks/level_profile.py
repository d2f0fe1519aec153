"""Where each tree level's training time goes: work, solver passes and time per nonzero.

    python -m benchmarks.level_profile --dataset gen-1m

Issue 17 asks why training grows faster than the label count (41x from 100K to 1M labels).
For every level of the tree that training builds (PECOS-matched settings), this prints:

- parents, children, and rows per parent (mean and max: popular labels make a few parents
  hold a large share of the rows);
- the solver's work, the sum over parents of (nonzeros of the parent's rows) x (children);
- on parents drawn in proportion to that work (with replacement), at most ``--children`` of
  their children solved one at a time on one thread: the dual solver's passes and the time per
  nonzero per pass, and from them an estimate of the level's one-thread solving time.

The cost per nonzero per pass is what grows with the problem (measured); our reading of why:
on a parent of a few thousand rows the weight vector and the rows stay in the caches, on a
parent of hundreds of thousands they do not.
The tree is clustered once per data set and kept in ``benchmarks/_work/trees``.
"""

from __future__ import annotations

import argparse
import json
import pickle
import sys
import time
from pathlib import Path

import numpy as np
import scipy.sparse as sp

HERE = Path(__file__).resolve().parent


def _tree(name: str, X, Y, cfg):
    from xmr.index.embed import label_embedding
    from xmr.index.kmeans import hierarchical_kmeans

    path = HERE / "_work" / "trees" / f"{name}.pkl"
    if path.exists():  # our own cache, written below
        with path.open("rb") as f:
            return pickle.load(f)
    t = time.perf_counter()
    tree = hierarchical_kmeans(label_embedding(cfg.indexer.embedding, X, Y, None), cfg.indexer)
    print(f"indexing: {time.perf_counter() - t:.1f} s, levels {tree.level_sizes()}", flush=True)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("wb") as f:
        pickle.dump(tree, f)
    return tree


def _solve_parent(X, rows, pos_ptr, pos_idx, children, cfg, scratch):
    """(seconds, nonzeros x passes) of solving ``children`` on ``rows``, one at a time."""
    from xmr._kernels import solver as S
    from xmr._kernels.rng import rng_seed

    lp, li, lv, n_local, _ = S._gather_rows(X.indptr, X.indices, X.data, rows, *scratch)
    xnorm2 = S.row_norms2(lp, lv, cfg.bias)
    n = rows.shape[0]
    y = np.empty(n, dtype=np.int8)
    w = np.empty(n_local + 1)
    alpha = np.empty(max(2 * n, 1))
    index = np.empty(max(n, 1), dtype=np.uint32)
    seconds, units, passes = 0.0, 0.0, []
    for c in children:
        S._labels_for_child(rows, pos_idx, pos_ptr[c], pos_ptr[c + 1], y)
        state = np.uint64(rng_seed(cfg.seed, int(c)))
        t = time.perf_counter()
        it = S.solve_svm_dual(lp, li, lv, n_local, y, xnorm2, S.LOSS_L2_SVM, cfg.Cp, cfg.Cn,
                              cfg.bias, cfg.eps, cfg.max_iter, state, w, alpha, index)
        seconds += time.perf_counter() - t
        units += lv.size * max(it, 1)
        passes.append(it)
    return seconds, units, passes


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--dataset", default="gen-100k")
    p.add_argument("--parents", type=int, default=8, help="sampled parents per level")
    p.add_argument("--children", type=int, default=4, help="children solved per sampled parent")
    args = p.parse_args(argv)
    sys.path.insert(0, str(HERE.parent))
    import numba

    import xmr
    from benchmarks.common import load_split
    from benchmarks.run import prepare_dataset
    from xmr._kernels import solver as S
    from xmr.linear.train import _csc_arrays
    from xmr.sparse import as_csr

    data = prepare_dataset(args.dataset)
    if data is None:
        return 0
    X, Y = load_split(data, "train")
    cfg = xmr.XLinearConfig().replace({"normalize_rows": False})  # PECOS-matched
    X = xmr.XLinearModel(cfg)._inputs(as_csr(X, name="X"))
    Y = sp.csr_matrix(Y)
    tree = _tree(args.dataset, X, Y, cfg)  # clustered on every thread
    numba.set_num_threads(1)
    solver = cfg.solver  # the default loss, l2-svm, which _solve_parent uses
    d = X.shape[1]
    scratch = [np.full(d, -1, dtype=np.int64), np.empty(d, np.int32), 0, np.empty(d, np.int32)]
    # compile the solver before anything is timed
    S.solve_svm_dual(np.array([0, 1], np.int64), np.array([0], np.uint32),
                     np.array([1.0], np.float32), 1, np.array([1], np.int8), np.array([2.0]),
                     S.LOSS_L2_SVM, 1.0, 1.0, 1.0, 0.1, 5, np.uint64(1), np.zeros(2),
                     np.zeros(2), np.zeros(1, np.uint32))
    rng = np.random.default_rng(0)
    n = X.shape[0]
    print(f"{args.dataset}: {n} rows, {d} features, {X.nnz} nonzeros, tree levels "
          f"{tree.level_sizes()}; one thread, {args.parents} parents x {args.children} children "
          "sampled per level")
    print("| level | parents | children | rows/parent mean / max | work G (nnz x children) "
          "| work per row | passes mean / max | ns per nnz per pass | est. solve s (1 thread) |")
    print("|---|---|---|---|---|---|---|---|---|")
    prev = sp.csr_matrix((np.ones(n, np.float32), (np.arange(n), np.zeros(n, np.int64))),
                         shape=(n, 1))
    out = []
    for level in range(1, tree.depth + 1):
        targets = tree.level_targets(Y, level)
        cptr = tree.child_ptr[level - 1]
        prow_ptr, prow_idx = _csc_arrays(prev)
        pos_ptr, pos_idx = _csc_arrays(targets)
        n_children = np.diff(cptr)
        nnz_cum = np.concatenate([[0], np.cumsum(np.diff(X.indptr)[prow_idx])])
        work = (nnz_cum[prow_ptr[1:]] - nnz_cum[prow_ptr[:-1]]) * n_children
        total = float(work.sum())
        picks = rng.choice(work.shape[0], size=args.parents, p=work / total)
        est, passes, per_unit = [], [], []
        for par in picks:
            kids = np.arange(cptr[par], cptr[par + 1])
            chosen = rng.choice(kids, size=min(args.children, kids.shape[0]), replace=False)
            scratch[2] += 1  # a fresh job stamp
            rows = prow_idx[prow_ptr[par]:prow_ptr[par + 1]]
            sec, units, its = _solve_parent(X, rows, pos_ptr, pos_idx, chosen, solver, scratch)
            # the whole parent's time over its share of the work: unbiased under this sampling
            est.append(sec * kids.shape[0] / chosen.shape[0] / work[par] * total)
            passes += its
            per_unit.append(1e9 * sec / units)
        rows_per = np.diff(prow_ptr)
        row = {"level": level, "parents": int(cptr.shape[0] - 1), "children": int(cptr[-1]),
               "rows_mean": float(rows_per.mean()), "rows_max": int(rows_per.max()),
               "work_g": total / 1e9, "work_per_row": total / n,
               "passes_mean": float(np.mean(passes)), "passes_max": int(np.max(passes)),
               "ns_per_unit": float(np.median(per_unit)), "est_solve_s": float(np.mean(est))}
        out.append(row)
        print(f"| {level} | {row['parents']} | {row['children']} | {row['rows_mean']:.0f} / "
              f"{row['rows_max']} | {row['work_g']:.2f} | {row['work_per_row']:.0f} | "
              f"{row['passes_mean']:.1f} / {row['passes_max']} | {row['ns_per_unit']:.1f} | "
              f"{row['est_solve_s']:.1f} |", flush=True)
        prev = targets
    results = HERE / "results"
    results.mkdir(exist_ok=True)
    (results / f"level_profile-{args.dataset}.json").write_text(json.dumps(out, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
