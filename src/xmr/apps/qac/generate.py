"""Candidate completions of a typed prefix, and what the ranker knows about each.

Candidates (every one starts with the typed prefix; ``head`` is the prefix up to its last space,
``partial`` the word being typed):

- ``past``: the most frequent training queries that extend the prefix;
- ``typed``: the typed text itself (when it does not end with a space: no query does);
- ``word``: ``head`` + a vocabulary word starting with ``partial`` (its most frequent words with
  that beginning, and those that most often follow the last word of ``head``);
- ``suffix``: ``head`` + a frequent query tail starting with ``partial``, or with one of the best
  completed words and a space (suffix-based generation, Mitra & Craswell, CIKM 2015; a tail is a
  query from one of its words to its end);
- ``context``: the same with the last one or two words of ``head`` as context: the prefix
  completed by a frequent tail starting with ``"<last words> <partial>"``;
- ``next``: a completed word followed by one of the words that most often come after it;
- ``session``: ``head`` + a word of the previous query that starts with ``partial``;
- ``piece``: when ``partial`` has a separator inside (``www.housemarker.co``, ``wal-ma``), its
  last piece completed by the most frequent word pieces (``com``): completes words the log
  never saw.
- ``rewrite``: the previous query retyped from the current word on, that word replaced, corrected
  or inserted: ``head`` + a completed word (or a word of the previous query starting with
  ``partial``) + the previous query's words after position ``len(head words)`` (replacing) or
  from it (inserting). People reformulate ("the hood hair cut" -> "the hood short hair cut",
  "chalotte toyota dealers" -> "charlotte toyota dealers"): word sequences the log never saw.
- ``edit``: other edits of the previous query (and of its spelling-corrected form, unknown words
  replaced by the log's nearest frequent word): the query from any of its words on, one span of
  up to ``EDIT_SPAN`` words deleted, or ``head`` + a completed word + the query from any of its
  words on ("national callenge fitness test" -> "national fitness test", "pahokee fl
  poplation" -> "pahokee fl population", "steve howlett uk people finder" -> "uk people
  finder"). Only those starting with the typed prefix are kept.
- ``ending``: the typed text with one of the log's most frequent word endings (a separator and
  the piece after it: ``.com``, ``'s``) when the word being typed has no separator
  (``prodregostration`` -> ``prodregostration.com``): names the log never saw, typed in full.

Features (``FEATURES``) are computed for all candidates of a prefix at once.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from itertools import chain, repeat
from operator import itemgetter
from typing import NamedTuple

import numpy as np

from ..._kernels.qac import (
    FIRST_NEW,
    LM_END,
    LM_LOGPROB,
    LM_PER_WORD,
    PREVIOUS_OVERLAP,
    PREVIOUS_TAIL,
    WORD_IN_PREVIOUS,
    word_features,
)
from ...config import Config, check_range, field
from .lexicon import Lexicon, piece_cut

#: features also given as the gap to the best candidate of the same prefix (a tree ranker sees
#: one candidate at a time, so how far it is from the best of its group must be a feature)
_RELATIVE = ("query_freq", "tail_freq", "context_tail_freq", "lm_logprob", "lm_per_word")
SOURCES = ("past", "typed", "word", "suffix", "context", "next", "session", "piece",
           "rewrite", "edit", "ending")
#: the columns of format 3 first, in their order (a ranker saved then reads a prefix of them)
FEATURES = (*(f"from_{s}" for s in SOURCES[:7]), "query_freq", "is_past_query", "past_rank",
            "word_freq", "tail_freq", "context_tail_freq", "lm_logprob", "lm_per_word", "lm_end",
            "n_words",
            "words_added", "chars_added", "length", "prefix_length", "prefix_ends_word",
            "partial_length", "previous_overlap", "word_in_previous", "extends_previous",
            "has_previous", "model_score", "range_log_count", "range_size", "query_share",
            *(f"{name}_gap" for name in _RELATIVE), "from_piece", "piece_freq", "from_rewrite",
            "from_edit", "previous_tail_words", "from_ending")
_I = {name: i for i, name in enumerate(FEATURES)}
# each format's ranker reads the columns before the first one added after it
FEATURES_V3 = FEATURES.index("from_piece")
FEATURES_V4 = FEATURES.index("from_rewrite")
FEATURES_V5 = FEATURES.index("from_edit")
_SOURCE_COLUMNS = np.array([_I[f"from_{s}"] for s in SOURCES])
_PIECE = SOURCES.index("piece")
_REWRITE = SOURCES.index("rewrite")
_EDIT = SOURCES.index("edit")
_ENDING = SOURCES.index("ending")
EDIT_SPAN = 3  # the edit source deletes spans of up to this many words of the previous query
_BACKOFF = 0.4  # stupid backoff (Brants et al. 2007)


@dataclass(frozen=True, kw_only=True)
class GeneratorConfig(Config):
    """How many candidates each source proposes."""

    past: int = field(10, "most frequent training queries extending the prefix")
    words: int = field(10, "completions of the partial word")
    suffixes: int = field(10, "tails starting with the partial word")
    context_words: int = field(2, "most words of context before the partial word (0: none)")
    context_suffixes: int = field(10, "tails per context length")
    extended_words: int = field(4, "completed words that are followed by next words and tails")
    next_words: int = field(3, "next words per extended word")
    word_suffixes: int = field(4, "tails per extended word")
    pieces: int = field(3, "word pieces completing the partial word's last piece")
    rewrite_words: int = field(10, "completed words the previous query is retyped with")
    endings: int = field(1, "ending source: word endings tried (the most frequent first)")
    edit_words: int = field(5, "edit source: completed words (and as many following the last "
                               "typed word) put before each tail of the previous query")

    def validate(self) -> None:
        name = type(self).__name__
        for knob in ("past", "words", "suffixes", "context_suffixes", "extended_words",
                     "next_words", "word_suffixes", "pieces", "rewrite_words", "edit_words",
                     "endings"):
            check_range(name, knob, getattr(self, knob), 0, 1000)
        check_range(name, "context_words", self.context_words, 0, 8)


class Candidates(NamedTuple):
    """Candidate completions of one prefix with the sources that proposed them."""

    texts: list[str]
    sources: np.ndarray  # uint8 (n, len(SOURCES))


def split_prefix(prefix: str) -> tuple[str, str]:
    """(head, partial): the prefix up to and including its last space, and the word being
    typed after it ('' right after a space)."""
    cut = prefix.rfind(" ") + 1
    return prefix[:cut], prefix[cut:]


def previous_edits(words: list[str]) -> list[str]:
    """The previous query's ``words`` from each word on, then with one span of up to
    ``EDIT_SPAN`` words deleted (not all of them); distinct texts."""
    n = len(words)
    out = [" ".join(words[j:]) for j in range(n)]
    for i in range(n):
        for j in range(i + 1, min(n, i + EDIT_SPAN) + 1):
            if i > 0 or j < n:
                out.append(" ".join(words[:i] + words[j:]))
    return list(dict.fromkeys(out))


def generate(lex: Lexicon, past_ids: np.ndarray, labels: list[str], prefix: str,
             previous: str, cfg: GeneratorConfig,
             sources: frozenset[str] | None = None, corrected_previous: str = "") -> Candidates:
    """The candidates of one (prefix, previous query) pair (see the module docstring).

    ``past_ids``: ids (into ``labels``) of the most frequent past queries extending the prefix.
    ``sources``: names (of ``SOURCES``) whose candidates are kept; all when None. A candidate
    proposed by a dropped source still counts when a kept source proposes it too.
    ``corrected_previous``: the previous query spelling-corrected (the edit source also edits
    it when it differs from ``previous``).
    """
    found: dict[str, int] = {}
    allowed = sum(1 << i for i, s in enumerate(SOURCES) if sources is None or s in sources)

    def add(text: str, source: int) -> None:
        bit = 1 << source
        if allowed & bit:
            found[text] = found.get(text, 0) | bit

    for i in past_ids.tolist():
        add(labels[i], 0)
    head, partial = split_prefix(prefix)
    head_words = head.split()
    last_word = lex.word_id(head_words[-1]) if head_words else -1
    if partial:
        add(prefix, 1)
    words = list(lex.completions(partial, cfg.words).tolist())
    followers = lex.next_words(last_word, cfg.words, partial).tolist()  # after the last word
    for w in followers:
        if w not in words:
            words.append(w)
    for rank, w in enumerate(words):
        word = lex.words[w]
        add(head + word, 2)
        if rank < cfg.extended_words:
            for n in lex.next_words(w, cfg.next_words).tolist():
                add(f"{head}{word} {lex.words[n]}", 5)
            start = word + " "
            for t in lex.top_tails(start, cfg.word_suffixes).tolist():
                add(head + lex.tails[t], 3)
    if head or partial:  # an empty prefix has no partial word to extend
        for t in lex.top_tails(partial, cfg.suffixes).tolist():
            add(head + lex.tails[t], 3)
    for n in range(1, min(cfg.context_words, len(head_words)) + 1):
        start = " ".join(head_words[-n:]) + " " + partial
        for t in lex.top_tails(start, cfg.context_suffixes).tolist():
            add(prefix + lex.tails[t][len(start):], 4)
    previous_words = previous.split()
    for word in previous_words:
        if word.startswith(partial) and word != partial:
            add(head + word, 6)
    at = len(head_words)
    if at < len(previous_words) and allowed & (1 << _REWRITE):
        retyped = [lex.words[w] for w in words[:cfg.rewrite_words]]
        own = [w for w in dict.fromkeys(previous_words) if w.startswith(partial)]
        retyped += [w for w in own[:cfg.rewrite_words] if w not in retyped]  # bounded work
        replacing, inserting = " ".join(previous_words[at + 1:]), " ".join(previous_words[at:])
        for rest in (replacing, inserting):
            for word in retyped:
                add(f"{head}{word} {rest}" if rest else head + word, _REWRITE)
    if previous_words and allowed & (1 << _EDIT):
        variants = [previous_words]
        fixed = corrected_previous.split()
        if fixed and fixed != previous_words:
            variants.append(fixed)
        # bounded: (2 * edit_words + the query's own words) * its length candidates at most
        best = dict.fromkeys(lex.words[w] for w in
                             words[:cfg.edit_words] + followers[:cfg.edit_words])
        for variant in variants:
            for text in previous_edits(variant):
                if text.startswith(prefix):
                    add(text, _EDIT)
            retyped = list(best) + [w for w in variant if w.startswith(partial) and w not in best]
            for j in range(len(variant)):
                rest = " ".join(variant[j:])
                for word in retyped:
                    add(f"{head}{word} {rest}", _EDIT)
    cut = piece_cut(partial)
    if partial and not cut and allowed & (1 << _ENDING):
        for ending in lex.top_endings(cfg.endings):
            add(prefix + ending, _ENDING)
    if cut:
        base = head + partial[:cut]
        for t in lex.top_pieces(partial[cut:], cfg.pieces).tolist():
            add(base + lex.pieces[t], 7)
    texts = list(found)
    bits = np.array(list(found.values()), dtype=np.int64).reshape(-1)
    flags = ((bits[:, None] >> np.arange(len(SOURCES))) & 1).astype(np.uint8)
    return Candidates(texts, flags)


_SLICE = 10_000


class Featurizer:
    """Feature rows of candidates (see ``FEATURES``) from a lexicon and the past queries."""

    def __init__(self, lex: Lexicon, labels: list[str], counts: np.ndarray) -> None:
        self.lex = lex
        self.cum_counts = np.concatenate([[0], np.cumsum(counts)])
        # built in slices: a server reloading a model in a background thread must not lose
        # the GIL to one long C call (a dict of 150K entries takes ~35 ms)
        self.word_index: dict[str, int] = {}
        self.query_count: dict[str, int] = {}
        # a dict answers ~2.5x faster than the lexicon's binary search, and features look up
        # two tails per candidate (~8 MB for the 195K tails of the AOL log)
        self.tail_count: dict[str, int] = {}
        for lo in range(0, len(lex.words), _SLICE):
            part = lex.words[lo:lo + _SLICE]
            self.word_index.update(zip(part, range(lo, lo + len(part)), strict=True))
        for lo in range(0, len(lex.tails), _SLICE):
            self.tail_count.update(zip(lex.tails[lo:lo + _SLICE],
                                       lex.tail_counts[lo:lo + _SLICE].tolist(), strict=True))
        for lo in range(0, len(labels), _SLICE):
            self.query_count.update(zip(labels[lo:lo + _SLICE],
                                        counts[lo:lo + _SLICE].tolist(), strict=True))
        self.log_total = math.log(lex.total + 1.0)
        self.word_total = float(lex.word_count.sum()) + 1.0

    def features(self, cands: Candidates, prefix: str, previous: str,
                 past_rank: dict[str, int], model_score: dict[str, float],
                 past_range: tuple[int, int]) -> np.ndarray:
        """float32 (n_candidates, len(FEATURES)); ``past_range``: the ids ``[lo, hi)`` of the
        past queries extending the prefix."""
        lex = self.lex
        texts = cands.texts
        n = len(texts)
        F = np.zeros((n, len(FEATURES)), dtype=np.float32)
        F[:, _SOURCE_COLUMNS] = cands.sources
        head, partial = split_prefix(prefix)
        head_split = head.split()
        head_words = len(head_split)
        context = head_split[-1] + " " if head_split else ""
        # map() over bound C methods throughout: a Python-level loop per candidate or word costs
        # more here than the features themselves
        tokens = list(map(str.split, texts))
        lengths = np.fromiter(map(len, tokens), dtype=np.int64, count=n)
        ptr = np.zeros(n + 1, dtype=np.int64)
        np.cumsum(lengths, out=ptr[1:])
        words = list(chain.from_iterable(tokens))
        prev_split = previous.split()
        ids = self._word_ids(words + prev_split)
        W = word_features(ids[:len(words)], ptr, ids[len(words):], head_words, lex.word_count,
                          lex.total, self.word_total, lex.bigram_keys, lex.bigram_count,
                          _BACKOFF)
        F[:, _I["lm_logprob"]] = W[:, LM_LOGPROB]
        F[:, _I["lm_per_word"]] = W[:, LM_PER_WORD]
        F[:, _I["lm_end"]] = W[:, LM_END]
        first_new = W[:, FIRST_NEW].astype(np.int64)
        F[:, _I["word_freq"]] = np.where(
            first_new >= 0, np.log1p(lex.word_count[np.maximum(first_new, 0)]) - self.log_total
            if len(lex.words) else 0.0, -20.0)
        # the dictionary lookups
        tails = list(map(itemgetter(slice(len(head), None)), texts)) if head else texts
        counts = np.fromiter(map(self.query_count.get, texts, repeat(0)), np.float64, count=n)
        F[:, _I["query_freq"]] = np.log1p(counts) - self.log_total
        F[:, _I["is_past_query"]] = counts > 0
        F[:, _I["past_rank"]] = np.fromiter(map(past_rank.get, texts, repeat(99)), np.float64,
                                            count=n)
        tail_count = self.tail_count.get
        F[:, _I["tail_freq"]] = np.log1p(np.fromiter(map(tail_count, tails, repeat(0)),
                                                     np.float64, count=n)) - self.log_total
        if context:
            F[:, _I["context_tail_freq"]] = np.log1p(np.fromiter(
                map(tail_count, map(context.__add__, tails), repeat(0)), np.float64,
                count=n)) - self.log_total
        F[:, _I["n_words"]] = lengths
        F[:, _I["words_added"]] = lengths - head_words
        char_lengths = np.fromiter(map(len, texts), np.int64, count=n)
        F[:, _I["chars_added"]] = char_lengths - len(prefix)
        F[:, _I["length"]] = char_lengths
        if prev_split:
            F[:, _I["previous_overlap"]] = W[:, PREVIOUS_OVERLAP] / np.maximum(lengths, 1)
            F[:, _I["word_in_previous"]] = W[:, WORD_IN_PREVIOUS]
            F[:, _I["extends_previous"]] = np.fromiter(
                map(str.startswith, texts, repeat(previous + " ")), np.bool_, count=n)
            F[:, _I["previous_tail_words"]] = W[:, PREVIOUS_TAIL]
        if model_score:
            F[:, _I["model_score"]] = np.fromiter((model_score.get(t, 0.0) for t in texts),
                                                  np.float32, count=n)
        lo, hi = past_range
        range_count = float(self.cum_counts[hi] - self.cum_counts[lo])
        F[:, _I["range_log_count"]] = math.log1p(range_count)
        F[:, _I["range_size"]] = math.log1p(hi - lo)
        F[:, _I["query_share"]] = np.log1p(counts) - math.log1p(range_count)
        if n:
            for name in _RELATIVE:
                column = F[:, _I[name]]
                F[:, _I[f"{name}_gap"]] = column - column.max()
        F[:, _I["prefix_length"]] = len(prefix)
        F[:, _I["prefix_ends_word"]] = prefix.endswith(" ") or (partial != ""
                                                                and lex.word_id(partial) >= 0)
        F[:, _I["partial_length"]] = len(partial)
        F[:, _I["has_previous"]] = bool(previous.strip())
        from_piece = np.flatnonzero(cands.sources[:, _PIECE])
        if from_piece.size:
            start = len(head) + piece_cut(partial)
            F[from_piece, _I["piece_freq"]] = np.log1p(np.fromiter(
                (lex.piece_count(texts[i][start:]) for i in from_piece.tolist()), np.float64,
                count=from_piece.size)) - self.log_total
        return F

    def _word_ids(self, words: list[str]) -> np.ndarray:
        """int64 (len(words),) ids of ``words``: the lexicon's id, or for a word it does not
        know a negative id, the same for the same word."""
        ids = np.fromiter(map(self.word_index.get, words, repeat(-1)), np.int64,
                          count=len(words))
        unknown = np.flatnonzero(ids < 0)
        if unknown.size:
            missing = list(map(words.__getitem__, unknown.tolist()))
            local = {w: -1 - i for i, w in enumerate(dict.fromkeys(missing))}
            ids[unknown] = np.fromiter(map(local.__getitem__, missing), np.int64,
                                       count=unknown.size)
        return ids

