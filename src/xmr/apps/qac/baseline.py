"""Baselines of query autocompletion, rows of every report.

- :class:`MostPopularCompletion` (MPC / MFQ): the most frequent past queries extending the
  prefix, backing off to shorter prefixes;
- :class:`PopularityHeuristic`: MPC plus generated candidates (the partial word completed from
  the log's vocabulary, and that word followed by its most frequent next word) scored by log
  counts with two fixed penalties; no learning, no session. It is the floor the learned ranker
  of :class:`~xmr.apps.qac.completer.QueryAutocompleter` must beat.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from ...errors import DataError
from .generate import split_prefix
from .lexicon import Lexicon
from .queries import Suggestion, prefix_range, top_popular


def _count_queries(queries: Sequence[str]) -> tuple[list[str], np.ndarray]:
    if len(queries) == 0:
        raise DataError("no queries to count")
    labels, counts = np.unique(np.asarray(queries, dtype=object), return_counts=True)
    return labels.tolist(), counts.astype(np.int64)


class MostPopularCompletion:
    """The ``k`` most frequent training queries that start with the prefix; when none does, the
    last character is dropped until some do (so, unlike :class:`QueryAutocompleter`, a backed-off
    suggestion may not start with the typed prefix). Scores are training counts."""

    def fit(self, queries: Sequence[str]) -> MostPopularCompletion:
        self.labels_, self.counts_ = _count_queries(queries)
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


class PopularityHeuristic:
    """Past completions and generated ones ranked by log counts, no learning.

    Candidates of a prefix ``head + partial`` (``partial`` = the word being typed):

    - past queries extending the prefix, scored ``log(count)``;
    - ``head + w`` for the vocabulary words ``w`` starting with ``partial`` (the most frequent
      ``words`` of them), scored ``log(count of w) - word_penalty``;
    - ``head + w + " " + n`` with ``n`` the most frequent word after ``w``, scored
      ``log(count of the pair) - next_penalty``.

    Parameters
    ----------
    words : int
        Completions of the partial word considered.
    word_penalty, next_penalty : float
        The two fixed penalties (natural log units). The defaults were chosen on a validation
        split cut from the AOL training part (``docs/query-autocompletion.md``): large, so in
        effect the past completions come first, then completed words, then word pairs, each
        by count (MRR@10 0.2243 there, against 0.2164 with penalties 4 and 5).
    """

    def __init__(self, words: int = 10, word_penalty: float = 10.0,
                 next_penalty: float = 10.0) -> None:
        self.words = words
        self.word_penalty = word_penalty
        self.next_penalty = next_penalty

    def fit(self, queries: Sequence[str]) -> PopularityHeuristic:
        self.labels_, self.counts_ = _count_queries(queries)
        self.lexicon_ = Lexicon().fit(self.labels_, self.counts_.tolist())
        return self

    def complete(self, prefix: str, previous: str = "", top_k: int = 10) -> list[Suggestion]:
        """``previous`` is ignored. Every suggestion starts with ``prefix``."""
        lex = self.lexicon_
        scored: dict[str, float] = {}

        def offer(text: str, score: float) -> None:
            if score > scored.get(text, -math.inf):
                scored[text] = score

        lo, hi = prefix_range(self.labels_, prefix)
        for i in top_popular(self.counts_, lo, hi, top_k):
            offer(self.labels_[i], math.log(self.counts_[i]))
        head, partial = split_prefix(prefix)
        if partial or head.strip():
            for w in lex.completions(partial, self.words).tolist():
                word = lex.words[w]
                offer(head + word, math.log(lex.word_count[w]) - self.word_penalty)
                following = lex.next_words(w, 1)
                if following.size:
                    n = int(following[0])
                    pair = int(lex.bigram_counts(np.array([w]), np.array([n]))[0])
                    offer(f"{head}{word} {lex.words[n]}", math.log(max(pair, 1))
                          - self.next_penalty)
        best = sorted(scored.items(), key=lambda kv: (-kv[1], kv[0]))[:top_k]
        return [Suggestion(q, s) for q, s in best]
