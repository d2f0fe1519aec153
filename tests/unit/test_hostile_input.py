"""Bad input gets one clear error naming the problem: never a crash, a hang or a wrong answer."""

from __future__ import annotations

import gzip
import subprocess
import sys

import numpy as np
import pytest
import scipy.sparse as sp

import xmr
from xmr import DataError
from xmr.cli.main import main
from xmr.rank import TextMatchReranker, TopK


def _bad_csr(n_cols: int, index: int) -> sp.csr_matrix:
    X = sp.csr_matrix((np.ones(2, np.float32), np.array([0, 1], np.int32),
                       np.array([0, 2])), shape=(1, n_cols))
    X.indices[1] = index  # scipy does not re-check after construction
    return X


@pytest.mark.parametrize("index", [10**6, -1, -(2**31)])
def test_out_of_range_feature_indices_are_refused_everywhere(small_model, index):
    X = _bad_csr(small_model.n_features_, index)
    with pytest.raises(DataError, match="column index"):
        small_model.predict(X)
    with pytest.raises(DataError, match="column index"):
        small_model.score(X, [0], [0])
    with pytest.raises(DataError, match="column index"):
        xmr.XLinearModel().fit(X, np.ones((1, 3)))


def test_broken_pointers_are_refused(small_model):
    X = _bad_csr(small_model.n_features_, 2)
    X.indptr[1] = 5  # past the entries
    with pytest.raises(DataError, match="pointers"):
        small_model.predict(X)
    X = sp.csr_matrix((np.ones(3, np.float32), np.array([0, 1, 2], np.int32),
                       np.array([0, 2, 1, 3])), shape=(3, small_model.n_features_))
    with pytest.raises(DataError, match="decrease at row 1"):
        small_model.predict(X)


def test_label_and_embedding_indices_are_checked(small_problem):
    P = small_problem
    Y = P.Y_train.copy().tocsr()
    Y.indices[0] = Y.shape[1] + 5
    with pytest.raises(DataError, match="column index"):
        xmr.XLinearModel().fit(P.X_train, Y)
    with pytest.raises(DataError, match="embedding: row 0 has column index 99"):
        xmr.XLinearModel().fit(P.X_train, P.Y_train, embedding=_bad_csr(10, 99))


def test_predict_one_refuses_nan_and_wrapping_indices(small_model):
    with pytest.raises(DataError, match="NaN or infinite"):
        small_model.predict_one((np.array([1, 2], np.int32), np.array([1.0, np.nan], np.float32)))
    with pytest.raises(DataError, match="outside"):
        small_model.predict_one((np.array([2**40 + 1]), np.array([1.0])))
    with pytest.raises(DataError, match="outside"):
        small_model.predict_one((np.array([-3], np.int32), np.array([1.0], np.float32)))
    with pytest.raises(DataError, match="integers"):
        small_model.predict_one((np.array([1.5]), np.array([1.0])))


def test_huge_top_k_is_bounded_by_the_labels(small_model, small_problem):
    top = small_model.predict(small_problem.X_test[:3], top_k=10**9, beam_size=10**9)
    assert top.indices.shape == (3, small_model.n_labels_)
    one = small_model.predict_one(small_problem.X_test[0], top_k=10**9)
    assert one.indices.shape == (small_model.n_labels_,)


def test_rerankers_check_candidate_and_query_ids():
    L = sp.random(5, 8, density=0.5, format="csr", dtype=np.float32, random_state=0)
    rr = TextMatchReranker(L, 0.5)
    X = sp.csr_matrix(np.ones((1, 8), np.float32))
    for bad in ([[0, 5]], [[0, -2]]):
        with pytest.raises(DataError, match="candidate id"):
            rr.rerank(X, TopK(np.array(bad), np.zeros((1, 2), np.float32)))
    with pytest.raises(DataError, match="candidate id"):
        rr.rerank_one((np.array([0], np.int32), np.array([1.0], np.float32)),
                      TopK(np.array([7]), np.zeros(1, np.float32)))
    with pytest.raises(DataError, match="query's indices"):
        rr.rerank_one((np.array([80], np.int32), np.array([1.0], np.float32)),
                      TopK(np.array([1]), np.zeros(1, np.float32)))
    with pytest.raises(DataError, match="candidate id"):
        xmr.ensemble([TopK(np.array([[9]]), np.zeros((1, 1), np.float32))], 5)


def test_parser_refuses_ids_that_would_wrap(tmp_path):
    f = tmp_path / "d.txt"
    f.write_text(f"1 3 2\n0 {2**64 + 5}:1\n")
    with pytest.raises(DataError, match=r"line 2: a feature index is not an integer"):
        xmr.read_xc(f)
    f.write_text("1 2147483648 2\n0 1:1\n")
    with pytest.raises(DataError, match="line 1: the header announces 2147483648 features"):
        xmr.read_xc(f)
    f.write_text(f"{2**40},1 1:1\n")
    with pytest.raises(DataError, match="label id is not an integer"):
        xmr.read_libsvm(f)


def test_npz_labels_keep_only_positive_entries(tmp_path):
    X = sp.csr_matrix(np.eye(3, dtype=np.float32))
    Y = sp.csr_matrix(np.array([[1, -1, 0], [0, 2, 0], [0, 0, 1]], np.float32))
    Y.data[Y.data == 0] = 0  # explicit zeros stay stored
    sp.save_npz(tmp_path / "x.npz", X)
    sp.save_npz(tmp_path / "y.npz", Y)
    data = xmr.read_dataset(tmp_path / "x.npz", labels_path=tmp_path / "y.npz")
    assert data.Y.toarray().tolist() == [[1, 0, 0], [0, 1, 0], [0, 0, 1]]


def test_csv_and_gzip_damage_is_one_clean_error(tmp_path):
    from xmr.apps.retrieval import read_catalog

    (tmp_path / "bad.csv").write_bytes(b"product_uid,product_title\n1,ok\n2,\xff\xfe\n")
    with pytest.raises(DataError, match="not valid UTF-8"):
        read_catalog(tmp_path / "bad.csv")
    payload = gzip.compress(b"product_uid,product_title\n" + b"1,drill\n" * 5000)
    (tmp_path / "cut.csv.gz").write_bytes(payload[: len(payload) // 2])
    with pytest.raises(DataError, match="cut.csv.gz"):
        read_catalog(tmp_path / "cut.csv.gz")


def test_cr_only_line_endings_are_lines(tmp_path):
    from xmr.apps.text2text import read_items, read_labeled_texts

    (tmp_path / "t.txt").write_bytes(b"0\tred drill\r1\tblue saw\r0,1\tdrill saw\r")
    texts, labels = read_labeled_texts(tmp_path / "t.txt")
    assert texts == ["red drill", "blue saw", "drill saw"] and labels[2] == [0, 1]
    (tmp_path / "i.txt").write_bytes(b"drill\rsaw\r\n")
    assert read_items(tmp_path / "i.txt") == ["drill", "saw"]


def test_qac_handles_a_lone_cr_and_a_huge_query(tmp_path):
    from xmr.apps.qac import QacConfig, QueryAutocompleter, make_examples, read_queries

    log = ["garden hose", "garden\rhose reel", "gas grill"] * 30 + ["x" * 10_000_000] + \
        ["gift card", "golf cart"] * 20
    (tmp_path / "log.txt").write_text("\n".join(log), encoding="utf-8")
    queries = read_queries(tmp_path / "log.txt")  # the CR splits a line; the huge one is skipped
    assert max(map(len, queries)) < 1000 and "garden" in queries
    train, _ = make_examples(queries)
    model = QueryAutocompleter(QacConfig().replace({"indexer.max_leaf_size": 4})).fit(train)
    loaded = QueryAutocompleter.load(model.save(tmp_path / "m"))
    assert loaded.labels_ == model.labels_
    with pytest.raises(DataError, match="more than 1000"):
        QueryAutocompleter().fit(train._replace(target=train.target[:-1] + ["y" * 5000]))
    queries_cr = ["a\rb", "a\rb c"] * 20 + ["q"] * 3
    model2 = QueryAutocompleter(QacConfig().replace({"indexer.max_leaf_size": 4})).fit(
        make_examples(queries_cr)[0])
    again = QueryAutocompleter.load(model2.save(tmp_path / "m2"))
    assert again.labels_ == model2.labels_ and any("\r" in q for q in again.labels_)


def test_cli_errors_are_one_line_and_checked_early(tmp_path, capsys, small_problem):
    bad = tmp_path / "x.npz"
    X = sp.csr_matrix(np.eye(3, dtype=np.float32))
    sp.save_npz(bad, X)
    sp.save_npz(tmp_path / "y.npz", X)
    zero = tmp_path / "zero.npz"
    zero.write_bytes(b"")
    assert main(["train", "-i", str(zero), "-y", str(tmp_path / "y.npz"), "-m",
                 str(tmp_path / "m")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("xmr train: error:") and "not a scipy sparse" in err
    out_dir = tmp_path / "d"
    out_dir.mkdir()
    assert main(["train", "-i", str(bad), "-y", str(tmp_path / "y.npz"), "-m",
                 str(out_dir / "m"), "--indexer.max-leaf-size", "2"]) == 0
    capsys.readouterr()
    assert main(["predict", "-i", str(bad), "-y", str(tmp_path / "y.npz"), "-m",
                 str(out_dir / "m"), "-o", str(tmp_path / "nodir" / "out.txt")]) == 2
    assert "no such directory" in capsys.readouterr().err


def test_broken_pipe_ends_quietly(tmp_path, small_problem):
    xmr.write_xc(tmp_path / "t.txt", small_problem.X_train, small_problem.Y_train)
    subprocess.run([sys.executable, "-m", "xmr", "-q", "train", "-i", str(tmp_path / "t.txt"),
                    "-m", str(tmp_path / "m")], check=True)
    proc = subprocess.run(f"{sys.executable} -m xmr -q predict -i {tmp_path / 't.txt'} "
                          f"-m {tmp_path / 'm'} | head -1", shell=True, capture_output=True,
                          text=True)
    assert proc.stdout.count("\n") == 1
    assert "Traceback" not in proc.stderr and "BrokenPipe" not in proc.stderr
