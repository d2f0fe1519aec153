"""Autocompletion metrics: MRR@10, success@k, position-weighted sentence BLEU, by prefix length.

BLEU is sacrebleu's sentence BLEU (default 13a tokenization, ``exp`` smoothing, effective
order), scaled to [0, 1]; the BLEU of a suggestion list is the mean over its suggestions weighted
1/(i+1) by rank i (0-based), normalized by the weights of the suggestions returned (0 when none
is returned). sacrebleu is an optional dependency (``pip install -e ".[eval]"``).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

BUCKETS = (("1-3", 1, 3), ("4-6", 4, 6), ("7+", 7, 10**9))


def _bleu():
    try:
        from sacrebleu.metrics import BLEU
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ImportError("BLEU needs sacrebleu: pip install -e '.[eval]'") from exc
    return BLEU(effective_order=True)


def example_scores(suggestions: Sequence[Sequence[str]], targets: Sequence[str],
                   with_bleu: bool = True) -> dict[str, np.ndarray]:
    """Per-example reciprocal rank (top 10), success@1, success@10, and BLEU."""
    n = len(targets)
    rr = np.zeros(n)
    s1 = np.zeros(n)
    s10 = np.zeros(n)
    bleu = np.zeros(n)
    scorer = _bleu() if with_bleu else None
    for i, (sugg, target) in enumerate(zip(suggestions, targets, strict=True)):
        top = list(sugg)[:10]
        if target in top:
            r = top.index(target)
            rr[i] = 1.0 / (r + 1)
            s10[i] = 1.0
            s1[i] = float(r == 0)
        if scorer is not None and top:
            w = 1.0 / np.arange(1, len(top) + 1)
            b = np.array([scorer.sentence_score(s, [target]).score / 100.0 for s in top])
            bleu[i] = float((w * b).sum() / w.sum())
    return {"MRR@10": rr, "success@1": s1, "success@10": s10, "BLEU": bleu}


def summarize(scores: dict[str, np.ndarray], prefix_lengths: np.ndarray) -> dict:
    """Means overall and per prefix-length bucket (1-3, 4-6, 7+ characters)."""
    out: dict = {name: float(v.mean()) for name, v in scores.items()}
    out["by_prefix_length"] = {}
    for label, lo, hi in BUCKETS:
        sel = (prefix_lengths >= lo) & (prefix_lengths <= hi)
        out["by_prefix_length"][label] = {
            "n": int(sel.sum()),
            **{name: float(v[sel].mean()) if sel.any() else float("nan")
               for name, v in scores.items()}}
    return out
