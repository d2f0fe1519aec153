"""ProductRetriever: search query text -> ranked products, with XR-Linear over TF-IDF features.

Inputs are queries, labels are products. Besides the judged (query, product) pairs, each
product's title is, by default, one more training row for that product, and the title's TF-IDF is
concatenated with PIFA to embed the product for indexing: a product that no training query
pointed to can still be retrieved through its title.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np
import scipy.sparse as sp

from ...config import Config, check_range, field
from ...errors import DataError, NotFittedError
from ...index.config import IndexerConfig
from ...io.persist import Persistent, State, Stored
from ...io.sparse_store import SparseMatrix
from ...linear.config import PredictConfig, SolverConfig
from ...metrics import evaluate
from ...rank import TextMatchReranker, TopK
from ...sparse import labels_from_lists
from ...text.config import TfidfConfig
from ..text2text.model import Text2Text, Text2TextConfig
from .data import Catalog, Judgments

logger = logging.getLogger(__name__)

IDS_FILE = "product_ids.txt"  # format 1 kept the product ids in this file
MAX_QUERY_CHARS = 1000  # longer queries are cut (bounds featurization time)


@dataclass(frozen=True, kw_only=True)
class RetrieverConfig(Config):
    """Settings of a product retriever.

    Features are word 1-2-grams + character trigrams with an end-of-word marker, as the
    product-search work describes. The weight threshold 0.05, the title-match weight and the
    candidate count were chosen by ``python -m experiments.tune_retrieval`` on a validation
    split of the training queries: recall@10 32.7 at threshold 0.05 vs 31.8 at 0.1; title-match
    weights 0.3-0.7 within 0.15 points; 300 candidates 32.7 at 0.57 ms p50 vs 500 candidates
    33.1 at 0.84 ms.
    """

    vectorizer: TfidfConfig = field(TfidfConfig(), "TF-IDF blocks of queries and titles")
    indexer: IndexerConfig = field(IndexerConfig(embedding="pifa+label-features"),
                                   "product tree (pifa+label-features: PIFA + title TF-IDF)")
    solver: SolverConfig = field(SolverConfig(threshold=0.05), "per-level linear models")
    predict: PredictConfig = field(PredictConfig(), "beam size and the default top_k")
    title_rows: bool = field(True, "add each product's title as a training row for it")
    min_relevance: float = field(2.5, "a judged pair is a training positive from this grade")
    title_match_weight: float = field(0.5, "blend the model's score with the query/title TF-IDF "
                                           "cosine: (1 - w) * score + w * cosine")
    rerank_candidates: int = field(300, "candidates taken from the beam when blending")

    def validate(self) -> None:
        name = type(self).__name__
        check_range(name, "min_relevance", self.min_relevance)
        check_range(name, "title_match_weight", self.title_match_weight, 0.0, 1.0)
        check_range(name, "rerank_candidates", self.rerank_candidates, 1)

    def text2text_config(self) -> Text2TextConfig:
        return Text2TextConfig(vectorizer=self.vectorizer, indexer=self.indexer,
                               solver=self.solver, predict=self.predict)


class Hit(NamedTuple):
    """One search result."""

    product_id: str
    title: str
    score: float


class ProductRetriever(Persistent):
    """Query text in, ranked product ids (with titles and scores) out."""

    format_name = "xmr.retrieval"
    format_version = 2  # 2: product ids stored as strings, flat config

    def __init__(self, config: RetrieverConfig | None = None) -> None:
        self.config = config or RetrieverConfig()
        self.pipeline_: Text2Text | None = None
        self.product_ids_: list[str] | None = None
        self.title_features_: sp.csr_matrix | None = None
        self._reranker_cache: TextMatchReranker | None = None

    # -- training -------------------------------------------------------------------------------
    def fit(self, catalog: Catalog, judgments: Judgments, *,
            threads: int | None = None) -> ProductRetriever:
        """Train on judged pairs (positives: grade >= ``min_relevance``) and the catalog."""
        texts, labels = self.training_rows(catalog, judgments)
        logger.info("retrieval: %d training rows over %d products", len(texts), len(catalog.ids))
        self.pipeline_ = Text2Text(self.config.text2text_config()).fit(
            texts, labels, catalog.titles, threads=threads)
        self.product_ids_ = list(catalog.ids)
        self.title_features_ = self.pipeline_.label_features_  # the titles' TF-IDF, once
        if self.title_features_ is None:  # the indexer does not use the titles
            self.title_features_ = self.pipeline_.vectorizer_.transform(catalog.titles,
                                                                        threads=threads)
        self._reranker_cache = None
        return self

    def _reranker(self) -> TextMatchReranker | None:
        """The title-match reranker of the current config, built once per weight (building it
        validates the title matrix, which costs milliseconds)."""
        weight = self.config.title_match_weight
        if weight <= 0:
            return None
        cached = self._reranker_cache
        if cached is None or cached.weight != weight:
            base = self.title_features_ if cached is None else cached.label_features
            cached = self._reranker_cache = TextMatchReranker(base, weight)
        return cached

    def training_rows(self, catalog: Catalog, judgments: Judgments
                      ) -> tuple[list[str], list[list[int]]]:
        """(texts, catalog positions) the model trains on: one row per distinct query with a
        positive product, then (with ``title_rows``) one row per non-empty title."""
        index = {pid: i for i, pid in enumerate(catalog.ids)}
        rows = _positive_rows(judgments, index, self.config.min_relevance)
        texts = list(rows)
        labels = [sorted(rows[q]) for q in texts]
        if self.config.title_rows:
            has_title = [i for i, t in enumerate(catalog.titles) if t]
            texts += [catalog.titles[i] for i in has_title]
            labels += [[i] for i in has_title]
        if not texts:
            raise DataError("nothing to train on: no positive pairs and no titles")
        return texts, labels

    def _check_fitted(self) -> Text2Text:
        if self.pipeline_ is None:
            raise NotFittedError("this ProductRetriever is not fitted; call fit() or load()")
        return self.pipeline_

    # -- search ---------------------------------------------------------------------------------
    def search(self, query: str, top_k: int | None = None, *,
               beam_size: int | None = None) -> list[Hit]:
        """Top ``top_k`` products of one query (single-query path, featurization included).
        An empty or whitespace-only query, or one with no known n-gram, returns ``[]``."""
        pipe = self._check_fitted()
        top_k = _check_top_k(top_k, self.config.predict.top_k)
        x = pipe.vectorizer_.transform_one(query[:MAX_QUERY_CHARS])
        if x[0].shape[0] == 0:
            return []
        reranker = self._reranker()
        pool = max(top_k, self.config.rerank_candidates) if reranker else top_k
        top = pipe.model_.predict_one(x, top_k=pool, beam_size=beam_size)
        if reranker is not None:
            top = reranker.rerank_one(x, top)
        ids, titles = self.product_ids_, pipe.items_
        return [Hit(ids[i], titles[i], s)
                for i, s in zip(top.indices[:top_k].tolist(), top.scores[:top_k].tolist(),
                                strict=True) if i >= 0]

    def search_batch(self, queries: Sequence[str], top_k: int | None = None, *,
                     beam_size: int | None = None, threads: int | None = None) -> TopK:
        """Top ``top_k`` product indices (positions in the catalog) of many queries."""
        pipe = self._check_fitted()
        top_k = _check_top_k(top_k, self.config.predict.top_k)
        queries = [q[:MAX_QUERY_CHARS] for q in queries]
        reranker = self._reranker()
        if reranker is None:
            return pipe.predict_ids(queries, top_k=top_k, beam_size=beam_size, threads=threads)
        X = pipe.vectorizer_.transform(queries, threads=threads)
        top = pipe.model_.predict(X, top_k=max(top_k, self.config.rerank_candidates),
                                  beam_size=beam_size, threads=threads)
        top = reranker.rerank(X, top)
        return TopK(top.indices[:, :top_k], top.scores[:, :top_k])

    def evaluate(self, judgments: Judgments, *, beam_size: int | None = None,
                 threads: int | None = None) -> dict[str, float]:
        """R@10, R@100, graded nDCG@10 and MRR over the distinct judged queries with a
        positive (see :func:`judged_matrices`)."""
        self._check_fitted()
        queries, Y, G = judged_matrices(judgments, self.product_ids_, self.config.min_relevance)
        top = self.search_batch(queries, top_k=100, beam_size=beam_size, threads=threads)
        out = evaluate(top, Y, ks=(10, 100), gains=G)
        return {"R@10": out["R@10"], "R@100": out["R@100"], "nDCG@10": out["nDCG@10"],
                "MRR": out["MRR"], "queries": len(queries)}

    def warmup(self) -> ProductRetriever:
        """Compile the search kernels for the loaded arrays."""
        self._check_fitted().warmup()
        self.search("warm up")
        self.search_batch(["warm up"], top_k=1, threads=1)
        return self

    # -- persistence ----------------------------------------------------------------------------
    def state(self) -> State:
        pipe = self._check_fitted()
        return State(children={"text2text": pipe, "titles": SparseMatrix(self.title_features_)},
                     strings={"product_ids": self.product_ids_},
                     meta={"config": self.config.to_dict(),
                           "n_products": len(self.product_ids_)})

    @classmethod
    def from_stored(cls, stored: Stored) -> ProductRetriever:
        if stored.version == 1:
            obj = cls(_config_v1(stored))
            ids = stored.text(IDS_FILE).split("\n")[:-1]
        else:
            obj = cls(stored.config(RetrieverConfig))
            ids = stored.strings("product_ids", stored.count("n_products"))
        obj.pipeline_ = stored.child("text2text", Text2Text)
        obj.product_ids_ = ids
        stored.check(len(ids) == len(obj.pipeline_.items_),
                     f"{len(ids)} product ids but {len(obj.pipeline_.items_)} titles")
        obj.title_features_ = stored.child("titles", SparseMatrix).matrix
        stored.check(obj.title_features_.shape == (len(ids), obj.pipeline_.model_.n_features_),
                     f"the title features have shape {obj.title_features_.shape}")
        return obj


def _config_v1(stored: Stored) -> RetrieverConfig:
    """Format 1 nested the settings as ``text2text.model.*``."""
    old = dict(stored.meta("config", dict, {}))
    t2t = old.pop("text2text", {}) or {}
    model = t2t.get("model", {}) or {}
    old.update({k: model[k] for k in ("indexer", "solver", "predict") if k in model})
    if "vectorizer" in t2t:
        old["vectorizer"] = t2t["vectorizer"]
    return RetrieverConfig.from_dict(old)


def _check_top_k(top_k: int | None, default: int) -> int:
    top_k = default if top_k is None else top_k
    if not isinstance(top_k, (int, np.integer)) or isinstance(top_k, bool) or top_k < 1:
        raise DataError(f"top_k must be a positive integer; got {top_k!r}")
    return int(top_k)


def _check_known(judgments: Judgments, index: dict[str, int]) -> None:
    unknown = sorted({p for p in judgments.products if p not in index})
    if unknown:
        raise DataError(f"{len(unknown)} judged product id(s) are not in the catalog, e.g. "
                        f"{unknown[:5]}")


def _positive_rows(judgments: Judgments, index: dict[str, int],
                   min_relevance: float) -> dict[str, set[int]]:
    """Distinct non-empty query -> catalog positions of its positive products."""
    _check_known(judgments, index)
    rows: dict[str, set[int]] = {}
    for q, p, g in zip(judgments.queries, judgments.products, judgments.grades.tolist(),
                       strict=True):
        if g >= min_relevance and q:
            rows.setdefault(q, set()).add(index[p])
    return rows


def judged_matrices(judgments: Judgments, product_ids: Sequence[str], min_relevance: float
                    ) -> tuple[list[str], sp.csr_matrix, sp.csr_matrix]:
    """The distinct non-empty judged queries with at least one positive, with their positives
    ``Y`` (binary, (n_queries, n_products)) and graded gains ``G`` of every judged product:
    ``(grade - 1) / 2`` (1 -> 0, 3 -> 1). Unknown product ids are an error."""
    index = {pid: i for i, pid in enumerate(product_ids)}
    _check_known(judgments, index)
    by_query: dict[str, dict[int, float]] = {}
    for q, p, g in zip(judgments.queries, judgments.products, judgments.grades.tolist(),
                       strict=True):
        by_query.setdefault(q, {})[index[p]] = g
    queries, relevant, judged = [], [], []
    for q, grades in by_query.items():
        pos = sorted(i for i, g in grades.items() if g >= min_relevance)
        if pos and q:
            queries.append(q)
            relevant.append(pos)
            judged.append(grades)
    n = len(product_ids)
    Y = labels_from_lists(relevant, n_labels=n)
    rows = np.repeat(np.arange(len(judged)), [len(j) for j in judged])
    cols = np.fromiter((i for j in judged for i in j), dtype=np.int64, count=rows.shape[0])
    gain = np.fromiter(((g - 1.0) / 2.0 for j in judged for g in j.values()), dtype=np.float64,
                       count=rows.shape[0])
    G = sp.csr_matrix((gain, (rows, cols)), shape=(len(judged), n))
    return queries, Y, G
