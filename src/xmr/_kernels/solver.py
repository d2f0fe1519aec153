"""Per-level one-vs-rest training: dual coordinate descent solvers over gathered sub-problems.

A *job* is (parent node, range of its children). All children of a parent share the same
training rows (the rows whose negatives were sampled for that parent), so a job gathers those rows
once into a local CSR whose feature ids are remapped to ``0 .. n_local - 1`` (sorted by global id).
The weight vector of each child then lives in a small, cache-resident local space, and only its
surviving entries (``|w| >= threshold``) are written back with global feature ids.

Each child draws its own random stream from ``(seed, global child id)``, so the model does not
depend on how children are grouped into jobs nor on the thread count.

Solvers follow LIBLINEAR (Hsieh et al. 2008; Yu et al. 2011): L2-regularized L2-loss and
L1-loss SVM dual coordinate descent with shrinking, and L2-regularized logistic regression dual.
"""

from __future__ import annotations

import numpy as np

from ._jit import kernel
from .rng import rng_below, rng_seed
from .sorting import argsort_stable, sort_in_place

LOSS_L2_SVM = 0
LOSS_L1_SVM = 1
LOSS_LOGISTIC = 2


@kernel(inline=True, fastmath=True)
def _row_wx(lp, li, lv, i, w, bias_index, bias):
    s = w[bias_index] * bias
    for k in range(lp[i], lp[i + 1]):
        s += w[li[k]] * lv[k]
    return s


@kernel(inline=True, fastmath=True)
def _row_axpy(lp, li, lv, i, w, bias_index, bias, a):
    for k in range(lp[i], lp[i + 1]):
        w[li[k]] += a * lv[k]
    w[bias_index] += a * bias


@kernel
def solve_svm_dual(lp, li, lv, n_local, y, xnorm2, loss, Cp, Cn, bias, eps, max_iter, state,
                   w, alpha, index):
    """L2-loss (``loss == 0``) or L1-loss (``loss == 1``) SVM dual coordinate descent.

    Parameters
    ----------
    lp, li, lv : local CSR (int64 pointers, int32 local feature ids, float32 values), n rows
    y : int8 array (n,) of +1/-1
    xnorm2 : float64 array (n,), squared row norms including ``bias**2``
    w : float64 array (n_local + 1,), output; ``w[n_local]`` is the bias weight
    alpha, index : scratch of size >= n (float64, uint32)

    Returns
    -------
    int, the passes made over the rows (at most ``max_iter``; the training profile reads it)
    """
    n = y.shape[0]
    for j in range(n_local + 1):
        w[j] = 0.0
    for i in range(n):
        alpha[i] = 0.0
        index[i] = np.uint32(i)
    if n == 0:
        return 0
    inf = np.inf
    if loss == LOSS_L2_SVM:
        diag_p = 0.5 / Cp
        diag_n = 0.5 / Cn
        upper_p = inf
        upper_n = inf
    else:
        diag_p = 0.0
        diag_n = 0.0
        upper_p = Cp
        upper_n = Cn
    active = n
    pg_max_old = inf
    pg_min_old = -inf
    it = 0
    while it < max_iter:
        pg_max_new = -inf
        pg_min_new = inf
        for s in range(active):
            r, state = rng_below(state, active - s)
            t = index[s]
            index[s] = index[s + r]
            index[s + r] = t
        s = 0
        while s < active:
            i = index[s]
            yi = y[i]
            if yi > 0:
                diag = diag_p
                upper = upper_p
            else:
                diag = diag_n
                upper = upper_n
            g = yi * _row_wx(lp, li, lv, i, w, n_local, bias) - 1.0 + alpha[i] * diag
            pg = 0.0
            if alpha[i] == 0.0:
                if g > pg_max_old:
                    active -= 1
                    index[s] = index[active]
                    index[active] = i
                    continue
                elif g < 0.0:
                    pg = g
            elif alpha[i] == upper:
                if g < pg_min_old:
                    active -= 1
                    index[s] = index[active]
                    index[active] = i
                    continue
                elif g > 0.0:
                    pg = g
            else:
                pg = g
            if pg > pg_max_new:
                pg_max_new = pg
            if pg < pg_min_new:
                pg_min_new = pg
            qd = xnorm2[i] + diag
            if abs(pg) > 1e-12 and qd > 0.0:
                a_old = alpha[i]
                a_new = a_old - g / qd
                if a_new < 0.0:
                    a_new = 0.0
                elif a_new > upper:
                    a_new = upper
                alpha[i] = a_new
                _row_axpy(lp, li, lv, i, w, n_local, bias, (a_new - a_old) * yi)
            s += 1
        it += 1
        if pg_max_new - pg_min_new <= eps:
            if active == n:
                break
            active = n
            pg_max_old = inf
            pg_min_old = -inf
            continue
        pg_max_old = pg_max_new
        pg_min_old = pg_min_new
        if pg_max_old <= 0.0:
            pg_max_old = inf
        if pg_min_old >= 0.0:
            pg_min_old = -inf
    return it


@kernel
def solve_lr_dual(lp, li, lv, n_local, y, xnorm2, Cp, Cn, bias, eps, max_iter, state,
                  w, alpha, index):
    """L2-regularized logistic regression, dual coordinate descent with inner Newton steps.

    ``alpha`` must hold at least ``2 n`` entries (the pair alpha_i, C_i - alpha_i). Returns the
    passes made, like :func:`solve_svm_dual`.
    """
    n = y.shape[0]
    for j in range(n_local + 1):
        w[j] = 0.0
    if n == 0:
        return 0
    max_inner = 100
    inner_eps = 1e-2
    inner_eps_min = min(1e-8, eps)
    for i in range(n):
        c = Cp if y[i] > 0 else Cn
        alpha[2 * i] = min(0.001 * c, 1e-8)
        alpha[2 * i + 1] = c - alpha[2 * i]
        index[i] = np.uint32(i)
        _row_axpy(lp, li, lv, i, w, n_local, bias, y[i] * alpha[2 * i])
    it = 0
    while it < max_iter:
        for s in range(n):
            r, state = rng_below(state, n - s)
            t = index[s]
            index[s] = index[s + r]
            index[s + r] = t
        newton_iter = 0
        g_max = 0.0
        for s in range(n):
            i = index[s]
            yi = y[i]
            c = Cp if yi > 0 else Cn
            a = xnorm2[i]
            b = yi * _row_wx(lp, li, lv, i, w, n_local, bias)
            ind1 = 2 * i
            ind2 = 2 * i + 1
            sign = 1.0
            if 0.5 * a * (alpha[ind2] - alpha[ind1]) + b < 0:
                ind1 = 2 * i + 1
                ind2 = 2 * i
                sign = -1.0
            alpha_old = alpha[ind1]
            z = alpha_old
            if c - z < 0.5 * c:
                z = 0.1 * z
            gp = a * (z - alpha_old) + sign * b + np.log(z / (c - z))
            g_max = max(g_max, abs(gp))
            inner = 0
            while inner <= max_inner:
                if abs(gp) < inner_eps:
                    break
                gpp = a + c / (c - z) / z
                tmpz = z - gp / gpp
                if tmpz <= 0:
                    z *= 0.1
                else:
                    z = tmpz
                gp = a * (z - alpha_old) + sign * b + np.log(z / (c - z))
                newton_iter += 1
                inner += 1
            if inner > 0:
                alpha[ind1] = z
                alpha[ind2] = c - z
                _row_axpy(lp, li, lv, i, w, n_local, bias, sign * (z - alpha_old) * yi)
        it += 1
        if g_max < eps:
            break
        if newton_iter <= n // 10:
            inner_eps = max(inner_eps_min, 0.1 * inner_eps)
    return it


@kernel
def _gather_rows(x_ptr, x_idx, x_val, rows, stamp, g2l, job_stamp, l2g_buf):
    """Local CSR of ``rows`` with features remapped to sorted local ids.

    ``stamp``/``g2l`` are per-thread arrays of size n_features; ``stamp[j] == job_stamp`` marks
    feature j as seen by this job, so nothing needs clearing between jobs.
    Returns (lp, li, lv, n_local, l2g).
    """
    n = rows.shape[0]
    n_local = 0
    nnz = 0
    for r in range(n):
        row = rows[r]
        for k in range(x_ptr[row], x_ptr[row + 1]):
            j = x_idx[k]
            if stamp[j] != job_stamp:
                stamp[j] = job_stamp
                l2g_buf[n_local] = j
                n_local += 1
        nnz += x_ptr[row + 1] - x_ptr[row]
    l2g = l2g_buf[:n_local].copy()
    sort_in_place(l2g)
    for t in range(n_local):
        g2l[l2g[t]] = t
    lp = np.empty(n + 1, dtype=np.int64)
    li = np.empty(nnz, dtype=np.uint32)
    lv = np.empty(nnz, dtype=np.float32)
    lp[0] = 0
    pos = 0
    for r in range(n):
        row = rows[r]
        for k in range(x_ptr[row], x_ptr[row + 1]):
            li[pos] = np.uint32(g2l[x_idx[k]])
            lv[pos] = x_val[k]
            pos += 1
        lp[r + 1] = pos
    return lp, li, lv, n_local, l2g


@kernel
def count_local_features(lo, hi, x_ptr, x_idx, prow_ptr, prow_idx, job_parent, out, stamp):
    """out[jb] = number of distinct features in the parent rows of jobs ``lo .. hi - 1`` (the
    capacity their children need). ``stamp``: int64 (n_features,) scratch, -1 on first use."""
    for jb in range(lo, hi):
        p = job_parent[jb]
        cnt = 0
        for r in range(prow_ptr[p], prow_ptr[p + 1]):
            row = prow_idx[r]
            for k in range(x_ptr[row], x_ptr[row + 1]):
                j = x_idx[k]
                if stamp[j] != jb:
                    stamp[j] = jb
                    cnt += 1
        out[jb] = cnt


@kernel
def _labels_for_child(rows, pos_idx, pos_start, pos_end, y):
    """y[i] = +1 when rows[i] is among the child's positive rows (both sorted), else -1."""
    p = pos_start
    for i in range(rows.shape[0]):
        r = rows[i]
        while p < pos_end and pos_idx[p] < r:
            p += 1
        y[i] = 1 if (p < pos_end and pos_idx[p] == r) else -1


@kernel
def _write_pruned(w, n_local, l2g, threshold, max_nnz, out_idx, out_val, off, cap):
    """Write entries with |w| >= threshold (at most max_nnz of the largest; 0 = no cap) into
    ``out[off:off + cap]``. Returns the count, or -1 when more than ``cap`` entries survive
    (nothing is written then; the caller re-solves the child with a larger slot)."""
    cnt = 0
    for t in range(n_local):
        if abs(w[t]) >= threshold and w[t] != 0.0:
            cnt += 1
    keep_n = cnt if (max_nnz <= 0 or cnt <= max_nnz) else max_nnz
    if keep_n > cap:
        return -1
    if keep_n == cnt:
        pos = off
        for t in range(n_local):
            if abs(w[t]) >= threshold and w[t] != 0.0:
                out_idx[pos] = l2g[t]
                out_val[pos] = w[t]
                pos += 1
        return cnt
    # keep the max_nnz largest magnitudes, written in feature order
    mags = np.empty(cnt, dtype=np.float64)
    where = np.empty(cnt, dtype=np.int64)
    c = 0
    for t in range(n_local):
        if abs(w[t]) >= threshold and w[t] != 0.0:
            mags[c] = -abs(w[t])
            where[c] = t
            c += 1
    keep = where[argsort_stable(mags)[:keep_n]]
    sort_in_place(keep)
    for i in range(keep_n):
        out_idx[off + i] = l2g[keep[i]]
        out_val[off + i] = w[keep[i]]
    return keep_n


@kernel
def row_norms2(lp, lv, bias):
    """float64 (n,) squared norm of each row of a local CSR plus ``bias**2`` (the solvers'
    ``xnorm2``)."""
    n = lp.shape[0] - 1
    xnorm2 = np.empty(n, dtype=np.float64)
    for i in range(n):
        s = bias * bias
        for k in range(lp[i], lp[i + 1]):
            s += np.float64(lv[k]) * lv[k]
        xnorm2[i] = s
    return xnorm2


@kernel
def _train_job(jb, x_ptr, x_idx, x_val, prow_ptr, prow_idx, pos_ptr, pos_idx, job_parent,
               job_child_start, job_child_end, child_out_off, child_cap, child_id_offset, loss,
               Cp, Cn, bias, eps, max_iter, threshold, max_nnz, seed, out_idx, out_val,
               out_cnt, out_bias, stamp, g2l, l2g_buf):
    """Train the children of job ``jb`` (see :func:`train_jobs`) with one thread's scratch."""
    p = job_parent[jb]
    rows = prow_idx[prow_ptr[p]:prow_ptr[p + 1]]
    n = rows.shape[0]
    lp, li, lv, n_local, l2g = _gather_rows(x_ptr, x_idx, x_val, rows, stamp, g2l, jb, l2g_buf)
    xnorm2 = row_norms2(lp, lv, bias)
    y = np.empty(n, dtype=np.int8)
    w = np.empty(n_local + 1, dtype=np.float64)
    alpha = np.empty(max(2 * n, 1), dtype=np.float64)
    index = np.empty(max(n, 1), dtype=np.uint32)
    for c in range(job_child_start[jb], job_child_end[jb]):
        _labels_for_child(rows, pos_idx, pos_ptr[c], pos_ptr[c + 1], y)
        state = rng_seed(seed, child_id_offset + c)
        if loss == LOSS_LOGISTIC:
            solve_lr_dual(lp, li, lv, n_local, y, xnorm2, Cp, Cn, bias, eps, max_iter,
                          state, w, alpha, index)
        else:
            solve_svm_dual(lp, li, lv, n_local, y, xnorm2, loss, Cp, Cn, bias, eps,
                           max_iter, state, w, alpha, index)
        out_cnt[c] = _write_pruned(w, n_local, l2g, threshold, max_nnz, out_idx, out_val,
                                   child_out_off[c], child_cap[c])
        out_bias[c] = w[n_local]


@kernel
def train_jobs(lo, hi, x_ptr, x_idx, x_val, prow_ptr, prow_idx, pos_ptr, pos_idx,
               job_parent, job_child_start, job_child_end, child_out_off, child_cap,
               child_id_offset, loss, Cp, Cn, bias, eps, max_iter, threshold, max_nnz, seed,
               out_idx, out_val, out_cnt, out_bias, stamp, g2l, l2g_buf):
    """Train every child of jobs ``lo .. hi - 1``; write pruned weights.

    Parameters
    ----------
    x_ptr, x_idx, x_val : CSR of the features (n_rows, n_features)
    prow_ptr, prow_idx : for each parent, its training rows (sorted)
    pos_ptr, pos_idx : for each child (local to this level), its positive rows (sorted)
    job_parent, job_child_start, job_child_end : int64 arrays (n_jobs,)
    child_out_off, child_cap : int64 (n_children,), offset and size of each child's slot in
        ``out_idx/out_val``; a child with more surviving weights gets ``out_cnt = -1``
    child_id_offset : int, global id of child 0 (selects each child's random stream)
    out_idx : int32, out_val : float32, out_cnt : int64 (n_children,), out_bias : float32
    stamp : int64 (n_features,), -1 on first use; g2l, l2g_buf : int32 (n_features,) scratch
    """
    for jb in range(lo, hi):
        _train_job(jb, x_ptr, x_idx, x_val, prow_ptr, prow_idx, pos_ptr, pos_idx, job_parent,
                   job_child_start, job_child_end, child_out_off, child_cap, child_id_offset,
                   loss, Cp, Cn, bias, eps, max_iter, threshold, max_nnz, seed, out_idx,
                   out_val, out_cnt, out_bias, stamp, g2l, l2g_buf)


@kernel
def compact_columns(lo, hi, out_idx, out_val, child_out_off, out_cnt, col_ptr, idx, val):
    """Copy the ``out_cnt`` entries of children ``lo .. hi - 1`` from their slots into a
    compact CSC layout."""
    for c in range(lo, hi):
        src = child_out_off[c]
        dst = col_ptr[c]
        for t in range(out_cnt[c]):
            idx[dst + t] = out_idx[src + t]
            val[dst + t] = out_val[src + t]
