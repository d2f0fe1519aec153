"""The autocompleter's word-feature and top-k kernels against plain-Python references."""

from __future__ import annotations

import math
from collections import Counter

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from xmr._kernels import qac as K
from xmr.apps.qac.generate import Featurizer
from xmr.apps.qac.lexicon import Lexicon

LOG = {"cheap flights": 5, "cheap hotels paris": 3, "paris hotels": 4, "flights to paris": 2,
       "hotels": 7, "cheap cheap": 1}
WORDS = ["cheap", "flights", "hotels", "paris", "to", "zzz", "qq"]  # the last two: unknown


@settings(max_examples=300, deadline=None)
@given(hnp.arrays(np.int64, st.integers(0, 60), elements=st.integers(1, 6)), st.integers(0, 70))
def test_top_counts_is_the_stable_order_by_decreasing_count(counts, k):
    expected = np.lexsort((np.arange(counts.shape[0]), -counts))[:k]
    np.testing.assert_array_equal(K.top_counts(counts, k), expected)


def _reference(texts: list[str], previous: str, head_words: int) -> np.ndarray:
    """The features of ``word_features``, from the log itself, over strings."""
    unigram: Counter = Counter()
    bigram: Counter = Counter()
    for q, c in LOG.items():
        toks = q.split()
        unigram.update({t: c * toks.count(t) for t in set(toks)})
        for a, b in zip(["<s>", *toks], [*toks, "</s>"], strict=True):
            bigram[a, b] += c
    total = sum(LOG.values())
    word_total = sum(unigram.values()) + 1.0
    prev = previous.split()
    rows = []
    for text in texts:
        toks = text.split()
        logps = []
        for a, b in zip(["<s>", *toks], [*toks, "</s>"], strict=True):
            pair = bigram[a, b]
            if pair:
                p = pair / (total if a == "<s>" else unigram[a])
            else:
                uni = total if b == "</s>" else unigram.get(b, 0)
                p = 0.4 * max(uni, 0.1) / word_total
            logps.append(math.log(p))
        new = toks[head_words] if len(toks) > head_words else None
        shared = 0
        while shared < min(len(toks), len(prev)) and toks[-1 - shared] == prev[-1 - shared]:
            shared += 1
        rows.append([sum(logps), sum(logps) / len(logps), logps[-1],
                     sorted(unigram).index(new) if new in unigram else -1,
                     sum(t in prev for t in toks) if prev else 0,
                     float(new in prev) if prev else 0.0, shared if prev else 0])
    return np.array(rows, dtype=np.float64).reshape(len(texts), K.N_WORD_FEATURES)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.lists(st.sampled_from(WORDS), min_size=0, max_size=5), min_size=1,
                max_size=8),
       st.lists(st.sampled_from(WORDS), max_size=4), st.integers(0, 3))
def test_word_features_match_the_reference(candidates, previous, head_words):
    lex = Lexicon().fit(sorted(LOG), [LOG[q] for q in sorted(LOG)])
    featurizer = Featurizer(lex, sorted(LOG), np.array([LOG[q] for q in sorted(LOG)]))
    texts = [" ".join(c) for c in candidates]
    words = [w for c in candidates for w in c]
    ids = featurizer._word_ids(words + previous)
    ptr = np.concatenate([[0], np.cumsum([len(c) for c in candidates])]).astype(np.int64)
    got = K.word_features(ids[:len(words)], ptr, ids[len(words):], head_words, lex.word_count,
                          lex.total, featurizer.word_total, lex.bigram_keys, lex.bigram_count,
                          0.4)
    np.testing.assert_allclose(got, _reference(texts, " ".join(previous), head_words),
                               rtol=1e-12, atol=1e-12)


def test_unknown_words_get_negative_ids_equal_for_equal_words():
    lex = Lexicon().fit(sorted(LOG), [LOG[q] for q in sorted(LOG)])
    featurizer = Featurizer(lex, sorted(LOG), np.array([LOG[q] for q in sorted(LOG)]))
    ids = featurizer._word_ids(["zzz", "paris", "qq", "zzz"]).tolist()
    assert ids[1] == lex.word_id("paris")
    assert ids[0] == ids[3] < 0 and ids[2] < 0 and ids[2] != ids[0]
