"""Judged (query, product, grade) pairs as training rows, candidate labels and evaluation
matrices of the product retriever."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import scipy.sparse as sp

from ...errors import DataError
from ...metrics import evaluate
from ...rank import TopK
from ...sparse import labels_from_lists
from .data import Judgments
from .features import Candidates


def check_known(judgments: Judgments, index: dict[str, int]) -> None:
    """A DataError naming judged product ids that ``index`` (id -> position) lacks."""
    unknown = sorted({p for p in judgments.products if p not in index})
    if unknown:
        raise DataError(f"{len(unknown)} judged product id(s) are not in the catalog, e.g. "
                        f"{unknown[:5]}")


def positive_rows(judgments: Judgments, index: dict[str, int],
                  min_relevance: float) -> tuple[list[str], list[list[int]]]:
    """Distinct non-empty queries with a positive, and their positives' catalog positions."""
    check_known(judgments, index)
    rows: dict[str, set[int]] = {}
    for q, p, g in zip(judgments.queries, judgments.products, judgments.grades.tolist(),
                       strict=True):
        if g >= min_relevance and q.strip():
            rows.setdefault(q, set()).add(index[p])
    queries = list(rows)
    return queries, [sorted(rows[q]) for q in queries]


def grades_by_query(judgments: Judgments, index: dict[str, int]) -> dict[str, dict[int, float]]:
    """query -> {catalog position: grade} of every judged pair (the last grade of a repeat)."""
    by_query: dict[str, dict[int, float]] = {}
    for q, p, g in zip(judgments.queries, judgments.products, judgments.grades.tolist(),
                       strict=True):
        by_query.setdefault(q, {})[index[p]] = g
    return by_query


def candidate_labels(cands: Candidates, queries: Sequence[str],
                     grades: dict[str, dict[int, float]], min_relevance: float) -> np.ndarray:
    """int32 relevance label of each candidate: 0, 1 (a positive), 2 (graded 3, the best)."""
    labels = np.zeros(cands.ids.shape[0], dtype=np.int32)
    for i, q in enumerate(queries):  # per query: its few judged products
        judged = grades.get(q, {})
        if not judged:
            continue
        ids = cands.ids[cands.ptr[i]:cands.ptr[i + 1]]
        pos = np.array([p for p, g in judged.items() if g >= min_relevance], dtype=np.int64)
        best = np.array([p for p, g in judged.items() if g >= 3.0], dtype=np.int64)
        labels[cands.ptr[i]:cands.ptr[i + 1]] = np.isin(ids, pos).astype(np.int32) + \
            np.isin(ids, best)
    return labels


def judged_matrices(judgments: Judgments, product_ids: Sequence[str], min_relevance: float
                    ) -> tuple[list[str], sp.csr_matrix, sp.csr_matrix]:
    """The distinct non-empty judged queries with at least one positive, with their positives
    ``Y`` (binary, (n_queries, n_products)) and graded gains ``G`` of every judged product:
    ``(grade - 1) / 2`` (1 -> 0, 3 -> 1). Unknown product ids are an error."""
    index = {pid: i for i, pid in enumerate(product_ids)}
    check_known(judgments, index)
    by_query = grades_by_query(judgments, index)
    queries, relevant, judged = [], [], []
    for q, grades in by_query.items():
        pos = sorted(i for i, g in grades.items() if g >= min_relevance)
        if pos and q.strip():
            queries.append(q)
            relevant.append(pos)
            judged.append(grades)
    n = len(product_ids)
    Y = labels_from_lists(relevant, n_labels=n)
    rows = np.repeat(np.arange(len(judged)), [len(j) for j in judged])
    cols = np.fromiter((i for j in judged for i in j), dtype=np.int64, count=rows.shape[0])
    gain = np.fromiter(((g - 1.0) / 2.0 for j in judged for g in j.values()), dtype=np.float64,
                       count=rows.shape[0])
    G = sp.csr_matrix((gain, (rows, cols)), shape=(len(judged), n))
    return queries, Y, G


def split_recall(top: TopK, Y: sp.csr_matrix, product_ids: Sequence[str],
                 seen: Sequence[str]) -> dict[str, float]:
    """R@10 / R@100 over the positives never seen in training and over the seen ones (each
    averaged over the queries that have such positives)."""
    seen_set = set(seen)
    is_seen = np.fromiter((p in seen_set for p in product_ids), dtype=bool,
                          count=len(product_ids))
    out = {}
    for name, keep in (("unseen", ~is_seen), ("seen", is_seen)):
        Ys = sp.csr_matrix(Y.multiply(keep[None, :].astype(np.float32)))
        Ys.eliminate_zeros()
        has = np.diff(Ys.indptr) > 0
        if has.any():
            m = evaluate(TopK(top.indices[has], top.scores[has]), Ys[has], ks=(10, 100))
            out[f"R@10 {name}"], out[f"R@100 {name}"] = m["R@10"], m["R@100"]
        out[f"queries {name}"] = int(has.sum())
    return out
