"""Whole UTF-8 text files (plain or gzip) with errors that name the file and the line."""

from __future__ import annotations

import gzip
import os
import re
from pathlib import Path

from ..errors import DataError


def read_utf8(path: str | os.PathLike, what: str = "file") -> str:
    """The text of ``path`` (``.gz`` is decompressed); DataError naming the file (and the line
    of the first invalid byte) when it is missing or not UTF-8."""
    path = Path(path)
    try:
        opener = gzip.open if path.suffix == ".gz" else open
        with opener(path, "rb") as fh:
            raw = fh.read()
    except FileNotFoundError:
        raise DataError(f"{path}: no such {what}") from None
    except (OSError, EOFError) as exc:
        raise DataError(f"{path}: cannot read the {what} ({exc})") from None
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw[:exc.start].count(b"\n") + 1
        raise DataError(f"{path}:{line}: not valid UTF-8") from None


_LINE_BREAK = re.compile(r"\r\n|\r|\n")


def split_lines(text: str) -> list[str]:
    """Lines of ``text`` for any of the line endings LF, CRLF or CR (a final line break does
    not start an empty line)."""
    lines = _LINE_BREAK.split(text)
    if lines and lines[-1] == "":
        lines.pop()
    return lines
