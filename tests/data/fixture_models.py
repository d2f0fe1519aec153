"""Small models of every saved format, and how each one's outputs are computed.

Shared by ``make_fixtures.py`` (which writes them once per format version) and
``tests/unit/test_format_compat.py`` (which loads every committed fixture and recomputes its
outputs with :data:`RUNNERS`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import scipy.sparse as sp

WORDS = ["drill", "cordless", "hammer", "saw", "blade", "garden", "hose", "nozzle", "paint",
         "brush", "roller", "ladder", "step", "light", "bulb", "led", "pipe", "valve", "tile",
         "grout", "mower", "lawn", "fence", "post", "screw", "bolt", "nut", "washer", "drain"]
QUERIES = ["cordless drill", "garden hose nozzle", "led bulb", "paint roller", "zzz"]
QAC_PROBES = [["", "g"], ["garden hose", "g"], ["gas grill", "gas grill "], ["", "zz"],
              ["gift card", ""], ["", "www.gift.co"], ["", "www.gas-gr"]]


def _catalog(seed: int = 7):
    rng = np.random.default_rng(seed)
    titles = [" ".join(rng.choice(WORDS, size=rng.integers(2, 5), replace=False))
              for _ in range(40)]
    ids = [f"p{100 + i}" for i in range(40)]
    queries, products = [], []
    for i, title in enumerate(titles):
        words = title.split()
        for _ in range(2):
            queries.append(" ".join(rng.choice(words, size=min(2, len(words)), replace=False)))
            products.append(ids[i])
    return ids, titles, queries, products


def _qac_log(seed: int = 7) -> list[str]:
    rng = np.random.default_rng(seed)
    topics = ["garden hose", "gas grill", "garage door", "game console", "gift card", "golf cart"]
    follow = ["reviews", "prices", "near me", "parts"]
    # web addresses and hyphenated words: the word pieces of the lexicon (format 2)
    log = ["www.garden.com", "www.golf.com", "www.gas-grill.com", "garden-hose parts"] * 3
    for _ in range(150):
        t = topics[rng.integers(len(topics))]
        log += [t, f"{t} {follow[rng.integers(len(follow))]}"]
    return log


# -- outputs of each format ------------------------------------------------------------------------
def run_xlinear(model, inputs) -> dict:
    X = sp.csr_matrix((np.array(inputs["data"], np.float32), np.array(inputs["indices"]),
                       np.array(inputs["indptr"])), shape=(len(inputs["indptr"]) - 1,
                                                           model.n_features_))
    top = model.predict(X, top_k=5)
    return {"labels": top.indices.tolist(), "scores": np.round(top.scores, 5).tolist()}


def run_tfidf(model, inputs) -> dict:
    X = model.transform(inputs)
    return {"indptr": X.indptr.tolist(), "indices": X.indices.tolist(),
            "data": np.round(X.data.astype(float), 6).tolist()}


def run_csr(model, inputs) -> dict:
    return {"dense": np.round(model.matrix.toarray(), 6).tolist()}


def run_text2text(model, inputs) -> dict:
    return {"predictions": [[[p.id, round(p.score, 5)] for p in model.predict_one(q, top_k=5)]
                            for q in inputs]}


def run_retrieval(model, inputs) -> dict:
    return {"hits": [[[h.product_id, round(h.score, 5)] for h in model.search(q, 5)]
                     for q in inputs]}


def run_qac(model, inputs) -> dict:
    return {"suggestions": [[[s.query, round(s.score, 5)] for s in model.complete(p, prev, 5)]
                            for prev, p in inputs]}


def run_qac_features(model, inputs) -> dict:
    out = []
    for prev, p in inputs:
        idx, val = model.transform_one(prev, p)
        out.append([idx.tolist(), np.round(val, 6).tolist()])
    return {"features": out}


def run_qac_lexicon(model, inputs) -> dict:
    out = []
    for start in inputs:
        ids = model.completions(start, 5)
        after = [model.words[i] for i in model.next_words(int(ids[0]), 5).tolist()] \
            if ids.size else []
        tails = [model.tails[i] for i in model.top_tails(start, 5).tolist()]
        out.append([[model.words[i] for i in ids.tolist()], after, tails,
                    model.tail_count(tails[0]) if tails else 0])
    pieces = [[model.pieces[i] for i in model.top_pieces(start, 5).tolist()] for start in inputs]
    # lexicons of format 1 have no pieces (and their expected outputs no such key)
    return {"lexicon": out, **({"pieces": pieces} if model.pieces else {})}


def run_postings(model, inputs) -> dict:
    out = []
    for terms, weights in inputs:
        top = model.search_one(np.array(terms), np.array(weights, dtype=np.float32), 5)
        out.append([top.indices.tolist(), np.round(top.scores, 5).tolist()])
    return {"top": out}


def run_bm25(model, inputs) -> dict:
    return {"top": [model.search_one(q, 5).indices.tolist() for q in inputs]}


def run_trees(model, inputs) -> dict:
    return {"scores": np.round(model.predict(np.array(inputs, dtype=np.float32)), 6).tolist()}


def run_speller(model, inputs) -> dict:
    return {"corrected": [model.correct(q) for q in inputs]}


RUNNERS: dict[str, Callable[[Any, Any], dict]] = {
    "xlinear": run_xlinear, "tfidf": run_tfidf, "csr": run_csr, "text2text": run_text2text,
    "retrieval": run_retrieval, "qac": run_qac, "qac.features": run_qac_features,
    "qac.lexicon": run_qac_lexicon,
    "postings": run_postings, "bm25": run_bm25, "trees": run_trees, "speller": run_speller}


def build_all() -> dict[str, tuple[Any, dict]]:
    """name -> (model, {"inputs": ..., "outputs": ...}) for every format."""
    import xmr
    from xmr.apps.qac import QacConfig, QueryAutocompleter, make_examples
    from xmr.apps.retrieval import ProductRetriever, RetrieverConfig
    from xmr.apps.retrieval.data import Catalog, Judgments
    from xmr.apps.text2text import Text2Text, Text2TextConfig
    from xmr.io.sparse_store import SparseMatrix
    from xmr.text import TfidfVectorizer

    ids, titles, queries, products = _catalog()
    small_tree = {"indexer.max_leaf_size": 4, "indexer.branching_factor": 4}
    p = xmr.make_problem(60, n_train=300, n_test=8, n_features=80, seed=42)
    # bfloat16 weights: format 3's addition (xlinear_v2 holds float32 weights)
    xl = xmr.XLinearModel(xmr.XLinearConfig().replace(
        {**small_tree, "solver.weight_store": "bfloat16"})).fit(p.X_train, p.Y_train, threads=1)
    X = p.X_test
    xl_inputs = {"indptr": X.indptr.tolist(), "indices": X.indices.tolist(),
                 "data": X.data.tolist()}
    vec = TfidfVectorizer().fit(titles)
    t2t = Text2Text(Text2TextConfig().replace(small_tree)).fit(
        queries, [[ids.index(q)] for q in products], titles, threads=1)
    ret = ProductRetriever(RetrieverConfig().replace(
        {**small_tree, "rerank_candidates": 20, "ranker.n_trees": 10, "ranker.min_data_in_leaf": 5,
         "bm25_candidates": 20, "model_candidates": 20, "text_candidates": 20}))
    ret.fit(Catalog(ids, titles), Judgments(queries, products, np.full(len(queries), 3.0)),
            threads=1)
    train, _ = make_examples(_qac_log(), train_fraction=0.9, seed=0)
    qac_past = QueryAutocompleter(QacConfig().replace(
        {"method": "past", "indexer.max_leaf_size": 4})).fit(train, threads=1)
    qac = QueryAutocompleter(QacConfig().replace(
        {"model_feature": True, "indexer.max_leaf_size": 4, "ranker.n_trees": 10,
         "ranker.min_data_in_leaf": 3, "ranker.validation": 0.3})).fit(train, threads=1)
    rng = np.random.default_rng(3)
    feats = rng.normal(size=(6, ret.ranker_.n_features)).round(3).tolist()
    postings_inputs = [[[0, 3, 5], [1.0, 0.5, 2.0]], [[7], [1.0]], [[], []]]
    models = {
        "postings": (ret.text_index_, postings_inputs), "bm25": (ret.bm25_, QUERIES),
        "trees": (ret.ranker_, feats), "speller": (ret.speller_, ["cordles dril", "hose"]),
        "xlinear": (xl, xl_inputs), "tfidf": (vec, QUERIES),
        "csr": (SparseMatrix(vec.transform(QUERIES)), None),
        "text2text": (t2t, QUERIES), "retrieval": (ret, QUERIES), "qac": (qac, QAC_PROBES),
        "qac.features": (qac_past.past_.featurizer, QAC_PROBES),
        "qac.lexicon": (qac.lexicon_, ["g", "gar", "garden", "zz", "", "co", "gr"])}
    return {name: (model, {"inputs": inputs, "outputs": RUNNERS[name](model, inputs)})
            for name, (model, inputs) in models.items()}
