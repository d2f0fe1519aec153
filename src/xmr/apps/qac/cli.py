"""``xmr qac``: train, complete and evaluate a session-aware query autocompleter."""

from __future__ import annotations

import argparse
import hashlib
import logging
import time

from ...cli import common as c
from ...cli.display import training_progress
from .completer import QacConfig

logger = logging.getLogger(__name__)

NAME = "qac"
CONFIG = QacConfig
_SPLIT_DEFAULTS = {"train_fraction": 0.9, "seed": 0, "session_rule": "adjacent"}


def add_parser(sub: argparse._SubParsersAction, parents: list[argparse.ArgumentParser]) -> None:
    """Register ``xmr qac train|complete|evaluate``."""
    qac = sub.add_parser(NAME, parents=parents,
                         help="query autocompletion: train, complete, evaluate",
                         description="Session-aware query autocompletion: previous query + "
                                     "typed prefix -> full query, learned from a query log "
                                     "(one query per line, in per-user time order).")
    qsub = qac.add_subparsers(dest="action", required=True, metavar="ACTION")
    for name, helptext in (("train", "train on the first part of a query log"),
                           ("evaluate", "MRR@10, success@k, BLEU on the last part")):
        p = qsub.add_parser(name, parents=parents, help=helptext)
        c.add_input(p, "query log (plain or .gz)", required=True)
        p.add_argument("--train-fraction", type=float, default=None,
                       help="first share of the (previous, next) pairs used for training "
                            "(default 0.9; evaluate: the model's)")
        p.add_argument("--seed", type=int, default=None,
                       help="seed of the typed-prefix lengths (default 0; evaluate: the model's)")
        p.add_argument("--session-rule", default=None, choices=["adjacent", "shared-token"],
                       help="what counts as the previous query (default adjacent; evaluate: "
                            "the model's)")
        if name == "train":
            c.add_model(p, output=True)
            c.add_threads(p)
            c.add_config_flags(p, QacConfig)
            p.set_defaults(func=cmd_train)
        else:
            c.add_model(p)
            p.add_argument("--no-bleu", action="store_true", help="skip BLEU (needs sacrebleu)")
            c.add_output(p)
            p.set_defaults(func=cmd_evaluate)
    p = qsub.add_parser("complete", parents=parents,
                        help="suggest completions; reads prefixes from standard input when none "
                             "are given (interactive)")
    c.add_model(p)
    p.add_argument("prefix", nargs="*", help="prefixes to complete (none: read -i, one "
                                             "'prefix' or 'previous<TAB>prefix' per line)")
    c.add_input(p, "lines 'prefix' or 'previous<TAB>prefix' ('-' = standard input)")
    p.add_argument("--previous", default="", help="the previous query of the session")
    c.add_output(p)
    c.add_search_knobs(p, beam=False)
    p.set_defaults(func=cmd_complete)


def _split(args: argparse.Namespace, recorded: dict | None = None):
    """Read the log and cut it; with ``recorded`` (evaluate) the model's own split is used and
    any flag that disagrees with it is refused (the test part would overlap training)."""
    from ...errors import DataError
    from ...io.textfiles import read_utf8
    from .data import make_examples, read_queries

    chosen = {}
    for key, default in _SPLIT_DEFAULTS.items():
        given = getattr(args, key)
        if recorded is not None and key in recorded:
            if given is not None and given != recorded[key]:
                raise c.UsageError(
                    f"--{key.replace('_', '-')} {given} differs from the model's training split "
                    f"({recorded[key]}): the test part would overlap what it trained on")
            chosen[key] = recorded[key]
        else:
            chosen[key] = default if given is None else given
    digest = hashlib.sha256(read_utf8(args.input, "query log").encode("utf-8",
                                                                       "surrogatepass"))
    chosen["log_sha256"] = digest.hexdigest()
    if recorded is not None and recorded.get("log_sha256") not in (None, chosen["log_sha256"]):
        raise DataError(f"{args.input}: not the query log this model was trained on; its test "
                        "part would not be held out")
    queries = read_queries(args.input)
    train, test = make_examples(queries, train_fraction=chosen["train_fraction"],
                                seed=chosen["seed"], session_rule=chosen["session_rule"])
    return train, test, chosen


def cmd_train(args: argparse.Namespace) -> int:
    from .completer import QueryAutocompleter

    cfg = c.config_from_args(args, QacConfig)
    c.check_model_output(args.model)
    c.announce_compilation()
    train, _, split = _split(args)
    t0 = time.perf_counter()
    with training_progress(getattr(args, "quiet", False)) as progress:
        model = QueryAutocompleter(cfg).fit(train, threads=args.threads, progress=progress)
    model.training_["split"] = split
    model.save(args.model)
    logger.info("trained on %d examples in %.2f s; saved to %s", len(train.target),
                time.perf_counter() - t0, args.model)
    return 0


def cmd_evaluate(args: argparse.Namespace) -> int:
    from .completer import QueryAutocompleter
    from .evaluate import evaluate_completer

    c.check_output_file(args.output)
    c.announce_compilation()
    model = QueryAutocompleter.load(args.model)
    _, test, _ = _split(args, model.training_.get("split", {}))
    result = evaluate_completer(model, test, with_bleu=not args.no_bleu)
    with c.open_output(args.output) as out:
        c.print_result(result, args.format, out)
    return 0


def cmd_complete(args: argparse.Namespace) -> int:
    from .completer import QueryAutocompleter

    knobs = c.check_knobs(args)
    c.check_output_file(args.output)
    c.announce_compilation()
    model = QueryAutocompleter.load(args.model)
    if args.prefix:
        inputs = ((args.previous, p) for p in args.prefix)
    else:
        inputs = ((line.split("\t", 1) if "\t" in line else (args.previous, line))
                  for line in c.read_input_lines(args.input))
    with c.open_output(args.output) as out:
        for previous, prefix in inputs:
            sugg = model.complete(prefix, previous, **knobs)
            if args.format == "text":
                out.write(f"{prefix!r}:" + "".join(f"\n  {i + 1}. {s.query}"
                                                   for i, s in enumerate(sugg)) + "\n")
            else:
                out.write(c.dump_json({"previous": previous, "prefix": prefix,
                                       "suggestions": [{"query": s.query,
                                                        "score": round(s.score, 6)}
                                                       for s in sugg]}) + "\n")
            out.flush()
    return 0
