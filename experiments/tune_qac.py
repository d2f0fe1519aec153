"""Choose the QAC popularity prior on a validation split cut from the training part.

    python -m experiments.tune_qac

The AOL training examples (first 90% of pairs) are split again by position: the first 90% fit
a trie model, the next 4,000 examples validate. The test part is never read. Prints MRR@10 of
the most-popular-completion baseline and of ``popularity_weight`` in 0, 1, 2, 4 on one model.
"""

from __future__ import annotations

import copy
import sys

from xmr.apps.qac import MostPopularCompletion, QacConfig, QueryAutocompleter, make_examples
from xmr.apps.qac.data import Examples, read_queries
from xmr.apps.qac.evaluate import evaluate_completer

from .qac import DATA


def main() -> int:
    if not DATA.exists():
        print(f"skipping: {DATA} is absent")
        return 0
    train, _ = make_examples(read_queries(DATA))
    cut = int(len(train.target) * 0.9)
    fit = Examples(*(part[:cut] for part in train))
    val = Examples(*(part[cut:cut + 4000] for part in train))
    model = QueryAutocompleter(QacConfig(tree="trie")).fit(fit, threads=2)
    mpc = evaluate_completer(MostPopularCompletion().fit(fit.target), val, with_bleu=False)
    print(f"MPC: MRR@10 {mpc['MRR@10']:.4f}")
    for weight in (0.0, 1.0, 2.0, 4.0):
        variant = copy.copy(model)
        variant.config = model.config.replace(popularity_weight=weight)
        r = evaluate_completer(variant, val, with_bleu=False)
        print(f"popularity_weight {weight}: MRR@10 {r['MRR@10']:.4f}, "
              f"p50 {r['latency_p50_ms']:.3f} ms, p99 {r['latency_p99_ms']:.3f} ms")
    return 0


if __name__ == "__main__":
    sys.exit(main())
