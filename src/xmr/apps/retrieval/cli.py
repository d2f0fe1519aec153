"""``xmr retrieval``: train, search and evaluate a product retriever."""

from __future__ import annotations

import argparse
import logging
import time

from ...cli import common as c
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
    catalog = read_catalog(args.catalog, id_column=args.id_column,
                           title_column=args.title_column)
    pairs = _judgments(args, args.pairs)
    t0 = time.perf_counter()
    model = ProductRetriever(cfg).fit(catalog, pairs, threads=args.threads)
    model.save(args.model)
    logger.info("trained on %d products in %.2f s; saved to %s", len(catalog.ids),
                time.perf_counter() - t0, args.model)
    return 0


def cmd_search(args: argparse.Namespace) -> int:
    from .retriever import ProductRetriever

    knobs = c.check_knobs(args)
    c.check_output_file(args.output)
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
    model = ProductRetriever.load(args.model)
    result = model.evaluate(_judgments(args, args.pairs), threads=args.threads, **knobs)
    with c.open_output(args.output) as out:
        c.print_result({k: round(v, 6) if isinstance(v, float) else v
                        for k, v in result.items()}, args.format, out)
    return 0
