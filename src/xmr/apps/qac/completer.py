"""Session-aware query autocompletion: (previous query, typed prefix) -> full queries.

Two methods:

- ``generated`` (default): candidates from the log's past queries *and* generated ones (the
  typed text itself, completions of the word being typed, those extended by frequent query
  tails and next words, words of the previous query; ``generate``), ranked by a LightGBM
  lambdarank model over count, n-gram language-model, length and session features, trained on
  a validation part cut from the end of the training examples. It completes queries nobody
  typed before;
- ``past``: xmr 0.1's method, XR-Linear over past queries (``past``), which can only suggest
  queries seen in training.

Every suggestion starts with the typed prefix exactly (inputs are cut to 1,000 characters),
suggestions are distinct, and ``top_k`` of them come back whenever that many candidates exist.
The typed text itself is always a candidate of the ``generated`` method (unless it is empty or
ends with a space), so an unknown prefix gets itself back. Text is matched as typed: the
``past`` method's features lower-case and normalize it, the ``generated`` method's lexicon does
not (a log is usually normalized already, as the AOL file is).
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass

import numpy as np

from ..._threads import resolve_threads
from ...config import Config, check_choice, check_range, field
from ...errors import ConfigError, DataError, NotFittedError
from ...index.config import IndexerConfig
from ...io.persist import Persistent, State, Stored, load_flat
from ...lexical.speller import Speller
from ...linear.config import PredictConfig, SolverConfig, XLinearConfig
from ...linear.model import XLinearModel
from ...progress import JobProgress, ProgressCallback, report
from ...text.vectorizer import TfidfVectorizer
from ...trees import TreeEnsemble, fit_lambdarank
from .data import MAX_QUERY_CHARS, Examples
from .features import QacFeaturizer
from .generate import (
    FEATURES,
    FEATURES_V3,
    FEATURES_V4,
    FEATURES_V5,
    SOURCES,
    Featurizer,
    GeneratorConfig,
    generate,
)
from .lexicon import Lexicon, strictly_sorted
from .past import PastModel
from .queries import Suggestion, prefix_range, top_popular

logger = logging.getLogger(__name__)

LABELS_FILE = "queries.txt"  # format 1 kept the queries and their counts in this file
TREES = ("trie", "hybrid", "kmeans")
METHODS = ("generated", "past")
MAX_INPUT_CHARS = MAX_QUERY_CHARS  # longer prefixes / previous queries are cut
#: a word of the log seen this often is known to the speller of previous queries (rarer words
#: are mostly typos, and their corrections)
_SPELLER_MIN_COUNT = 2


@dataclass(frozen=True, kw_only=True)
class QacRankerConfig(Config):
    """The learned ranker of the ``generated`` method."""

    validation: float = field(0.2, "share of the training examples (the last ones, as in a "
                                   "log) whose candidates train the ranker")
    n_trees: int = field(150, "boosting rounds")
    learning_rate: float = field(0.1, "shrinkage")
    num_leaves: int = field(31, "leaves per tree")
    min_data_in_leaf: int = field(50, "smallest leaf")
    truncation: int = field(10, "lambdarank: pairs are formed with the top this many")
    prefixes: int = field(1, "ranker examples per training example: its prefix plus this "
                             "many - 1 more of random length (seeded)")
    seed: int = field(0, "LightGBM's seed")

    def validate(self) -> None:
        name = type(self).__name__
        check_range(name, "validation", self.validation, 0.0, 0.9, low_open=True)
        check_range(name, "n_trees", self.n_trees, 1)
        check_range(name, "learning_rate", self.learning_rate, 0.0, low_open=True)
        check_range(name, "num_leaves", self.num_leaves, 2)
        check_range(name, "min_data_in_leaf", self.min_data_in_leaf, 1)
        check_range(name, "truncation", self.truncation, 1)
        check_range(name, "prefixes", self.prefixes, 1, 16)


@dataclass(frozen=True, kw_only=True)
class QacConfig(Config):
    """Settings of a query autocompleter."""

    method: str = field("generated", "generated (past and generated candidates, learned "
                                      "ranker) or past (XR-Linear over past queries only)")
    sources: str = field(",".join(SOURCES), "generated: candidate sources used, of "
                                            + ", ".join(SOURCES))
    generator: GeneratorConfig = field(GeneratorConfig(), "generated: candidates per source")
    ranker: QacRankerConfig = field(QacRankerConfig(), "generated: the learned ranker")
    model_feature: bool = field(False, "generated: also train the past method's XR-Linear "
                                       "model and give its score to the ranker")
    tree: str = field("trie", "past: label tree: trie, hybrid (trie + k-means), kmeans")
    trie_depth: int = field(2, "past, hybrid tree: characters of trie before k-means")
    position_weight: str = field("inverse-position",
                                 "past: prefix n-gram weights: inverse-position or word-start")
    use_previous: bool = field(True, "past: use the previous query (False: prefix only)")
    restrict: str = field("subtree", "past: subtree (k suggestions if k completions exist) or "
                                     "post-filter")
    popularity_weight: float = field(2.0, "past: rank by score * (1 + training count) ** "
                                          "this")
    candidates: int = field(100, "past: labels taken from the beam before ranking")
    train_prefixes: int = field(1, "past: training rows per example: its prefix plus this "
                                   "many - 1 more prefixes of random length (seeded)")
    indexer: IndexerConfig = field(IndexerConfig(), "past: leaf size and k-means of the label "
                                                    "tree (max_leaf_size also bounds tries)")
    solver: SolverConfig = field(SolverConfig(), "past: per-level linear models")
    predict: PredictConfig = field(PredictConfig(), "beam size and the default top_k")

    def validate(self) -> None:
        name = type(self).__name__
        check_choice(name, "method", self.method, METHODS)
        for s in self.source_set():
            check_choice(name, "sources", s, SOURCES)
        check_choice(name, "tree", self.tree, TREES)
        check_range(name, "trie_depth", self.trie_depth, 0)
        check_choice(name, "position_weight", self.position_weight,
                     ("inverse-position", "word-start"))
        check_choice(name, "restrict", self.restrict, ("subtree", "post-filter"))
        check_range(name, "train_prefixes", self.train_prefixes, 1, 64)
        check_range(name, "popularity_weight", self.popularity_weight, 0.0)
        check_range(name, "candidates", self.candidates, 1)

    def source_set(self) -> frozenset[str]:
        return frozenset(s.strip() for s in self.sources.split(",") if s.strip())

    def model_config(self) -> XLinearConfig:
        return XLinearConfig(indexer=self.indexer, solver=self.solver, predict=self.predict)


class QueryAutocompleter(Persistent):
    """Suggest full queries from the previous query and the typed prefix."""

    format_name = "xmr.qac"
    # 2: flat config, queries as strings; 3: methods, lexicon and ranker; 4: word pieces (a
    # source and two features); 5: previous-query rewrites (a source and its feature); 6: edits
    # of the previous query and word endings (two sources, three features)
    format_version = 6

    def __init__(self, config: QacConfig | None = None) -> None:
        self.config = config or QacConfig()
        self.labels_: list[str] | None = None
        self.counts_: np.ndarray | None = None
        self.lexicon_: Lexicon | None = None
        self.ranker_: TreeEnsemble | None = None
        self.past_: PastModel | None = None
        #: what training saw (examples, queries, seconds; the CLI adds the log split used)
        self.training_: dict = {}
        self._featurizer: Featurizer | None = None
        self._speller: Speller | None = None  # corrects previous queries (the edit source)

    # -- training -------------------------------------------------------------------------------
    def fit(self, examples: Examples, *, threads: int | None = None,
            progress: ProgressCallback | None = None) -> QueryAutocompleter:
        """Train on (previous, prefix, target) examples in log order (``progress``: receives
        the training's progress reports, see :mod:`xmr.progress`)."""
        cfg = self.config
        _check_examples(examples)
        t0 = time.perf_counter()
        threads = resolve_threads(threads)
        if cfg.method == "generated":
            n_val = max(1, int(len(examples.target) * cfg.ranker.validation))
            if n_val >= len(examples.target):
                raise DataError("too few training examples to cut a validation part")
            head = Examples(*(part[:-n_val] for part in examples))
            val = Examples(*(part[-n_val:] for part in examples))
            self._set_log(head, threads, progress)
            self.ranker_ = self._train_ranker(val, threads, progress)
            report(progress, logger, f"qac: ranker trained on {n_val} examples "
                   f"({time.perf_counter() - t0:.1f} s)", "qac ranker")
        self._set_log(examples, threads, progress)
        self.training_ = {"examples": len(examples.target), "queries": len(self.labels_),
                          "seconds": round(time.perf_counter() - t0, 3)}
        return self

    def _set_log(self, examples: Examples, threads: int,
                 progress: ProgressCallback | None = None) -> None:
        """Known queries, their counts, the lexicon and (when used) the past model."""
        labels, inverse, counts = np.unique(np.asarray(examples.target, dtype=object),
                                            return_inverse=True, return_counts=True)
        self.labels_, self.counts_ = labels.tolist(), counts.astype(np.int64)
        needs_past = self.config.method == "past" or self.config.model_feature
        self.past_ = (PastModel(self.config).fit(examples, self.labels_, inverse, threads,
                                                 progress) if needs_past else None)
        if self.config.method == "generated":
            self.lexicon_ = Lexicon().fit(self.labels_, self.counts_.tolist())
        self._featurizer = None
        self._speller = None

    def _train_ranker(self, val: Examples, threads: int,
                      progress: ProgressCallback | None = None) -> TreeEnsemble:
        rc = self.config.ranker
        if rc.prefixes > 1:  # more prefixes of the same targets: more (and harder) groups
            rng = np.random.default_rng(rc.seed)
            more = rc.prefixes - 1
            targets = list(val.target) * more
            val = Examples(list(val.previous) * (more + 1),
                           list(val.prefix) + [t[:int(rng.integers(1, len(t) + 1))]
                                               for t in targets],
                           list(val.target) + targets)
        rows, labels, sizes = [], [], []
        n = len(val.target)
        tracker = JobProgress(progress, "qac ranker candidates", np.ones(n), unit="examples")
        for i, (prev, prefix, target) in enumerate(zip(val.previous, val.prefix, val.target,
                                                       strict=True)):
            texts, F = self._candidates(prefix, prev)  # the real-time path, one example each
            rows.append(F)
            labels.append(np.fromiter((t == target for t in texts), dtype=np.int32,
                                      count=len(texts)))
            sizes.append(len(texts))
            tracker.jobs_done(i, i + 1)
        return fit_lambdarank(np.vstack(rows), np.concatenate(labels), np.array(sizes),
                              feature_names=FEATURES, n_trees=rc.n_trees,
                              learning_rate=rc.learning_rate, num_leaves=rc.num_leaves,
                              min_data_in_leaf=rc.min_data_in_leaf, truncation=rc.truncation,
                              threads=threads, seed=rc.seed)

    def _check_fitted(self) -> None:
        if self.labels_ is None or (self.config.method == "past" and self.past_ is None) or \
                (self.config.method == "generated" and self.lexicon_ is None):
            raise NotFittedError("this QueryAutocompleter is not fitted; call fit() or load()")

    # -- completion -----------------------------------------------------------------------------
    def complete(self, prefix: str, previous: str = "", top_k: int | None = None
                 ) -> list[Suggestion]:
        """Up to ``top_k`` suggestions (default ``predict.top_k``), best first, each starting
        with ``prefix``; see the module docstring for the guarantees."""
        self._check_fitted()
        if not isinstance(prefix, str) or not isinstance(previous, str):
            raise DataError("prefix and previous query must be str")
        k = self.config.predict.top_k if top_k is None else top_k
        if not isinstance(k, (int, np.integer)) or isinstance(k, bool) or not 1 <= k <= 10_000:
            raise DataError(f"top_k must be an integer in [1, 10000]; got {k!r}")
        prefix = prefix[:MAX_INPUT_CHARS]
        previous = previous[:MAX_INPUT_CHARS]
        if self.config.method == "past":
            lo, hi = prefix_range(self.labels_, prefix)
            if lo == hi:
                return []
            return self.past_.complete(prefix, previous, lo, hi, k, self.labels_, self.counts_)
        texts, F = self._candidates(prefix, previous)
        if not texts:
            return []
        scores = self.ranker_.predict(F[:, :self.ranker_.n_features])  # format 3: a prefix
        order = np.argsort(-scores, kind="stable")[:k]
        return [Suggestion(texts[i], float(scores[i])) for i in order.tolist()]

    def _candidates(self, prefix: str, previous: str) -> tuple[list[str], np.ndarray]:
        """Candidates of one input and their feature rows."""
        if self._featurizer is None:
            self._featurizer = Featurizer(self.lexicon_, self.labels_, self.counts_)
        cfg = self.config
        sources = cfg.source_set()
        corrected = ""
        if previous and "edit" in sources:
            if self._speller is None:
                self._speller = Speller.from_counts(self.lexicon_.words,
                                                    self.lexicon_.word_count.tolist(),
                                                    _SPELLER_MIN_COUNT)
            corrected = self._speller.correct(previous)  # lower-cased by the speller
            if corrected == previous.lower():  # no word corrected: no second variant
                corrected = ""
        lo, hi = prefix_range(self.labels_, prefix)
        past = np.array(top_popular(self.counts_, lo, hi, cfg.generator.past), dtype=np.int64) \
            if "past" in sources else np.zeros(0, dtype=np.int64)
        cands = generate(self.lexicon_, past, self.labels_, prefix, previous, cfg.generator,
                         sources, corrected)
        if not cands.texts:
            return [], np.zeros((0, len(FEATURES)), dtype=np.float32)
        model_score: dict[str, float] = {}
        if self.past_ is not None and hi > lo:
            scored = self.past_.scored(prefix, previous, lo, hi, cfg.generator.past,
                                       self.counts_)
            if scored is not None:
                ids, scores = scored
                model_score = {self.labels_[i]: float(s) for i, s in
                               zip(ids[:cfg.generator.past].tolist(),
                                   np.log1p(np.maximum(scores[:cfg.generator.past], 0)).tolist(),
                                   strict=True)}
        past_rank = {self.labels_[i]: r for r, i in enumerate(past.tolist())}
        return cands.texts, self._featurizer.features(cands, prefix, previous, past_rank,
                                                      model_score, (lo, hi))

    def warmup(self) -> QueryAutocompleter:
        """Compile the kernels and build the lookup tables for the loaded arrays."""
        self._check_fitted()
        if self.past_ is not None:
            self.past_.warmup()
        if self.lexicon_ is not None:
            self.lexicon_.warmup()
        self.complete(self.labels_[0][:1], self.labels_[0])
        self.complete(self.labels_[0][:2] + " ", "")
        if self._speller is not None:
            self._speller.warmup()
        return self

    # -- persistence ----------------------------------------------------------------------------
    def state(self) -> State:
        self._check_fitted()
        children: dict = {}
        if self.past_ is not None:
            children.update({"xlinear": self.past_.model, "features": self.past_.featurizer})
        if self.config.method == "generated":
            children.update({"lexicon": self.lexicon_, "ranker": self.ranker_})
        return State(children=children, strings={"queries": self.labels_},
                     arrays={"counts": self.counts_},
                     meta={"config": self.config.to_dict(), "n_queries": len(self.labels_),
                           "training": self.training_})

    @classmethod
    def from_stored(cls, stored: Stored) -> QueryAutocompleter:
        if stored.version == 1:
            obj = cls(_config_v1(stored))
            rows = stored.text(LABELS_FILE).split("\n")[:-1]
            pairs = [r.rsplit("\t", 1) for r in rows]
            stored.check(all(len(p) == 2 and p[1].isdigit() for p in pairs),
                         f"{LABELS_FILE}: malformed line")
            labels = [q for q, _ in pairs]
            counts = np.array([int(n) for _, n in pairs], dtype=np.int64)
            features = _featurizer_v1(stored, obj.config)
        else:
            if stored.version == 2:  # format 2 had one method, today's "past"
                old = stored.meta("config", dict, {})
                try:
                    obj = cls(QacConfig.from_dict({**old, "method": "past"}))
                except ConfigError as exc:
                    raise stored.error(f"invalid config ({exc})") from None
            else:
                obj = cls(stored.config(QacConfig))
            n = stored.count("n_queries")
            labels = stored.strings("queries", n)
            counts = np.array(stored.array("counts", np.int64, shape=(n,)))
            features = (stored.child("features", QacFeaturizer)
                        if obj.config.method == "past" or obj.config.model_feature else None)
        stored.check(bool(labels) and labels[0] != "" and strictly_sorted(labels),
                     "the queries are not sorted, distinct and non-empty")
        # counts are summed over prefix ranges and log-transformed: each at least 1, and the
        # total far from overflowing int64
        stored.check(bool(np.all(counts >= 1)), "a query count is below 1")
        stored.check(int(counts.max()) <= 2**62 // max(len(labels), 1),
                     "a query count is too large (the total would overflow)")
        if features is not None:
            model = stored.child("xlinear", XLinearModel)
            stored.check(len(labels) == model.n_labels_,
                         f"{len(labels)} queries but the model has {model.n_labels_} labels")
            stored.check(features.n_features == model.n_features_,
                         f"the features have {features.n_features} columns, the model "
                         f"{model.n_features_}")
            obj.past_ = PastModel(obj.config, features, model)
        if obj.config.method == "generated":
            obj.lexicon_ = stored.child("lexicon", Lexicon)
            obj.ranker_ = stored.child("ranker", TreeEnsemble)
            expected = {3: FEATURES_V3, 4: FEATURES_V4, 5: FEATURES_V5}.get(stored.version,
                                                                            len(FEATURES))
            stored.check(obj.ranker_.n_features == expected,
                         "the ranker expects other features")
        obj.labels_, obj.counts_ = labels, counts
        obj.training_ = stored.meta("training", dict, {})
        return obj


def _check_examples(examples: Examples) -> None:
    if not examples.target:
        raise DataError("no training examples")
    lengths = np.fromiter(map(len, examples.target), dtype=np.int64, count=len(examples.target))
    if lengths.max() > MAX_QUERY_CHARS:
        i = int(np.argmax(lengths))
        raise DataError(f"example {i}: its target query has {lengths[i]} characters, more than "
                        f"{MAX_QUERY_CHARS}; drop such examples (read_queries skips them)")
    if lengths.min() == 0:
        raise DataError(f"example {int(np.argmin(lengths))}: its target query is empty")


def _config_v1(stored: Stored) -> QacConfig:
    """Format 1: ``indexer`` named the tree, ``max_leaf_size`` and ``model`` were separate,
    and the method was ``past``."""
    old = dict(stored.meta("config", dict, {}))
    model = old.pop("model", {}) or {}
    tree = old.pop("indexer", "trie")
    leaf = old.pop("max_leaf_size", None)
    new = {**old, "tree": tree, "method": "past",
           **{k: model[k] for k in ("solver", "predict") if k in model}}
    indexer = dict(model.get("indexer", {}) or {})
    if leaf is not None:
        indexer["max_leaf_size"] = leaf
    new["indexer"] = indexer
    return QacConfig.from_dict(new)


def _featurizer_v1(stored: Stored, config: QacConfig) -> QacFeaturizer:
    """Format 1 saved the two vectorizers under ``features/`` without a manifest."""
    feat = QacFeaturizer(config.position_weight, config.use_previous)
    base = stored.path / "features"
    feat.prefix_vec = load_flat(base / "prefix", mmap=stored.mmap, expect=TfidfVectorizer)
    if config.use_previous:
        feat.previous_vec = load_flat(base / "previous", mmap=stored.mmap,
                                      expect=TfidfVectorizer)
    return feat
