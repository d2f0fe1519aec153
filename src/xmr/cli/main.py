"""The ``xmr`` command: demo, train, predict, evaluate, config, text2text, retrieval, qac.

Model flags are generated from the config dataclasses (``--solver.Cp 2``), so defaults are never
copied by hand. Precedence: built-in defaults < ``--config FILE`` (JSON) < flags.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import time
import typing
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ..config import Config
from ..errors import XmrError
from ..linear.config import XLinearConfig

logger = logging.getLogger("xmr.cli")

_PREDICT_KNOBS = ("beam_size", "top_k", "post_processor")


def _flag(path: str) -> str:
    return "--" + path.replace("_", "-")


def _dest(path: str) -> str:
    return "cfg__" + path.replace(".", "__")


def _add_config_flags(parser: argparse.ArgumentParser, cls: type[Config],
                      only: Sequence[str] | None = None) -> None:
    """One flag per config field (``--solver.Cp``); with ``only``, just those leaf fields,
    flagged by their short name (``--top-k``)."""
    title = ("model settings (default < --config file < flag)" if only is None
             else "inference settings (default: the model's)")
    group = parser.add_argument_group(title)
    for path, tp, default, help_ in cls.field_paths():
        leaf = path.split(".")[-1]
        if only is not None and leaf not in only:
            continue
        origin = typing.get_args(tp)[0] if typing.get_origin(tp) else tp
        kind = {bool: str, int: int, float: float}.get(origin, str)
        group.add_argument(_flag(leaf if only is not None else path), dest=_dest(path),
                           type=kind, default=None,
                           metavar=getattr(origin, "__name__", "VALUE").upper(),
                           help=f"{help_} (default: {default})")


def _config_from_args(args: argparse.Namespace, cls: type[Config] = XLinearConfig) -> Config:
    base: dict[str, Any] = {}
    if getattr(args, "config", None):
        path = Path(args.config)
        try:
            base = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise XmrError(f"{path}: no such config file") from None
        except json.JSONDecodeError as exc:
            raise XmrError(f"{path}: not valid JSON ({exc})") from None
    cfg = cls.from_dict(base)
    overrides = {path: getattr(args, _dest(path)) for path, *_ in cls.field_paths()
                 if getattr(args, _dest(path), None) is not None}
    return cfg.replace(overrides)


def _add_data_args(p: argparse.ArgumentParser, labels_required: bool = False) -> None:
    p.add_argument("-x", "--data", required=True,
                   help="data file: XC format (header + 'l1,l2 f:v ...'), LIBSVM, or .npz "
                        "features (plain, gzip, xz or bzip2)")
    p.add_argument("-y", "--labels", default=None,
                   help="label matrix .npz (only with .npz features)" +
                        (" [required for npz]" if labels_required else ""))
    p.add_argument("--format", default="auto", choices=["auto", "xc", "libsvm", "npz"],
                   help="data format (default: guessed from the file)")


def _add_threads(p: argparse.ArgumentParser) -> None:
    p.add_argument("--threads", type=int, default=-1, help="threads to use (-1: all cores)")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="xmr", description="Extreme multi-label ranking: train, predict and evaluate "
                                "XR-Linear models (label tree + linear models + beam search).")
    parser.add_argument("-q", "--quiet", action="store_true", help="only print results and errors")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser("demo", help="train, evaluate and query a model on generated data")
    p.add_argument("--labels", type=int, default=20_000, help="labels of the generated problem")
    p.add_argument("--seed", type=int, default=0)
    _add_threads(p)

    p = sub.add_parser("train", help="train a model and save it as a directory")
    _add_data_args(p)
    p.add_argument("-m", "--model", required=True, help="output model directory")
    p.add_argument("--config", help="JSON file with settings (as printed by 'xmr config')")
    _add_threads(p)
    _add_config_flags(p, XLinearConfig)

    for name, helptext in (("predict", "write the top-k labels of every row"),
                           ("evaluate", "print P@k, R@k, nDCG@k and MRR as JSON")):
        p = sub.add_parser(name, help=helptext)
        _add_data_args(p)
        p.add_argument("-m", "--model", required=True, help="model directory")
        if name == "predict":
            p.add_argument("-o", "--output", default="-",
                           help="output file ('-' = stdout): one line per row, "
                                "'label:score' pairs best first")
        else:
            p.add_argument("-k", "--ks", default="1,3,5", help="cut-offs, e.g. 1,3,5,10")
        _add_threads(p)
        _add_config_flags(p, XLinearConfig, only=_PREDICT_KNOBS)

    _add_text2text_parser(sub)
    _add_retrieval_parser(sub)
    _add_qac_parser(sub)

    p = sub.add_parser("config", help="print every setting with its default as JSON")
    p.add_argument("--config", help="JSON file to merge over the defaults")
    _add_config_flags(p, XLinearConfig)
    return parser


def _add_text2text_parser(sub) -> None:
    from ..text.text2text import Text2TextConfig

    t2t = sub.add_parser("text2text", help="raw text -> label texts: train, predict, evaluate",
                         description="Text-to-labels pipeline (TF-IDF + XR-Linear). Training "
                                     "lines are 'ID1,ID2<TAB>text', ids being 0-based lines of "
                                     "the items file (one label text per line).")
    tsub = t2t.add_subparsers(dest="t2t_command", required=True, metavar="ACTION")
    p = tsub.add_parser("train", help="train from a labeled text file and an items file")
    p.add_argument("--train", required=True, help="lines 'ID1,ID2<TAB>text'")
    p.add_argument("--items", required=True, help="label texts, one per line")
    p.add_argument("-m", "--model", required=True, help="output model directory")
    p.add_argument("--config", help="JSON file with settings (see 'xmr text2text train -h'; "
                                    "vectorizer blocks can only be set here)")
    _add_threads(p)
    _add_config_flags(p, Text2TextConfig)
    p = tsub.add_parser("predict", help="one JSON object per input line: the ranked labels")
    p.add_argument("-m", "--model", required=True, help="model directory")
    p.add_argument("-i", "--input", default="-",
                   help="lines of text (or 'IDS<TAB>text'); '-' = standard input, answered "
                        "line by line (interactive)")
    p.add_argument("-o", "--output", default="-", help="output file ('-' = stdout)")
    _add_threads(p)
    _add_config_flags(p, XLinearConfig, only=("beam_size", "top_k"))
    p = tsub.add_parser("evaluate", help="print P@k, R@k, nDCG@k and MRR as JSON")
    p.add_argument("-m", "--model", required=True, help="model directory")
    p.add_argument("--test", required=True, help="lines 'ID1,ID2<TAB>text'")
    p.add_argument("-k", "--ks", default="1,3,5,10", help="cut-offs, e.g. 1,3,5,10")
    _add_threads(p)
    _add_config_flags(p, XLinearConfig, only=("beam_size",))


def _add_column_args(p: argparse.ArgumentParser, catalog: bool, pairs: bool) -> None:
    g = p.add_argument_group("file columns (CSV, or TSV for .tsv files; gzip allowed)")
    if catalog:
        g.add_argument("--id-column", default="product_uid", help="catalog: product id column")
        g.add_argument("--title-column", default="product_title", help="catalog: title column")
    if pairs:
        g.add_argument("--query-column", default="search_term", help="pairs: query column")
        g.add_argument("--product-column", default="product_uid", help="pairs: product column")
        g.add_argument("--relevance-column", default="relevance",
                       help="pairs: relevance grade column ('' = every pair is positive)")


def _add_retrieval_parser(sub) -> None:
    from ..retrieval.retriever import RetrieverConfig

    ret = sub.add_parser("retrieval", help="search queries -> products: train, search, evaluate")
    rsub = ret.add_subparsers(dest="ret_command", required=True, metavar="ACTION")
    p = rsub.add_parser("train", help="train from a catalog and judged (query, product) pairs")
    p.add_argument("--catalog", required=True, help="products file (id, title)")
    p.add_argument("--pairs", required=True, help="judged pairs file (query, product, grade)")
    p.add_argument("-m", "--model", required=True, help="output model directory")
    p.add_argument("--config", help="JSON file with settings")
    _add_column_args(p, catalog=True, pairs=True)
    _add_threads(p)
    _add_config_flags(p, RetrieverConfig)
    p = rsub.add_parser("search", help="one JSON object per query line: the ranked products")
    p.add_argument("-m", "--model", required=True, help="model directory")
    p.add_argument("-i", "--input", default="-", help="queries, one per line ('-' = standard "
                                                       "input, answered line by line)")
    p.add_argument("-k", "--top-k", type=int, default=10, help="products per query")
    p.add_argument("--beam-size", type=int, default=None, help="beam width (default: model's)")
    p = rsub.add_parser("evaluate", help="recall@10/100, nDCG@10, MRR of judged queries (JSON)")
    p.add_argument("-m", "--model", required=True, help="model directory")
    p.add_argument("--pairs", required=True, help="judged pairs file")
    p.add_argument("--beam-size", type=int, default=None, help="beam width (default: model's)")
    _add_column_args(p, catalog=False, pairs=True)
    _add_threads(p)


def cmd_retrieval(args: argparse.Namespace) -> int:
    from ..retrieval import data as rdata
    from ..retrieval.retriever import ProductRetriever, RetrieverConfig

    def judgments(path):
        return rdata.read_judgments(path, query_column=args.query_column,
                                    product_column=args.product_column,
                                    relevance_column=args.relevance_column or None)

    if args.ret_command == "train":
        catalog = rdata.read_catalog(args.catalog, id_column=args.id_column,
                                     title_column=args.title_column)
        cfg = _config_from_args(args, RetrieverConfig)
        t0 = time.perf_counter()
        model = ProductRetriever(cfg).fit(catalog, judgments(args.pairs), threads=args.threads)
        model.save(args.model)
        logger.info("trained on %d products in %.2f s; saved to %s", len(catalog.ids),
                    time.perf_counter() - t0, args.model)
        return 0
    model = ProductRetriever.load(args.model)
    if args.ret_command == "evaluate":
        result = model.evaluate(judgments(args.pairs), beam_size=args.beam_size,
                                threads=args.threads)
        print(json.dumps({k: round(v, 6) for k, v in result.items()}, indent=1))
        return 0
    if args.top_k < 1:
        raise XmrError(f"--top-k must be >= 1; got {args.top_k}")
    lines = sys.stdin if args.input == "-" else _read_lines(args.input)
    for line in lines:
        query = line.rstrip("\r\n")
        hits = model.search(query, args.top_k, beam_size=args.beam_size)
        results = [{"product_id": h.product_id, "title": h.title, "score": round(h.score, 6)}
                   for h in hits]
        print(json.dumps({"query": query, "results": results}, ensure_ascii=False), flush=True)
    return 0


def _read_lines(path: str) -> list[str]:
    try:
        return Path(path).read_text(encoding="utf-8").splitlines()
    except FileNotFoundError:
        raise XmrError(f"{path}: no such file") from None
    except UnicodeDecodeError as exc:
        raise XmrError(f"{path}: not valid UTF-8 (byte {exc.start})") from None


def _add_qac_parser(sub) -> None:
    from ..qac.completer import QacConfig

    qac = sub.add_parser("qac", help="query autocompletion: train, complete, evaluate",
                         description="Session-aware query autocompletion: previous query + "
                                     "typed prefix -> full query, learned from a query log "
                                     "(one query per line, in per-user time order).")
    qsub = qac.add_subparsers(dest="qac_command", required=True, metavar="ACTION")
    for name, helptext in (("train", "train on the first part of a query log"),
                           ("evaluate", "MRR@10, success@k, BLEU on the last part (JSON)")):
        p = qsub.add_parser(name, help=helptext)
        p.add_argument("--queries", required=True, help="query log (plain or .gz)")
        p.add_argument("--train-fraction", type=float, default=0.9,
                       help="first share of the (previous, next) pairs used for training")
        p.add_argument("--seed", type=int, default=0, help="seed of the typed-prefix lengths")
        p.add_argument("--session-rule", default="adjacent", choices=["adjacent", "shared-token"],
                       help="what counts as the previous query (see xmr.qac.data)")
        if name == "train":
            p.add_argument("-m", "--model", required=True, help="output model directory")
            p.add_argument("--config", help="JSON file with settings")
            _add_threads(p)
            _add_config_flags(p, QacConfig)
        else:
            p.add_argument("-m", "--model", required=True, help="model directory")
            p.add_argument("--no-bleu", action="store_true", help="skip BLEU (needs sacrebleu)")
    p = qsub.add_parser("complete", help="suggest completions; reads prefixes from standard "
                                         "input when none are given (interactive)")
    p.add_argument("-m", "--model", required=True, help="model directory")
    p.add_argument("prefix", nargs="*", help="prefixes to complete (none: read standard input, "
                                             "one 'prefix' or 'previous<TAB>prefix' per line)")
    p.add_argument("--previous", default="", help="the previous query of the session")
    p.add_argument("-k", type=int, default=10, help="suggestions per prefix")
    p.add_argument("--plain", action="store_true",
                   help="print suggestions one per line instead of JSON lines")


def cmd_qac(args: argparse.Namespace) -> int:
    from ..qac import data as qdata
    from ..qac.completer import QacConfig, QueryAutocompleter

    if args.qac_command in ("train", "evaluate"):
        queries = qdata.read_queries(args.queries)
        train, test = qdata.make_examples(queries, train_fraction=args.train_fraction,
                                          seed=args.seed, session_rule=args.session_rule)
    if args.qac_command == "train":
        cfg = _config_from_args(args, QacConfig)
        t0 = time.perf_counter()
        model = QueryAutocompleter(cfg).fit(train, threads=args.threads)
        model.save(args.model)
        logger.info("trained on %d examples in %.2f s; saved to %s", len(train.target),
                    time.perf_counter() - t0, args.model)
        return 0
    model = QueryAutocompleter.load(args.model)
    if args.qac_command == "evaluate":
        from ..qac.evaluate import evaluate_completer

        result = evaluate_completer(model, test, with_bleu=not args.no_bleu)
        print(json.dumps(result, indent=1))
        return 0
    if args.k < 1:
        raise XmrError(f"-k must be >= 1; got {args.k}")
    inputs = ([(args.previous, p) for p in args.prefix] if args.prefix else
              ((line.rstrip("\r\n").split("\t", 1) if "\t" in line else
                (args.previous, line.rstrip("\r\n"))) for line in sys.stdin))
    for previous, prefix in inputs:
        sugg = model.complete(prefix, previous, args.k)
        if args.plain:
            print(f"{prefix!r}:" + "".join(f"\n  {i + 1}. {s.query}" for i, s in
                                           enumerate(sugg)), flush=True)
        else:
            print(json.dumps({"previous": previous, "prefix": prefix,
                              "suggestions": [{"query": s.query, "score": round(s.score, 6)}
                                              for s in sugg]}, ensure_ascii=False), flush=True)
    return 0


def cmd_text2text(args: argparse.Namespace) -> int:
    from ..text import text2text as t2t

    if args.t2t_command == "train":
        items = t2t.read_items(args.items)
        texts, labels = t2t.read_labeled_texts(args.train, n_items=len(items))
        cfg = _config_from_args(args, t2t.Text2TextConfig)
        t0 = time.perf_counter()
        model = t2t.Text2Text(cfg).fit(texts, labels, items, threads=args.threads)
        model.save(args.model)
        logger.info("trained on %d texts, %d items in %.2f s; saved to %s", len(texts),
                    len(items), time.perf_counter() - t0, args.model)
        return 0
    model = t2t.Text2Text.load(args.model)
    knobs = {k: getattr(args, _dest(f"predict.{k}"), None) for k in ("beam_size", "top_k")}
    knobs = {k: v for k, v in knobs.items() if v is not None}
    if args.t2t_command == "evaluate":
        texts, labels = t2t.read_labeled_texts(args.test, n_items=len(model.items_))
        ks = _parse_ks(args.ks)
        result = model.evaluate(texts, labels, ks=ks, threads=args.threads, **knobs)
        result = {k: round(v, 6) for k, v in result.items()}
        result["texts"] = len(texts)
        print(json.dumps(result, indent=1))
        return 0
    out = sys.stdout if args.output == "-" else open(args.output, "w", encoding="utf-8")
    try:
        if args.input == "-":  # interactive: answer each line as it arrives
            for line in sys.stdin:
                text = line.rstrip("\r\n").split("\t")[-1]
                _write_predictions(out, text, model.predict_one(text, **knobs))
                out.flush()
        else:
            texts, _ = t2t.read_labeled_texts(args.input, labels_required=False)
            preds = model.predict(texts, threads=args.threads, **knobs)
            for text, pred in zip(texts, preds, strict=True):
                _write_predictions(out, text, pred)
    finally:
        if out is not sys.stdout:
            out.close()
    return 0


def _write_predictions(out, text: str, preds) -> None:
    labels = [{"id": p.id, "text": p.text, "score": round(p.score, 6)} for p in preds]
    out.write(json.dumps({"input": text, "labels": labels}, ensure_ascii=False) + "\n")


def _parse_ks(text: str) -> list[int]:
    try:
        ks = [int(k) for k in text.split(",") if k.strip()]
    except ValueError:
        raise XmrError(f"--ks must be comma-separated integers; got {text!r}") from None
    if not ks or min(ks) < 1:
        raise XmrError(f"--ks must list positive integers; got {text!r}")
    return ks


def _load_data(args: argparse.Namespace):
    from ..io.datasets import read_dataset

    return read_dataset(args.data, fmt=args.format, labels_path=args.labels)


def _predict_kwargs(args: argparse.Namespace) -> dict[str, Any]:
    out = {}
    for knob in _PREDICT_KNOBS:
        value = getattr(args, _dest(f"predict.{knob}"), None)
        if value is not None:
            out[knob] = value
    return out


def cmd_train(args: argparse.Namespace) -> int:
    from ..linear.model import XLinearModel

    cfg = _config_from_args(args)
    t0 = time.perf_counter()
    data = _load_data(args)
    logger.info("read %s: %d rows, %d features, %d labels in %.2f s", args.data,
                data.X.shape[0], data.X.shape[1], data.Y.shape[1], time.perf_counter() - t0)
    model = XLinearModel(cfg).fit(data.X, data.Y, threads=args.threads)
    model.save(args.model)
    logger.info("saved model to %s", args.model)
    return 0


def cmd_predict(args: argparse.Namespace) -> int:
    from ..linear.model import XLinearModel

    data = _load_data(args)
    model = XLinearModel.load(args.model)
    t0 = time.perf_counter()
    top = model.predict(data.X, threads=args.threads, **_predict_kwargs(args))
    logger.info("predicted %d rows in %.3f s", data.X.shape[0], time.perf_counter() - t0)
    out = sys.stdout if args.output == "-" else open(args.output, "w", encoding="utf-8")
    try:
        for labels, scores in zip(top.indices, top.scores, strict=True):
            keep = labels >= 0
            out.write(" ".join(f"{lab}:{s:.6g}" for lab, s in zip(labels[keep], scores[keep],
                                                                  strict=True)) + "\n")
    finally:
        if out is not sys.stdout:
            out.close()
    return 0


def cmd_evaluate(args: argparse.Namespace) -> int:
    from ..linear.model import XLinearModel
    from ..metrics import evaluate

    ks = _parse_ks(args.ks)
    data = _load_data(args)
    model = XLinearModel.load(args.model)
    if data.Y.shape[1] > model.n_labels_ or data.X.shape[1] > model.n_features_:
        raise XmrError(f"{args.data}: {data.X.shape[1]} features / {data.Y.shape[1]} labels, "
                       f"the model has {model.n_features_} / {model.n_labels_}")
    import scipy.sparse as sp

    X = sp.csr_matrix(data.X, shape=(data.X.shape[0], model.n_features_)) \
        if data.X.shape[1] != model.n_features_ else data.X
    Y = sp.csr_matrix(data.Y, shape=(data.Y.shape[0], model.n_labels_)) \
        if data.Y.shape[1] != model.n_labels_ else data.Y
    kwargs = _predict_kwargs(args)
    kwargs["top_k"] = max(kwargs.get("top_k", model.config.predict.top_k), max(ks))
    t0 = time.perf_counter()
    top = model.predict(X, threads=args.threads, **kwargs)
    elapsed = time.perf_counter() - t0
    result = {k: round(v, 6) for k, v in evaluate(top, Y, ks).items()}
    result["rows"] = int(X.shape[0])
    result["predict_seconds"] = round(elapsed, 4)
    print(json.dumps(result, indent=1))
    return 0


def cmd_config(args: argparse.Namespace) -> int:
    print(json.dumps(_config_from_args(args).to_dict(), indent=1))
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    from ..linear.model import XLinearModel
    from ..metrics import precision_at_k
    from ..synthetic import make_problem

    t0 = time.perf_counter()
    prob = make_problem(args.labels, seed=args.seed)
    print(f"generated {args.labels} labels: {prob.X_train.shape[0]} train / "
          f"{prob.X_test.shape[0]} test rows, {prob.X_train.shape[1]} features "
          f"({time.perf_counter() - t0:.2f} s)")
    t0 = time.perf_counter()
    model = XLinearModel().fit(prob.X_train, prob.Y_train, threads=args.threads)
    print(f"trained in {time.perf_counter() - t0:.2f} s (tree levels "
          f"{model.tree_.level_sizes()}, {model.layout_.nnz} weights)")
    t0 = time.perf_counter()
    top = model.predict(prob.X_test, threads=args.threads)
    elapsed = time.perf_counter() - t0
    p = precision_at_k(top, prob.Y_test, (1, 3, 5))
    print(f"batch prediction: {prob.X_test.shape[0]} rows in {elapsed:.3f} s "
          f"({1e3 * elapsed / prob.X_test.shape[0]:.3f} ms/row)")
    print(f"P@1 = {p[1]:.4f}  P@3 = {p[3]:.4f}  P@5 = {p[5]:.4f}")
    X = prob.X_test
    queries = [(X.indices[X.indptr[i]:X.indptr[i + 1]], X.data[X.indptr[i]:X.indptr[i + 1]])
               for i in range(min(X.shape[0], 2000))]
    model.predict_one(queries[0])  # warm-up
    times = np.empty(len(queries))
    for i, q in enumerate(queries):  # timing individual calls is the point here
        t = time.perf_counter()
        model.predict_one(q)
        times[i] = time.perf_counter() - t
    print(f"single query: p50 {1e3 * np.percentile(times, 50):.3f} ms, "
          f"p99 {1e3 * np.percentile(times, 99):.3f} ms ({len(queries)} queries)")
    first = model.predict_one(queries[0], top_k=5)
    truth = prob.Y_test.indices[prob.Y_test.indptr[0]:prob.Y_test.indptr[1]]
    print(f"row 0: true labels {truth.tolist()}, predicted "
          + ", ".join(f"{lab} ({s:.3f})" for lab, s in zip(first.indices, first.scores,
                                                           strict=True)))
    return 0


_COMMANDS = {"train": cmd_train, "predict": cmd_predict, "evaluate": cmd_evaluate,
             "config": cmd_config, "demo": cmd_demo, "text2text": cmd_text2text,
             "retrieval": cmd_retrieval, "qac": cmd_qac}


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point; returns the exit status (0 ok, 2 usage or data error)."""
    parser = build_parser()
    args = parser.parse_args(argv)
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s %(message)s", "%H:%M:%S"))
    xmr_logger = logging.getLogger("xmr")
    xmr_logger.addHandler(handler)
    previous = xmr_logger.level
    xmr_logger.setLevel(logging.WARNING if args.quiet else logging.INFO)
    try:
        return _COMMANDS[args.command](args)
    except XmrError as exc:
        print(f"xmr {args.command}: error: {exc}", file=sys.stderr)
        return 2
    finally:
        xmr_logger.removeHandler(handler)
        xmr_logger.setLevel(previous)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
