"""Spelling correction of query words against the words of a collection.

Only a word the collection never uses is changed: to the most frequent known word within one
edit (words of up to 5 letters) or two (longer), among the known words that share a character
trigram with it; failing that, into two known words ("outdoorlounge" -> "outdoor lounge").
Numbers and words with digits are left alone. Product queries are full of such errors (on the
Home Depot test queries, 23% have a word no title or training query uses).

Hand-written because the spelling libraries on PyPI either need a dictionary of a language
(this must learn the collection's own words: brands, model names, units) or build an index of
every word's deletions, which costs hundreds of MB for a large catalog.
"""

from __future__ import annotations

import re
import threading
from collections import Counter
from collections.abc import Iterable

import numpy as np
import scipy.sparse as sp

from .._kernels import edits as _edits
from ..io.persist import Persistent, State, Stored

_WORD = re.compile(r"\w+")


def _trigrams(word: str) -> list[str]:
    padded = f"#{word}#"
    return [padded[i:i + 3] for i in range(len(padded) - 2)]


class Speller(Persistent):
    """Corrects unknown words of queries; see the module docstring.

    Parameters
    ----------
    min_count : a word is known (and a possible correction) from this many occurrences
    """

    format_name = "xmr.speller"
    format_version = 1

    def __init__(self, min_count: int = 2) -> None:
        self.min_count = int(min_count)
        self.words_: list[str] = []
        self.counts_ = np.zeros(0, dtype=np.int64)
        self._lock = threading.Lock()
        self._cache: dict[str, str] = {}

    def fit(self, texts: Iterable[str]) -> Speller:
        """Learn the known words (lower-cased runs of letters, digits and _) of ``texts``: the
        collection's own texts (titles), not its users' queries, whose typos repeat."""
        counts = Counter(w for t in texts for w in _WORD.findall(t.lower()))
        return self._known(counts.keys(), counts.values())

    @classmethod
    def from_counts(cls, words: Iterable[str], counts: Iterable[int],
                    min_count: int = 2) -> Speller:
        """A speller whose known words are ``words`` seen at least ``min_count`` times
        (``counts``: how often each was seen), e.g. a query log's vocabulary."""
        return cls(min_count)._known(words, counts)

    def _known(self, words: Iterable[str], counts: Iterable[int]) -> Speller:
        """Keep the ``words`` seen at least ``min_count`` times, most frequent first (a tie
        between corrections resolves to the first), and index them."""
        pairs = sorted(((w, int(c)) for w, c in zip(words, counts, strict=True)
                        if c >= self.min_count), key=lambda p: (-p[1], p[0]))
        self.words_ = [w for w, _ in pairs]
        self.counts_ = np.array([c for _, c in pairs], dtype=np.int64)
        self._build()
        return self

    def _build(self) -> None:
        words = self.words_
        self._index = {w: i for i, w in enumerate(words)}
        lengths = np.fromiter(map(len, words), dtype=np.int64, count=len(words))
        self._lengths = lengths
        self._starts = np.cumsum(lengths) - lengths
        self._flat = np.frombuffer("".join(words).encode("utf-32-le"), dtype=np.uint32)
        grams: dict[str, int] = {}
        rows, cols = [], []
        for i, w in enumerate(words):  # once per model: the vocabulary's trigram postings
            if len(w) >= 3:
                for g in set(_trigrams(w)):
                    rows.append(grams.setdefault(g, len(grams)))
                    cols.append(i)
        self._grams = grams
        self._postings = sp.csr_matrix((np.ones(len(rows), dtype=np.int8), (rows, cols)),
                                       shape=(len(grams), len(words)))
        self._cache = {}

    def known(self, word: str) -> bool:
        return word in self._index

    def warmup(self) -> Speller:
        """Compile the edit-distance kernel for this vocabulary's arrays."""
        if self.words_:
            _edits.closest(self._flat[:1].copy(), self._flat, self._starts, self._lengths,
                           np.zeros(1, dtype=np.int64), 1)
        return self

    def correct_word(self, word: str) -> str:
        """``word`` (lower case) corrected, or unchanged when known or not correctable."""
        if word in self._index or len(word) < 4 or any(c.isdigit() for c in word):
            return word
        cached = self._cache.get(word)
        if cached is not None:
            return cached
        out = self._nearest(word) or self._split(word) or word
        with self._lock:
            if len(self._cache) > 100_000:
                self._cache.clear()
            self._cache[word] = out
        return out

    def _nearest(self, word: str) -> str | None:
        ids = [self._grams[g] for g in _trigrams(word) if g in self._grams]
        if not ids:
            return None
        P = self._postings
        hits = np.concatenate([P.indices[P.indptr[g]:P.indptr[g + 1]] for g in ids])
        if hits.size == 0:
            return None
        shared = np.bincount(hits)
        limit = 1 if len(word) <= 5 else 2
        need = max(1, len(word) - 1 - 3 * limit)  # trigrams a word within `limit` edits keeps
        candidates = np.flatnonzero(shared >= need)
        candidates = candidates[np.abs(self._lengths[candidates] - len(word)) <= limit]
        if candidates.size == 0:
            return None
        code = np.frombuffer(word.encode("utf-32-le"), dtype=np.uint32)
        best, _ = _edits.closest(code, self._flat, self._starts, self._lengths,
                                 candidates.astype(np.int64), limit)
        return self.words_[candidates[best]] if best >= 0 else None

    def _split(self, word: str) -> str | None:
        index, counts = self._index, self.counts_
        best, best_count = None, 0
        for i in range(3, len(word) - 2):  # a word's few cut points
            a, b = word[:i], word[i:]
            if a in index and b in index:
                c = min(counts[index[a]], counts[index[b]])
                if c > best_count:
                    best, best_count = f"{a} {b}", c
        return best if best_count >= 5 else None

    def correct(self, text: str) -> str:
        """``text`` lower-cased with its unknown words corrected."""
        return _WORD.sub(lambda m: self.correct_word(m.group(0)), text.lower())

    # -- persistence ----------------------------------------------------------------------------
    def state(self) -> State:
        return State(strings={"words": self.words_}, arrays={"counts": self.counts_},
                     meta={"min_count": self.min_count, "n_words": len(self.words_)})

    @classmethod
    def from_stored(cls, stored: Stored) -> Speller:
        obj = cls(stored.count("min_count"))
        n = stored.count("n_words")
        obj.words_ = stored.strings("words", n)
        obj.counts_ = np.array(stored.array("counts", np.int64, shape=(n,)))
        obj._build()
        return obj
