"""ProductRetriever on a planted catalog: hybrid search, products never seen in training,
misspelled queries, catalog updates, files and the CLI."""

from __future__ import annotations

import gzip
import io
import json

import numpy as np
import pytest

from xmr.apps.retrieval import (
    Catalog,
    Judgments,
    ProductRetriever,
    RetrieverConfig,
    judged_matrices,
    read_catalog,
    read_judgments,
    split_queries,
)
from xmr.cli.main import main
from xmr.errors import DataError
from xmr.io.store import resolve
from xmr.metrics import evaluate
from xmr.rank import TopK

BRANDS = ["acme", "zenith", "orbit", "nova", "polar", "delta", "sigma", "omega", "terra", "lumen",
          "vortex", "ember"]
KINDS = ["drill", "saw", "hammer", "ladder", "paint", "lamp", "fan", "heater", "valve", "pipe",
         "faucet", "shelf"]
COLORS = ["red", "blue", "black", "white"]
TYPOS = {"zenith": "zenth", "ladder": "laddder", "heater": "haeter", "faucet": "fuacet"}


def write_files(d, seed=0):
    """Catalog of brand/kind/color products; queries name 2 of the 3 attributes; a quarter of
    the queries misspell a word."""
    rng = np.random.default_rng(seed)
    products = [(f"p{i}", f"{b.title()} {k} in {c}") for i, (b, k, c) in enumerate(
        (b, k, c) for b in BRANDS for k in KINDS for c in COLORS)]
    with gzip.open(d / "products.csv.gz", "wt", encoding="utf-8") as fh:
        fh.write("product_uid,product_title\n")
        fh.writelines(f"{pid},{title}\n" for pid, title in products)
    lines = ["id,product_uid,product_title,search_term,relevance"]
    for q in range(1200):
        pid, title = products[rng.integers(len(products))]
        b, k, _, c = title.lower().split()
        words = [[b, k], [k, c], [b, k, c]][rng.integers(3)]
        if rng.random() < 0.25:
            words = [TYPOS.get(w, w) for w in words]
        query = " ".join(words)
        lines.append(f"{q},{pid},x,{query},3")
        other = products[rng.integers(len(products))][0]
        lines.append(f"{q},{other},x,{query},1")
    (d / "pairs.csv").write_text("\n".join(lines) + "\n")
    return products


SMALL = {"indexer.max_leaf_size": 20, "ranker.n_trees": 30, "ranker.min_data_in_leaf": 20,
         "bm25_candidates": 40, "model_candidates": 40, "text_candidates": 40}
CONFIG = RetrieverConfig().replace(SMALL)


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    d = tmp_path_factory.mktemp("retrieval")
    write_files(d)
    catalog = read_catalog(d / "products.csv.gz")
    train, test = split_queries(read_judgments(d / "pairs.csv"), 0.2, seed=0)
    return d, catalog, train, test


@pytest.fixture(scope="module")
def hybrid(setup):
    _, catalog, train, _ = setup
    return ProductRetriever(CONFIG).fit(catalog, train)


@pytest.fixture(scope="module")
def model_only(setup):
    _, catalog, train, _ = setup
    return ProductRetriever(CONFIG.replace(method="model")).fit(catalog, train)


def test_hybrid_finds_unseen_products_and_beats_the_model_alone(setup, hybrid, model_only):
    _, catalog, train, test = setup
    seen = sorted({p for p, g in zip(train.products, train.grades, strict=True) if g >= 2.5})
    ours = hybrid.evaluate(test, seen=seen)
    theirs = model_only.evaluate(test, seen=seen)
    # measured at seed 0: R@10 0.977 (hybrid) vs 0.986 (XR-Linear + title match); on test
    # positives never seen in training R@10 0.953 vs 0.929; MRR 0.845 vs 0.777. The margin on
    # unseen positives depends on the planted catalog's seed, so only a floor is asserted.
    assert ours["R@10"] > 0.95 and ours["R@100"] > 0.99
    assert ours["queries unseen"] > 20
    assert ours["R@10 unseen"] > 0.94
    assert ours["R@10 unseen"] >= theirs["R@10 unseen"]
    assert ours["MRR"] > theirs["MRR"] + 0.04


def test_misspelled_queries_are_corrected(hybrid):
    assert hybrid.speller_.correct("fuacet orbitt") == "faucet orbit"
    hits = hybrid.search("zenth laddder blak", top_k=3)
    assert hits[0].title == "Zenith ladder in black"


def test_single_and_batch_search_agree_and_bad_queries_give_nothing(setup, hybrid, model_only):
    _, catalog, _, test = setup
    # one-word, misspelled and unmatched queries have short or empty source lists: the
    # single-query path must give them the same features, so the same products and scores
    queries = judged_matrices(test, catalog.ids, 2.5)[0][:40] + [
        "acme", "zenth", "red", "in", "in in", "orbit qqqq", "laddder", "xyzzy drill",
        "ÿÿÿ qqq", ""]
    for model in (hybrid, model_only):
        batch = model.search_many(queries, top_k=20)
        for q, many in zip(queries, batch, strict=True):
            hits = model.search(q, 20)
            assert [h.product_id for h in hits] == [h.product_id for h in many], q
            np.testing.assert_allclose([h.score for h in hits], [h.score for h in many],
                                       rtol=1e-5, atol=1e-6, err_msg=q)
    with pytest.raises(DataError, match=r"queries\[1\] must be str"):
        hybrid.search_batch(["drill", None])
    assert hybrid.search("") == [] and hybrid.search("   \t") == []
    assert hybrid.search("ÿÿÿ qqq") == []
    assert len(hybrid.search("drill " * 2000, top_k=3)) == 3  # very long query: cut, answers


def test_single_query_features_equal_the_batch_features(hybrid, monkeypatch):
    """A product missing from a short source list (a rare word: few BM25 matches) ranks at the
    list's width; the single-query path must see the same width as the batch path."""
    maker, _, expansion = hybrid._derived()
    seen = []
    one = maker.one
    monkeypatch.setattr(maker, "one", lambda *a, **k: seen.append(one(*a, **k)) or seen[-1])
    for q in ["in", "acme in", "zenth", "orbit qqqq", "xyzzy drill", "red lamp"]:
        hybrid.search(q, 5)
        single = seen[-1]
        q = hybrid._corrected([q])[0]  # as both search paths do first
        X = hybrid.vectorizer_.transform([q])
        batch = hybrid._candidates_batch([q], X, hybrid.model_, hybrid.label_product_, maker,
                                         expansion, 1)
        a, b = np.argsort(single.ids), np.argsort(batch.ids)
        assert np.array_equal(single.ids[a], batch.ids[b]), q
        np.testing.assert_allclose(single.features[a], batch.features[b], rtol=1e-5, atol=1e-6,
                                   err_msg=q)


def test_save_load_gives_the_same_answers(setup, hybrid, tmp_path):
    _, _, _, test = setup
    loaded = ProductRetriever.load(hybrid.save(tmp_path / "m")).warmup()
    assert loaded.search("zenith saw", 3) == hybrid.search("zenith saw", 3)
    assert loaded.evaluate(test) == hybrid.evaluate(test)


def test_catalog_updates_without_retraining(setup, hybrid, tmp_path):
    _, catalog, _, _ = setup
    model = ProductRetriever.load(hybrid.save(tmp_path / "m"))  # updates a memory-mapped model
    model.update(add=Catalog(["n1", "n2"], ["Quasar chainsaw in green", "Nova lamp in gold"]),
                 remove=["p0", "p5"], retitle=Catalog(["p7"], ["Acme rotary sander in blue"]))
    assert model.search("quasar chainsaw", 1)[0].product_id == "n1"
    assert model.search("nova lamp gold", 1)[0].product_id == "n2"
    assert model.search("acme rotary sander", 1)[0].product_id == "p7"
    returned = {h.product_id for q in ("acme drill red", "acme drill", "acme saw blue")
                for h in model.search(q, 50)}
    assert not returned & {"p0", "p5"}
    assert len(model.product_ids_) == len(catalog.ids)
    for bad in ({"remove": ["nope"]}, {"add": Catalog(["p1"], ["dup"])},
                {"retitle": Catalog(["zz"], ["x"])}, {"remove": ["p1", "p1"]}):
        before = (list(model.product_ids_), model.label_product_.copy())
        with pytest.raises(DataError):
            model.update(**bad)
        assert model.product_ids_ == before[0]  # nothing changed
        np.testing.assert_array_equal(model.label_product_, before[1])


def test_catalog_and_pair_errors(tmp_path):
    (tmp_path / "dup.csv").write_text("product_uid,product_title\n1,a\n2,b\n1,c\n")
    with pytest.raises(DataError, match=r"dup.csv:4: duplicate product id '1' \(first on line 2"):
        read_catalog(tmp_path / "dup.csv")
    (tmp_path / "cols.csv").write_text("id,name\n1,a\n")
    with pytest.raises(DataError, match="no column"):
        read_catalog(tmp_path / "cols.csv")
    (tmp_path / "notitle.tsv").write_text("product_uid\tproduct_title\n1\t\n2\tb\n")
    assert read_catalog(tmp_path / "notitle.tsv").titles == ["", "b"]  # documented: kept empty
    (tmp_path / "grade.csv").write_text("search_term,product_uid,relevance\nq,1,high\n")
    with pytest.raises(DataError, match="grade.csv:2: relevance 'high'"):
        read_judgments(tmp_path / "grade.csv")
    (tmp_path / "nan.csv").write_text("search_term,product_uid,relevance\nq,1,nan\n")
    with pytest.raises(DataError, match="not a finite number"):
        read_judgments(tmp_path / "nan.csv")
    catalog = read_catalog(tmp_path / "notitle.tsv")
    pairs = Judgments(["q"], ["9"], np.array([3.0]))
    with pytest.raises(DataError, match="not in the catalog"):
        ProductRetriever().fit(catalog, pairs)


def test_graded_metrics_by_hand():
    """judged_matrices + xmr.metrics.evaluate: recall, MRR and graded nDCG, computed by hand."""
    judgments = Judgments(["q1", "q1", "q1", "q2", "q3"], ["b", "d", "f", "e", "a"],
                          np.array([3.0, 2.5, 1.0, 3.0, 1.5]))
    ids = ["a", "b", "c", "d", "e", "f", "g", "h", "i", "j"]
    queries, Y, G = judged_matrices(judgments, ids, 2.5)
    assert queries == ["q1", "q2"]  # q3 has no positive
    top = np.array([[5, 1, 2] + [-1] * 97, [7, 8, 9] + [-1] * 97])
    m = evaluate(TopK(top, np.zeros(top.shape, np.float32)), Y, ks=(10, 100), gains=G)
    assert m["R@10"] == pytest.approx((0.5 + 0.0) / 2)
    assert m["MRR"] == pytest.approx((1 / 2 + 0) / 2)
    ndcg0 = (1.0 / np.log2(3)) / (1.0 + 0.75 / np.log2(3))  # gains (3-1)/2 = 1, (2.5-1)/2
    assert m["nDCG@10"] == pytest.approx(ndcg0 / 2)


def test_cli(setup, tmp_path, capsys, monkeypatch):
    d, *_ = setup
    model = tmp_path / "m"
    flags = [f"--{k.replace('_', '-')}" if "." not in k else
             f"--{k.split('.')[0]}.{k.split('.')[1].replace('_', '-')}" for k in SMALL]
    args = [a for k, flag in zip(SMALL, flags, strict=True) for a in (flag, str(SMALL[k]))]
    assert main(["-q", "retrieval", "train", "--catalog", str(d / "products.csv.gz"),
                 "--pairs", str(d / "pairs.csv"), "-m", str(model), *args]) == 0
    assert main(["retrieval", "evaluate", "-m", str(model), "--pairs", str(d / "pairs.csv")]) == 0
    assert json.loads(capsys.readouterr().out)["R@100"] > 0.9
    monkeypatch.setattr("sys.stdin", io.StringIO("nova lamp red\n\n"))
    assert main(["retrieval", "search", "-m", str(model), "-k", "2"]) == 0
    out = [json.loads(x) for x in capsys.readouterr().out.splitlines()]
    assert out[0]["results"][0]["title"] == "Nova lamp in red" and out[1]["results"] == []
    # updates: a bad file changes nothing; a good one is live at once
    live = resolve(model)
    (tmp_path / "add.csv").write_text("product_uid,product_title\nn9,Quasar kettle in teal\n")
    (tmp_path / "rm.txt").write_text("p3\nnot-there\n")
    assert main(["retrieval", "update", "-m", str(model), "--add", str(tmp_path / "add.csv"),
                 "--remove", str(tmp_path / "rm.txt")]) == 2
    assert "rm.txt:2: product id 'not-there' is not in the catalog" in capsys.readouterr().err
    assert resolve(model) == live
    (tmp_path / "rm.txt").write_text("p3\n")
    assert main(["-q", "retrieval", "update", "-m", str(model), "--add",
                 str(tmp_path / "add.csv"), "--remove", str(tmp_path / "rm.txt")]) == 0
    assert resolve(model) != live
    monkeypatch.setattr("sys.stdin", io.StringIO("quasar kettle\n"))
    assert main(["retrieval", "search", "-m", str(model), "-k", "1", "--format", "text"]) == 0
    assert "n9" in capsys.readouterr().out
