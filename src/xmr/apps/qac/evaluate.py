"""Evaluate a completer on test examples: quality by prefix length and single-query latency."""

from __future__ import annotations

import time

import numpy as np

from ...metrics import bleu_scores, reciprocal_ranks, string_hits, success_at_k
from .data import Examples

#: prefix-length buckets of the report: (name, shortest, longest)
BUCKETS = (("1-3", 1, 3), ("4-6", 4, 6), ("7+", 7, 10**9))


def example_scores(suggestions: list[list[str]], targets: list[str],
                   with_bleu: bool = True) -> dict[str, np.ndarray]:
    """Per-example reciprocal rank (top 10), success@1, success@10 and (optionally) BLEU."""
    hit = string_hits(suggestions, targets, k=10)
    out = {"MRR@10": reciprocal_ranks(hit), "success@1": success_at_k(hit, 1),
           "success@10": success_at_k(hit, 10)}
    if with_bleu:
        out["BLEU"] = bleu_scores(suggestions, targets, k=10)
    return out


def summarize(scores: dict[str, np.ndarray], prefix_lengths: np.ndarray) -> dict:
    """Means overall and per prefix-length bucket (1-3, 4-6, 7+ characters); an empty bucket
    reports its size and no means."""
    out: dict = {name: float(v.mean()) if v.size else 0.0 for name, v in scores.items()}
    out["by_prefix_length"] = {}
    for label, lo, hi in BUCKETS:
        sel = (prefix_lengths >= lo) & (prefix_lengths <= hi)
        bucket: dict = {"n": int(sel.sum())}
        if sel.any():
            bucket.update({name: float(v[sel].mean()) for name, v in scores.items()})
        out["by_prefix_length"][label] = bucket
    return out


def evaluate_completer(completer, examples: Examples, top_k: int = 10, with_bleu: bool = True,
                       warmup: int = 50) -> dict:
    """Run ``completer.complete(prefix, previous, top_k)`` on every example, one at a time (the
    real-time path), and report MRR@10, success@1/@10, BLEU (overall, by prefix length, and by
    whether the target was a training query: ``by_target`` seen / unseen, judged by the
    completer's ``labels_``), the share of seen targets, and latency p50/p99 in ms."""
    for prev, prefix in zip(examples.previous[:warmup], examples.prefix[:warmup], strict=True):
        completer.complete(prefix, prev, top_k)
    suggestions = []
    lat = np.empty(len(examples.target))
    for i, (prev, prefix) in enumerate(zip(examples.previous, examples.prefix, strict=True)):
        t = time.perf_counter()
        sugg = completer.complete(prefix, prev, top_k)
        lat[i] = time.perf_counter() - t
        suggestions.append([s.query for s in sugg])
    scores = example_scores(suggestions, examples.target, with_bleu=with_bleu)
    out = summarize(scores, np.fromiter(map(len, examples.prefix), dtype=np.int64))
    known = set(getattr(completer, "labels_", []))
    seen = np.fromiter((t in known for t in examples.target), dtype=bool,
                       count=len(examples.target))
    out["target_known"] = float(seen.mean())
    out["by_target"] = {}
    for label, sel in (("seen", seen), ("unseen", ~seen)):
        bucket: dict = {"n": int(sel.sum())}
        if sel.any():
            bucket.update({name: float(v[sel].mean()) for name, v in scores.items()})
        out["by_target"][label] = bucket
    out["full_lists"] = float(np.mean([len(s) >= top_k for s in suggestions]))
    out["latency_p50_ms"] = float(np.percentile(lat, 50) * 1e3)
    out["latency_p99_ms"] = float(np.percentile(lat, 99) * 1e3)
    out["examples"] = len(examples.target)
    return out
