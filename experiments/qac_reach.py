"""Which unseen queries the autocompleter's candidates can reach (validation split only).

    python -m experiments.qac_reach [--examples 4000]

Trains the default ``QueryAutocompleter`` on the first 90% of the training examples of
``experiments.qac`` (as ``experiments.tune_qac`` does) and, on a random sample of the other
10%, sorts each unseen target by what separates it from the typed prefix: the current word is
unknown to the log; one known word is left; a known word and a known tail of words (itself a
tail or not); three or more words with no known tail; or the prefix already is the query. For
each kind: its share of the unseen targets, how often the target is among the candidates, and
how often it is in the top 10.
"""

from __future__ import annotations

import argparse
import collections
import sys

import numpy as np

from xmr.apps.qac import QacConfig, QueryAutocompleter
from xmr.apps.qac.generate import split_prefix

from .qac import DATA, log, validation_split


def kind(lex, target: str, prefix: str) -> str:
    """What separates an unseen ``target`` from ``prefix`` (see the module docstring)."""
    head, _ = split_prefix(prefix)
    rest = target[len(head):].split()
    word, after = (rest[0] if rest else ""), " ".join(rest[1:])
    if target == prefix:
        return "the prefix is the query"
    if lex.word_id(word) < 0:
        return "current word unknown"
    if not after:
        return "one known word left"
    if lex.tail_count(after) > 0:
        return ("known word + tail, itself a tail" if lex.tail_count(f"{word} {after}") > 0
                else "known word + known tail")
    return "no known tail"


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--examples", type=int, default=4000)
    p.add_argument("--threads", type=int, default=2)
    args = p.parse_args(argv)
    if not DATA.exists():
        print(f"skipping: {DATA} is absent")
        return 0
    fit, val = validation_split()
    model = QueryAutocompleter(QacConfig()).fit(fit, threads=args.threads)
    log("trained")
    known = set(model.labels_)
    kinds, pool, top = collections.Counter(), collections.Counter(), collections.Counter()
    sample = np.random.default_rng(0).permutation(len(val.target))[:args.examples]
    for i in sample.tolist():
        target, prefix, prev = val.target[i], val.prefix[i], val.previous[i]
        if target in known:
            continue
        k = kind(model.lexicon_, target, prefix)
        kinds[k] += 1
        pool[k] += target in model._candidates(prefix, prev)[0]
        top[k] += any(s.query == target for s in model.complete(prefix, prev, 10))
    n = sum(kinds.values())
    print(f"{n} unseen targets in {len(sample)} validation examples")
    print("| kind | share of unseen | among the candidates | in the top 10 |")
    print("|---|---|---|---|")
    for k, c in kinds.most_common():
        print(f"| {k} | {c / n:.1%} | {pool[k] / c:.1%} | {top[k] / c:.1%} |")
    print(f"| all | 100% | {sum(pool.values()) / n:.1%} | {sum(top.values()) / n:.1%} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
