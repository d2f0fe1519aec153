"""Query-log examples for session-aware autocompletion: (previous query, typed prefix) -> query.

The AOL file (``../shared/data/aol-queries``) lists queries in per-user time order without user
ids or timestamps, so real sessions are unknown. Session rules:

- ``adjacent`` (default): the line before is the previous query (user boundaries are crossed
  about once per user's run of queries; the log is sorted by user, then time);
- ``shared-token``: the line before counts only if it shares a word with the query or the query
  extends it; otherwise the previous query is empty (a session start).

Examples are taken in file order and split by position (the first ``train_fraction`` train, the
rest test). The typed prefix of each example has a length drawn uniformly from 1..len(query)
with a fixed seed (ANCHORS.md section 4).
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import NamedTuple

import numpy as np

from ...errors import DataError
from ...io.textfiles import read_utf8, split_lines

SESSION_RULES = ("adjacent", "shared-token")
#: longest query kept from a log, and longest target a model trains on
MAX_QUERY_CHARS = 1000
logger = logging.getLogger(__name__)


class Examples(NamedTuple):
    """Parallel lists: previous query ('' at a session start), typed prefix, full query."""

    previous: list[str]
    prefix: list[str]
    target: list[str]


def read_queries(path: str | os.PathLike) -> list[str]:
    """One query per line (UTF-8, plain or gzip, LF / CRLF / CR line endings); empty lines are
    dropped, and so are queries longer than ``MAX_QUERY_CHARS`` (logged): a query log line of
    megabytes is not a query, and would make the label trie ask for that much per label."""
    path = Path(path)
    queries = [q.strip() for q in split_lines(read_utf8(path, "query log"))]
    long_ones = sum(len(q) > MAX_QUERY_CHARS for q in queries)
    if long_ones:
        logger.warning("%s: skipped %d queries longer than %d characters", path, long_ones,
                       MAX_QUERY_CHARS)
    queries = [q for q in queries if q and len(q) <= MAX_QUERY_CHARS]
    if len(queries) < 2:
        raise DataError(f"{path}: fewer than 2 queries")
    return queries


def _same_session(prev: str, query: str) -> bool:
    return query.startswith(prev) or bool(set(prev.split()) & set(query.split()))


def make_examples(queries: list[str], *, train_fraction: float = 0.9, seed: int = 0,
                  session_rule: str = "adjacent") -> tuple[Examples, Examples]:
    """(train, test) examples from consecutive queries; see the module docstring."""
    if session_rule not in SESSION_RULES:
        raise DataError(f"session_rule must be one of {SESSION_RULES}; got {session_rule!r}")
    if not 0 < train_fraction < 1:
        raise DataError(f"train_fraction must be in (0, 1); got {train_fraction}")
    prev = queries[:-1]
    target = queries[1:]
    if session_rule == "shared-token":
        prev = [p if _same_session(p, q) else "" for p, q in zip(prev, target, strict=True)]
    rng = np.random.default_rng(seed)
    lengths = np.fromiter(map(len, target), dtype=np.int64, count=len(target))
    cut = rng.integers(1, lengths + 1)  # uniform in 1..len(query)
    prefix = [q[:c] for q, c in zip(target, cut.tolist(), strict=True)]
    n_train = int(len(target) * train_fraction)
    return (Examples(prev[:n_train], prefix[:n_train], target[:n_train]),
            Examples(prev[n_train:], prefix[n_train:], target[n_train:]))
