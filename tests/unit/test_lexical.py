"""BM25 against bm25s, the posting index against brute force, the speller, exported trees."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import given, settings
from hypothesis import strategies as st

from xmr.errors import DataError
from xmr.lexical import AnalyzerConfig, Bm25Config, Bm25Index, PostingIndex
from xmr.lexical.speller import Speller

WORDS = [f"w{i}" for i in range(300)]


def _corpus(seed: int, n: int = 1500) -> list[str]:
    rng = np.random.default_rng(seed)
    p = 1 / np.arange(1, len(WORDS) + 1)
    return [" ".join(rng.choice(WORDS, size=rng.integers(1, 12), p=p / p.sum()))
            for _ in range(n)]


@pytest.mark.parametrize("k1, b", [(1.5, 0.75), (1.2, 0.3), (0.9, 1.0)])
def test_bm25_scores_and_rankings_equal_bm25s(k1, b):
    bm25s = pytest.importorskip("bm25s")
    docs = _corpus(0)
    cfg = Bm25Config(k1=k1, b=b, analyzer=AnalyzerConfig(stemmer="none", stop_words="none",
                                                         unicode_form="none"))
    ours = Bm25Index(cfg).fit(docs)
    ref = bm25s.BM25(k1=k1, b=b)  # Lucene variant, as ours
    ref.index([ours.analyzer.terms(d) for d in docs], show_progress=False)
    queries = _corpus(1, 200)
    ref_docs, ref_scores = ref.retrieve([ours.analyzer.terms(q) for q in queries], k=10,
                                        show_progress=False)
    top = ours.search(queries, top_k=10)
    for i in range(len(queries)):
        valid = top.indices[i] >= 0
        ref_valid = ref_scores[i] > 0
        # same scores at every rank; the same documents above the lowest score of the top k
        # (documents tied at the cut-off may be broken either way)
        scores = top.scores[i][valid]
        np.testing.assert_allclose(scores, ref_scores[i][ref_valid], rtol=1e-5)
        above = scores > scores.min() * (1 + 1e-6) if scores.size else scores > 0
        assert set(top.indices[i][valid][above]) == set(ref_docs[i][ref_valid][above])


def test_bm25_stems_drops_stop_words_and_saves(tmp_path):
    pytest.importorskip("Stemmer")
    index = Bm25Index().fit(["Cordless Drills and Drivers", "the red paint", "Drilling rig"])
    hits = index.search_one("drilling for a driver", top_k=3)
    assert hits.indices.tolist()[0] == 0  # drill(s|ing) and driver(s) share stems
    assert index.query_terms("the and of")[0].size == 0  # only stop words
    loaded = Bm25Index.load(index.save(tmp_path / "b"))
    assert loaded.search_one("drilling for a driver", 3).indices.tolist() == \
        hits.indices.tolist()


@settings(max_examples=60, deadline=None)
@given(seed=st.integers(0, 10**6), k=st.integers(1, 30), keep=st.sampled_from([0, 3, 50]))
def test_posting_index_equals_brute_force(seed, k, keep):
    rng = np.random.default_rng(seed)
    M = sp.random(80, 40, density=0.15, format="csr", dtype=np.float32, random_state=rng)
    M.data += 0.01
    index = PostingIndex(M, keep)
    W = index_matrix = sp.csc_matrix((index.weights, index.docs, index.ptr), shape=(80, 40))
    del index_matrix
    terms = rng.choice(40, size=rng.integers(0, 6), replace=False)
    weights = rng.random(terms.size).astype(np.float32) + 0.1
    scores = (W[:, terms] @ weights) if terms.size else np.zeros(80)
    scores = np.asarray(scores).ravel()
    order = np.lexsort((np.arange(80), -scores))
    expected = [d for d in order if scores[d] > 0][:k]
    got = index.search_one(terms, weights, k)
    assert got.indices.tolist() == expected
    batch = index.search(sp.csr_matrix((weights, terms, [0, terms.size]), shape=(1, 40)), k)
    assert batch.indices[0][batch.indices[0] >= 0].tolist() == expected
    if keep == 0:  # unpruned: the exact inner products
        np.testing.assert_allclose(got.scores, scores[expected], rtol=1e-5)
    with pytest.raises(DataError):
        index.search_one(np.array([40]), np.array([1.0]), k)


def _ranked(scores: np.ndarray, k: int) -> list[int]:
    order = np.lexsort((np.arange(scores.shape[0]), -scores))
    return [int(d) for d in order if scores[d] > 0][:k]


@settings(max_examples=40, deadline=None)
@given(st.integers(0, 10_000), st.integers(1, 12), st.integers(1, 12),
       st.floats(0.0, 3.0, allow_nan=False))
def test_pair_search_ranks_the_query_and_the_query_plus_its_expansion(seed, k1, k2, alpha):
    """One pass gives the list of q and the list of q + alpha * e (exact inner products); an
    empty e gives no second list."""
    rng = np.random.default_rng(seed)
    M = sp.random(80, 40, density=0.15, format="csr", dtype=np.float32, random_state=rng)
    M.data += 0.01
    index = PostingIndex(M)
    W = M.toarray().astype(np.float64)
    q = np.zeros(40)
    e = np.zeros(40)
    q_terms = rng.choice(40, size=rng.integers(0, 6), replace=False)
    e_terms = rng.choice(40, size=rng.integers(0, 6), replace=False)  # may share q's terms
    q[q_terms] = rng.random(q_terms.size) + 0.1
    e[e_terms] = rng.random(e_terms.size) + 0.1
    first, second = index.search_pair_checked(
        q_terms.astype(np.int64), q[q_terms].astype(np.float32), e_terms.astype(np.int64),
        e[e_terms].astype(np.float32), alpha, k1, k2)
    plain, both = W @ q, W @ q + np.float32(alpha) * (W @ e)
    assert first.indices.tolist() == _ranked(plain, k1)
    np.testing.assert_allclose(first.scores, plain[first.indices], rtol=1e-5)
    if e_terms.size == 0:  # no expansion: no second list (it would repeat the first)
        assert second.indices.size == 0
        both = np.zeros_like(both)
    # float32 sums: compare the scores, and the documents only where no tie is near
    np.testing.assert_allclose(second.scores, np.sort(both[both > 0])[::-1][:k2], rtol=1e-5)
    gaps = np.abs(np.diff(np.sort(both[both > 0])[::-1][:k2 + 1]))
    if gaps.size == 0 or gaps.min() > 1e-4:
        assert second.indices.tolist() == _ranked(both, k2)
    # the batch form gives the same rows
    Q = sp.csr_matrix((q[q_terms], q_terms, [0, q_terms.size]), shape=(1, 40))
    E = sp.csr_matrix((e[e_terms], e_terms, [0, e_terms.size]), shape=(1, 40))
    b1, b2 = index.search_pair(Q, E, alpha, k1, k2)
    assert b1.indices[0][b1.indices[0] >= 0].tolist() == first.indices.tolist()
    assert b2.indices[0][b2.indices[0] >= 0].tolist() == second.indices.tolist()
    with pytest.raises(DataError, match="expansions"):
        index.search_pair(Q, sp.vstack([E, E]), alpha, k1, k2)


def test_speller_corrects_only_unknown_words():
    titles = ["Outdoor lighting kit", "Toilet seat white", "Porcelain tile 12 in.",
              "Outdoor lounge chair", "Window wheels"] * 5  # a split needs 5 uses
    speller = Speller().fit(titles).warmup()
    assert speller.correct("ourdoor lighting") == "outdoor lighting"
    assert speller.correct("tiolet SEAT") == "toilet seat"  # transposition, case folded
    assert speller.correct("outdoorlounge") == "outdoor lounge"  # a split
    assert speller.correct("tile 12x24 qwzx") == "tile 12x24 qwzx"  # digits, hopeless words
    assert speller.correct("window") == "window"


def test_speller_from_counts_knows_only_frequent_words():
    speller = Speller.from_counts(["population", "poplation", "florida", "flrida"],
                                  [40, 1, 30, 2], min_count=2).warmup()
    assert speller.words_ == ["population", "florida", "flrida"]  # most frequent first
    assert speller.correct("pahokee fl poplation") == "pahokee fl population"
    assert speller.correct("flrida") == "flrida"  # seen twice: known, kept
    assert Speller.from_counts([], [], 2).correct("anything") == "anything"


def test_exported_trees_score_like_lightgbm(tmp_path):
    lgb = pytest.importorskip("lightgbm")
    from xmr.trees import TreeEnsemble

    rng = np.random.default_rng(0)
    X = rng.normal(size=(3000, 8)).astype(np.float32)
    X[rng.random(X.shape) < 0.2] = 0
    ranker = lgb.LGBMRanker(n_estimators=40, num_leaves=15, verbose=-1)
    ranker.fit(X, rng.integers(0, 3, 3000), group=[30] * 100)
    trees = TreeEnsemble.from_lightgbm(ranker.booster_)
    Xt = rng.normal(size=(500, 8)).astype(np.float32)
    Xt[:50] = 0
    np.testing.assert_array_equal(trees.predict(Xt), ranker.predict(Xt))
    big = np.repeat(Xt, 10, axis=0)  # the batch path
    np.testing.assert_array_equal(trees.predict(big), ranker.predict(big))
    loaded = TreeEnsemble.load(trees.save(tmp_path / "t"))
    np.testing.assert_array_equal(loaded.predict(Xt), ranker.predict(Xt))
    with pytest.raises(DataError):
        trees.predict(np.full((2, 8), np.nan, dtype=np.float32))
