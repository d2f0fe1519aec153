"""Query-autocompletion experiments on the AOL log; writes docs/query-autocompletion.md.

    python -m experiments.qac                 # every row (about 25 min on 2 cores)
    python -m experiments.qac --limit 20000   # a quick run on the first 20,000 queries

Protocol (ANCHORS.md section 4, as far as the data allows; see ``xmr.apps.qac.data``): consecutive
queries of ``../shared/data/aol-queries`` form (previous, next) pairs (rule ``adjacent``: user and
session boundaries are unknown); the first 90% of pairs train, the last 10% test (the
*positional* split); the typed prefix of each next query has a seeded length uniform in 1..len.
Every model is trained with 2 threads (its ranker on the last 10% of the training examples, cut
from the training part) and queried one example at a time (one thread, after warm-up) through
``complete(prefix, previous, 10)``. Settings were chosen with ``experiments.tune_qac`` on a
validation split cut from the training part; the test part is read here only.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from xmr.apps.qac import (
    SOURCES,
    MostPopularCompletion,
    PopularityHeuristic,
    QacConfig,
    QueryAutocompleter,
    make_examples,
)
from xmr.apps.qac.data import Examples, read_queries
from xmr.apps.qac.evaluate import evaluate_completer
from xmr.io import store

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
DATA = ROOT.parent / "shared" / "data" / "aol-queries" / "train.query.txt.gz"
WORK = HERE / "_work" / "qac"
DOCS = ROOT / "docs"

GENERATED = "xmr generated (default)"
VARIANTS = [
    # (name, config overrides)
    (GENERATED, {}),
    ("xmr generated + XR-Linear session score as a feature", {"model_feature": True}),
    *((f"xmr generated without the {s} source",
       {"sources": ",".join(x for x in SOURCES if x != s)}) for s in SOURCES),
    ("xmr past (xmr 0.1: XR-Linear over past queries, trie), prefix + previous",
     {"method": "past"}),
    ("xmr past, prefix only (no previous query)", {"method": "past", "use_previous": False}),
]


def validation_split(fraction: float = 0.1) -> tuple[Examples, Examples]:
    """(fit, validation) examples: the training part of the shared log (the test part is never
    read), its last ``fraction`` of examples held out for validation."""
    train, _ = make_examples(read_queries(DATA), train_fraction=0.9, seed=0)
    cut = int(len(train.target) * (1.0 - fraction))
    return (Examples(*(part[:cut] for part in train)),
            Examples(*(part[cut:] for part in train)))


def log(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", flush=True)


def dir_mb(path: Path) -> float:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file()) / 2**20


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=2, help="training threads")
    parser.add_argument("--limit", type=int, default=0, help="use the first N queries only")
    parser.add_argument("--baselines-only", action="store_true",
                        help="recompute the two baseline rows of an earlier run's results.json "
                             "and rewrite the report (the model rows are kept)")
    args = parser.parse_args(argv)
    if not DATA.exists():
        print(f"skipping: {DATA} is absent (see ../shared/data/aol-queries/PROVENANCE.md)")
        return 0
    WORK.mkdir(parents=True, exist_ok=True)
    queries = read_queries(DATA)
    if args.limit:
        queries = queries[:args.limit]
    train, test = make_examples(queries, train_fraction=0.9, seed=0, session_rule="adjacent")
    res: dict = {"data": {"queries": len(queries), "train_examples": len(train.target),
                          "test_examples": len(test.target),
                          "labels": len(set(train.target))}, "rows": []}
    log(f"data: {res['data']}")

    def add(name: str, completer, **info) -> dict:
        rec = evaluate_completer(completer, test)
        row = {"name": name, **info, **rec}
        res["rows"].append(row)
        log(f"{name}: MRR {rec['MRR@10']:.4f}, success@10 {rec['success@10']:.4f} (unseen "
            f"{rec['by_target']['unseen']['success@10']:.4f}), BLEU {rec['BLEU']:.4f}, "
            f"p50 {rec['latency_p50_ms']:.3f} ms, p99 {rec['latency_p99_ms']:.3f} ms")
        (WORK / "results.json").write_text(json.dumps(res, indent=1))
        return row

    earlier = json.loads((WORK / "results.json").read_text())["rows"] \
        if args.baselines_only else []
    t = time.perf_counter()
    mpc = MostPopularCompletion().fit(train.target)
    add("most popular completion (back-off)", mpc, train_s=time.perf_counter() - t)
    t = time.perf_counter()
    heuristic = PopularityHeuristic().fit(train.target)
    add("popularity heuristic (past + completed word + its next word, no learning)", heuristic,
        train_s=time.perf_counter() - t)
    if args.baselines_only:
        res["rows"] += earlier[2:]
    for name, overrides in [] if args.baselines_only else VARIANTS:
        cfg = QacConfig().replace(overrides)
        t = time.perf_counter()
        model = QueryAutocompleter(cfg).fit(train, threads=args.threads)
        train_s = time.perf_counter() - t
        path = WORK / "model"
        model.save(path)
        model = QueryAutocompleter.load(path).warmup()
        add(name, model, train_s=train_s, size_mb=dir_mb(store.resolve(path)))  # live version
    tuning = WORK / "tuning.json"  # written by experiments.tune_qac
    if tuning.exists():
        res["tuning"] = json.loads(tuning.read_text())
        (WORK / "results.json").write_text(json.dumps(res, indent=1))
    write_report(res, DOCS)
    log(f"wrote {DOCS / 'query-autocompletion.md'}")
    return 0


def _tuning_verdict(rows: dict) -> str:
    """Which setting scored best on validation, and by how much over the default."""
    scored = {k: v for k, v in rows.items() if k != "MPC"}
    default = next((v for k, v in scored.items() if k.startswith("default")), None)
    if default is None:
        return ""
    best_name, best = max(scored.items(), key=lambda kv: kv[1]["MRR@10"])
    gain = best["MRR@10"] - default["MRR@10"]
    if gain <= 0:
        return "The default scored best; differences of a few thousandths are within noise."
    return (f"The best setting, {best_name!r}, scores {gain:.4f} MRR@10 above the default: "
            "differences of a few thousandths are within noise, so the default (cheaper at "
            "search or training time than the settings that edge past it) is kept.")


def _ratio(row: dict, base: dict) -> str:
    return f"{row['MRR@10'] / base['MRR@10']:.2f}x" if base["MRR@10"] > 0 else "-"


def write_report(res: dict, docs: Path) -> Path:
    d = res["data"]
    rows = res["rows"]
    mpc = rows[0]
    lines = [
        "# Session-aware query autocompletion (AOL queries)", "",
        f"Regenerated by `python -m experiments.qac` ({time.strftime('%Y-%m-%d')}, 2-core "
        "machine; training with 2 threads, completion one example at a time on 1 thread). "
        "Do not edit by hand.", "",
        f"**Data and protocol.** {d['queries']:,} AOL queries in per-user time order "
        "(`../shared/data/aol-queries`, no user ids or timestamps). Consecutive queries form "
        "(previous, next) pairs: user and session boundaries are unknown, so the previous line "
        "is always the previous query (rule `adjacent`; see `xmr.apps.qac.data`). The first 90% "
        f"of pairs train ({d['train_examples']:,}), the last 10% test ({d['test_examples']:,}): "
        "the *positional* split. The typed prefix has a length uniform in 1..len(next query), "
        f"seed 0. The training part has {d['labels']:,} distinct queries; a test query outside "
        "them (*unseen*) can only be suggested by a method that generates candidates. The "
        "later-period AOL file of issue 14 is not in `../shared/data`, so only the positional "
        "split is measured here.", "",
        "**Methods.** `generated` (the default of `QueryAutocompleter`): candidates from past "
        "queries extending the prefix and generated ones (the typed text, the word being typed "
        "completed from the log's vocabulary, query tails starting with it or with the last "
        "words before it, the completed word's next words, words of the previous query, "
        "the previous query retyped from the current word on with that word completed "
        "(reformulations such as `the hood hair cut` -> `the hood short hair cut`), and "
        "other edits of the previous query and of its spelling-corrected form (the query from "
        "any word on, one span of words deleted, a completed word before any of its tails: "
        "`national callenge fitness test` -> `national fitness test`), "
        "the last piece of a word with a separator inside -- `www.site.co` -- completed from "
        "the word pieces of the log, and the typed word with the log's most frequent word "
        "ending (`.com`); see "
        "`xmr.apps.qac.generate`), ranked by a LightGBM lambdarank model over count, n-gram "
        "language-model, tail, length and session features, trained on the last 20% of the "
        "training examples with a lexicon built from the rest (then rebuilt from all). `past`: "
        "xmr 0.1's XR-Linear over past queries. The popularity heuristic is issue 14's floor: "
        "past completions, the completed word and that word plus its most frequent next word, "
        "scored by log counts with fixed penalties.", "",
        "**Metrics**: MRR@10 (exact match; `xMPC` = MRR@10 over the MPC baseline's); BLEU = "
        "sacrebleu sentence BLEU (13a tokens, `exp` smoothing) of each suggestion against the "
        "true query, averaged with weights 1/(i+1) over the returned suggestions; success@k; "
        "latency = one `complete()` call, candidate generation and featurization included.", "",
        "## Overall (test part)", "",
        "| method | MRR@10 | xMPC | BLEU | success@1 | success@10 | MRR@10 seen / unseen | "
        "success@10 seen / unseen | p50 ms | p99 ms | train s | size MB |",
        "|---" * 12 + "|"]
    for r in rows:
        seen, unseen = r["by_target"]["seen"], r["by_target"]["unseen"]
        size = f"{r['size_mb']:.1f}" if "size_mb" in r else "-"
        lines.append(
            f"| {r['name']} | {r['MRR@10']:.4f} | {_ratio(r, mpc)} | {r['BLEU']:.4f} | "
            f"{r['success@1']:.4f} | {r['success@10']:.4f} | {seen['MRR@10']:.4f} / "
            f"{unseen['MRR@10']:.4f} | {seen['success@10']:.4f} / {unseen['success@10']:.4f} | "
            f"{r['latency_p50_ms']:.3f} | {r['latency_p99_ms']:.3f} | {r['train_s']:.1f} | "
            f"{size} |")
    lines += ["", f"Test examples whose query was seen in training: "
              f"{100 * mpc['target_known']:.1f}% (n = {mpc['by_target']['seen']['n']:,}; unseen "
              f"n = {mpc['by_target']['unseen']['n']:,}). A method over past queries only cannot "
              "succeed on an unseen one.", "",
              "## By prefix length (MRR@10 / BLEU)", ""]
    buckets = list(mpc["by_prefix_length"])
    lines += ["| method | " + " | ".join(
        f"{b} chars (n={mpc['by_prefix_length'][b]['n']:,})" for b in buckets) + " |",
        "|---|" + "---|" * len(buckets)]
    for r in rows:
        cells = [f"{r['by_prefix_length'][b]['MRR@10']:.4f} / "
                 f"{r['by_prefix_length'][b]['BLEU']:.4f}" for b in buckets]
        lines.append(f"| {r['name']} | " + " | ".join(cells) + " |")
    tuning = res.get("tuning")
    if tuning:
        rows_t = tuning["rows"]
        base = rows_t.get("MPC", {}).get("MRR@10", 0.0)
        lines += ["", "## Settings (validation split)", "",
                  "Trained on the first 90% of the training examples and scored on the other "
                  f"{tuning['validation_examples']:,} (`python -m experiments.tune_qac`; the "
                  f"test part is not read). MPC scores MRR@10 {base:.4f} there. "
                  + _tuning_verdict(rows_t),
                  "", "| setting | MRR@10 | xMPC | success@10 | unseen success@10 | p50 ms | "
                  "p99 ms | train s |", "|---" * 8 + "|"]
        for name, r in rows_t.items():
            if name == "MPC":
                continue
            lines.append(f"| {name} | {r['MRR@10']:.4f} | {r['MRR@10'] / base:.2f}x | "
                         f"{r['success@10']:.4f} | {r['unseen_success@10']:.4f} | "
                         f"{r['p50_ms']:.3f} | {r['p99_ms']:.3f} | {r['train_s']:.0f} |")
    out = docs / "query-autocompletion.md"
    docs.mkdir(parents=True, exist_ok=True)
    out.write_text("\n".join(lines) + "\n")
    return out


if __name__ == "__main__":
    sys.exit(main())
