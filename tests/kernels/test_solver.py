"""Dual coordinate descent solvers against scikit-learn's LIBLINEAR on the same problems."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.linear_model import LogisticRegression
from sklearn.svm import LinearSVC

from tests.conftest import random_csr
from xmr._kernels import solver as S
from xmr._kernels.rng import rng_seed


def _problem(seed=0, n=120, d=30):
    rng = np.random.default_rng(seed)
    X = random_csr(rng, n, d, 0.3)
    w_true = rng.normal(size=d)
    y = np.where(X @ w_true + 0.2 * rng.normal(size=n) > 0, 1, -1).astype(np.int8)
    return X, y


def _solve(X, y, loss, C=1.0, bias=1.0, eps=1e-6, max_iter=5000):
    n, d = X.shape
    xnorm2 = np.asarray(X.multiply(X).sum(axis=1)).ravel().astype(np.float64) + bias * bias
    w = np.empty(d + 1)
    alpha = np.empty(2 * n)
    index = np.empty(n, dtype=np.uint32)
    li = X.indices.astype(np.uint32)
    if loss == S.LOSS_LOGISTIC:
        S.solve_lr_dual(X.indptr.astype(np.int64), li, X.data, d, y, xnorm2, C, C, bias, eps,
                        max_iter, rng_seed(0, 1), w, alpha, index)
    else:
        S.solve_svm_dual(X.indptr.astype(np.int64), li, X.data, d, y, xnorm2, loss, C, C, bias,
                         eps, max_iter, rng_seed(0, 1), w, alpha, index)
    return w


def _primal(X, y, w, loss, C, bias):
    margin = y * (X @ w[:-1] + bias * w[-1])
    reg = 0.5 * float(w @ w)
    if loss == S.LOSS_L2_SVM:
        return reg + C * np.sum(np.maximum(0, 1 - margin) ** 2)
    if loss == S.LOSS_L1_SVM:
        return reg + C * np.sum(np.maximum(0, 1 - margin))
    return reg + C * np.sum(np.log1p(np.exp(-margin)))


@pytest.mark.parametrize("loss,sk", [
    (S.LOSS_L2_SVM, lambda: LinearSVC(loss="squared_hinge", dual=True, C=1.0, tol=1e-8,
                                      max_iter=100_000, intercept_scaling=1.0)),
    (S.LOSS_L1_SVM, lambda: LinearSVC(loss="hinge", dual=True, C=1.0, tol=1e-8,
                                      max_iter=100_000, intercept_scaling=1.0)),
    (S.LOSS_LOGISTIC, lambda: LogisticRegression(solver="liblinear", dual=True, C=1.0,
                                                 tol=1e-8, max_iter=100_000,
                                                 intercept_scaling=1.0)),
])
def test_solver_reaches_liblinear_optimum(loss, sk):
    X, y = _problem()
    w = _solve(X, y, loss)
    ref = sk().fit(X, y)
    w_ref = np.concatenate([ref.coef_.ravel(), ref.intercept_])  # bias feature value 1
    ours = _primal(X, y, w, loss, 1.0, 1.0)
    theirs = _primal(X, y, w_ref, loss, 1.0, 1.0)
    assert ours <= theirs * (1 + 1e-3) + 1e-6
    assert np.allclose(w, w_ref, atol=5e-2 if loss == S.LOSS_L1_SVM else 1e-2)


def test_solver_with_no_rows_gives_zero_weights():
    X, y = _problem(n=5)
    X = X[:0]
    w = _solve(X, y[:0], S.LOSS_L2_SVM)
    assert np.all(w == 0)


def test_solvers_report_their_passes():
    X, y = _problem(n=200)
    li = X.indices.astype(np.uint32)
    n, d = X.shape
    xnorm2 = np.asarray(X.multiply(X).sum(axis=1)).ravel().astype(np.float64) + 1.0
    lp = X.indptr.astype(np.int64)

    def passes(loss, eps, max_iter):
        args = (lp, li, X.data, d, y, xnorm2)
        scratch = (np.uint64(rng_seed(0, 1)), np.empty(d + 1), np.empty(2 * n),
                   np.empty(n, dtype=np.uint32))
        if loss == S.LOSS_LOGISTIC:
            return S.solve_lr_dual(*args, 1.0, 1.0, 1.0, eps, max_iter, *scratch)
        return S.solve_svm_dual(*args, loss, 1.0, 1.0, 1.0, eps, max_iter, *scratch)

    for loss in (S.LOSS_L2_SVM, S.LOSS_L1_SVM, S.LOSS_LOGISTIC):
        assert passes(loss, 1e-12, 3) == 3  # a tolerance out of reach: every allowed pass
        assert 1 <= passes(loss, 0.1, 1000) < passes(loss, 1e-6, 1000) < 1000


def test_write_pruned_applies_threshold_and_cap():
    w = np.array([0.05, -0.5, 0.2, -0.09, 0.3, 0.0])
    l2g = np.array([10, 11, 12, 13, 14], dtype=np.int32)
    out_idx = np.zeros(5, dtype=np.int32)
    out_val = np.zeros(5, dtype=np.float32)
    cnt = S._write_pruned(w, 5, l2g, 0.1, 0, out_idx, out_val, 0, 5)
    assert cnt == 3
    assert out_idx[:cnt].tolist() == [11, 12, 14]
    cnt = S._write_pruned(w, 5, l2g, 0.1, 2, out_idx, out_val, 0, 5)
    assert out_idx[:cnt].tolist() == [11, 14]  # the two largest, in feature order
    assert np.allclose(out_val[:cnt], [-0.5, 0.3])
    assert S._write_pruned(w, 5, l2g, 0.1, 0, out_idx, out_val, 0, 2) == -1  # slot too small


def test_a_job_trains_each_child_as_one_solve_over_its_parents_rows():
    """train_jobs (gather, labels, per-child random stream, pruning) gives, bit for bit, each
    child's solve over the parent's rows in a local space of the used features."""
    rng = np.random.default_rng(5)
    X = random_csr(rng, 80, 60, 0.15)
    n, d = X.shape
    rows = np.sort(rng.choice(n, 50, replace=False)).astype(np.int32)
    pos = [np.sort(rng.choice(rows, 12, replace=False)) for _ in range(3)]
    pos_ptr = np.array([0, 12, 24, 36], dtype=np.int64)
    pos_idx = np.concatenate(pos).astype(np.int32)
    out_idx = np.zeros(3 * d, dtype=np.int32)
    out_val = np.zeros(3 * d, dtype=np.float32)
    out_cnt = np.zeros(3, dtype=np.int64)
    out_bias = np.zeros(3, dtype=np.float32)
    i64 = np.int64
    S.train_jobs(0, 1, X.indptr.astype(i64), X.indices, X.data, np.array([0, 50], i64), rows,
                 pos_ptr, pos_idx, np.array([0], i64), np.array([0], i64), np.array([3], i64),
                 np.array([0, d, 2 * d], i64), np.full(3, d, i64), 1, S.LOSS_L2_SVM, 1.0, 1.0,
                 1.0, 0.1, 100, 0.01, 0, 0, out_idx, out_val, out_cnt, out_bias,
                 np.full(d, -1, i64), np.empty(d, np.int32), np.empty(d, np.int32))
    sub = X[rows]
    used = np.unique(sub.indices)
    local = sub[:, used].tocsr()  # local ids in feature order
    local.sort_indices()
    xnorm2 = np.empty(rows.shape[0])
    for i in range(rows.shape[0]):  # the kernel's sum: bias^2 first, then row order
        xnorm2[i] = 1.0
        for v in local.data[local.indptr[i]:local.indptr[i + 1]].astype(np.float64):
            xnorm2[i] += v * v
    for c in range(3):
        y = np.where(np.isin(rows, pos[c]), 1, -1).astype(np.int8)
        w = np.empty(used.shape[0] + 1)
        S.solve_svm_dual(local.indptr.astype(i64), local.indices.astype(np.uint32), local.data,
                         used.shape[0], y, xnorm2, S.LOSS_L2_SVM, 1.0, 1.0, 1.0, 0.1, 100,
                         np.uint64(rng_seed(0, 1 + c)), w, np.empty(100), np.empty(50, np.uint32))
        keep = np.flatnonzero(np.abs(w[:-1]) >= 0.01)
        got = slice(c * d, c * d + out_cnt[c])
        assert out_idx[got].tolist() == used[keep].tolist()
        assert np.array_equal(out_val[got], w[keep].astype(np.float32))
        assert out_bias[c] == np.float32(w[-1])


def test_overflowing_slots_are_solved_again_with_the_same_result(monkeypatch):
    """Capping weight slots (memory) must not change the model."""
    from xmr import XLinearConfig, XLinearModel, make_problem
    from xmr.linear import train as T

    P = make_problem(300, n_train=600, n_test=10, seed=2)
    cfg = XLinearConfig().replace({"indexer.max_leaf_size": 20, "solver.threshold": 0.01})
    ref = XLinearModel(cfg).fit(P.X_train, P.Y_train)
    monkeypatch.setattr(T, "_MAX_SLOTS", 64)  # forces tiny slots, many batches and retries
    small = XLinearModel(cfg).fit(P.X_train, P.Y_train)
    for a, b in zip(ref.layout_, small.layout_, strict=True):
        assert np.array_equal(a, b)


def test_make_jobs_covers_each_child_once_and_splits_heavy_parents():
    from xmr.linear.train import _TARGET_JOBS, _make_jobs

    # 100 parents of 10 children; parent 0 owns 500 of the 599 rows (a popular cluster),
    # every other parent one row
    n_par = 100
    cptr = np.arange(0, 10 * n_par + 1, 10, dtype=np.int64)
    prow_ptr = np.concatenate([[0], 500 + np.arange(n_par)]).astype(np.int64)
    prow_idx = np.arange(599, dtype=np.int32)
    x_ptr = np.arange(0, 3 * 599 + 1, 3, dtype=np.int64)  # rows of 3 nonzeros
    parent, start, end, cost = _make_jobs(cptr, prow_ptr, x_ptr, prow_idx)
    assert np.all(cost[:-1] >= cost[1:])  # most expensive first
    covered = np.concatenate([np.arange(a, b) for a, b in zip(start, end, strict=True)])
    assert np.array_equal(np.sort(covered), np.arange(10 * n_par))  # every child once
    for p, a, b in zip(parent, start, end, strict=True):
        assert cptr[p] <= a < b <= cptr[p + 1]  # a job's children share its parent
    assert (parent == 0).sum() == 10  # the popular parent: one job per child
    assert np.all(np.bincount(parent)[1:] == 1)  # the light ones stay whole
    assert np.all(parent[:10] == 0)  # the most expensive jobs come first
    assert parent.shape[0] <= n_par + min(10, _TARGET_JOBS)
