"""``xmr text2text``: train, predict and evaluate a text-to-labels pipeline."""

from __future__ import annotations

import argparse
import logging
import time

from ...cli import common as c
from ...cli.display import training_progress
from .model import Text2TextConfig

logger = logging.getLogger(__name__)

NAME = "text2text"
CONFIG = Text2TextConfig


def add_parser(sub: argparse._SubParsersAction, parents: list[argparse.ArgumentParser]) -> None:
    """Register ``xmr text2text train|predict|evaluate``."""
    t2t = sub.add_parser(NAME, parents=parents,
                         help="raw text -> label texts: train, predict, evaluate",
                         description="Text-to-labels pipeline (TF-IDF + XR-Linear). Training "
                                     "lines are 'ID1,ID2<TAB>text', ids being 0-based lines of "
                                     "the items file (one label text per line).")
    tsub = t2t.add_subparsers(dest="action", required=True, metavar="ACTION")

    p = tsub.add_parser("train", parents=parents,
                        help="train from a labeled text file and an items file")
    c.add_input(p, "lines 'ID1,ID2<TAB>text'", required=True)
    p.add_argument("--items", required=True, help="label texts, one per line")
    c.add_model(p, output=True)
    c.add_threads(p)
    c.add_config_flags(p, Text2TextConfig)
    p.set_defaults(func=cmd_train)

    p = tsub.add_parser("predict", parents=parents,
                        help="the ranked labels of every input line")
    c.add_model(p)
    c.add_input(p, "lines of text (or 'IDS<TAB>text'); '-' = standard input, answered line by "
                   "line (interactive)")
    c.add_output(p)
    c.add_search_knobs(p)
    c.add_threads(p)
    p.set_defaults(func=cmd_predict)

    p = tsub.add_parser("evaluate", parents=parents, help="P@k, R@k, nDCG@k and MRR")
    c.add_model(p)
    c.add_input(p, "lines 'ID1,ID2<TAB>text'", required=True)
    p.add_argument("--ks", default="1,3,5,10", help="cut-offs, e.g. 1,3,5,10")
    c.add_output(p)
    c.add_search_knobs(p, top_k=False)
    c.add_threads(p)
    p.set_defaults(func=cmd_evaluate)


def cmd_train(args: argparse.Namespace) -> int:
    from .data import read_items, read_labeled_texts
    from .model import Text2Text

    cfg = c.config_from_args(args, Text2TextConfig)
    c.check_model_output(args.model)
    c.announce_compilation()
    items = read_items(args.items)
    texts, labels = read_labeled_texts(args.input, n_items=len(items))
    t0 = time.perf_counter()
    with training_progress(getattr(args, "quiet", False)) as progress:
        model = Text2Text(cfg).fit(texts, labels, items, threads=args.threads,
                                   progress=progress)
    model.save(args.model)
    logger.info("trained on %d texts, %d items in %.2f s; saved to %s", len(texts), len(items),
                time.perf_counter() - t0, args.model)
    return 0


def cmd_predict(args: argparse.Namespace) -> int:
    from .data import read_labeled_texts
    from .model import Text2Text

    knobs = c.check_knobs(args)
    c.check_output_file(args.output)
    c.announce_compilation()
    model = Text2Text.load(args.model)
    with c.open_output(args.output) as out:
        if args.input == "-":  # interactive: answer each line as it arrives
            for line in c.read_input_lines("-"):
                text = line.split("\t")[-1]
                _write(out, text, model.predict_one(text, **knobs), args.format)
                out.flush()
        else:
            texts, _ = read_labeled_texts(args.input, labels_required=False)
            preds = model.predict(texts, threads=args.threads, **knobs)
            for text, pred in zip(texts, preds, strict=True):
                _write(out, text, pred, args.format)
    return 0


def _write(out, text: str, preds, fmt: str) -> None:
    if fmt == "text":
        out.write("".join(f"{p.id}\t{p.score:.6g}\t{p.text}\n" for p in preds) + "\n")
        return
    labels = [{"id": p.id, "text": p.text, "score": round(p.score, 6)} for p in preds]
    out.write(c.dump_json({"input": text, "labels": labels}) + "\n")


def cmd_evaluate(args: argparse.Namespace) -> int:
    from .data import read_labeled_texts
    from .model import Text2Text

    ks = c.parse_ks(args.ks)
    knobs = c.check_knobs(args)
    c.check_output_file(args.output)
    c.announce_compilation()
    model = Text2Text.load(args.model)
    texts, labels = read_labeled_texts(args.input, n_items=len(model.items_))
    result = model.evaluate(texts, labels, ks=ks, threads=args.threads, **knobs)
    result = {k: round(v, 6) for k, v in result.items()}
    result["texts"] = len(texts)
    with c.open_output(args.output) as out:
        c.print_result(result, args.format, out)
    return 0
