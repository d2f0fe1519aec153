"""ProductRetriever: search query text -> ranked products.

The default method is *hybrid*, the way the PECOS product-search work deploys XR-Linear: beside a
lexical matcher, not instead of it. Four sources propose candidates for a query:

- BM25 over the product titles (stemmed, stop words removed),
- XR-Linear beam search (trained on judged queries and on every title as one more row),
- the cosine between the query's and the titles' TF-IDF (word and character n-grams, which
  also matches misspelled queries),
- the same cosine for the query plus its expansion through a word translation table learned
  from the judged queries (``expansion``: reaches titles that share no word with the query),

and a LightGBM lambdarank model, trained on the training queries, ranks their union with
features of each (query, product) pair (``features.FEATURES``). Its training data are
cross-fitted: the candidates of each fold of training queries come from an XR-Linear model
and a translation table trained without that fold, so the ranker learns how the sources behave
on queries they have not seen, as at search time. Products never seen in training are reached
through BM25 and the two title cosines; ``update`` adds, removes and retitles products
without retraining.

``method="model"`` is xmr 0.1's method: XR-Linear candidates re-ranked by blending their score
with the title cosine (``rank.TextMatchReranker``).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np
import scipy.sparse as sp

from ..._threads import num_threads, resolve_threads
from ...config import Config, check_choice, check_range, field
from ...errors import DataError, NotFittedError
from ...index.config import IndexerConfig
from ...io.persist import Persistent, State, Stored
from ...io.sparse_store import SparseMatrix
from ...lexical.bm25 import Bm25Config, Bm25Index
from ...lexical.postings import PostingIndex
from ...lexical.speller import Speller
from ...linear.config import PredictConfig, SolverConfig, XLinearConfig
from ...linear.model import XLinearModel
from ...metrics import evaluate
from ...progress import ProgressCallback, report
from ...rank import TextMatchReranker, TopK
from ...sparse import l2_normalize_rows, labels_from_lists
from ...text.config import TfidfConfig
from ...text.vectorizer import TfidfVectorizer
from ...trees import TreeEnsemble
from . import ranker as _ranker
from .data import Catalog, Judgments
from .expansion import QueryExpansion, translation_table
from .features import (
    FEATURES,
    LEGACY_FEATURES,
    Candidates,
    FeatureMaker,
    ProductSide,
    block_norms,
    kernel_csr,
)
from .judged import (
    candidate_labels,
    grades_by_query,
    judged_matrices,
    positive_rows,
    split_recall,
)
from .ranker import RankerConfig

logger = logging.getLogger(__name__)

MAX_QUERY_CHARS = 1000  # longer queries are cut (bounds featurization time)
METHODS = ("hybrid", "model")


@dataclass(frozen=True, kw_only=True)
class RetrieverConfig(Config):
    """Settings of a product retriever.

    The candidate counts, spelling and ranker defaults are compared with alternatives on a
    validation split cut from the training queries by ``python -m experiments.tune_retrieval``
    (``docs/product-retrieval.md``).
    """

    method: str = field("hybrid", "hybrid (BM25 + XR-Linear + title cosine, learned ranker) "
                                  "or model (XR-Linear + title match)")
    vectorizer: TfidfConfig = field(TfidfConfig(), "TF-IDF blocks of queries and titles")
    indexer: IndexerConfig = field(IndexerConfig(embedding="pifa+label-features"),
                                   "product tree (pifa+label-features: PIFA + title TF-IDF)")
    solver: SolverConfig = field(SolverConfig(threshold=0.05), "per-level linear models")
    predict: PredictConfig = field(PredictConfig(), "beam size and the default top_k")
    bm25: Bm25Config = field(Bm25Config(), "the lexical source")
    ranker: RankerConfig = field(RankerConfig(), "the learned ranker (hybrid)")
    spelling: bool = field(True, "at search time, correct query words no title uses (typos, "
                                 "run-together words); the models learn from queries as typed")
    title_rows: bool = field(True, "add each product's title as a training row for it")
    pseudo_queries: int = field(0, "add this many sub-phrases of each title (2-3 consecutive "
                                   "words, seeded) as training rows for its product")
    min_relevance: float = field(2.5, "a judged pair is a training positive from this grade")
    bm25_candidates: int = field(100, "hybrid: candidates taken from BM25")
    model_candidates: int = field(100, "hybrid: candidates taken from XR-Linear's beam")
    text_candidates: int = field(100, "hybrid: candidates taken from the title cosine")
    text_max_postings: int = field(1000, "hybrid: the title-cosine source reads at most this "
                                         "many titles per n-gram, the heaviest (0: all)")
    expansion_candidates: int = field(100, "hybrid: candidates taken from the title cosine of "
                                           "the query plus its expansion (0: no expansion)")
    expansion_terms: int = field(10, "hybrid: words kept in a query's expansion")
    expansion_weight: float = field(1.0, "hybrid: weight of the expansion added to the query")
    translation_width: int = field(30, "hybrid: title words kept per query word in the "
                                       "translation table")
    title_match_weight: float = field(0.5, "model method: blend the model's score with the "
                                           "query/title TF-IDF cosine, (1 - w) s + w cos")
    rerank_candidates: int = field(300, "model method: candidates taken from the beam")

    def validate(self) -> None:
        name = type(self).__name__
        check_choice(name, "method", self.method, METHODS)
        check_range(name, "min_relevance", self.min_relevance)
        for knob in ("bm25_candidates", "model_candidates", "text_candidates",
                     "rerank_candidates"):
            check_range(name, knob, getattr(self, knob), 1, 100_000)
        check_range(name, "expansion_candidates", self.expansion_candidates, 0, 100_000)
        check_range(name, "expansion_terms", self.expansion_terms, 1, 1000)
        check_range(name, "translation_width", self.translation_width, 1, 100_000)
        check_range(name, "expansion_weight", self.expansion_weight, 0.0, 1000.0)
        check_range(name, "text_max_postings", self.text_max_postings, 0)
        check_range(name, "title_match_weight", self.title_match_weight, 0.0, 1.0)

    def model_config(self) -> XLinearConfig:
        return XLinearConfig(indexer=self.indexer, solver=self.solver, predict=self.predict)


class Hit(NamedTuple):
    """One search result."""

    product_id: str
    title: str
    score: float


class ProductRetriever(Persistent):
    """Query text in, ranked product ids (with titles and scores) out."""

    format_name = "xmr.retrieval"
    format_version = 3  # 2: hybrid parts, product ids and titles as strings; 3: expansion

    def __init__(self, config: RetrieverConfig | None = None) -> None:
        self.config = config or RetrieverConfig()
        self.vectorizer_: TfidfVectorizer | None = None
        self.model_: XLinearModel | None = None
        self.product_ids_: list[str] | None = None
        self.titles_: list[str] | None = None
        self.label_product_: np.ndarray | None = None  # model label -> catalog position, -1
        self.title_features_: sp.csr_matrix | None = None
        self.bm25_: Bm25Index | None = None
        self.text_index_: PostingIndex | None = None
        self.pifa_: sp.csr_matrix | None = None
        self.popularity_: np.ndarray | None = None
        self.ranker_: TreeEnsemble | None = None
        self.translation_: sp.csr_matrix | None = None  # None: no expansion source
        self.speller_: Speller | None = None
        self.training_: dict = {}
        self._derived_cache: tuple | None = None
        self._lock = threading.Lock()

    # -- training -------------------------------------------------------------------------------
    def fit(self, catalog: Catalog, judgments: Judgments, *, threads: int | None = None,
            progress: ProgressCallback | None = None) -> ProductRetriever:
        """Train on judged pairs (positives: grade >= ``min_relevance``) and the catalog.

        ``progress`` receives one report per finished stage (as does the ``xmr`` logger) and
        the advance of XR-Linear's levels (see :mod:`xmr.progress`).
        """
        cfg = self.config
        t0 = time.perf_counter()
        threads = resolve_threads(threads)
        index = _catalog_index(catalog)
        queries, positives = positive_rows(judgments, index, cfg.min_relevance)
        self.speller_ = Speller().fit(catalog.titles) if cfg.spelling else None
        texts, label_lists = self._rows(queries, positives, catalog)
        vec = TfidfVectorizer(cfg.vectorizer).fit(texts, threads=threads)
        X_rows = vec.transform(texts, threads=threads)
        titles = vec.transform(catalog.titles, threads=threads)
        self.vectorizer_, self.title_features_ = vec, titles
        self.product_ids_, self.titles_ = list(catalog.ids), list(catalog.titles)
        self.label_product_ = np.arange(len(catalog.ids), dtype=np.int32)
        n_q = len(queries)
        _stage(progress, t0, f"features of {len(texts)} training rows")
        if cfg.method == "hybrid":
            self.bm25_ = Bm25Index(cfg.bm25).fit(catalog.titles)
            self.text_index_ = PostingIndex(titles, cfg.text_max_postings)
            _stage(progress, t0, f"BM25 and title indexes of {len(catalog.ids)} products")
            self.ranker_ = self._train_ranker(queries, X_rows, label_lists, judgments, index,
                                              threads, progress, t0)
        self.model_ = self._train_model(X_rows, label_lists, threads, progress)
        _stage(progress, t0, f"XR-Linear on {n_q} queries and {len(texts) - n_q} title rows")
        self.pifa_, self.popularity_ = _pifa(X_rows[:n_q], label_lists[:n_q], len(catalog.ids))
        self.translation_ = self._translation(X_rows[:n_q], label_lists[:n_q])
        self._derived_cache = None
        self.training_ = {"queries": n_q, "rows": len(texts), "products": len(catalog.ids),
                          "seconds": round(time.perf_counter() - t0, 2)}
        logger.info("retrieval: trained on %d queries, %d products in %.1f s", n_q,
                    len(catalog.ids), time.perf_counter() - t0)
        return self

    def _rows(self, queries: list[str], positives: list[list[int]], catalog: Catalog
              ) -> tuple[list[str], list[list[int]]]:
        texts, labels = list(queries), [list(p) for p in positives]
        if self.config.title_rows:
            has_title = [i for i, t in enumerate(catalog.titles) if t.strip()]
            texts += [catalog.titles[i] for i in has_title]
            labels += [[i] for i in has_title]
        if self.config.pseudo_queries:
            phrases, owners = _pseudo_queries(catalog.titles, self.config.pseudo_queries,
                                              self.config.ranker.seed)
            texts += phrases
            labels += [[i] for i in owners]
        if not texts:
            raise DataError("nothing to train on: no positive pairs and no titles")
        return texts, labels

    def _train_model(self, X_rows: sp.csr_matrix, label_lists: list[list[int]],
                     threads: int, progress: ProgressCallback | None = None) -> XLinearModel:
        n_products = self.title_features_.shape[0]
        Y = labels_from_lists(label_lists, n_labels=n_products)
        label_features = self.title_features_ if self.config.indexer.embedding != "pifa" \
            else None
        return XLinearModel(self.config.model_config()).fit(
            X_rows, Y, label_features=label_features, threads=threads, progress=progress)

    def _train_ranker(self, queries: list[str], X_rows: sp.csr_matrix,
                      label_lists: list[list[int]], judgments: Judgments,
                      index: dict[str, int], threads: int, progress, t0: float
                      ) -> TreeEnsemble:
        """Cross-fitted candidates of every training query, then lambdarank."""
        rcfg = self.config.ranker
        n_q = len(queries)
        rng = np.random.default_rng(rcfg.seed)
        fold_of = rng.permutation(n_q) % rcfg.folds
        grades = grades_by_query(judgments, index)
        parts, part_labels = [], []
        n_rows = X_rows.shape[0]
        for f in range(rcfg.folds):
            held = np.flatnonzero(fold_of == f)
            kept = np.concatenate([np.flatnonzero(fold_of != f), np.arange(n_q, n_rows)])
            model = self._train_model(X_rows[kept], [label_lists[i] for i in kept], threads,
                                      progress)
            train_q = np.flatnonzero(fold_of != f)
            pifa, pop = _pifa(X_rows[train_q], [label_lists[i] for i in train_q],
                              self.title_features_.shape[0])
            maker = self._feature_maker(pifa, pop)
            table = self._translation(X_rows[train_q], [label_lists[i] for i in train_q])
            texts = [queries[i] for i in held]
            cands = self._candidates_batch(texts, X_rows[held], model, self.label_product_,
                                           maker, self._expansion(table), threads)
            parts.append(cands)
            part_labels.append(candidate_labels(cands, texts, grades,
                                                 self.config.min_relevance))
            _stage(progress, t0, f"fold {f + 1}/{rcfg.folds}: XR-Linear and translations "
                                 f"without its "
                                 f"{held.shape[0]} queries, their candidates")
        cands = _concat(parts)
        labels = np.concatenate(part_labels)
        ranker = _ranker.train(cands, labels, rcfg, threads)
        _stage(progress, t0, f"ranker: {rcfg.n_trees} trees on {n_q} queries")
        return ranker

    def _translation(self, X_queries: sp.csr_matrix, label_lists: list[list[int]]
                     ) -> sp.csr_matrix | None:
        cfg = self.config
        if cfg.method != "hybrid" or cfg.expansion_candidates == 0:
            return None
        return translation_table(X_queries, label_lists, self.title_features_, self._word_end(),
                                 cfg.translation_width)

    def _expansion(self, table: sp.csr_matrix | None) -> QueryExpansion | None:
        if table is None:
            return None
        return QueryExpansion(table, self.config.expansion_terms)

    def _word_end(self) -> int:
        off = self.vectorizer_.block_offsets()
        return int(off[1]) if off.shape[0] > 2 else int(off[-1])

    def _corrected(self, queries: Sequence[str]) -> list[str]:
        speller = getattr(self, "speller_", None)
        return [speller.correct(q) for q in queries] if speller is not None else list(queries)

    # -- catalog updates ------------------------------------------------------------------------
    def update(self, *, add: Catalog | None = None, remove: Sequence[str] = (),
               retitle: Catalog | None = None, threads: int | None = None) -> ProductRetriever:
        """Add, remove and retitle products without retraining the models.

        New products are searchable at once through BM25 and the title cosine (the ranker sees
        them as products nobody searched for yet); a later ``fit`` gives them classifiers.
        Removed products are never returned again. Nothing changes when an argument is invalid.

        Parameters
        ----------
        add : products to add (ids must be new)
        remove : ids of products to remove (must exist)
        retitle : existing products with their new titles
        """
        self._check_fitted()
        add = add or Catalog([], [])
        retitle = retitle or Catalog([], [])
        old = {pid: i for i, pid in enumerate(self.product_ids_)}
        removed = list(remove)
        for what, ids in (("remove", removed), ("retitle", retitle.ids)):
            unknown = [p for p in ids if p not in old]
            if unknown:
                raise DataError(f"{what}: {len(unknown)} product id(s) are not in the catalog, "
                                f"e.g. {unknown[:5]}")
            if len(set(ids)) != len(ids):
                raise DataError(f"{what}: a product id is listed twice")
        clash = [p for p in add.ids if p in old and p not in set(removed)]
        if clash:
            raise DataError(f"add: {len(clash)} product id(s) are already in the catalog (use "
                            f"retitle), e.g. {clash[:5]}")
        if len(set(add.ids)) != len(add.ids):
            raise DataError("add: a product id is listed twice")
        t0 = time.perf_counter()
        keep = np.ones(len(self.product_ids_), dtype=bool)
        keep[[old[p] for p in removed]] = False
        titles = list(self.titles_)
        for pid, title in zip(retitle.ids, retitle.titles, strict=True):
            titles[old[pid]] = title
        kept = np.flatnonzero(keep)
        new_position = np.full(len(self.product_ids_), -1, dtype=np.int32)
        new_position[kept] = np.arange(kept.shape[0], dtype=np.int32)
        ids = [self.product_ids_[i] for i in kept] + list(add.ids)
        titles = [titles[i] for i in kept] + list(add.titles)
        if not ids:
            raise DataError("the update would leave an empty catalog")
        label_product = np.where(self.label_product_ >= 0,
                                 new_position[np.maximum(self.label_product_, 0)], -1)
        n_new = len(add.ids)
        self._set_catalog(ids, titles, label_product.astype(np.int32), kept, n_new, threads)
        logger.info("retrieval: catalog updated (+%d, -%d, %d retitled) in %.2f s", n_new,
                    len(removed), len(retitle.ids), time.perf_counter() - t0)
        return self

    def _set_catalog(self, ids: list[str], titles: list[str], label_product: np.ndarray,
                     kept: np.ndarray, n_new: int, threads: int | None) -> None:
        """Rebuild every catalog-side structure for a new list of products: ``kept`` are the
        old positions of its first products, then ``n_new`` new ones."""
        T = self.vectorizer_.transform(titles, threads=threads)
        if self.config.method == "hybrid":
            bm25 = Bm25Index(self.config.bm25).fit(titles)
            text_index = PostingIndex(T, self.config.text_max_postings)
            empty = sp.csr_matrix((n_new, self.pifa_.shape[1]), dtype=np.float32)
            pifa = sp.vstack([self.pifa_[kept], empty], format="csr")
            pop = np.concatenate([np.asarray(self.popularity_)[kept],
                                  np.zeros(n_new, dtype=np.int64)])
            self.bm25_, self.text_index_, self.pifa_, self.popularity_ = bm25, text_index, \
                pifa, pop
        if self.speller_ is not None:
            self.speller_ = Speller(self.speller_.min_count).fit(titles)
        self.product_ids_, self.titles_, self.title_features_ = ids, titles, T
        self.label_product_ = label_product
        self._derived_cache = None

    # -- the parts every query needs --------------------------------------------------------------
    def _check_fitted(self) -> XLinearModel:
        if self.model_ is None or self.vectorizer_ is None:
            raise NotFittedError("this ProductRetriever is not fitted; call fit() or load()")
        return self.model_

    def _feature_maker(self, pifa: sp.csr_matrix, pop: np.ndarray) -> FeatureMaker:
        titles = kernel_csr(self.title_features_)
        word_end = self._word_end()
        word_norm, char_norm = block_norms(titles, word_end)
        D = self.bm25_.doc_terms_
        side = ProductSide(titles, word_norm, char_norm, kernel_csr(pifa),
                           np.log1p(pop).astype(np.float32), kernel_csr(D),
                           np.diff(D.indptr).astype(np.float32))
        return FeatureMaker(side, word_end)

    def _derived(self) -> tuple[FeatureMaker | None, TextMatchReranker | None,
                                QueryExpansion | None]:
        """Structures built from the saved arrays on first use (once per loaded model)."""
        cached = self._derived_cache
        if cached is None:
            with self._lock:
                cached = self._derived_cache
                if cached is None:
                    maker = (self._feature_maker(self.pifa_, self.popularity_)
                             if self.config.method == "hybrid" else None)
                    reranker = (TextMatchReranker(self.title_features_,
                                                  self.config.title_match_weight)
                                if self.config.title_match_weight > 0 else None)
                    cached = self._derived_cache = (maker, reranker,
                                                    self._expansion(self.translation_))
        return cached

    # -- search ---------------------------------------------------------------------------------
    def search(self, query: str, top_k: int | None = None, *,
               beam_size: int | None = None) -> list[Hit]:
        """Top ``top_k`` products of one query (single-query path, featurization included).
        An empty or whitespace-only query, or one with no known term, returns ``[]``."""
        model = self._check_fitted()
        top_k = _check_top_k(top_k, self.config.predict.top_k)
        if not isinstance(query, str):
            raise DataError(f"query must be str; got {type(query).__name__}")
        query = query[:MAX_QUERY_CHARS]
        if self.speller_ is not None:
            query = self.speller_.correct(query)
        x = self.vectorizer_.transform_one(query)
        if self.config.method == "model":
            if x[0].shape[0] == 0:
                return []
            top = self._model_only_one(model, x, top_k, beam_size)
        else:
            top = self._hybrid_one(model, query, x, top_k, beam_size)
        ids, titles = self.product_ids_, self.titles_
        return [Hit(ids[i], titles[i], s) for i, s in zip(top.indices[:top_k].tolist(),
                                                         top.scores[:top_k].tolist(),
                                                         strict=True) if i >= 0]

    def _model_only_one(self, model: XLinearModel, x, top_k: int, beam_size) -> TopK:
        _, reranker, _ = self._derived()
        pool = max(top_k, self.config.rerank_candidates) if reranker else top_k
        top = model.predict_one(x, top_k=pool, beam_size=beam_size)
        top = _to_products(top, self.label_product_)
        return reranker.rerank_one(x, top) if reranker is not None else top

    def _hybrid_one(self, model: XLinearModel, query: str, x, top_k: int,
                    beam_size) -> TopK:
        cfg = self.config
        maker, _, expansion = self._derived()
        terms, weights, n_terms = self.bm25_.query_terms(query)
        if x[0].shape[0] == 0 and terms.shape[0] == 0:
            return TopK(np.zeros(0, np.int32), np.zeros(0, np.float32))
        lexical = self.bm25_.postings_.search_checked(terms, weights, cfg.bm25_candidates)
        empty = TopK(np.zeros(0, np.int32), np.zeros(0, np.float32))
        learned = textual = expanded = empty
        expand = _no_expansion(1)
        if x[0].shape[0]:
            learned = _to_products(model.predict_one(x, top_k=cfg.model_candidates,
                                                     beam_size=beam_size), self.label_product_)
            cols = x[0].astype(np.int64)
            if expansion is None:
                textual = self.text_index_.search_checked(cols, x[1], cfg.text_candidates)
            else:  # the pair search gives no expanded list when no word translates
                expand = expansion.one(x[0], x[1])
                kept = expand[0][0] >= 0
                textual, expanded = self.text_index_.search_pair_checked(
                    cols, x[1], expand[0][0][kept].astype(np.int64), expand[1][0][kept],
                    cfg.expansion_weight, cfg.text_candidates, cfg.expansion_candidates)
        widths = (max(1, min(cfg.bm25_candidates, self.bm25_.postings_.n_docs)),
                  min(cfg.model_candidates, model.n_labels_),
                  max(1, min(cfg.text_candidates, self.text_index_.n_docs)),
                  self._expansion_width())
        cands = maker.one((lexical, learned, textual, expanded), x, terms, n_terms, widths,
                          expand)
        return _ranked(cands.ids, self._rank(cands), top_k)

    def _expansion_width(self) -> int:
        """Length of the expansion source's lists in the batch path (0 without it)."""
        if self.translation_ is None:
            return 0
        return max(1, min(self.config.expansion_candidates, self.text_index_.n_docs))

    def _rank(self, cands: Candidates) -> np.ndarray:
        """Ranker scores of candidates (a format 2 ranker reads the features it knew)."""
        return self.ranker_.predict(cands.features[:, :self.ranker_.n_features])

    def search_batch(self, queries: Sequence[str], top_k: int | None = None, *,
                     beam_size: int | None = None, threads: int | None = None) -> TopK:
        """Top ``top_k`` product indices (positions in the catalog) of many queries, -1
        padded."""
        model = self._check_fitted()
        top_k = _check_top_k(top_k, self.config.predict.top_k)
        bad = next((i for i, q in enumerate(queries) if not isinstance(q, str)), None)
        if bad is not None:
            raise DataError(f"queries[{bad}] must be str; got {type(queries[bad]).__name__}")
        queries = self._corrected([q[:MAX_QUERY_CHARS] for q in queries])
        X = self.vectorizer_.transform(queries, threads=threads)
        if self.config.method == "model":
            _, reranker, _ = self._derived()
            pool = max(top_k, self.config.rerank_candidates) if reranker else top_k
            top = _to_products(model.predict(X, top_k=pool, beam_size=beam_size,
                                             threads=threads), self.label_product_)
            if reranker is not None:
                top = reranker.rerank(X, top)
            top = TopK(top.indices[:, :top_k], top.scores[:, :top_k])
            top.indices[np.diff(X.indptr) == 0] = -1  # no known term: nothing, as in search()
            return top
        maker, _, expansion = self._derived()
        cands = self._candidates_batch(queries, X, model, self.label_product_, maker,
                                       expansion, resolve_threads(threads), beam_size)
        return _ranked_batch(cands, self._rank(cands), top_k)

    def search_many(self, queries: Sequence[str], top_k: int | None = None, *,
                    beam_size: int | None = None, threads: int | None = None
                    ) -> list[list[Hit]]:
        """:meth:`search` of many queries at once (in parallel over ``threads``): the same
        hits, in the same order, as calling :meth:`search` on each query."""
        top = self.search_batch(queries, top_k, beam_size=beam_size, threads=threads)
        ids, titles = self.product_ids_, self.titles_
        return [[Hit(ids[i], titles[i], s) for i, s in zip(row.tolist(), scores.tolist(),
                                                           strict=True) if i >= 0]
                for row, scores in zip(top.indices, top.scores, strict=True)]

    def _candidates_batch(self, queries: Sequence[str], X: sp.csr_matrix,
                          model: XLinearModel, label_product: np.ndarray,
                          maker: FeatureMaker, expansion: QueryExpansion | None,
                          threads: int, beam_size: int | None = None) -> Candidates:
        cfg = self.config
        Q, n_terms = self.bm25_.query_matrix_and_lengths(queries)
        lexical = self.bm25_.postings_.search(Q, cfg.bm25_candidates, threads=threads)
        learned = _to_products(model.predict(X, top_k=cfg.model_candidates,
                                             beam_size=beam_size, threads=threads),
                               label_product)
        empty = np.diff(X.indptr) == 0  # no known n-gram: nothing from the vector sources
        learned.indices[empty] = -1
        n = X.shape[0]
        with num_threads(threads):
            if expansion is None:
                textual = self.text_index_.search(X, cfg.text_candidates)
                expanded = TopK(np.zeros((n, 0), np.int32), np.zeros((n, 0), np.float32))
                expand = _no_expansion(n)
            else:
                expand = expansion.batch(X)  # a row with no translated word: no expanded list
                textual, expanded = self.text_index_.search_pair(
                    X, expansion.as_matrix(*expand, X.shape[1]), cfg.expansion_weight,
                    cfg.text_candidates, cfg.expansion_candidates)
            Q.data[:] = 1.0  # the features need the terms, not their counts
            return maker.batch((lexical, learned, textual, expanded), X, Q, n_terms, expand)

    def evaluate(self, judgments: Judgments, *, beam_size: int | None = None,
                 threads: int | None = None, seen: Sequence[str] | None = None
                 ) -> dict[str, float]:
        """R@10, R@100, graded nDCG@10 and MRR over the distinct judged queries with a
        positive (see :func:`judged_matrices`).

        With ``seen`` (the ids of products that were training positives), R@10 and R@100 are
        also reported over the unseen and the seen positives separately (each over the queries
        that have such positives).
        """
        self._check_fitted()
        queries, Y, G = judged_matrices(judgments, self.product_ids_, self.config.min_relevance)
        top = self.search_batch(queries, top_k=100, beam_size=beam_size, threads=threads)
        out = evaluate(top, Y, ks=(10, 100), gains=G)
        result = {"R@10": out["R@10"], "R@100": out["R@100"], "nDCG@10": out["nDCG@10"],
                  "MRR": out["MRR"], "queries": len(queries)}
        if seen is not None:
            result.update(split_recall(top, Y, self.product_ids_, seen))
        return result

    def warmup(self) -> ProductRetriever:
        """Compile the search kernels for the loaded arrays and build the derived structures."""
        self._check_fitted()
        self.vectorizer_.warmup()
        self.model_.warmup()
        if self.config.method == "hybrid":
            self.bm25_.warmup()
            self.text_index_.warmup()
        if self.speller_ is not None:
            self.speller_.warmup()
        self.search("warm up")
        self.search_batch(["warm up"], top_k=1, threads=1)
        return self

    # -- persistence ----------------------------------------------------------------------------
    def state(self) -> State:
        self._check_fitted()
        children = {"vectorizer": self.vectorizer_, "xlinear": self.model_,
                    "titles": SparseMatrix(self.title_features_)}
        arrays = {"label_product": self.label_product_}
        if self.speller_ is not None:
            children["speller"] = self.speller_
        if self.config.method == "hybrid":
            children.update({"bm25": self.bm25_, "text_index": self.text_index_,
                             "pifa": SparseMatrix(self.pifa_), "ranker": self.ranker_})
            if self.translation_ is not None:
                children["translation"] = SparseMatrix(self.translation_)
            arrays["popularity"] = self.popularity_
        return State(children=children, arrays=arrays,
                     strings={"product_ids": self.product_ids_, "product_titles": self.titles_},
                     meta={"config": self.config.to_dict(), "n_products": len(self.titles_),
                           "training": self.training_})

    @classmethod
    def from_stored(cls, stored: Stored) -> ProductRetriever:
        if stored.version == 1:
            return _from_v1(cls, stored)
        obj = cls(stored.config(RetrieverConfig))
        n = stored.count("n_products")
        obj.product_ids_ = stored.strings("product_ids", n)
        obj.titles_ = stored.strings("product_titles", n)
        obj.vectorizer_ = stored.child("vectorizer", TfidfVectorizer)
        obj.model_ = stored.child("xlinear", XLinearModel)
        obj.title_features_ = stored.child("titles", SparseMatrix).matrix
        obj.label_product_ = np.asarray(stored.array("label_product", np.int32,
                                                     shape=(obj.model_.n_labels_,)))
        stored.check_range("label_product", obj.label_product_, -1, max(n, 1))
        n_features = obj.vectorizer_.n_features_
        stored.check(obj.model_.n_features_ == n_features,
                     "the vectorizer and the model disagree on the features")
        stored.check(obj.title_features_.shape == (n, n_features),
                     f"the title features have shape {obj.title_features_.shape}")
        if obj.config.method == "hybrid":
            obj.bm25_ = stored.child("bm25", Bm25Index)
            obj.text_index_ = stored.child("text_index", PostingIndex)
            obj.pifa_ = stored.child("pifa", SparseMatrix).matrix
            obj.popularity_ = stored.array("popularity", np.int64, shape=(n,))
            obj.ranker_ = stored.child("ranker", TreeEnsemble)
            stored.check(obj.bm25_.doc_terms_.shape[0] == n and obj.text_index_.n_docs == n
                         and obj.text_index_.n_terms == n_features
                         and obj.pifa_.shape == (n, n_features),
                         "the hybrid parts do not match the catalog")
            if stored.version >= 3 and obj.config.expansion_candidates > 0:
                obj.translation_ = stored.child("translation", SparseMatrix).matrix
                word_end = obj._word_end()
                stored.check(obj.translation_.shape == (word_end, word_end),
                             f"the translation table has shape {obj.translation_.shape}")
            features = len(FEATURES) if stored.version >= 3 else LEGACY_FEATURES
            stored.check(obj.ranker_.n_features == features,
                         "the ranker expects other features")
        obj.speller_ = stored.child("speller", Speller) if obj.config.spelling else None
        obj.training_ = stored.meta("training", dict, {})
        return obj


# -- helpers ---------------------------------------------------------------------------------------
def _stage(progress: ProgressCallback | None, t0: float, what: str) -> None:
    elapsed = time.perf_counter() - t0
    report(progress, logger, f"retrieval: {what} ({elapsed:.1f} s)", "retrieval", elapsed)


def _catalog_index(catalog: Catalog) -> dict[str, int]:
    return {pid: i for i, pid in enumerate(catalog.ids)}


def _pseudo_queries(titles: Sequence[str], per_title: int,
                    seed: int) -> tuple[list[str], list[int]]:
    """Up to ``per_title`` random windows of 2-3 consecutive words of each title of at least
    three words (the way people shorten a product name into a query)."""
    rng = np.random.default_rng(seed)
    phrases, owners = [], []
    for i, title in enumerate(titles):  # builds training text once per fit
        words = title.split()
        if len(words) < 3:
            continue
        for _ in range(per_title):
            n = int(rng.integers(2, 4))
            start = int(rng.integers(0, len(words) - n + 1))
            phrases.append(" ".join(words[start:start + n]))
            owners.append(i)
    return phrases, owners


def _pifa(X: sp.csr_matrix, label_lists: Sequence[Sequence[int]],
          n_products: int) -> tuple[sp.csr_matrix, np.ndarray]:
    """(L2-normalized centroid of each product's training queries, its count of them)."""
    Y = labels_from_lists(label_lists, n_labels=n_products)
    P = l2_normalize_rows((Y.T.tocsr() @ X).tocsr())
    return P, np.diff(Y.tocsc().indptr).astype(np.int64)


def _no_expansion(n: int) -> tuple[np.ndarray, np.ndarray]:
    return np.zeros((n, 0), np.int32), np.zeros((n, 0), np.float32)


def _concat(parts: list[Candidates]) -> Candidates:
    ptr = [np.zeros(1, dtype=np.int64)]
    base = 0
    for c in parts:
        ptr.append(c.ptr[1:] + base)
        base += c.ptr[-1]
    return Candidates(np.concatenate(ptr), np.concatenate([c.ids for c in parts]),
                      np.concatenate([c.features for c in parts]))


def _to_products(top: TopK, label_product: np.ndarray) -> TopK:
    """Model label ids -> catalog positions (-1 for labels whose product was removed), the
    valid ones first in each row."""
    if top.indices.ndim == 1:  # one query: drop what is not a product
        ids = label_product[top.indices[top.indices >= 0]]
        keep = ids >= 0
        return TopK(ids[keep], top.scores[:keep.shape[0]][keep])
    ids = np.where(top.indices >= 0, label_product[np.maximum(top.indices, 0)], -1)
    scores = np.where(ids >= 0, top.scores, -np.inf).astype(np.float32)
    order = np.argsort(ids < 0, axis=-1, kind="stable")
    return TopK(np.take_along_axis(ids, order, -1).astype(np.int32),
                np.take_along_axis(scores, order, -1))


def _ranked(ids: np.ndarray, scores: np.ndarray, top_k: int) -> TopK:
    order = np.argsort(-scores, kind="stable")[:top_k]
    return TopK(ids[order], scores[order].astype(np.float32))


def _ranked_batch(cands: Candidates, scores: np.ndarray, top_k: int) -> TopK:
    """Best ``top_k`` candidates of each query by ranker score (vectorized over all rows)."""
    n = cands.ptr.shape[0] - 1
    sizes = np.diff(cands.ptr)
    query = np.repeat(np.arange(n), sizes)
    order = np.lexsort((-scores, query))
    rank = np.arange(order.shape[0]) - np.repeat(cands.ptr[:-1], sizes)
    keep = order[rank < top_k]
    out_ids = np.full((n, top_k), -1, dtype=np.int32)
    out_scores = np.full((n, top_k), -np.inf, dtype=np.float32)
    out_ids[query[keep], rank[rank < top_k]] = cands.ids[keep]
    out_scores[query[keep], rank[rank < top_k]] = scores[keep]
    return TopK(out_ids, out_scores)


def _check_top_k(top_k: int | None, default: int) -> int:
    top_k = default if top_k is None else top_k
    if not isinstance(top_k, (int, np.integer)) or isinstance(top_k, bool) or not \
            1 <= top_k <= 100_000:
        raise DataError(f"top_k must be an integer in [1, 100000]; got {top_k!r}")
    return int(top_k)


def _from_v1(cls, stored: Stored) -> ProductRetriever:
    """Format 1 (xmr 0.1): a text2text child, title features and product_ids.txt; it answers
    with the ``model`` method."""
    from ..text2text.model import Text2Text

    old = dict(stored.meta("config", dict, {}))
    t2t = old.pop("text2text", {}) or {}
    model_cfg = t2t.get("model", {}) or {}
    old.update({k: model_cfg[k] for k in ("indexer", "solver", "predict") if k in model_cfg})
    if "vectorizer" in t2t:
        old["vectorizer"] = t2t["vectorizer"]
    old["method"] = "model"
    old["spelling"] = False
    obj = cls(RetrieverConfig.from_dict(old))
    pipe = stored.child("text2text", Text2Text)
    obj.vectorizer_, obj.model_, obj.titles_ = pipe.vectorizer_, pipe.model_, pipe.items_
    obj.product_ids_ = stored.text("product_ids.txt").split("\n")[:-1]
    stored.check(len(obj.product_ids_) == len(obj.titles_),
                 f"{len(obj.product_ids_)} product ids but {len(obj.titles_)} titles")
    obj.title_features_ = stored.child("titles", SparseMatrix).matrix
    obj.label_product_ = np.arange(len(obj.titles_), dtype=np.int32)
    return obj
