"""XR-Linear over past queries: (previous query, typed prefix) -> known queries.

Labels are the distinct training queries in lexicographic order, so the queries that extend a
prefix are one id range ``[lo, hi)``. With ``restrict="subtree"`` beam search only enters tree
nodes with an allowed label below them, and if it finds fewer than ``k`` of them, the most
popular remaining completions fill the list; ``restrict="post-filter"`` is the published method
(beam search over all labels, then keep those extending the prefix). Scores are multiplied by a
popularity prior ``(1 + count) ** popularity_weight``.

This was xmr 0.1's whole autocompleter; it is now the ``past`` method of
:class:`~xmr.apps.qac.completer.QueryAutocompleter` and, optionally, one feature of its ranker.
"""

from __future__ import annotations

import logging
import time
from typing import Any

import numpy as np

from ...index.trie import hybrid_tree, trie_tree
from ...linear.model import XLinearModel
from ...progress import ProgressCallback, report
from .data import Examples
from .features import QacFeaturizer
from .queries import Suggestion, top_popular

logger = logging.getLogger(__name__)


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


class PastModel:
    """The featurizer and XR-Linear model of the ``past`` method (see the module docstring).

    Parameters
    ----------
    config : the completer's QacConfig (tree, features, solver, prior, restrict knobs)
    """

    def __init__(self, config: Any, featurizer: QacFeaturizer | None = None,
                 model: XLinearModel | None = None) -> None:
        self.config = config
        self.featurizer = featurizer
        self.model = model

    def fit(self, examples: Examples, labels: list[str], label_of: np.ndarray,
            threads: int | None = None, progress: ProgressCallback | None = None) -> PastModel:
        """Train on examples whose targets are ``labels[label_of[i]]`` (``progress``: see
        :mod:`xmr.progress`)."""
        cfg = self.config
        t0 = time.perf_counter()
        previous, prefixes, label_of = _augment(examples, label_of, cfg.train_prefixes,
                                                cfg.indexer.seed)
        feat = QacFeaturizer(cfg.position_weight, cfg.use_previous).fit(
            previous, prefixes, labels, threads=threads)
        X = feat.transform(previous, prefixes, threads=threads)
        tree = None
        if cfg.tree == "trie":
            tree = trie_tree(labels, cfg.indexer.max_leaf_size)
        elif cfg.tree == "hybrid":
            emb = feat.prefix_vec.transform(labels, threads=threads)
            tree = hybrid_tree(labels, emb, cfg.trie_depth, cfg.indexer)
        shape = tree.level_sizes() if tree is not None else "k-means"
        report(progress, logger, f"qac: {X.shape[0]} examples, {len(labels)} queries, "
               f"{X.shape[1]} features, tree {shape} ({time.perf_counter() - t0:.2f} s)", "qac")
        Y = [[int(i)] for i in label_of]
        self.model = XLinearModel(cfg.model_config()).fit(X, Y, tree=tree, threads=threads,
                                                          progress=progress)
        self.featurizer = feat
        return self

    def scored(self, prefix: str, previous: str, lo: int, hi: int, k: int,
               counts: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:
        """(ids, scores x popularity prior), best first, of the known queries in ``[lo, hi)``
        the model ranks for this input; None when nothing of the input is known."""
        x = self.featurizer.transform_one(previous, prefix)
        if x[0].shape[0] == 0:
            return None
        cfg = self.config
        pool = max(k, cfg.candidates)
        model = self.model
        if cfg.restrict == "post-filter":
            top = model.predict_one(x, top_k=pool)
            keep = (top.indices >= lo) & (top.indices < hi)
            return self._prior(top.indices[keep], top.scores[keep], counts)
        mask = model.label_mask(np.arange(lo, hi)) if hi - lo < model.n_labels_ else None
        top = model.predict_one(x, top_k=pool, labels=mask)
        valid = top.indices >= 0
        ids, scores = top.indices[valid], top.scores[valid]
        if cfg.popularity_weight > 0:  # popular completions the beam missed compete too
            popular = np.array(top_popular(counts, lo, hi, k), dtype=np.int64)
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
        return self._prior(ids, scores, counts)

    def _prior(self, ids: np.ndarray, scores: np.ndarray,
               counts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Sort by model score times the popularity prior (ties: model order)."""
        weight = self.config.popularity_weight
        if weight > 0:
            scores = scores.astype(np.float64) * (1.0 + counts[ids]) ** weight
            order = np.argsort(-scores, kind="stable")
            ids, scores = ids[order], scores[order]
        return ids, scores

    def complete(self, prefix: str, previous: str, lo: int, hi: int, k: int,
                 labels: list[str], counts: np.ndarray) -> list[Suggestion]:
        """The ``past`` method's suggestions for a non-empty range ``[lo, hi)``."""
        scored = self.scored(prefix, previous, lo, hi, k, counts)
        if scored is None:  # nothing known about the input: popularity within the range
            return [Suggestion(labels[i], 0.0) for i in top_popular(counts, lo, hi, k)]
        ids, scores = scored
        out = [Suggestion(labels[i], float(s))
               for i, s in zip(ids[:k].tolist(), scores[:k].tolist(), strict=True)]
        want = min(k, hi - lo)
        if len(out) < want and self.config.restrict == "subtree":  # fill from popularity
            out += [Suggestion(labels[i], 0.0)
                    for i in top_popular(counts, lo, hi, want - len(out), ids.tolist())]
        return out

    def warmup(self) -> PastModel:
        self.featurizer.warmup()
        self.model.warmup()
        return self
