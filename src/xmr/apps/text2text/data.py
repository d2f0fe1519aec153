"""Files of the text2text application: an items file (one label text per line) and labeled
texts (lines ``ID1,ID2<TAB>text``)."""

from __future__ import annotations

import os
from pathlib import Path

from ...errors import DataError
from ...io.textfiles import read_utf8, split_lines


def read_items(path: str | os.PathLike) -> list[str]:
    """Label texts, one per line (UTF-8, LF / CRLF / CR line endings); an empty line is an empty
    label text."""
    path = Path(path)
    items = split_lines(read_utf8(path, "items file"))
    if not items:
        raise DataError(f"{path}: the items file is empty")
    return items


def read_labeled_texts(path: str | os.PathLike, n_items: int | None = None,
                       labels_required: bool = True) -> tuple[list[str], list[list[int]] | None]:
    """Lines ``ID1,ID2<TAB>text`` -> (texts, label id lists).

    With ``labels_required=False`` a line without a tab is a text with no labels, and the label
    lists are None when no line has any. Errors name the file, the line and the problem.
    """
    path = Path(path)
    texts: list[str] = []
    labels: list[list[int]] = []
    any_labels = False
    for lineno, line in enumerate(split_lines(read_utf8(path, "file")), start=1):
        if "\t" not in line:
            if labels_required:
                raise DataError(f"{path}:{lineno}: expected 'ID1,ID2<TAB>text' (no tab found)")
            texts.append(line)
            labels.append([])
            continue
        ids_field, text = line.split("\t", 1)
        ids = _parse_ids(ids_field, path, lineno, n_items)
        any_labels = any_labels or bool(ids)
        texts.append(text)
        labels.append(ids)
    if not texts:
        raise DataError(f"{path}: no lines")
    return texts, (labels if any_labels or labels_required else None)


def _parse_ids(field_: str, path: Path, lineno: int, n_items: int | None) -> list[int]:
    field_ = field_.strip()
    if not field_:
        return []
    ids = []
    for tok in field_.split(","):
        tok = tok.strip()
        if not (tok.isascii() and tok.isdigit()):
            raise DataError(f"{path}:{lineno}: label id {tok!r} is not a non-negative integer")
        value = int(tok)
        if n_items is not None and value >= n_items:
            raise DataError(f"{path}:{lineno}: label id {value} is not a line of the items "
                            f"file (it has {n_items} items)")
        ids.append(value)
    return ids


