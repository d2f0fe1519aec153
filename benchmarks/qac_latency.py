"""Per-keystroke latency of the autocompleter's candidate sources, interleaved in one process.

    python -m benchmarks.qac_latency [--examples 3000] [--rounds 3]

Trains the default ``QueryAutocompleter`` on the training part of the shared AOL log (the
positional split of ``docs/query-autocompletion.md``, 2 threads), then times one ``complete()``
call at a time on 1 thread over the same test examples for: the default; the default without
the ``edit`` source, without the ``ending`` source, and without both (the sources of format 5);
and the most-popular-completion baseline as a yardstick of the machine's speed. Switching a
source off is a config change on the same fitted model, so only the work differs. The variants
take turns, ``--rounds`` times over, so a machine whose speed drifts (this one does, by up to
2x within an hour) slows all of them alike; each reports its median p50 / p99 over the rounds
and its ratio to the format-5 sources. Skips with a message when the log is absent.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

from .common import latency_stats, time_each

HERE = Path(__file__).resolve().parent
DATA = HERE.parent.parent / "shared" / "data" / "aol-queries" / "train.query.txt.gz"


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--examples", type=int, default=3000, help="test examples timed per round")
    p.add_argument("--rounds", type=int, default=3, help="turns of every variant")
    p.add_argument("--threads", type=int, default=2, help="training threads")
    args = p.parse_args(argv)
    if not DATA.exists():
        print(f"skipping: {DATA} is absent (see ../shared/data/aol-queries/PROVENANCE.md)")
        return 0
    from xmr._threads import num_threads
    from xmr.apps.qac import (
        SOURCES,
        MostPopularCompletion,
        QacConfig,
        QueryAutocompleter,
        make_examples,
        read_queries,
    )

    train, test = make_examples(read_queries(DATA), train_fraction=0.9, seed=0)
    t = time.perf_counter()
    model = QueryAutocompleter(QacConfig()).fit(train, threads=args.threads).warmup()
    print(f"trained the default in {time.perf_counter() - t:.1f} s")
    mpc = MostPopularCompletion().fit(train.target)
    pick = np.random.default_rng(0).permutation(len(test.target))[:args.examples].tolist()
    examples = [(test.prefix[i], test.previous[i]) for i in pick]
    default = model.config

    def without(*names: str):
        return default.replace({"sources": ",".join(s for s in SOURCES if s not in names)})

    variants = {"default": default, "without edit": without("edit"),
                "without ending": without("ending"),
                "format-5 sources (without both)": without("edit", "ending")}
    completers = {name: (model, cfg) for name, cfg in variants.items()}
    completers["MPC"] = (mpc, None)
    p50: dict[str, list[float]] = {name: [] for name in completers}
    p99: dict[str, list[float]] = {name: [] for name in completers}
    with num_threads(1):  # warmup() above built the speller: no first-call cost in the timing
        for _ in range(args.rounds):
            for name, (completer, cfg) in completers.items():
                if cfg is not None:
                    model.config = cfg
                stats = latency_stats(time_each(lambda ex, c=completer: c.complete(*ex, 10),
                                                examples))
                p50[name].append(stats["p50_ms"])
                p99[name].append(stats["p99_ms"])
    model.config = default
    base = float(np.median(p50["format-5 sources (without both)"]))
    print(f"{len(examples)} test examples, {args.rounds} rounds, 1 thread; median over rounds")
    print("| variant | p50 ms | p99 ms | p50 / format-5 sources | p50 per round |")
    print("|---|---|---|---|---|")
    for name in p50:
        rounds = ", ".join(f"{v:.3f}" for v in p50[name])
        print(f"| {name} | {np.median(p50[name]):.3f} | {np.median(p99[name]):.3f} | "
              f"{np.median(p50[name]) / base:.2f}x | {rounds} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
