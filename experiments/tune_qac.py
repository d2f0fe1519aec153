"""Choose the autocompleter's settings on a validation split cut from the training part.

    python -m experiments.tune_qac [--only NAME ...]

The AOL training examples of ``experiments.qac`` (the first 90% of pairs) are split again by
position: the first 90% fit each setting, the rest validate (the test part is never read).
Prints MRR@10, success@10 (and on unseen queries), p50 latency and training time per setting,
and writes ``experiments/_work/qac/tuning.json``.
"""

from __future__ import annotations

import argparse
import json
import sys
import time

from xmr.apps.qac import MostPopularCompletion, QacConfig, QueryAutocompleter
from xmr.apps.qac.evaluate import evaluate_completer
from xmr.apps.qac.generate import SOURCES

from .qac import DATA, WORK, log, validation_split

SETTINGS = {
    "default (pools of 10, ranker on 20%, 150 trees of 31 leaves)": {},
    "past 20": {"generator.past": 20},
    "words 20": {"generator.words": 20},
    "words 40": {"generator.words": 40},
    "suffixes 20": {"generator.suffixes": 20},
    "suffixes 40": {"generator.suffixes": 40},
    "no context tails": {"generator.context_words": 0},
    "extended words 8": {"generator.extended_words": 8},
    "ranker on 10%": {"ranker.validation": 0.1},
    "ranker on 30%": {"ranker.validation": 0.3},
    "300 trees": {"ranker.n_trees": 300},
    "63 leaves": {"ranker.num_leaves": 63},
    "80 trees of 15 leaves": {"ranker.n_trees": 80, "ranker.num_leaves": 15},
    "truncation 30": {"ranker.truncation": 30},
    "XR-Linear score feature": {"model_feature": True},
    "no word pieces": {"sources": ",".join(s for s in SOURCES if s != "piece")},
    "pieces 10": {"generator.pieces": 10},
    "no previous-query rewrites": {"sources": ",".join(s for s in SOURCES if s != "rewrite")},
    "rewrites with 5 words": {"generator.rewrite_words": 5},
    "no previous-query edits": {"sources": ",".join(s for s in SOURCES if s != "edit")},
    "edits with 2 words": {"generator.edit_words": 2},
    "edits with 10 words": {"generator.edit_words": 10},
    "no word endings": {"sources": ",".join(s for s in SOURCES if s != "ending")},
    "3 word endings": {"generator.endings": 3},
    "ranker on 2 prefixes per example": {"ranker.prefixes": 2},
}


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--only", nargs="*", default=None, help="settings to run (default: all)")
    p.add_argument("--threads", type=int, default=2)
    args = p.parse_args(argv)
    if not DATA.exists():
        print(f"skipping: {DATA} is absent")
        return 0
    fit, val = validation_split()
    mpc = evaluate_completer(MostPopularCompletion().fit(fit.target), val, with_bleu=False)
    log(f"MPC: MRR@10 {mpc['MRR@10']:.4f} on {len(val.target):,} validation examples")
    out = WORK / "tuning.json"
    rows = json.loads(out.read_text())["rows"] if out.exists() else {}
    rows["MPC"] = {"MRR@10": mpc["MRR@10"], "success@10": mpc["success@10"]}
    for name, overrides in SETTINGS.items():
        if args.only and name not in args.only:
            continue
        t = time.perf_counter()
        model = QueryAutocompleter(QacConfig().replace(overrides)).fit(fit, threads=args.threads)
        train_s = time.perf_counter() - t
        r = evaluate_completer(model, val, with_bleu=False)
        rows[name] = {"overrides": overrides, "MRR@10": r["MRR@10"],
                      "success@10": r["success@10"],
                      "unseen_success@10": r["by_target"]["unseen"]["success@10"],
                      "p50_ms": r["latency_p50_ms"], "p99_ms": r["latency_p99_ms"],
                      "train_s": train_s}
        log(f"{name}: MRR@10 {r['MRR@10']:.4f} ({r['MRR@10'] / mpc['MRR@10']:.2f}x MPC), "
            f"success@10 {r['success@10']:.4f}, unseen "
            f"{r['by_target']['unseen']['success@10']:.4f}, p50 {r['latency_p50_ms']:.3f} ms, "
            f"p99 {r['latency_p99_ms']:.3f} ms, train {train_s:.0f} s")
        WORK.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps({"validation_examples": len(val.target), "rows": rows},
                                  indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
