"""A seeded generator of synthetic XMC problems that look like real ones.

Model
-----
- Labels have Zipf-distributed popularity: label of popularity rank r is drawn with probability
  proportional to ``1 / (r + 10) ** zipf_a`` (a head of frequent labels, a long tail of rare ones).
- Labels sit in a latent two-level hierarchy: ``topic_size`` labels form a topic, ``super_size``
  topics form a super-topic. Every label, topic and super-topic owns a few words of the
  vocabulary (label words are specific; topic words are shared by the topic's labels, which is
  what makes label clustering meaningful). Label ids are shuffled at the end, so that ids
  reveal nothing about the hierarchy.
- A row has 1 + Poisson(``extra_labels``) labels, at most ``max_labels`` (by default 1-5, mean
  ~2.4): the first drawn by popularity, each further one from the same topic with probability
  ``p_same_topic``, otherwise by popularity again.
- A row's tokens: for each of its labels a few label words, topic words and super-topic words,
  plus background noise words drawn from a Zipf distribution over the whole vocabulary (a share
  ``noise`` of all tokens). Counts become TF-IDF (sublinear tf, smooth idf), rows unit-norm.

Everything is vectorized numpy; 1M rows take a few seconds.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
import scipy.sparse as sp

from .errors import ConfigError
from .sparse import l2_normalize_rows


class SyntheticProblem(NamedTuple):
    """Train/test split of a generated problem (features float32 CSR, labels binary CSR)."""

    X_train: sp.csr_matrix
    Y_train: sp.csr_matrix
    X_test: sp.csr_matrix
    Y_test: sp.csr_matrix


def _zipf_sampler(rng: np.random.Generator, n: int, a: float, size: int,
                  offset: float = 10.0) -> np.ndarray:
    weights = 1.0 / (np.arange(n) + offset) ** a
    cdf = np.cumsum(weights)
    cdf /= cdf[-1]
    return np.minimum(np.searchsorted(cdf, rng.random(size)), n - 1)


def make_problem(n_labels: int = 10_000, n_train: int | None = None, n_test: int | None = None,
                 n_features: int | None = None, *, zipf_a: float = 1.0, topic_size: int = 20,
                 super_size: int = 16, p_same_topic: float = 0.6, noise: float = 0.3,
                 tokens_per_label: int = 12, extra_labels: float = 1.4, max_labels: int = 5,
                 seed: int = 0) -> SyntheticProblem:
    """Generate a seeded XMC problem.

    Parameters
    ----------
    n_labels : int
    n_train, n_test : rows (default: ``n_labels`` and ``n_labels // 5``, at least 200 / 50)
    n_features : vocabulary size (default: about ``2 * n_labels``, at least 1,000)
    zipf_a : exponent of the label popularity law
    topic_size, super_size : labels per topic, topics per super-topic
    p_same_topic : probability that a further label of a row comes from its first label's topic
    noise : share of background tokens in a row
    tokens_per_label : tokens emitted per label of a row (before noise)
    extra_labels : mean of the Poisson number of labels of a row beyond its first
    max_labels : most labels of a row
    seed : int

    Returns
    -------
    SyntheticProblem
    """
    if n_labels < 2:
        raise ConfigError(f"n_labels must be >= 2; got {n_labels}")
    if not 0.0 <= noise < 1.0:
        raise ConfigError(f"noise must be in [0, 1); got {noise}")
    if not (extra_labels >= 0.0 and max_labels >= 1 and tokens_per_label >= 1):
        raise ConfigError("extra_labels must be >= 0, max_labels and tokens_per_label >= 1; got "
                          f"{extra_labels}, {max_labels}, {tokens_per_label}")
    n_train = n_train if n_train is not None else max(200, n_labels)
    n_test = n_test if n_test is not None else max(50, n_labels // 5)
    d = n_features if n_features is not None else max(1000, 2 * n_labels)
    rng = np.random.default_rng(seed)
    n_rows = n_train + n_test

    # latent structure: popularity rank of each label is random w.r.t. its topic
    popularity = rng.permutation(n_labels)          # rank -> label id
    topic_of = np.arange(n_labels) // topic_size     # label id -> topic
    n_topics = int(topic_of[-1]) + 1
    super_of_topic = np.arange(n_topics) // super_size
    n_super = int(super_of_topic[-1]) + 1
    label_words = rng.integers(0, d, size=(n_labels, 4))
    topic_words = rng.integers(0, d, size=(n_topics, 8))
    super_words = rng.integers(0, d, size=(n_super, 8))

    # labels of each row
    n_lab = np.minimum(1 + rng.poisson(extra_labels, size=n_rows), max_labels)
    total = int(n_lab.sum())
    row_of = np.repeat(np.arange(n_rows), n_lab)
    first_pos = np.cumsum(n_lab) - n_lab
    is_first = np.zeros(total, dtype=bool)
    is_first[first_pos] = True
    labels = popularity[_zipf_sampler(rng, n_labels, zipf_a, total)]
    first_label = labels[first_pos][row_of]
    same_topic = (~is_first) & (rng.random(total) < p_same_topic)
    topic_start = topic_of[first_label] * topic_size
    topic_len = np.minimum(topic_size, n_labels - topic_start)
    labels = np.where(same_topic, topic_start + (rng.random(total) * topic_len).astype(np.int64),
                      labels)
    Y = sp.csr_matrix((np.ones(total, dtype=np.float32), (row_of, labels)),
                      shape=(n_rows, n_labels))
    Y.sum_duplicates()
    Y.data[:] = 1.0

    # tokens: per (row, label) pair, label/topic/super words; plus background noise
    per = tokens_per_label
    src = rng.random((total, per))
    pick = rng.integers(0, 8, size=(total, per))
    lab_t = np.repeat(labels, per)
    topic_t = topic_of[lab_t]
    tok = np.where(
        src.ravel() < 0.45, label_words[lab_t, pick.ravel() % 4],
        np.where(src.ravel() < 0.8, topic_words[topic_t, pick.ravel()],
                 super_words[super_of_topic[topic_t], pick.ravel()]))
    tok_row = np.repeat(row_of, per)
    n_noise_per_row = rng.poisson(noise / (1 - noise) * per * n_lab)
    noise_row = np.repeat(np.arange(n_rows), n_noise_per_row)
    noise_tok = rng.permutation(d)[_zipf_sampler(rng, d, 1.1, int(n_noise_per_row.sum()), 2.0)]
    rows = np.concatenate([tok_row, noise_row])
    cols = np.concatenate([tok, noise_tok])
    counts = sp.csr_matrix((np.ones(rows.shape[0], dtype=np.float32), (rows, cols)),
                           shape=(n_rows, d))
    counts.sum_duplicates()
    df = np.bincount(counts.indices, minlength=d)
    idf = np.log((1.0 + n_rows) / (1.0 + df)) + 1.0
    counts.data = ((1.0 + np.log(counts.data)) * idf[counts.indices]).astype(np.float32)
    X = l2_normalize_rows(counts)
    # label ids in random order: consecutive ids must not reveal the topic structure
    relabel = rng.permutation(n_labels)
    Y = sp.csr_matrix((Y.data, relabel[Y.indices], Y.indptr), shape=Y.shape)
    Y.sort_indices()
    return SyntheticProblem(X[:n_train], Y[:n_train].tocsr(), X[n_train:], Y[n_train:].tocsr())
