"""Catalog and judged-pair files for product retrieval (CSV or TSV, plain or gzip)."""

from __future__ import annotations

import contextlib
import csv
import gzip
import io
import math
import os
from collections.abc import Sequence
from pathlib import Path
from typing import NamedTuple

import numpy as np

from ...errors import DataError


class Catalog(NamedTuple):
    """Products in file order: ids (str) and titles (str, possibly empty)."""

    ids: list[str]
    titles: list[str]


class Judgments(NamedTuple):
    """Judged (query, product, grade) triples, one per row of the pairs file."""

    queries: list[str]
    products: list[str]
    grades: np.ndarray  # float64 (n_pairs,)


def _open_table(path: str | os.PathLike, delimiter: str | None):
    path = Path(path)
    try:
        raw = gzip.open(path, "rb") if path.suffix == ".gz" else open(path, "rb")
        reader_io = io.TextIOWrapper(raw, encoding="utf-8", newline="")
    except FileNotFoundError:
        raise DataError(f"{path}: no such file") from None
    except OSError as exc:
        raise DataError(f"{path}: cannot read ({exc.strerror or exc})") from None
    if delimiter is None:
        stem = path.name[:-3] if path.suffix == ".gz" else path.name
        delimiter = "\t" if stem.endswith((".tsv", ".tab")) else ","
    return path, reader_io, csv.DictReader(reader_io, delimiter=delimiter)


def _columns(path: Path, reader: csv.DictReader, wanted: Sequence[str]) -> None:
    with _file_errors(path, reader):
        header = reader.fieldnames or []
    missing = [c for c in wanted if c not in header]
    if missing:
        raise DataError(f"{path}: no column(s) {missing}; the header has {header}")


@contextlib.contextmanager
def _file_errors(path: Path, reader: csv.DictReader):
    """Decoding, CSV and compression errors as DataErrors naming the file and the line."""
    try:
        yield
    except UnicodeDecodeError:
        raise DataError(f"{path}: not valid UTF-8 (after line {reader.line_num})") from None
    except csv.Error as exc:
        raise DataError(f"{path}:{reader.line_num}: {exc}") from None
    except (OSError, EOFError) as exc:  # a truncated or corrupt gzip stream
        raise DataError(f"{path}: unreadable after line {reader.line_num} ({exc})") from None


def _rows(path: Path, reader: csv.DictReader):
    """The reader's rows; errors name the file and the line."""
    with _file_errors(path, reader):
        yield from reader


def read_catalog(path: str | os.PathLike, *, id_column: str = "product_uid",
                 title_column: str = "product_title", delimiter: str | None = None) -> Catalog:
    """Read a catalog. Duplicate ids are an error (naming both lines); a missing or empty title
    is kept as an empty string (that product is then reachable only through training queries).
    """
    path, fh, reader = _open_table(path, delimiter)
    ids: list[str] = []
    titles: list[str] = []
    first_line: dict[str, int] = {}
    with fh:
        _columns(path, reader, [id_column, title_column])
        for row in _rows(path, reader):
            pid = (row.get(id_column) or "").strip()
            line = reader.line_num
            if not pid:
                raise DataError(f"{path}:{line}: empty product id")
            if pid in first_line:
                raise DataError(f"{path}:{line}: duplicate product id {pid!r} (first on "
                                f"line {first_line[pid]})")
            first_line[pid] = line
            ids.append(pid)
            titles.append((row.get(title_column) or "").strip())
    if not ids:
        raise DataError(f"{path}: the catalog has no products")
    return Catalog(ids, titles)


def read_judgments(path: str | os.PathLike, *, query_column: str = "search_term",
                   product_column: str = "product_uid", relevance_column: str | None = "relevance",
                   delimiter: str | None = None) -> Judgments:
    """Read judged pairs; without a relevance column every pair has grade 1."""
    path, fh, reader = _open_table(path, delimiter)
    queries: list[str] = []
    products: list[str] = []
    grades: list[float] = []
    with fh:
        _columns(path, reader, [query_column, product_column]
                 + ([relevance_column] if relevance_column else []))
        for row in _rows(path, reader):
            queries.append((row.get(query_column) or "").strip())
            products.append((row.get(product_column) or "").strip())
            if relevance_column:
                value = row.get(relevance_column)
                try:
                    grade = float(value)
                except (TypeError, ValueError):
                    grade = math.nan
                if not math.isfinite(grade):
                    raise DataError(f"{path}:{reader.line_num}: relevance {value!r} is not "
                                    "a finite number")
                grades.append(grade)
            else:
                grades.append(1.0)
    if not queries:
        raise DataError(f"{path}: no judged pairs")
    return Judgments(queries, products, np.asarray(grades, dtype=np.float64))


def split_queries(judgments: Judgments, test_fraction: float = 0.2,
                  seed: int = 0) -> tuple[Judgments, Judgments]:
    """Split judged pairs by distinct query (all pairs of a query land on the same side)."""
    uniq = sorted(set(judgments.queries))
    rng = np.random.default_rng(seed)
    test = set(np.asarray(uniq, dtype=object)[rng.permutation(len(uniq))[
        :int(round(test_fraction * len(uniq)))]].tolist())
    is_test = np.array([q in test for q in judgments.queries])

    def pick(mask):
        idx = np.flatnonzero(mask)
        return Judgments([judgments.queries[i] for i in idx],
                         [judgments.products[i] for i in idx], judgments.grades[idx])

    return pick(~is_test), pick(is_test)
