"""Per-candidate word features of query completions: an n-gram language model score and the
overlap with the previous query, over word ids (one call for all candidates of a prefix)."""

from __future__ import annotations

import numpy as np

from ._jit import kernel

#: columns of ``word_features``' output
LM_LOGPROB, LM_PER_WORD, LM_END, FIRST_NEW, PREVIOUS_OVERLAP, WORD_IN_PREVIOUS, \
    PREVIOUS_TAIL = range(7)
N_WORD_FEATURES = 7


@kernel
def _bigram_count(keys, counts, key):
    """The count of ``key`` in the sorted ``keys`` (0 if absent)."""
    pos = np.searchsorted(keys, key)
    if pos < keys.shape[0] and keys[pos] == key:
        return counts[pos]
    return 0


@kernel
def word_features(ids, ptr, previous, head_words, word_count, total, word_total,
                  bigram_keys, bigram_count, backoff):
    """Word features of ``n`` candidates.

    ``ids``: int64, every candidate's word ids one after the other (``ptr``: int64 (n + 1,),
    where each starts); a word of the vocabulary of ``V = word_count.shape[0]`` words has its id
    in ``[0, V)``, any other word a negative id, the same for the same word (so words the
    lexicon does not know still compare equal). ``previous``: the previous query's word ids,
    numbered alike. ``bigram_keys`` / ``bigram_count``: the sorted keys ``w1 * (V + 2) + w2``
    and counts of the log's word pairs, ``V`` / ``V + 1`` standing for the start / end of a
    query.

    Returns float64 (n, N_WORD_FEATURES): the stupid-backoff bigram log-probability of the
    candidate with start and end of query (``LM_LOGPROB``), the same per transition
    (``LM_PER_WORD``), that of its last transition, into the end (``LM_END``); the id of its
    first word after the ``head_words`` typed ones (-1 if none or unknown: ``FIRST_NEW``); how
    many of its words occur in the previous query (``PREVIOUS_OVERLAP``); whether that first new
    word does (``WORD_IN_PREVIOUS``); how many last words it shares with it
    (``PREVIOUS_TAIL``).
    """
    n = ptr.shape[0] - 1
    V = word_count.shape[0]
    width = V + 2
    out = np.zeros((n, N_WORD_FEATURES), dtype=np.float64)
    for c in range(n):
        lo = ptr[c]
        hi = ptr[c + 1]
        lm = 0.0
        last = 0.0
        before = V  # the start of the query
        for t in range(lo, hi + 1):
            after = ids[t] if t < hi else V + 1  # the end of the query after the last word
            pair = 0
            if before >= 0 and after >= 0:
                pair = _bigram_count(bigram_keys, bigram_count, before * width + after)
            if pair > 0:
                context = total if before == V else word_count[before]
                p = pair / max(context, 1)
            else:
                if after == V + 1:
                    unigram = float(total)
                elif after >= 0:
                    unigram = float(word_count[after])
                else:
                    unigram = 0.1
                p = backoff * max(unigram, 0.1) / word_total
            last = np.log(p)
            lm += last
            before = after
        transitions = hi - lo + 1
        out[c, LM_LOGPROB] = lm
        out[c, LM_PER_WORD] = lm / transitions
        out[c, LM_END] = last
        first_new = -1
        if hi - lo > head_words:
            first_new = ids[lo + head_words]
        out[c, FIRST_NEW] = first_new if first_new >= 0 else -1
        if previous.shape[0] == 0:
            continue
        overlap = 0
        for t in range(lo, hi):
            for p in range(previous.shape[0]):
                if ids[t] == previous[p]:
                    overlap += 1
                    break
        out[c, PREVIOUS_OVERLAP] = overlap
        if hi - lo > head_words:
            word = ids[lo + head_words]
            for p in range(previous.shape[0]):
                if word == previous[p]:
                    out[c, WORD_IN_PREVIOUS] = 1.0
                    break
        shared = 0
        while shared < hi - lo and shared < previous.shape[0] and \
                ids[hi - 1 - shared] == previous[previous.shape[0] - 1 - shared]:
            shared += 1
        out[c, PREVIOUS_TAIL] = shared
    return out


@kernel
def top_counts(counts, k):
    """Positions (int64) of the ``k`` largest ``counts`` by decreasing count, ties by position:
    one pass keeping a sorted list of the best ``k`` (a few microseconds on the short ranges of
    one keystroke, where ``argpartition`` and ``lexsort`` cost ~10 us in fixed overhead)."""
    k = min(k, counts.shape[0])
    best = np.empty(k, dtype=np.int64)
    kept = 0
    if k == 0:
        return best
    for i in range(counts.shape[0]):
        c = counts[i]
        if kept == k and c <= counts[best[k - 1]]:
            continue
        j = kept if kept < k else k - 1  # the slot freed (or the last one, dropped)
        while j > 0 and counts[best[j - 1]] < c:  # equal counts keep their earlier positions
            best[j] = best[j - 1]
            j -= 1
        best[j] = i
        if kept < k:
            kept += 1
    return best
