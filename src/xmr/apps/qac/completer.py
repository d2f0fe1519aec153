"""Session-aware query autocompletion: (previous query, typed prefix) -> full queries.

Labels are the distinct queries seen in training, numbered in lexicographic order, so the
queries that extend a prefix are one id range ``[lo, hi)`` found by binary search. The search is
restricted to that range (``restrict="subtree"``): beam search only enters tree nodes with an
allowed label below them, and if the beam still finds fewer than ``k`` of them, the most popular
remaining completions fill the list, so whenever ``k`` known queries extend the prefix, ``k``
suggestions come back and every suggestion starts with the prefix. ``restrict="post-filter"``
is the published method: beam search over all labels, then keep those starting with the prefix
(which may leave fewer than ``k``).
"""

from __future__ import annotations

import bisect
import logging
import time
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np

from ...config import Config, check_choice, check_range, field
from ...errors import DataError, NotFittedError
from ...index.config import IndexerConfig
from ...index.trie import hybrid_tree, trie_tree
from ...io.persist import Persistent, State, Stored, load_flat
from ...linear.config import PredictConfig, SolverConfig, XLinearConfig
from ...linear.model import XLinearModel
from ...text.vectorizer import TfidfVectorizer
from .data import MAX_QUERY_CHARS, Examples
from .features import QacFeaturizer

logger = logging.getLogger(__name__)

LABELS_FILE = "queries.txt"  # format 1 kept the queries and their counts in this file
TREES = ("trie", "hybrid", "kmeans")
MAX_INPUT_CHARS = MAX_QUERY_CHARS  # longer prefixes / previous queries are cut
_END = "\U0010ffff"  # sorts after every character: prefix + _END bounds the prefix's range


@dataclass(frozen=True, kw_only=True)
class QacConfig(Config):
    """Settings of a query autocompleter."""

    tree: str = field("trie", "label tree: trie, hybrid (trie + k-means), kmeans")
    trie_depth: int = field(2, "hybrid: characters of trie before k-means takes over")
    position_weight: str = field("inverse-position",
                                 "prefix n-gram weights: inverse-position or word-start")
    use_previous: bool = field(True, "use the previous query (False: prefix only)")
    restrict: str = field("subtree", "subtree (always k if k completions exist) or post-filter")
    popularity_weight: float = field(2.0, "rank by score * (1 + training count) ** this "
                                          "(experiments.tune_qac: 0/1/2/4 gave MRR@10 "
                                          ".1347/.1384/.1401/.1411 on AOL validation)")
    candidates: int = field(100, "labels taken from the beam before ranking, at least top_k")
    train_prefixes: int = field(1, "training rows per example: its prefix plus this many - 1 "
                                   "more prefixes of random length (seeded)")
    indexer: IndexerConfig = field(IndexerConfig(), "leaf size and k-means of the label tree "
                                                    "(max_leaf_size also bounds trie leaves)")
    solver: SolverConfig = field(SolverConfig(), "per-level linear models")
    predict: PredictConfig = field(PredictConfig(), "beam size and the default top_k")

    def validate(self) -> None:
        name = type(self).__name__
        check_choice(name, "tree", self.tree, TREES)
        check_range(name, "trie_depth", self.trie_depth, 0)
        check_choice(name, "position_weight", self.position_weight,
                     ("inverse-position", "word-start"))
        check_choice(name, "restrict", self.restrict, ("subtree", "post-filter"))
        check_range(name, "train_prefixes", self.train_prefixes, 1, 64)
        check_range(name, "popularity_weight", self.popularity_weight, 0.0)
        check_range(name, "candidates", self.candidates, 1)

    def model_config(self) -> XLinearConfig:
        return XLinearConfig(indexer=self.indexer, solver=self.solver, predict=self.predict)


class Suggestion(NamedTuple):
    """A completion and its score (filled-in popular completions score 0)."""

    query: str
    score: float


def prefix_range(labels: list[str], prefix: str) -> tuple[int, int]:
    """Ids ``[lo, hi)`` of the sorted ``labels`` that start with ``prefix``."""
    lo = bisect.bisect_left(labels, prefix)
    hi = bisect.bisect_left(labels, prefix + _END, lo)
    return lo, hi


def top_popular(counts: np.ndarray, lo: int, hi: int, k: int, exclude=()) -> list[int]:
    """Up to ``k`` ids in ``[lo, hi)`` by decreasing count (ties: lower id), skipping
    ``exclude``."""
    need = k + len(exclude)
    seg = counts[lo:hi]
    if seg.shape[0] > need:
        part = np.argpartition(-seg, need - 1)[:need]
        order = part[np.lexsort((part, -seg[part]))]
    else:
        order = np.lexsort((np.arange(seg.shape[0]), -seg))
    skip = set(exclude)
    return [lo + int(i) for i in order if lo + int(i) not in skip][:k]


def _augment(examples: Examples, label_of: np.ndarray, n: int, seed: int):
    """Each example's own row plus ``n - 1`` rows with other prefixes of its target (lengths
    uniform in 1..len, seeded): a query is typed at many lengths, the model should see that."""
    if n == 1:
        return examples.previous, examples.prefix, label_of
    rng = np.random.default_rng(seed + 1)
    lengths = np.fromiter(map(len, examples.target), dtype=np.int64, count=len(examples.target))
    cuts = rng.integers(1, lengths[:, None] + 1, size=(lengths.shape[0], n - 1))
    previous = list(examples.previous)
    prefixes = list(examples.prefix)
    for j in range(n - 1):  # builds training text once per fit
        previous += examples.previous
        prefixes += [t[:c] for t, c in zip(examples.target, cuts[:, j].tolist(), strict=True)]
    return previous, prefixes, np.tile(label_of, n)


class QueryAutocompleter(Persistent):
    """Suggest full queries from the previous query and the typed prefix."""

    format_name = "xmr.qac"
    format_version = 2  # 2: queries and counts stored as arrays, flat config

    def __init__(self, config: QacConfig | None = None) -> None:
        self.config = config or QacConfig()
        self.labels_: list[str] | None = None
        self.counts_: np.ndarray | None = None
        self.featurizer_: QacFeaturizer | None = None
        self.model_: XLinearModel | None = None
        #: what training saw (examples, queries, seconds; the CLI adds the log split used)
        self.training_: dict = {}

    # -- training -------------------------------------------------------------------------------
    def fit(self, examples: Examples, *, threads: int | None = None) -> QueryAutocompleter:
        """Train on (previous, prefix, target) examples; labels = the distinct targets."""
        cfg = self.config
        if not examples.target:
            raise DataError("no training examples")
        lengths = np.fromiter(map(len, examples.target), dtype=np.int64,
                              count=len(examples.target))
        if lengths.max() > MAX_QUERY_CHARS:
            i = int(np.argmax(lengths))
            raise DataError(f"example {i}: its target query has {lengths[i]} characters, more "
                            f"than {MAX_QUERY_CHARS}; drop such examples (read_queries skips "
                            "them)")
        labels, inverse, counts = np.unique(np.asarray(examples.target, dtype=object),
                                            return_inverse=True, return_counts=True)
        labels = labels.tolist()
        if labels[0] == "":
            raise DataError("a target query is empty")
        t0 = time.perf_counter()
        previous, prefixes, inverse = _augment(examples, inverse, cfg.train_prefixes,
                                               cfg.indexer.seed)
        feat = QacFeaturizer(cfg.position_weight, cfg.use_previous).fit(
            previous, prefixes, labels, threads=threads)
        X = feat.transform(previous, prefixes, threads=threads)
        Y = [[int(i)] for i in inverse]
        tree = None
        if cfg.tree == "trie":
            tree = trie_tree(labels, cfg.indexer.max_leaf_size)
        elif cfg.tree == "hybrid":
            emb = feat.prefix_vec.transform(labels, threads=threads)
            tree = hybrid_tree(labels, emb, cfg.trie_depth, cfg.indexer)
        logger.info("qac: %d examples, %d queries, %d features, tree %s (%.2f s)",
                    X.shape[0], len(labels), X.shape[1],
                    tree.level_sizes() if tree is not None else "k-means",
                    time.perf_counter() - t0)
        self.model_ = XLinearModel(cfg.model_config()).fit(X, Y, tree=tree, threads=threads)
        self.labels_, self.counts_, self.featurizer_ = labels, counts.astype(np.int64), feat
        self.training_ = {"examples": len(examples.target), "queries": len(labels),
                          "seconds": round(time.perf_counter() - t0, 3)}
        return self

    def _check_fitted(self) -> None:
        if self.model_ is None:
            raise NotFittedError("this QueryAutocompleter is not fitted; call fit() or load()")

    # -- completion -----------------------------------------------------------------------------
    def complete(self, prefix: str, previous: str = "", top_k: int | None = None
                 ) -> list[Suggestion]:
        """Up to ``top_k`` suggestions (default ``predict.top_k``), best first, each starting
        with ``prefix``.

        An empty prefix ranks all known queries (by the previous query when there is one);
        a prefix that no known query extends returns ``[]``; inputs longer than 1000 characters
        are cut; lower-casing and Unicode normalization follow the featurizer (NFKC), but the
        prefix match itself is exact.
        """
        self._check_fitted()
        if not isinstance(prefix, str) or not isinstance(previous, str):
            raise DataError("prefix and previous query must be str")
        k = self.config.predict.top_k if top_k is None else top_k
        if not isinstance(k, (int, np.integer)) or isinstance(k, bool) or k < 1:
            raise DataError(f"top_k must be a positive integer; got {k!r}")
        prefix = prefix[:MAX_INPUT_CHARS]
        previous = previous[:MAX_INPUT_CHARS]
        labels = self.labels_
        lo, hi = prefix_range(labels, prefix)
        if lo == hi:
            return []
        x = self.featurizer_.transform_one(previous, prefix)
        if x[0].shape[0] == 0:  # nothing known about the input: popularity within the range
            return [Suggestion(labels[i], 0.0) for i in top_popular(self.counts_, lo, hi, k)]
        pool = max(k, self.config.candidates)
        model = self.model_
        if self.config.restrict == "post-filter":
            top = model.predict_one(x, top_k=pool)
            keep = (top.indices >= lo) & (top.indices < hi)
            return self._ranked(top.indices[keep], top.scores[keep], k)
        mask = model.label_mask(np.arange(lo, hi)) if hi - lo < len(labels) else None
        top = model.predict_one(x, top_k=pool, labels=mask)
        valid = top.indices >= 0
        ids, scores = top.indices[valid], top.scores[valid]
        if self.config.popularity_weight > 0:  # popular completions the beam missed compete too
            popular = np.array(top_popular(self.counts_, lo, hi, k), dtype=np.int64)
            missing = popular[~np.isin(popular, ids)]
            if missing.shape[0]:
                # beam search restricted to these few labels keeps all their paths, so it
                # returns their exact scores through the low-overhead single-query path
                beam = max(missing.shape[0], model.config.predict.beam_size)
                extra = model.predict_one(x, top_k=missing.shape[0], beam_size=beam,
                                          labels=model.label_mask(missing))
                got = extra.indices >= 0
                ids = np.concatenate([ids, extra.indices[got]])
                scores = np.concatenate([scores, extra.scores[got]])
        out = self._ranked(ids, scores, k)
        want = min(k, hi - lo)
        if len(out) < want:  # the beam missed: fill with the most popular completions
            out += [Suggestion(labels[i], 0.0)
                    for i in top_popular(self.counts_, lo, hi, want - len(out), ids.tolist())]
        return out

    def _ranked(self, ids: np.ndarray, scores: np.ndarray, k: int) -> list[Suggestion]:
        """Best ``k`` by model score times the popularity prior (ties: model order)."""
        if self.config.popularity_weight > 0:
            prior = (1.0 + self.counts_[ids]) ** self.config.popularity_weight
            final = scores.astype(np.float64) * prior
            order = np.argsort(-final, kind="stable")[:k]
            ids, scores = ids[order], final[order]
        labels = self.labels_
        return [Suggestion(labels[i], float(s))
                for i, s in zip(ids[:k].tolist(), scores[:k].tolist(), strict=True)]

    def warmup(self) -> QueryAutocompleter:
        """Compile the featurization and search kernels for the loaded arrays."""
        self._check_fitted()
        self.featurizer_.warmup()
        self.model_.warmup()
        self.complete(self.labels_[0][:1], self.labels_[0])
        return self

    # -- persistence ----------------------------------------------------------------------------
    def state(self) -> State:
        self._check_fitted()
        return State(children={"xlinear": self.model_, "features": self.featurizer_},
                     strings={"queries": self.labels_}, arrays={"counts": self.counts_},
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
            obj = cls(stored.config(QacConfig))
            n = stored.count("n_queries")
            labels = stored.strings("queries", n)
            counts = np.array(stored.array("counts", np.int64, shape=(n,)))
            features = stored.child("features", QacFeaturizer)
        obj.model_ = stored.child("xlinear", XLinearModel)
        stored.check(len(labels) == obj.model_.n_labels_,
                     f"{len(labels)} queries but the model has {obj.model_.n_labels_} labels")
        stored.check(bool(labels) and labels == sorted(labels) and labels[0] != "",
                     "the queries are not sorted, distinct and non-empty")
        stored.check(bool(np.all(counts >= 1)), "a query count is below 1")
        stored.check(features.n_features == obj.model_.n_features_,
                     f"the features have {features.n_features} columns, the model "
                     f"{obj.model_.n_features_}")
        obj.labels_, obj.counts_, obj.featurizer_ = labels, counts, features
        obj.training_ = stored.meta("training", dict, {})
        return obj


def _config_v1(stored: Stored) -> QacConfig:
    """Format 1: ``indexer`` named the tree, ``max_leaf_size`` and ``model`` were separate."""
    old = dict(stored.meta("config", dict, {}))
    model = old.pop("model", {}) or {}
    tree = old.pop("indexer", "trie")
    leaf = old.pop("max_leaf_size", None)
    new = {**old, "tree": tree, **{k: model[k] for k in ("solver", "predict") if k in model}}
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
