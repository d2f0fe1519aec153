"""XLinearModel: errors, label constraints, persistence, user trees and embeddings."""

from __future__ import annotations

import json

import numpy as np
import pytest
import scipy.sparse as sp

import xmr
from xmr import ConfigError, DataError, LabelTree, ModelFormatError, NotFittedError, XLinearModel
from xmr.io.store import resolve


def test_not_fitted_and_bad_inputs(small_model, small_problem):
    with pytest.raises(NotFittedError):
        XLinearModel().predict(small_problem.X_test)
    with pytest.raises(DataError, match="columns; the model expects"):
        small_model.predict(sp.csr_matrix((2, 5)))
    with pytest.raises(ConfigError, match="beam_size must be a positive integer"):
        small_model.predict(small_problem.X_test, beam_size=0)
    with pytest.raises(ConfigError, match="post_processor must be one of"):
        small_model.predict(small_problem.X_test, post_processor="cubic")
    with pytest.raises(DataError, match="outside"):
        small_model.predict_one((np.array([10**7]), np.array([1.0])))
    with pytest.raises(DataError, match="unknown label id 400"):
        small_model.score(small_problem.X_test, [0], [400])
    with pytest.raises(DataError, match="no positive entries"):
        XLinearModel().fit(sp.csr_matrix(np.ones((3, 2))), sp.csr_matrix((3, 4)))
    with pytest.raises(DataError, match="no rows"):
        XLinearModel().fit(sp.csr_matrix((0, 2)), sp.csr_matrix((0, 4)))


def test_unsorted_single_query_is_accepted(small_model, small_problem):
    X = small_problem.X_test
    idx, val = X.indices[X.indptr[0]:X.indptr[1]], X.data[X.indptr[0]:X.indptr[1]]
    ref = small_model.predict_one((idx, val))
    shuffled = small_model.predict_one((idx[::-1].copy(), val[::-1].copy()))
    assert ref.indices.tolist() == shuffled.indices.tolist()
    dense = small_model.predict_one(X[0].toarray().ravel())
    assert ref.indices.tolist() == dense.indices.tolist()


def test_output_constraint_restricts_labels(small_model, small_problem):
    allowed = np.arange(0, 400, 7)
    top = small_model.predict(small_problem.X_test[:50], labels=allowed, top_k=5)
    valid = top.indices[top.indices >= 0]
    assert valid.size > 0 and np.isin(valid, allowed).all()
    mask = small_model.label_mask(allowed)
    again = small_model.predict(small_problem.X_test[:50], labels=mask, top_k=5)
    assert np.array_equal(top.indices, again.indices)


@pytest.mark.parametrize("mmap", [True, False])
def test_save_load_round_trip(tmp_path, small_model, small_problem, mmap):
    path = small_model.save(tmp_path / "m")
    loaded = xmr.load(path, mmap=mmap)
    a = small_model.predict(small_problem.X_test, beam_size=4)
    b = loaded.predict(small_problem.X_test, beam_size=4)
    assert np.array_equal(a.indices, b.indices) and np.array_equal(a.scores, b.scores)
    assert loaded.config == small_model.config
    one = loaded.predict_one(small_problem.X_test[3], beam_size=4)
    assert one.indices.tolist() == a.indices[3].tolist()


def test_save_is_atomic_and_refuses_foreign_dirs(tmp_path, small_model):
    target = tmp_path / "m"
    small_model.save(target)
    first = resolve(target)
    for _ in range(3):  # overwrite an existing model: a new live version, one previous kept
        small_model.save(target)
    versions = sorted(p.name for p in target.iterdir() if p.name.startswith("v"))
    assert len(versions) == 2 and resolve(target).name in versions
    assert not first.exists()
    assert sorted(p.name for p in target.iterdir() if not p.name.startswith("v")) == \
        [".lock", "CURRENT"]
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]
    foreign = tmp_path / "data"
    foreign.mkdir()
    (foreign / "keep.txt").write_text("precious")
    with pytest.raises(ModelFormatError, match="refusing to overwrite"):
        small_model.save(foreign)
    assert (foreign / "keep.txt").read_text() == "precious"


def test_corrupt_models_are_refused(tmp_path, small_model):
    path = resolve(small_model.save(tmp_path / "m"))
    manifest = json.loads((path / "manifest.json").read_text())
    manifest["version"] = 99
    (path / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(ModelFormatError, match="version 99"):
        xmr.load(path)
    manifest["version"] = 1
    (path / "manifest.json").write_text(json.dumps(manifest))
    np.save(path / "entry_val.npy", np.zeros(3, dtype=np.float32))
    with pytest.raises(ModelFormatError, match="entry_val.npy has 140 bytes"):
        xmr.load(path)
    (path / "manifest.json").write_text("{not json")
    with pytest.raises(ModelFormatError, match="corrupt manifest"):
        xmr.load(path)
    with pytest.raises(ModelFormatError, match="no such model directory"):
        xmr.load(tmp_path / "absent")


def test_user_tree_and_user_embedding(small_problem):
    P = small_problem
    n_labels = P.Y_train.shape[1]
    tree = LabelTree.from_parents([np.zeros(4, dtype=int), np.arange(n_labels) % 4])
    model = XLinearModel().fit(P.X_train, P.Y_train, tree=tree)
    assert model.tree_.level_sizes() == [1, 4, n_labels]
    emb = np.eye(n_labels, 16, dtype=np.float32) + 0.01
    model2 = XLinearModel().fit(P.X_train, P.Y_train, embedding=emb)
    assert model2.tree_.n_labels == n_labels
    with pytest.raises(DataError, match="the tree has"):
        XLinearModel().fit(P.X_train, P.Y_train, tree=LabelTree.flat(3))


def test_label_feature_embeddings(small_problem):
    P = small_problem
    Z = sp.random(P.Y_train.shape[1], 50, density=0.1, format="csr", random_state=0)
    for kind in ("pifa+label-features", "label-features"):
        cfg = xmr.XLinearConfig().replace({"indexer.embedding": kind})
        XLinearModel(cfg).fit(P.X_train, P.Y_train, label_features=Z)
    with pytest.raises(DataError, match="needs label_features"):
        XLinearModel(cfg).fit(P.X_train, P.Y_train)


def test_two_stage_reranking_with_a_second_model(small_model, small_problem):
    P = small_problem
    second = XLinearModel(xmr.XLinearConfig().replace({"solver.loss": "l1-svm"})).fit(
        P.X_train, P.Y_train)
    pipeline = xmr.TwoStage(small_model, xmr.ScoreReranker(second, alpha=0.0), n_candidates=20)
    assert isinstance(pipeline, xmr.Predictor) and isinstance(pipeline.reranker, xmr.Reranker)
    top = pipeline.predict(P.X_test[:30], top_k=5)
    first = small_model.predict(P.X_test[:30], top_k=20)
    # the reranked labels come from the first stage's candidates, ordered by the second model
    for i in range(30):
        assert set(top.indices[i]) <= set(first.indices[i])
        expect = second.score(P.X_test[:30], np.full(5, i), top.indices[i])
        assert np.allclose(top.scores[i], expect, atol=1e-6)
        assert np.all(np.diff(top.scores[i]) <= 1e-7)
    with pytest.raises(ConfigError):
        xmr.ScoreReranker(second, alpha=2.0)


def test_row_normalization_is_applied_consistently(small_problem):
    """With normalize_rows, scaling an input row changes nothing; without it, it does."""
    P = small_problem
    X = P.X_test[:20]
    for normalize in (True, False):
        cfg = xmr.XLinearConfig().replace({"normalize_rows": normalize})
        model = XLinearModel(cfg).fit(P.X_train * 3.0, P.Y_train)
        a = model.predict(X, top_k=5)
        b = model.predict(X * 7.0, top_k=5)
        one = model.predict_one(X[4] * 7.0, top_k=5)
        assert np.array_equal(a.indices, b.indices) == normalize
        if normalize:
            assert np.allclose(a.scores, b.scores, atol=1e-5)
            assert np.allclose(one.scores, a.scores[4], atol=1e-5)
        else:
            assert np.allclose(one.scores, b.scores[4], atol=1e-5)


def test_saved_directory_has_the_umask_mode(tmp_path, small_model):
    import os
    import stat

    umask = os.umask(0o022)
    try:
        path = small_model.save(tmp_path / "shared_model")
    finally:
        os.umask(umask)
    assert stat.S_IMODE(path.stat().st_mode) == 0o755


def test_refit_updates_the_single_query_path():
    """fit() used to keep the per-thread scratch of the previous weights: after a refit,
    predict_one answered with the old model while predict used the new one."""
    first = xmr.make_problem(300, n_train=800, n_test=50, seed=1)
    second = xmr.make_problem(300, n_train=800, n_test=50, seed=2)
    model = xmr.XLinearModel().fit(first.X_train, first.Y_train)
    rows = [first.X_test[i] for i in range(20)]
    for row in rows:
        model.predict_one((row.indices, row.data))  # builds the scratch of the first weights
    model.fit(second.X_train, second.Y_train)
    for row in rows:
        one = model.predict_one((row.indices, row.data))
        batch = model.predict(row)
        assert one.indices.tolist() == batch.indices[0].tolist()
        np.testing.assert_allclose(one.scores, batch.scores[0], rtol=1e-5)
