"""Evaluate a completer on test examples: quality by prefix length and single-query latency."""

from __future__ import annotations

import time

import numpy as np

from .data import Examples
from .metrics import example_scores, summarize


def evaluate_completer(completer, examples: Examples, k: int = 10, with_bleu: bool = True,
                       warmup: int = 50) -> dict:
    """Run ``completer.complete(prefix, previous, k)`` on every example, one at a time (the
    real-time path), and report MRR@10, success@1/@10, BLEU (overall and by prefix length),
    the share of examples whose target was a training query, and latency p50/p99 in ms."""
    for prev, prefix in zip(examples.previous[:warmup], examples.prefix[:warmup], strict=True):
        completer.complete(prefix, prev, k)
    suggestions = []
    lat = np.empty(len(examples.target))
    for i, (prev, prefix) in enumerate(zip(examples.previous, examples.prefix, strict=True)):
        t = time.perf_counter()
        sugg = completer.complete(prefix, prev, k)
        lat[i] = time.perf_counter() - t
        suggestions.append([s.query for s in sugg])
    scores = example_scores(suggestions, examples.target, with_bleu=with_bleu)
    if not with_bleu:
        scores.pop("BLEU")
    out = summarize(scores, np.fromiter(map(len, examples.prefix), dtype=np.int64))
    known = set(getattr(completer, "labels_", []))
    out["target_known"] = float(np.mean([t in known for t in examples.target]))
    out["full_lists"] = float(np.mean([len(s) >= k for s in suggestions]))
    out["latency_p50_ms"] = float(np.percentile(lat, 50) * 1e3)
    out["latency_p99_ms"] = float(np.percentile(lat, 99) * 1e3)
    out["examples"] = len(examples.target)
    return out
