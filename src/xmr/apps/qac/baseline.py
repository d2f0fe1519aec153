"""Most-popular-completion baseline (MPC / MFQ) with back-off to shorter prefixes."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ...errors import DataError
from .completer import Suggestion, prefix_range, top_popular


class MostPopularCompletion:
    """The ``k`` most frequent training queries that start with the prefix; when none does, the
    last character is dropped until some do (so, unlike :class:`QueryAutocompleter`, a backed-off
    suggestion may not start with the typed prefix). Scores are training counts."""

    def fit(self, queries: Sequence[str]) -> MostPopularCompletion:
        if len(queries) == 0:
            raise DataError("no queries to count")
        labels, counts = np.unique(np.asarray(queries, dtype=object), return_counts=True)
        self.labels_ = labels.tolist()
        self.counts_ = counts.astype(np.int64)
        return self

    def complete(self, prefix: str, previous: str = "", top_k: int = 10) -> list[Suggestion]:
        """``previous`` is ignored (the baseline is not session-aware)."""
        while True:
            lo, hi = prefix_range(self.labels_, prefix)
            if hi > lo or not prefix:
                break
            prefix = prefix[:-1]
        return [Suggestion(self.labels_[i], float(self.counts_[i]))
                for i in top_popular(self.counts_, lo, hi, top_k)]
