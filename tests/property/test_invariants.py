"""Invariants: thread-count independence, batch independence, top-k order, round trips."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from xmr import XLinearConfig, XLinearModel
from xmr.synthetic import make_problem

TWO = 2


@pytest.mark.parametrize("negatives,loss", [("tfn", "l2-svm"), ("tfn+man", "logistic"),
                                            ("man", "l1-svm")])
def test_training_is_identical_for_any_thread_count(negatives, loss):
    P = make_problem(300, n_train=600, n_test=50, seed=11)
    cfg = XLinearConfig().replace({"indexer.max_leaf_size": 10, "indexer.branching_factor": 4,
                                   "solver.negatives": negatives, "solver.loss": loss})
    a = XLinearModel(cfg).fit(P.X_train, P.Y_train, threads=1)
    b = XLinearModel(cfg).fit(P.X_train, P.Y_train, threads=TWO)
    for x, y in zip(a.layout_, b.layout_, strict=True):
        assert np.array_equal(x, y)
    pa = a.predict(P.X_test, threads=1)
    pb = b.predict(P.X_test, threads=TWO)
    assert np.array_equal(pa.indices, pb.indices) and np.array_equal(pa.scores, pb.scores)


@settings(max_examples=15, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.integers(0, 299), min_size=1, max_size=20), st.integers(1, 12),
       st.integers(1, 15))
def test_row_prediction_does_not_depend_on_its_batch(small_model, small_problem, rows, beam, k):
    X = small_problem.X_test
    full = small_model.predict(X, beam_size=beam, top_k=k)
    part = small_model.predict(X[rows], beam_size=beam, top_k=k)
    assert np.array_equal(full.indices[rows], part.indices)
    assert np.array_equal(full.scores[rows], part.scores)


@settings(max_examples=15, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.integers(1, 30), st.integers(1, 30),
       st.sampled_from(["l3-hinge", "log-l2-hinge", "sigmoid", "noop"]))
def test_topk_is_sorted_and_valid(small_model, small_problem, beam, k, pp):
    top = small_model.predict(small_problem.X_test[:25], beam_size=beam, top_k=k,
                              post_processor=pp)
    valid = top.indices >= 0
    # valid entries come first and scores never increase along a row
    assert np.all(np.diff(valid.astype(int), axis=1) <= 0)
    for scores, ok in zip(top.scores, valid, strict=True):  # padding (-inf) compared apart
        assert np.all(np.diff(scores[ok]) <= 1e-7)
        assert np.all(np.isneginf(scores[~ok]))
    for row in top.indices:
        row = row[row >= 0]
        assert len(set(row.tolist())) == len(row)


def test_wider_beam_never_lowers_the_best_score(small_model, small_problem):
    X = small_problem.X_test[:60]
    narrow = small_model.predict(X, beam_size=1, top_k=1)
    wide = small_model.predict(X, beam_size=50, top_k=1)
    assert np.all(wide.scores[:, 0] >= narrow.scores[:, 0] - 1e-7)


@pytest.mark.parametrize("target_jobs", [1, 7, 10_000])
def test_training_does_not_depend_on_how_children_are_grouped_into_jobs(monkeypatch,
                                                                         target_jobs):
    """Jobs are a scheduling device: one job per parent, or parents cut into many shares,
    must give the same weights bit for bit (per-child random streams, same rows)."""
    from xmr.linear import train

    P = make_problem(400, n_train=800, n_test=10, seed=5)
    cfg = XLinearConfig().replace({"indexer.max_leaf_size": 12, "indexer.branching_factor": 4})
    reference = XLinearModel(cfg).fit(P.X_train, P.Y_train, threads=1)
    monkeypatch.setattr(train, "_TARGET_JOBS", target_jobs)
    other = XLinearModel(cfg).fit(P.X_train, P.Y_train, threads=TWO)
    for x, y in zip(reference.layout_, other.layout_, strict=True):
        assert np.array_equal(x, y)
