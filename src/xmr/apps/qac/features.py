"""Features of (previous query, typed prefix): word TF-IDF of the previous query stacked with
position-weighted character n-gram TF-IDF of the prefix (ANCHORS.md section 4)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import scipy.sparse as sp

from ...errors import DataError
from ...io.persist import Persistent, State, Stored
from ...sparse import l2_normalize_rows
from ...text.config import BlockConfig, TfidfConfig
from ...text.vectorizer import TfidfVectorizer


def prefix_config(position_weight: str) -> TfidfConfig:
    """Character 1-3-grams over the whole typed text, weighted by ``position_weight``."""
    return TfidfConfig(blocks=(BlockConfig(kind="prefix", min_n=1, max_n=3,
                                           position_weight=position_weight),))


PREVIOUS_CONFIG = TfidfConfig(blocks=(BlockConfig(kind="word", min_n=1, max_n=1),))


class QacFeaturizer(Persistent):
    """[previous-query words | prefix characters], each part unit-norm, the row unit-norm.

    Parameters
    ----------
    position_weight : "inverse-position" (an n-gram starting at character i counts 1/(i+1))
        or "word-start" (n-grams starting a word count 1, inside a word 0.5)
    use_previous : bool
        False gives the prefix-only baseline (no previous-query columns).
    """

    format_name = "xmr.qac.features"
    format_version = 1

    def __init__(self, position_weight: str = "inverse-position", use_previous: bool = True):
        self.position_weight = position_weight
        self.use_previous = use_previous
        self.prefix_vec = TfidfVectorizer(prefix_config(position_weight))
        self.previous_vec = TfidfVectorizer(PREVIOUS_CONFIG) if use_previous else None

    def fit(self, previous: Sequence[str], prefixes: Sequence[str], labels: Sequence[str],
            threads: int | None = None) -> QacFeaturizer:
        """Prefix n-gram statistics come from the prefixes and the full label strings (a label
        is the longest prefix of itself); previous-query words from the previous queries."""
        self.prefix_vec.fit(list(prefixes) + list(labels), threads=threads)
        if self.previous_vec is not None:
            nonempty = [p for p in previous if p.strip()]
            if not nonempty:
                raise DataError("no non-empty previous query to learn words from; use "
                                "use_previous=False")
            self.previous_vec.fit(nonempty, threads=threads)
        return self

    @property
    def n_features(self) -> int:
        n = self.prefix_vec.n_features_
        return n + (self.previous_vec.n_features_ if self.previous_vec is not None else 0)

    def transform(self, previous: Sequence[str], prefixes: Sequence[str],
                  threads: int | None = None) -> sp.csr_matrix:
        """(n, n_features) float32 CSR."""
        P = self.prefix_vec.transform(list(prefixes), threads=threads)
        if self.previous_vec is None:
            return P
        W = self.previous_vec.transform(list(previous), threads=threads)
        return l2_normalize_rows(sp.hstack([P, W], format="csr", dtype=np.float32))

    def transform_one(self, previous: str, prefix: str) -> tuple[np.ndarray, np.ndarray]:
        """(indices int32, values float32) of one example: the real-time path."""
        pi, pv = self.prefix_vec.transform_one(prefix)
        if self.previous_vec is None or not previous:
            return pi, pv
        wi, wv = self.previous_vec.transform_one(previous)
        if wi.shape[0] == 0:
            return pi, pv
        idx = np.concatenate([pi, wi + np.int32(self.prefix_vec.n_features_)])
        val = np.concatenate([pv, wv])
        norm = np.float32(np.sqrt(np.dot(val, val)))
        return idx, (val / norm if norm > 0 else val)

    def state(self) -> State:
        children = {"prefix": self.prefix_vec}
        if self.previous_vec is not None:
            children["previous"] = self.previous_vec
        return State(children=children, meta={"position_weight": self.position_weight,
                                              "use_previous": self.use_previous})

    @classmethod
    def from_stored(cls, stored: Stored) -> QacFeaturizer:
        weight = stored.meta("position_weight", str)
        stored.check(weight in ("inverse-position", "word-start"),
                     f"unknown position weight {weight!r}")
        obj = cls(weight, stored.meta("use_previous", bool))
        obj.prefix_vec = stored.child("prefix", TfidfVectorizer)
        if obj.use_previous:
            obj.previous_vec = stored.child("previous", TfidfVectorizer)
        return obj

    def warmup(self) -> QacFeaturizer:
        self.prefix_vec.warmup()
        if self.previous_vec is not None:
            self.previous_vec.warmup()
        self.transform_one("warm up", "warm")
        return self
