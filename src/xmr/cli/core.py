"""The core ``xmr`` verbs: demo, train, predict, evaluate, config, info, verify."""

from __future__ import annotations

import argparse
import logging
import time

import numpy as np

from ..compile import PARTS
from ..linear.config import XLinearConfig
from . import common as c
from .display import training_progress

logger = logging.getLogger(__name__)


def _add_data(p: argparse.ArgumentParser) -> None:
    p.add_argument("-i", "--input", "-x", "--data", dest="input", required=True,
                   help="data file: XC format (header + 'l1,l2 f:v ...'), LIBSVM, or .npz "
                        "features (plain, gzip, xz or bzip2)")
    p.add_argument("-y", "--labels", default=None,
                   help="label matrix .npz (with .npz features)")
    p.add_argument("--data-format", default="auto", choices=["auto", "xc", "libsvm", "npz"],
                   help="format of --input (default: guessed from the file)")


def add_parsers(sub: argparse._SubParsersAction, parents: list[argparse.ArgumentParser],
                app_configs: dict[str, type]) -> None:
    """Register the core verbs."""
    p = sub.add_parser("demo", parents=parents,
                       help="train, evaluate and query a model on generated data")
    p.add_argument("--labels", type=int, default=20_000, help="labels of the generated problem")
    p.add_argument("--seed", type=int, default=0)
    c.add_threads(p)
    p.set_defaults(func=cmd_demo)

    p = sub.add_parser("compile", parents=parents,
                       help="compile and cache the numba kernels now, in parallel processes "
                            "(otherwise the first run on a machine compiles them as it goes)")
    p.add_argument("--parts", default=",".join(PARTS),
                   help=f"kernel groups (default: all of {','.join(PARTS)}; bfloat16 is "
                        f"search over bfloat16 weights)")
    p.add_argument("--processes", type=int, default=None,
                   help="worker processes (default: one per core)")
    p.set_defaults(func=cmd_compile)

    p = sub.add_parser("train", parents=parents, help="train a model and save it as a directory")
    _add_data(p)
    c.add_model(p, output=True)
    c.add_threads(p)
    p.add_argument("--dask", default=None, metavar="ADDRESS",
                   help="train on a Dask cluster: a scheduler address (tcp://host:8786) or "
                        "local:N (N local worker processes of one thread); the meta-tree is "
                        "built here, sub-trees on the workers; same model as without it "
                        "(needs pip install 'xmr[dask]')")
    p.add_argument("--dask-timeout", type=float, default=10.0, metavar="SECONDS",
                   help="give up when the Dask scheduler does not answer within this time "
                        "(default: 10)")
    c.add_config_flags(p, XLinearConfig)
    p.set_defaults(func=cmd_train)

    p = sub.add_parser("predict", parents=parents, help="the top-k labels of every row")
    _add_data(p)
    c.add_model(p)
    c.add_output(p, default_format="text")
    c.add_search_knobs(p)
    p.add_argument("--post-processor", default=None,
                   help="score transform (default: the model's predict.post_processor)")
    p.add_argument("--label-names", default=None,
                   help="file of label names, one per line (line i names label i): print "
                        "names instead of ids")
    c.add_threads(p)
    p.set_defaults(func=cmd_predict)

    p = sub.add_parser("evaluate", parents=parents, help="P@k, R@k, nDCG@k and MRR")
    _add_data(p)
    c.add_model(p)
    p.add_argument("--ks", default="1,3,5", help="cut-offs, e.g. 1,3,5,10")
    c.add_output(p)
    c.add_search_knobs(p, top_k=False)
    p.add_argument("--post-processor", default=None,
                   help="score transform (default: the model's predict.post_processor)")
    c.add_threads(p)
    p.set_defaults(func=cmd_evaluate)

    p = sub.add_parser("config", parents=parents,
                       help="print the settings of every verb (or of one) with their defaults",
                       description="With no verb: the defaults of every verb that trains, as "
                                   "one JSON object keyed by verb. With a verb: its settings, "
                                   "merged with --config and flags, usable as its --config "
                                   "file.")
    csub = p.add_subparsers(dest="config_verb", metavar="VERB")
    for verb, cls in {"train": XLinearConfig, **app_configs}.items():
        q = csub.add_parser(verb, parents=parents, help=f"settings of 'xmr {verb}"
                                                        f"{'' if verb == 'train' else ' train'}'")
        c.add_config_flags(q, cls)
        q.add_argument("--format", default="json", choices=["json", "text"],
                       help="output format (default: json)")
        q.set_defaults(config_class=cls)
    p.add_argument("--format", default="json", choices=["json", "text"],
                   help="output format (default: json)")
    p.set_defaults(func=cmd_config, app_configs={"train": XLinearConfig, **app_configs})

    p = sub.add_parser("info", parents=parents,
                       help="format, version, sizes, settings and training statistics of a "
                            "saved model (any format)")
    p.add_argument("path", help="model directory")
    p.add_argument("--format", default="text", choices=["json", "text"],
                   help="output format (default: text)")
    p.set_defaults(func=cmd_info)

    p = sub.add_parser("verify", parents=parents,
                       help="check every file of a saved model against its manifest's sha256")
    p.add_argument("path", help="model directory")
    p.set_defaults(func=cmd_verify)


def _load_data(args: argparse.Namespace):
    from ..io.datasets import read_dataset

    return read_dataset(args.input, fmt=args.data_format, labels_path=args.labels)


def _predict_knobs(args: argparse.Namespace) -> dict:
    knobs = c.check_knobs(args)
    if args.post_processor is not None:
        knobs["post_processor"] = args.post_processor
    return knobs


def cmd_train(args: argparse.Namespace) -> int:
    from ..linear.model import XLinearModel

    cfg = c.config_from_args(args, XLinearConfig)
    c.check_model_output(args.model)
    c.announce_compilation()
    t0 = time.perf_counter()
    data = _load_data(args)
    logger.info("read %s: %d rows, %d features, %d labels in %.2f s", args.input,
                data.X.shape[0], data.X.shape[1], data.Y.shape[1], time.perf_counter() - t0)
    with training_progress(getattr(args, "quiet", False)) as progress:
        if args.dask is None:
            model = XLinearModel(cfg).fit(data.X, data.Y, threads=args.threads,
                                          progress=progress)
        else:
            from ..distributed import connect

            with connect(args.dask, timeout=args.dask_timeout) as client:
                model = XLinearModel(cfg).fit(data.X, data.Y, threads=args.threads,
                                              executor=client, progress=progress)
    model.save(args.model)
    logger.info("saved model to %s", args.model)
    return 0


def cmd_predict(args: argparse.Namespace) -> int:
    from ..linear.model import XLinearModel

    knobs = _predict_knobs(args)
    c.check_output_file(args.output)
    c.announce_compilation()
    model = XLinearModel.load(args.model)
    names = _label_names(args.label_names, model.n_labels_) if args.label_names else None
    data = _load_data(args)
    X = _fit_columns(data.X, model.n_features_, args.input)
    t0 = time.perf_counter()
    top = model.predict(X, threads=args.threads, **knobs)
    logger.info("predicted %d rows in %.3f s", X.shape[0], time.perf_counter() - t0)
    with c.open_output(args.output) as out:
        for row, (labels, scores) in enumerate(zip(top.indices, top.scores, strict=True)):
            keep = labels >= 0
            labels, scores = labels[keep].tolist(), scores[keep].tolist()
            shown = [names[i] for i in labels] if names is not None else labels
            if args.format == "json":
                out.write(c.dump_json({"row": row, "labels": shown,
                                       "scores": [round(s, 6) for s in scores]}) + "\n")
            else:
                out.write(" ".join(f"{lab}:{s:.6g}" for lab, s in zip(shown, scores,
                                                                       strict=True)) + "\n")
    return 0


def _label_names(path: str, n_labels: int) -> list[str]:
    from ..errors import DataError
    from ..io.textfiles import read_utf8, split_lines

    names = split_lines(read_utf8(path, "label names file"))
    if len(names) < n_labels:
        raise DataError(f"{path}: {len(names)} names for a model of {n_labels} labels")
    return names


def _fit_columns(X, n_features: int, where: str):
    """A data file may use fewer feature columns than the model (its largest id is lower)."""
    import scipy.sparse as sp

    from ..errors import DataError

    if X.shape[1] > n_features:
        raise DataError(f"{where}: {X.shape[1]} feature columns, the model has {n_features}")
    if X.shape[1] < n_features:
        X = sp.csr_matrix((X.data, X.indices, X.indptr), shape=(X.shape[0], n_features))
    return X


def cmd_evaluate(args: argparse.Namespace) -> int:
    import scipy.sparse as sp

    from ..errors import DataError
    from ..linear.model import XLinearModel
    from ..metrics import evaluate

    ks = c.parse_ks(args.ks)
    knobs = _predict_knobs(args)
    c.check_output_file(args.output)
    c.announce_compilation()
    model = XLinearModel.load(args.model)
    data = _load_data(args)
    X = _fit_columns(data.X, model.n_features_, args.input)
    if data.Y.shape[1] > model.n_labels_:
        raise DataError(f"{args.input}: {data.Y.shape[1]} labels, the model has "
                        f"{model.n_labels_}")
    Y = sp.csr_matrix((data.Y.data, data.Y.indices, data.Y.indptr),
                      shape=(data.Y.shape[0], model.n_labels_))
    knobs["top_k"] = max(knobs.get("top_k", model.config.predict.top_k), max(ks))
    t0 = time.perf_counter()
    top = model.predict(X, threads=args.threads, **knobs)
    elapsed = time.perf_counter() - t0
    result = {k: round(v, 6) for k, v in evaluate(top, Y, ks).items()}
    result["rows"] = int(X.shape[0])
    result["predict_seconds"] = round(elapsed, 4)
    with c.open_output(args.output) as out:
        c.print_result(result, args.format, out)
    return 0


def cmd_config(args: argparse.Namespace) -> int:
    cls = getattr(args, "config_class", None)
    if cls is None:
        result = {verb: kind().to_dict() for verb, kind in args.app_configs.items()}
    else:
        result = c.config_from_args(args, cls).to_dict()
    c.print_result(result, args.format)
    return 0


def cmd_info(args: argparse.Namespace) -> int:
    from ..io.persist import describe
    from ..io.store import leftovers

    info = describe(args.path)
    stale = leftovers(args.path)
    if stale:
        info["other_entries"] = [str(p) for p in stale]
    if args.format == "json":
        c.print_result(info, "json")
    else:
        _print_info(info)
    return 0


def _print_info(info: dict, indent: str = "") -> None:
    mb = info["bytes"] / 2**20
    print(f"{indent}{info['path']}: {info['format']} version {info['version']}, "
          f"{mb:.2f} MB, written by {info['written_by']}"
          + (f" on {info['created']}" if info.get("created") else ""))
    for key in ("n_features", "n_labels", "n_items", "n_products", "n_queries", "n_docs",
                "n_terms", "shape"):
        if key in info:
            print(f"{indent}  {key}: {info[key]}")
    if info.get("training"):
        print(f"{indent}  training: " + ", ".join(f"{k} {v}" for k, v in
                                                  info["training"].items()))
    if info.get("config"):
        print(f"{indent}  config: " + c.dump_json(info["config"]))
    for name, child in info.get("children", {}).items():
        print(f"{indent}  part {name}:")
        _print_info(child, indent + "    ")
    for entry in info.get("other_entries", []):
        print(f"{indent}  not the live version: {entry}")


def cmd_verify(args: argparse.Namespace) -> int:
    from ..io.persist import verify_tree
    from ..io.store import resolve

    directory = resolve(args.path)
    n = verify_tree(directory)
    print(f"{args.path}: ok ({n} files match their checksums; live version {directory.name})")
    return 0


def cmd_compile(args: argparse.Namespace) -> int:
    from ..compile import compile_kernels

    parts = [p.strip() for p in args.parts.split(",") if p.strip()]
    unknown = sorted(set(parts) - set(PARTS))
    if unknown:
        raise c.UsageError(f"--parts: unknown kernel groups {unknown}; known: {list(PARTS)}")
    t0 = time.perf_counter()
    compile_kernels(parts, processes=args.processes, progress=print)
    print(f"kernels compiled and cached in {time.perf_counter() - t0:.1f} s")
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    from ..compile import cold_parts, compile_kernels
    from ..linear.model import XLinearModel
    from ..metrics import precision_at_k
    from ..synthetic import make_problem

    cold = cold_parts(("train", "index", "layout", "search", "query"))
    if cold:
        t0 = time.perf_counter()
        print(f"first run on this machine: compiling the {', '.join(cold)} kernels in "
              f"parallel processes (cached for every later run)...", flush=True)
        compile_kernels(cold)
        print(f"compiled in {time.perf_counter() - t0:.1f} s", flush=True)
    t0 = time.perf_counter()
    prob = make_problem(args.labels, seed=args.seed)
    print(f"generated {args.labels} labels: {prob.X_train.shape[0]} train / "
          f"{prob.X_test.shape[0]} test rows, {prob.X_train.shape[1]} features "
          f"({time.perf_counter() - t0:.2f} s)", flush=True)
    t0 = time.perf_counter()
    model = XLinearModel().fit(prob.X_train, prob.Y_train, threads=args.threads)
    print(f"trained in {time.perf_counter() - t0:.2f} s (tree levels "
          f"{model.tree_.level_sizes()}, {model.layout_.nnz} weights)", flush=True)
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
