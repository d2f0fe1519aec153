"""``xmr retrieval``: train, search and evaluate a product retriever."""

from __future__ import annotations

import argparse
import logging
import time

from ...cli import common as c
from ...cli.display import training_progress
from .retriever import RetrieverConfig

logger = logging.getLogger(__name__)

NAME = "retrieval"
CONFIG = RetrieverConfig


def _add_columns(p: argparse.ArgumentParser, catalog: bool, pairs: bool) -> None:
    g = p.add_argument_group("file columns (CSV, or TSV for .tsv files; gzip allowed)")
    if catalog:
        g.add_argument("--id-column", default="product_uid", help="catalog: product id column")
        g.add_argument("--title-column", default="product_title", help="catalog: title column")
    if pairs:
        g.add_argument("--query-column", default="search_term", help="pairs: query column")
        g.add_argument("--product-column", default="product_uid", help="pairs: product column")
        g.add_argument("--relevance-column", default="relevance",
                       help="pairs: relevance grade column ('' = every pair is positive)")


def add_parser(sub: argparse._SubParsersAction, parents: list[argparse.ArgumentParser]) -> None:
    """Register ``xmr retrieval train|search|evaluate``."""
    ret = sub.add_parser(NAME, parents=parents,
                         help="search queries -> products: train, search, evaluate")
    rsub = ret.add_subparsers(dest="action", required=True, metavar="ACTION")

    p = rsub.add_parser("train", parents=parents,
                        help="train from a catalog and judged (query, product) pairs")
    p.add_argument("--catalog", required=True, help="products file (id, title)")
    p.add_argument("--pairs", required=True, help="judged pairs file (query, product, grade)")
    c.add_model(p, output=True)
    _add_columns(p, catalog=True, pairs=True)
    c.add_threads(p)
    c.add_config_flags(p, RetrieverConfig)
    p.set_defaults(func=cmd_train)

    p = rsub.add_parser("update", parents=parents,
                        help="add, remove and retitle products of a trained model (no retraining)")
    c.add_model(p)
    p.add_argument("--add", help="products to add (a catalog file: id and title columns)")
    p.add_argument("--remove", help="ids of products to remove, one per line")
    p.add_argument("--retitle", help="existing products with new titles (a catalog file)")
    _add_columns(p, catalog=True, pairs=False)
    c.add_threads(p)
    p.set_defaults(func=cmd_update)

    p = rsub.add_parser("search", parents=parents, help="the ranked products of every query")
    c.add_model(p)
    c.add_input(p, "queries, one per line ('-' = standard input, answered line by line)")
    c.add_output(p)
    c.add_search_knobs(p)
    p.set_defaults(func=cmd_search)

    p = rsub.add_parser("evaluate", parents=parents,
                        help="R@10, R@100, nDCG@10, MRR of judged queries")
    c.add_model(p)
    p.add_argument("--pairs", required=True, help="judged pairs file")
    _add_columns(p, catalog=False, pairs=True)
    c.add_output(p)
    c.add_search_knobs(p, top_k=False)
    c.add_threads(p)
    p.set_defaults(func=cmd_evaluate)


def _judgments(args: argparse.Namespace, path: str):
    from .data import read_judgments

    return read_judgments(path, query_column=args.query_column,
                          product_column=args.product_column,
                          relevance_column=args.relevance_column or None)


def cmd_train(args: argparse.Namespace) -> int:
    from .data import read_catalog
    from .retriever import ProductRetriever

    cfg = c.config_from_args(args, RetrieverConfig)
    c.check_model_output(args.model)
    c.announce_compilation()
    catalog = read_catalog(args.catalog, id_column=args.id_column,
                           title_column=args.title_column)
    pairs = _judgments(args, args.pairs)
    t0 = time.perf_counter()
    with training_progress(getattr(args, "quiet", False)) as progress:
        model = ProductRetriever(cfg).fit(catalog, pairs, threads=args.threads,
                                          progress=progress)
    model.save(args.model)
    logger.info("trained on %d products in %.2f s; saved to %s", len(catalog.ids),
                time.perf_counter() - t0, args.model)
    return 0


def cmd_update(args: argparse.Namespace) -> int:
    from ...errors import DataError
    from ...io.textfiles import read_utf8, split_lines
    from .data import read_catalog
    from .retriever import ProductRetriever

    if not (args.add or args.remove or args.retitle):
        raise c.UsageError("nothing to do: give --add, --remove and/or --retitle")
    c.check_model_output(args.model)
    c.announce_compilation()
    columns = {"id_column": args.id_column, "title_column": args.title_column}
    add = read_catalog(args.add, **columns) if args.add else None
    retitle = read_catalog(args.retitle, **columns) if args.retitle else None
    remove: list[str] = []
    if args.remove:
        seen: dict[str, int] = {}
        for line, pid in enumerate(split_lines(read_utf8(args.remove, "id list")), start=1):
            pid = pid.strip()
            if not pid:
                continue
            if pid in seen:
                raise DataError(f"{args.remove}:{line}: product id {pid!r} again (first on line "
                                f"{seen[pid]})")
            seen[pid] = line
            remove.append(pid)
    model = ProductRetriever.load(args.model, mmap=False)
    known = set(model.product_ids_)
    for line_no, pid in ((seen[p], p) for p in remove if p not in known):
        raise DataError(f"{args.remove}:{line_no}: product id {pid!r} is not in the catalog")
    t0 = time.perf_counter()
    model.update(add=add, remove=remove, retitle=retitle, threads=args.threads)
    model.save(args.model)  # a new version: readers see the old or the new catalog, whole
    logger.info("updated %s in %.2f s: %d products", args.model, time.perf_counter() - t0,
                len(model.product_ids_))
    return 0


def cmd_search(args: argparse.Namespace) -> int:
    from .retriever import ProductRetriever

    knobs = c.check_knobs(args)
    c.check_output_file(args.output)
    c.announce_compilation()
    model = ProductRetriever.load(args.model)
    with c.open_output(args.output) as out:
        for query in c.read_input_lines(args.input):
            hits = model.search(query, **knobs)
            if args.format == "text":
                out.write(f"{query}\n" + "".join(f"  {i + 1}. {h.product_id}  {h.title}  "
                                                 f"({h.score:.4f})\n"
                                                 for i, h in enumerate(hits)))
            else:
                results = [{"product_id": h.product_id, "title": h.title,
                            "score": round(h.score, 6)} for h in hits]
                out.write(c.dump_json({"query": query, "results": results}) + "\n")
            out.flush()
    return 0


def cmd_evaluate(args: argparse.Namespace) -> int:
    from .retriever import ProductRetriever

    knobs = c.check_knobs(args)
    c.check_output_file(args.output)
    c.announce_compilation()
    model = ProductRetriever.load(args.model)
    result = model.evaluate(_judgments(args, args.pairs), threads=args.threads, **knobs)
    with c.open_output(args.output) as out:
        c.print_result({k: round(v, 6) if isinstance(v, float) else v
                        for k, v in result.items()}, args.format, out)
    return 0
