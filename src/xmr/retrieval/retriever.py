"""ProductRetriever: search query text -> ranked products, with XR-Linear over TF-IDF features.

Inputs are queries, labels are products. Besides the judged (query, product) pairs, each
product's title is, by default, one more training row for that product, and the title's TF-IDF is
concatenated with PIFA to embed the product for indexing: a product that no training query
pointed to can still be retrieved through its title.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

import numpy as np
import scipy.sparse as sp

from ..config import Config, check_range, field
from ..errors import DataError, ModelFormatError, NotFittedError
from ..io.store import (
    atomic_directory,
    load_model_dir,
    read_checked_manifest,
    save_model_dir,
    write_composite_manifest,
)
from ..rank import TextMatchReranker, TopK
from ..text.config import BlockConfig, TfidfConfig
from ..text.text2text import Text2Text, Text2TextConfig
from .data import Catalog, Judgments

logger = logging.getLogger(__name__)

FORMAT_NAME = "xmr.retrieval"
FORMAT_VERSION = 1
IDS_FILE = "product_ids.txt"
_MAX_QUERY_CHARS = 1000  # longer queries are cut (bounds featurization time)


def _default_text2text() -> Text2TextConfig:
    # word 1-2-grams + character trigrams with an end-of-word marker, as the product-search
    # work describes; beam 10, top 100 (recall@100 is a headline metric); weight threshold
    # 0.05: with one title row per product most weights are small. `python -m
    # experiments.tune_retrieval` (validation split of the training queries) measured
    # recall@10 32.7 at threshold 0.05 vs 31.8 at 0.1; title-match weights 0.3-0.7 within 0.15
    # points; 300 candidates 32.7 at 0.57 ms p50 vs 500 candidates 33.1 at 0.84 ms
    vec = TfidfConfig(blocks=(BlockConfig(kind="word", min_n=1, max_n=2),
                              BlockConfig(kind="char", min_n=3, max_n=3)))
    return Text2TextConfig(vectorizer=vec).replace({"model.predict.top_k": 100,
                                                   "model.solver.threshold": 0.05})


@dataclass(frozen=True, kw_only=True)
class RetrieverConfig(Config):
    """Settings of a product retriever."""

    text2text: Text2TextConfig = field(_default_text2text(), "features, indexing, training")
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


class Hit(NamedTuple):
    """One search result."""

    product_id: str
    title: str
    score: float


class ProductRetriever:
    """Query text in, ranked product ids (with titles and scores) out."""

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
        self.pipeline_ = Text2Text(self.config.text2text).fit(texts, labels, catalog.titles,
                                                             threads=threads)
        self.product_ids_ = list(catalog.ids)
        self.title_features_ = self.pipeline_.label_features_  # the titles' TF-IDF, once
        if self.title_features_ is None:  # label_text_features is off
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
    def search(self, query: str, k: int = 10, *, beam_size: int | None = None) -> list[Hit]:
        """Top ``k`` products of one query (single-query path, featurization included).
        An empty or whitespace-only query, or one with no known n-gram, returns ``[]``."""
        pipe = self._check_fitted()
        if k < 1:
            raise DataError(f"k must be >= 1; got {k}")
        x = pipe.vectorizer_.transform_one(query[:_MAX_QUERY_CHARS])
        if x[0].shape[0] == 0:
            return []
        reranker = self._reranker()
        pool = max(k, self.config.rerank_candidates) if reranker else k
        top = pipe.model_.predict_one(x, top_k=pool, beam_size=beam_size)
        if reranker is not None:
            top = reranker.rerank_one(x, top)
        ids, titles = self.product_ids_, pipe.items_
        return [Hit(ids[i], titles[i], s)
                for i, s in zip(top.indices[:k].tolist(), top.scores[:k].tolist(), strict=True)
                if i >= 0]

    def search_batch(self, queries: Sequence[str], k: int = 100, *,
                     beam_size: int | None = None, threads: int | None = None) -> TopK:
        """Top ``k`` product indices (positions in the catalog) of many queries."""
        pipe = self._check_fitted()
        reranker = self._reranker()
        if reranker is None:
            return pipe.predict_ids(queries, top_k=k, beam_size=beam_size, threads=threads)
        X = pipe.vectorizer_.transform(list(queries), threads=threads)
        top = pipe.model_.predict(X, top_k=max(k, self.config.rerank_candidates),
                                  beam_size=beam_size, threads=threads)
        top = reranker.rerank(X, top)
        return TopK(top.indices[:, :k], top.scores[:, :k])

    def evaluate(self, judgments: Judgments, *, beam_size: int | None = None,
                 threads: int | None = None) -> dict[str, float]:
        """recall@10, recall@100, graded nDCG@10 and MRR over the distinct judged queries."""
        self._check_fitted()
        index = {pid: i for i, pid in enumerate(self.product_ids_)}
        queries, relevant, grades = group_judgments(judgments, index, self.config.min_relevance)
        top = self.search_batch(queries, k=100, beam_size=beam_size, threads=threads)
        return retrieval_metrics(top.indices, relevant, grades)

    # -- persistence ----------------------------------------------------------------------------
    def save(self, path: str | os.PathLike) -> Path:
        """Write ``path`` atomically (``text2text/``, ``product_ids.txt``, manifest)."""
        pipe = self._check_fitted()
        with atomic_directory(path) as tmp:
            pipe.save(tmp / "text2text")
            T = self.title_features_
            save_model_dir(tmp / "titles", "xmr.csr", 1,
                           {"indptr": T.indptr, "indices": T.indices, "data": T.data},
                           {"shape": list(T.shape)})
            (tmp / IDS_FILE).write_text("".join(f"{p}\n" for p in self.product_ids_),
                                        encoding="utf-8")
            write_composite_manifest(tmp, FORMAT_NAME, FORMAT_VERSION, self.config.to_dict())
        return Path(path)

    @classmethod
    def load(cls, path: str | os.PathLike, mmap: bool = True) -> ProductRetriever:
        """Load a saved retriever (arrays memory-mapped when ``mmap``)."""
        path = Path(path)
        manifest = read_checked_manifest(path, FORMAT_NAME, FORMAT_VERSION)
        obj = cls(RetrieverConfig.from_dict(manifest.get("config", {})))
        obj.pipeline_ = Text2Text.load(path / "text2text", mmap=mmap)
        ids_file = path / IDS_FILE
        if not ids_file.exists():
            raise ModelFormatError(f"{ids_file}: missing")
        obj.product_ids_ = ids_file.read_text(encoding="utf-8").split("\n")[:-1]
        if len(obj.product_ids_) != len(obj.pipeline_.items_):
            raise ModelFormatError(f"{path}: {len(obj.product_ids_)} product ids but "
                                   f"{len(obj.pipeline_.items_)} titles")
        meta, arrays = load_model_dir(path / "titles", "xmr.csr", 1, mmap=mmap)
        obj.title_features_ = sp.csr_matrix((arrays["data"], arrays["indices"], arrays["indptr"]),
                                            shape=tuple(meta["shape"]))
        return obj


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


def group_judgments(judgments: Judgments, index: dict[str, int], min_relevance: float
                    ) -> tuple[list[str], list[np.ndarray], list[np.ndarray]]:
    """Per distinct query with at least one positive: (query, positive positions, gains of all
    judged positions). Gains are ``(grade - 1) / 2`` (1 -> 0, 3 -> 1) for every judged product.
    Unknown product ids are an error."""
    _check_known(judgments, index)
    by_query: dict[str, dict[int, float]] = {}
    for q, p, g in zip(judgments.queries, judgments.products, judgments.grades.tolist(),
                       strict=True):
        by_query.setdefault(q, {})[index[p]] = g
    queries, relevant, gains = [], [], []
    for q, judged in by_query.items():
        pos = np.array(sorted(i for i, g in judged.items() if g >= min_relevance), dtype=np.int64)
        if pos.size == 0 or not q:
            continue
        queries.append(q)
        relevant.append(pos)
        gains.append(np.array([[i, (g - 1.0) / 2.0] for i, g in judged.items()]))
    return queries, relevant, gains


def retrieval_metrics(top: np.ndarray, relevant: Sequence[np.ndarray],
                      gains: Sequence[np.ndarray]) -> dict[str, float]:
    """recall@10 / @100, graded nDCG@10 and MRR.

    Parameters
    ----------
    top : int array (n_queries, k >= 100), -1 = none
    relevant : per query, int array of positive product positions
    gains : per query, float array (n_judged, 2) of (position, gain)
    """
    n = len(relevant)
    r10 = np.empty(n)
    r100 = np.empty(n)
    ndcg = np.empty(n)
    rr = np.empty(n)
    disc = 1.0 / np.log2(np.arange(2, 12))
    for i in range(n):  # per query: small arrays, runs once per evaluation
        row = top[i]
        hit = np.isin(row, relevant[i])
        r10[i] = hit[:10].sum() / relevant[i].size
        r100[i] = hit[:100].sum() / relevant[i].size
        first = np.flatnonzero(hit)
        rr[i] = 1.0 / (first[0] + 1) if first.size else 0.0
        gain_of = dict(zip(gains[i][:, 0].astype(np.int64).tolist(), gains[i][:, 1].tolist(),
                           strict=True))
        g = np.array([gain_of.get(int(p), 0.0) for p in row[:10]])
        ideal = np.sort(gains[i][:, 1])[::-1][:10]
        idcg = (ideal * disc[:ideal.size]).sum()
        ndcg[i] = (g * disc[:g.size]).sum() / idcg if idcg > 0 else 0.0
    return {"recall@10": float(r10.mean()), "recall@100": float(r100.mean()),
            "nDCG@10": float(ndcg.mean()), "MRR": float(rr.mean()), "queries": n}
