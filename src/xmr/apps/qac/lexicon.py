"""What a query log says about words: counts, which words follow which, which query tails are
frequent. The raw material of generated completions (``candidates``) and of their features.

Built once per training from the log's (query, count) pairs; stored as arrays (word strings,
sorted; CSR lists of next words per word, by decreasing count; bigram counts as sorted int64
keys ``w1 * (V + 2) + w2``, with ids ``V`` and ``V + 1`` for the start and the end of a query;
the query *tails* -- every query from each of its words to its end, the query itself included --
sorted, with their counts, so the tails starting with any text are one id range; and the word
*pieces* -- every word from just after one of its separators ``PIECE_SEPARATORS`` to its end,
e.g. ``com`` and ``westlaw.com`` of ``www.westlaw.com`` -- sorted with their counts, which
complete a word the log never saw from its last piece: ``www.housemarker.co`` ->
``www.housemarker.com``).
"""

from __future__ import annotations

import bisect
import operator
from collections import Counter
from collections.abc import Sequence

import numpy as np

from ..._kernels.qac import top_counts
from ...io.persist import Persistent, State, Stored

SHORT = 2  # texts of up to this many characters use precomputed top lists (words and tails)
TOP_SHORT = 32
PIECE_SEPARATORS = ".-/_'"  # inside a word: URLs, hyphenated names, paths, possessives
_ENDINGS_KEPT = 32  # word endings kept (top_endings)
#: top-k searches for up to this many use the one-pass kernel (it costs O(range * k) at worst)
_KERNEL_TOP_K = 64


def piece_cut(word: str) -> int:
    """Length of ``word`` up to and including its last piece separator (0: none)."""
    return max(word.rfind(sep) for sep in PIECE_SEPARATORS) + 1


class Lexicon(Persistent):
    """Word statistics of a query log (see the module docstring)."""

    format_name = "xmr.qac.lexicon"
    format_version = 2  # 2: word pieces

    def __init__(self) -> None:
        self.words: list[str] = []
        self.word_count = np.zeros(0, dtype=np.int64)
        self.total = 0
        self.pieces: list[str] = []
        self.piece_counts = np.zeros(0, dtype=np.int64)
        self._short_pieces: dict[str, np.ndarray] = {}
        self._endings: list[str] | None = None  # top_endings, computed on first use

    # -- building -------------------------------------------------------------------------------
    def fit(self, queries: Sequence[str], counts: Sequence[int]) -> Lexicon:
        """Learn from distinct queries and how often each was issued."""
        self._endings = None
        unigram: Counter = Counter()
        bigram: Counter = Counter()
        suffix: Counter = Counter()
        for q, c in zip(queries, counts, strict=True):  # once per training: the log itself
            toks = q.split()
            if not toks:
                continue
            for t in toks:
                unigram[t] += c
            for a, b in zip(["<s>"] + toks, toks + ["</s>"], strict=True):
                bigram[a, b] += c
            for i in range(len(toks)):
                suffix[" ".join(toks[i:])] += c
        self.words = sorted(unigram)
        index = {w: i for i, w in enumerate(self.words)}
        V = len(self.words)
        self.word_count = np.array([unigram[w] for w in self.words], dtype=np.int64)
        self.total = int(sum(counts))
        ids = {**index, "<s>": V, "</s>": V + 1}
        keys = np.array([ids[a] * (V + 2) + ids[b] for a, b in bigram], dtype=np.int64)
        vals = np.array(list(bigram.values()), dtype=np.int64)
        order = np.argsort(keys)
        self.bigram_keys, self.bigram_count = keys[order], vals[order]
        self._next_lists()
        self.tails = sorted(suffix)
        self.tail_counts = np.array([suffix[t] for t in self.tails], dtype=np.int64)
        pieces: Counter = Counter()
        for w, c in zip(self.words, self.word_count.tolist(), strict=True):
            for i in range(len(w) - 1):
                if w[i] in PIECE_SEPARATORS:
                    pieces[w[i + 1:]] += c
        self.pieces = sorted(pieces)
        self.piece_counts = np.array([pieces[t] for t in self.pieces], dtype=np.int64)
        self._short_lists()
        return self

    def _next_lists(self) -> None:
        """Per word, every word seen after it (CSR by decreasing count)."""
        V = len(self.words)
        w1, w2 = np.divmod(self.bigram_keys, V + 2)
        real = (w1 < V) & (w2 < V)
        w1, w2, c = w1[real], w2[real], self.bigram_count[real]
        order = np.lexsort((w2, -c, w1))
        self.next_ptr = np.zeros(V + 1, dtype=np.int64)
        np.cumsum(np.bincount(w1[order], minlength=V), out=self.next_ptr[1:])
        self.next_ids = w2[order].astype(np.int32)
        self.next_count = c[order]

    def _short_lists(self) -> None:
        """For each text of up to SHORT characters, the most frequent words and tails starting
        with it (long ranges would make a top-k search cost too much per keystroke)."""
        self._short = _top_by_start(self.words, self.word_count)
        self._short_tails = _top_by_start(self.tails, self.tail_counts)
        self._short_pieces = _top_by_start(self.pieces, self.piece_counts)

    def _short_arrays(self) -> tuple[dict, dict]:
        """The short lists as (strings, arrays) of the saved state."""
        strings, arrays = {}, {}
        for name, table in (("short_words", self._short), ("short_tails", self._short_tails),
                            ("short_pieces", self._short_pieces)):
            keys = sorted(table)
            strings[f"{name}_keys"] = keys
            arrays[f"{name}_ptr"] = np.concatenate(
                [[0], np.cumsum([table[k].shape[0] for k in keys])]).astype(np.int64)
            arrays[f"{name}_ids"] = (np.concatenate([table[k] for k in keys]) if keys
                                     else np.zeros(0, dtype=np.int64))
        return strings, arrays

    def warmup(self) -> Lexicon:
        """Compile (or load from numba's cache) the top-k kernel of long starts now rather than
        on the first keystroke that needs it."""
        top_counts(np.ones(2, dtype=np.int64), 1)
        return self

    # -- queries --------------------------------------------------------------------------------
    def word_id(self, word: str) -> int:
        i = bisect.bisect_left(self.words, word)
        return i if i < len(self.words) and self.words[i] == word else -1

    def completions(self, partial: str, k: int) -> np.ndarray:
        """Ids of the (at most ``k``) most frequent words starting with ``partial``."""
        if len(partial) <= SHORT:
            return self._short.get(partial, np.zeros(0, dtype=np.int64))[:k]
        lo, hi = self.word_range(partial)
        return lo + _top_k(self.word_count[lo:hi], k)

    def word_range(self, partial: str) -> tuple[int, int]:
        """Ids ``[lo, hi)`` of the (sorted) words starting with ``partial``."""
        lo = bisect.bisect_left(self.words, partial)
        return lo, bisect.bisect_left(self.words, partial + "\U0010ffff", lo)

    def next_words(self, word: int, k: int, partial: str = "") -> np.ndarray:
        """Ids of the (at most ``k``) most frequent words after ``word`` (an id; none when
        negative) that start with ``partial``."""
        if word < 0:
            return np.zeros(0, dtype=np.int64)
        ids = self.next_ids[self.next_ptr[word]:self.next_ptr[word + 1]]
        if partial:  # the words starting with partial are one id range
            lo, hi = self.word_range(partial)
            ids = ids[(ids >= lo) & (ids < hi)]
        return ids[:k].astype(np.int64)

    def top_tails(self, start: str, k: int) -> np.ndarray:
        """Ids (into ``tails``) of the (at most ``k``) most frequent tails starting with
        ``start``."""
        return _top_starting(self.tails, self.tail_counts, self._short_tails, start, k)

    def tail_count(self, tail: str) -> int:
        """How often ``tail`` ended a query (0 if never)."""
        return _count_of(self.tails, self.tail_counts, tail)

    def top_pieces(self, start: str, k: int) -> np.ndarray:
        """Ids (into ``pieces``) of the (at most ``k``) most frequent word pieces starting with
        ``start``."""
        return _top_starting(self.pieces, self.piece_counts, self._short_pieces, start, k)

    def top_endings(self, k: int) -> list[str]:
        """The (at most ``k``) most frequent word *endings* of the log: a separator of
        ``PIECE_SEPARATORS`` and the last piece after it (``.com``, ``'s``), by how often words
        ending so were used. Computed on first use (one pass over the words), then kept."""
        endings = self._endings
        if endings is None:
            counted: Counter = Counter()
            for w, c in zip(self.words, self.word_count.tolist(), strict=True):
                cut = piece_cut(w) - 1  # the separator's position
                if 0 < cut < len(w) - 1:
                    counted[w[cut:]] += c
            endings = [e for e, _ in sorted(counted.items(), key=lambda x: (-x[1], x[0]))
                       [:_ENDINGS_KEPT]]
            self._endings = endings  # a benign race: every thread computes the same list
        return endings[:k]

    def piece_count(self, piece: str) -> int:
        """How often ``piece`` ended a word of the log (0 if never)."""
        return _count_of(self.pieces, self.piece_counts, piece)

    def bigram_counts(self, w1: np.ndarray, w2: np.ndarray) -> np.ndarray:
        """Counts of the word-id pairs (ids V / V + 1 = start / end of query)."""
        keys = w1 * (len(self.words) + 2) + w2
        pos = np.searchsorted(self.bigram_keys, keys)
        pos = np.minimum(pos, max(self.bigram_keys.shape[0] - 1, 0))
        hit = self.bigram_keys[pos] == keys if self.bigram_keys.size else keys < 0
        return np.where(hit, self.bigram_count[pos] if self.bigram_keys.size else 0, 0)

    # -- persistence ----------------------------------------------------------------------------
    def state(self) -> State:
        short_strings, short_arrays = self._short_arrays()
        return State(
            strings={"words": self.words, "tails": self.tails, "pieces": self.pieces,
                     **short_strings},
            arrays={"word_count": self.word_count, "bigram_keys": self.bigram_keys,
                    "bigram_count": self.bigram_count, "next_ptr": self.next_ptr,
                    "next_ids": self.next_ids, "next_count": self.next_count,
                    "tail_counts": self.tail_counts, "piece_counts": self.piece_counts,
                    **short_arrays},
            meta={"n_words": len(self.words), "total": self.total, "n_tails": len(self.tails),
                  "n_pieces": len(self.pieces),
                  **{f"n_{k}": len(v) for k, v in short_strings.items()}})

    @classmethod
    def from_stored(cls, stored: Stored) -> Lexicon:
        obj = cls()
        V = stored.count("n_words")
        obj.words = stored.strings("words", V)
        stored.check(strictly_sorted(obj.words), "the words are not sorted and distinct")
        obj.total = stored.count("total")
        obj.word_count = np.asarray(stored.array("word_count", np.int64, shape=(V,)))
        obj.bigram_keys = np.asarray(stored.array("bigram_keys", np.int64, ndim=1))
        obj.bigram_count = np.asarray(stored.array("bigram_count", np.int64,
                                                   shape=obj.bigram_keys.shape))
        stored.check_range("bigram_keys", obj.bigram_keys, 0, (V + 2) ** 2)
        obj.next_ptr = np.asarray(stored.array("next_ptr", np.int64, shape=(V + 1,)))
        obj.next_ids = np.asarray(stored.array("next_ids", np.int32, ndim=1))
        obj.next_count = np.asarray(stored.array("next_count", np.int64,
                                                 shape=obj.next_ids.shape))
        stored.check_pointers("next_ptr", obj.next_ptr, total=obj.next_ids.shape[0])
        stored.check_range("next_ids", obj.next_ids, 0, max(V, 1))
        n_tails = stored.count("n_tails")
        obj.tails = stored.strings("tails", n_tails)
        stored.check(strictly_sorted(obj.tails), "the tails are not sorted and distinct")
        obj.tail_counts = np.asarray(stored.array("tail_counts", np.int64, shape=(n_tails,)))
        if stored.version >= 2:  # format 1 had no word pieces: that source proposes nothing
            n_pieces = stored.count("n_pieces")
            obj.pieces = stored.strings("pieces", n_pieces)
            stored.check(strictly_sorted(obj.pieces), "the pieces are not sorted and distinct")
            obj.piece_counts = np.asarray(stored.array("piece_counts", np.int64,
                                                       shape=(n_pieces,)))
        big = 2**62  # counts are log-transformed: each must be at least 1
        for name, counts in (("word_count", obj.word_count), ("bigram_count", obj.bigram_count),
                             ("next_count", obj.next_count), ("tail_counts", obj.tail_counts),
                             ("piece_counts", obj.piece_counts)):
            stored.check_range(name, counts, 1, big // max(counts.shape[0], 1))  # sums fit
        stored.check(obj.total >= 1, "the total query count is below 1")
        stored.check(np.all(obj.bigram_keys[1:] > obj.bigram_keys[:-1]),
                     "the bigram keys are not sorted and distinct")
        obj._short = _read_short(stored, "short_words", V)
        obj._short_tails = _read_short(stored, "short_tails", n_tails)
        if stored.version >= 2:
            obj._short_pieces = _read_short(stored, "short_pieces", len(obj.pieces))
        return obj


def _top_k(counts: np.ndarray, k: int) -> np.ndarray:
    """Positions of the ``k`` largest ``counts``, by decreasing count (ties: position)."""
    if k <= _KERNEL_TOP_K:
        return top_counts(counts, k)
    if counts.shape[0] > k:
        top = np.argpartition(-counts, k - 1)[:k]
        return top[np.lexsort((top, -counts[top]))]
    return np.lexsort((np.arange(counts.shape[0]), -counts))


def _top_starting(texts: list[str], counts: np.ndarray, short: dict[str, np.ndarray],
                  start: str, k: int) -> np.ndarray:
    """Ids of the (at most ``k``) most frequent of the sorted ``texts`` starting with ``start``
    (``short``: the precomputed lists of the starts of up to SHORT characters)."""
    if len(start) <= SHORT:
        return short.get(start, np.zeros(0, dtype=np.int64))[:k]
    lo = bisect.bisect_left(texts, start)
    hi = bisect.bisect_left(texts, start + "\U0010ffff", lo)
    return lo + _top_k(counts[lo:hi], k)


def _count_of(texts: list[str], counts: np.ndarray, text: str) -> int:
    """The count of ``text`` in the sorted ``texts`` (0 if absent)."""
    i = bisect.bisect_left(texts, text)
    return int(counts[i]) if i < len(texts) and texts[i] == text else 0


def _top_by_start(texts: list[str], counts: np.ndarray) -> dict[str, np.ndarray]:
    """For every start of up to SHORT characters of the sorted ``texts``, the ids of the
    TOP_SHORT most frequent texts beginning with it (one pass over the texts by count)."""
    keys: dict[str, list[int]] = {}
    for i in np.argsort(-counts, kind="stable").tolist():  # once per load: a few per text
        text = texts[i]
        for n in range(0, min(SHORT, len(text)) + 1):
            lst = keys.setdefault(text[:n], [])
            if len(lst) < TOP_SHORT:
                lst.append(i)
    return {key: np.array(ids, dtype=np.int64) for key, ids in keys.items()}


def strictly_sorted(texts: list[str], chunk: int = 20_000) -> bool:
    """Every text is smaller than the next (sorted and distinct), in linear time."""
    # in chunks: one C call over 400,000 strings holds the GIL for ~13 ms, which a server
    # reloading this model in a background thread would add to its requests' latency
    return all(all(map(operator.lt, texts[i:i + chunk], texts[i + 1:i + chunk + 1]))
               for i in range(0, max(len(texts) - 1, 0), chunk))


def _read_short(stored: Stored, name: str, n: int) -> dict[str, np.ndarray]:
    """A saved short-list table (see ``Lexicon._short_arrays``), its ids checked below ``n``."""
    keys = stored.strings(f"{name}_keys", stored.count(f"n_{name}_keys"))
    ptr = np.asarray(stored.array(f"{name}_ptr", np.int64, shape=(len(keys) + 1,)))
    ids = np.asarray(stored.array(f"{name}_ids", np.int64, ndim=1))
    stored.check_pointers(f"{name}_ptr", ptr, total=ids.shape[0])
    stored.check_range(f"{name}_ids", ids, 0, max(n, 1))
    return {k: ids[ptr[i]:ptr[i + 1]] for i, k in enumerate(keys)}
