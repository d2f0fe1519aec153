"""TfidfVectorizer: equality with scikit-learn, hand-computed weights, errors, persistence."""

from __future__ import annotations

import json

import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.feature_extraction.text import TfidfVectorizer as SkTfidf

from xmr.errors import ConfigError, DataError, ModelFormatError, NotFittedError
from xmr.io.store import resolve
from xmr.text import BlockConfig, TfidfConfig, TfidfVectorizer

WORDS = ["echo", "dot", "show", "with", "screen", "smart", "plug", "wi-fi", "café", "ÜBER",
         "a", "5", "3/4", "in.", "x", "_id", "naïve", "東京", "über"]


def corpus(n: int, seed: int) -> list[str]:
    rng = np.random.default_rng(seed)
    docs = []
    for _ in range(n):
        k = int(rng.integers(0, 7))
        seps = rng.choice([" ", "  ", "\t", ", ", " - "], size=k)
        words = rng.choice(WORDS, size=k)
        docs.append("".join(f"{w}{s}" for w, s in zip(words, seps, strict=True)))
    return docs + ["", "   "]


def vectorizer(*blocks: BlockConfig, **kw) -> TfidfVectorizer:
    return TfidfVectorizer(TfidfConfig(blocks=blocks, unicode_form="none", **kw))


def assert_same_as_sklearn(ours: TfidfVectorizer, sk: SkTfidf, docs: list[str]) -> None:
    X = ours.fit_transform(docs)
    S = sk.fit_transform(docs)
    terms = ours.terms()
    assert sorted(terms) == sorted(sk.vocabulary_)
    perm = np.array([sk.vocabulary_[t] for t in terms])
    np.testing.assert_allclose(X.toarray(), S[:, perm].toarray(), rtol=1e-6, atol=1e-7)
    assert X.dtype == np.float32


@pytest.mark.parametrize("opts", [{}, {"sublinear_tf": True}, {"smooth_idf": False},
                                  {"min_df": 2, "max_df": 0.5}])
def test_word_ngrams_match_sklearn(opts):
    docs = corpus(300, seed=1)
    ours = vectorizer(BlockConfig(kind="word", min_n=1, max_n=3, token_min_length=2, **opts))
    sk = SkTfidf(ngram_range=(1, 3), dtype=np.float32, **opts)
    assert_same_as_sklearn(ours, sk, docs)


@pytest.mark.parametrize("ngram", [(1, 1), (2, 5), (3, 3)])
def test_char_wb_matches_sklearn(ngram):
    docs = corpus(300, seed=2)
    ours = vectorizer(BlockConfig(kind="char_wb", min_n=ngram[0], max_n=ngram[1]))
    sk = SkTfidf(analyzer="char_wb", ngram_range=ngram, dtype=np.float32)
    assert_same_as_sklearn(ours, sk, docs)


def test_char_block_uses_end_of_word_marker():
    vec = vectorizer(BlockConfig(kind="char", min_n=3, max_n=3, use_idf=False), norm="none")
    X = vec.fit_transform(["echo", "a echo"])
    assert set(vec.terms()) == {"ech", "cho", "ho#", "a#"}
    row = dict(zip(np.array(vec.terms())[X[1].indices], X[1].data, strict=True))
    assert row == {"ech": 1.0, "cho": 1.0, "ho#": 1.0, "a#": 1.0}


def test_inverse_position_weights_by_hand():
    block = BlockConfig(kind="prefix", min_n=2, max_n=2, position_weight="inverse-position",
                        use_idf=False)
    vec = vectorizer(block, norm="none")
    X = vec.fit_transform(["abcb", "bc"])
    got = dict(zip(np.array(vec.terms())[X[0].indices], X[0].data, strict=True))
    # "ab" at 0 -> 1, "bc" at 1 -> 1/2, "cb" at 2 -> 1/3
    assert got == pytest.approx({"ab": 1.0, "bc": 0.5, "cb": 1 / 3})
    idx, val = vec.transform_one("  abcb")  # leading spaces are dropped first
    assert dict(zip(np.array(vec.terms())[idx], val, strict=True)) == pytest.approx(got)


def test_word_start_weights_by_hand():
    block = BlockConfig(kind="prefix", min_n=2, max_n=2, position_weight="word-start",
                        inner_weight=0.25, use_idf=False)
    vec = vectorizer(block, norm="none")
    X = vec.fit_transform(["ab cd"])
    got = dict(zip(np.array(vec.terms())[X[0].indices], X[0].data, strict=True))
    # "ab" starts a word; "b " and " c" start inside ("b" precedes); "cd" starts a word
    assert got == pytest.approx({"ab": 1.0, "b ": 0.25, " c": 0.25, "cd": 1.0})


def test_prefix_keeps_a_trailing_space_and_short_text():
    vec = vectorizer(BlockConfig(kind="prefix", min_n=3, max_n=3, use_idf=False), norm="none")
    vec.fit(["ec", "echo "])
    assert set(vec.terms()) == {"ec", "ech", "cho", "ho "}


def test_rows_have_unit_norm_and_empty_docs_give_empty_rows():
    docs = corpus(200, seed=3)
    X = TfidfVectorizer().fit_transform(docs)
    norms = np.sqrt(np.asarray(X.multiply(X).sum(axis=1)).ravel())
    nonempty = np.diff(X.indptr) > 0
    np.testing.assert_allclose(norms[nonempty], 1.0, rtol=1e-5)
    assert X[len(docs) - 2].nnz == 0 and X[len(docs) - 1].nnz == 0
    assert nonempty.sum() > 150


def test_blocks_own_column_ranges():
    vec = TfidfVectorizer()
    X = vec.fit_transform(corpus(100, seed=4))
    off = vec.block_offsets()
    assert off[0] == 0 and off[-1] == X.shape[1] == vec.n_features_ == len(vec.terms())
    words = set(vec.terms()[off[0]:off[1]])
    assert "echo" in words and "ech" not in words


def test_transform_unknown_terms_ignored():
    vec = TfidfVectorizer().fit(["echo dot", "smart plug"])
    X = vec.transform(["zzzz qqqq", "echo zzzz"])
    assert X[0].nnz == 0 and X[1].nnz > 0
    idx, val = vec.transform_one("zzzz")
    assert idx.shape == (0,) and val.shape == (0,)


def test_thread_count_does_not_change_results():
    docs = corpus(500, seed=5)
    a = TfidfVectorizer()
    Xa = a.fit_transform(docs, threads=1)
    b = TfidfVectorizer()
    Xb = b.fit_transform(docs, threads=2)
    assert a.terms() == b.terms()
    assert (Xa != Xb).nnz == 0


def test_max_features_keeps_most_frequent():
    docs = ["a a a b b c", "a b", "a"]
    vec = vectorizer(BlockConfig(kind="word", max_features=2))
    vec.fit(docs)
    assert sorted(vec.terms()) == ["a", "b"]


def test_lowercase_and_unicode_normalization():
    vec = TfidfVectorizer(TfidfConfig(blocks=(BlockConfig(kind="word"),), unicode_form="NFKC"))
    vec.fit(["ＥＣＨＯ Dot", "ﬁle"])  # full-width letters and the "fi" ligature
    assert set(vec.terms()) == {"echo", "dot", "file"}


def test_bad_input_errors():
    with pytest.raises(DataError, match="empty corpus"):
        TfidfVectorizer().fit([])
    with pytest.raises(DataError, match="document 1: not valid UTF-8"):
        TfidfVectorizer().fit([b"ok", b"\xff\xfe bad"])
    with pytest.raises(DataError, match="single string"):
        TfidfVectorizer().fit("echo dot")
    with pytest.raises(DataError, match="document 0: expected str"):
        TfidfVectorizer().fit([3])
    with pytest.raises(DataError, match="no terms left"):
        vectorizer(BlockConfig(kind="word", min_df=5)).fit(["a b", "c d"])
    with pytest.raises(DataError, match="lone surrogate"):
        TfidfVectorizer().fit(["ok", "bad \ud800"])
    with pytest.raises(NotFittedError):
        TfidfVectorizer().transform(["x"])
    with pytest.raises(ConfigError, match="position_weight applies to prefix"):
        BlockConfig(kind="word", position_weight="inverse-position")
    with pytest.raises(ConfigError, match="max_n"):
        BlockConfig(min_n=3, max_n=2)
    with pytest.raises(ConfigError, match="blocks"):
        TfidfConfig(blocks=())


def test_nul_and_whitespace_only_documents():
    vec = TfidfVectorizer()
    X = vec.fit_transform(["echo\x00dot", "\t\n ", "echo dot"])
    assert X.shape[0] == 3 and X[1].nnz == 0
    np.testing.assert_allclose(X[0].toarray(), X[2].toarray())


def test_save_load_roundtrip(tmp_path):
    docs = corpus(200, seed=6)
    vec = TfidfVectorizer()
    X = vec.fit_transform(docs)
    path = vec.save(tmp_path / "vec")
    vocab = (resolve(path) / "vocabulary.tsv").read_text(encoding="utf-8").splitlines()
    assert vocab[0] == "column\tblock\tdf\tidf\tterm" and len(vocab) == X.shape[1] + 1
    loaded = TfidfVectorizer.load(path)
    assert loaded.terms() == vec.terms() and loaded.config == vec.config
    assert (loaded.transform(docs) != X).nnz == 0
    idx, val = loaded.transform_one(docs[0])
    np.testing.assert_array_equal(idx, X[0].indices)
    np.testing.assert_allclose(val, X[0].data, rtol=1e-6)


def test_load_refuses_damaged_directory(tmp_path):
    path = resolve(TfidfVectorizer().fit(["echo dot"]).save(tmp_path / "vec"))
    manifest = json.loads((path / "manifest.json").read_text())
    n_terms = manifest["n_terms"]
    manifest["n_terms"] = [1]
    (path / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(ModelFormatError, match="blocks"):
        TfidfVectorizer.load(path)
    manifest["n_terms"] = [n_terms[0] + 5, n_terms[1]]
    (path / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(ModelFormatError, match="terms"):
        TfidfVectorizer.load(path)


def test_config_round_trip_with_blocks():
    cfg = TfidfConfig(blocks=(BlockConfig(kind="prefix", min_n=1, max_n=3,
                                          position_weight="word-start"),))
    assert TfidfConfig.from_dict(json.loads(json.dumps(cfg.to_dict()))) == cfg
    with pytest.raises(ConfigError, match="list of BlockConfig"):
        TfidfConfig.from_dict({"blocks": {"kind": "word"}})


def test_output_is_kernel_ready():
    X = TfidfVectorizer().fit_transform(corpus(50, seed=7))
    assert isinstance(X, sp.csr_matrix) and X.has_sorted_indices
    assert X.indices.dtype == np.int32 and X.data.dtype == np.float32
