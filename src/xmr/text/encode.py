"""Turn a list of documents into code-point arrays for the text kernels.

All per-character work that Python's C string methods already do fast (lower-casing, Unicode
normalization, UTF-32 encoding) is done once on the whole corpus joined by NUL; the character
classes of the few distinct non-ASCII code points are looked up with ``str`` methods. What is left
(whitespace normalization, n-grams) runs in numba kernels.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence
from typing import NamedTuple

import numpy as np

from .._kernels.whitespace import CLS_OTHER, CLS_SPACE, CLS_WORD
from ..errors import DataError
from .passes import normalize_whitespace


def _char_class(ch: str) -> int:
    # the classes of Python's re: \w is alphanumeric or "_", \s is str.isspace
    if ch.isalnum() or ch == "_":
        return CLS_WORD
    if ch.isspace():
        return CLS_SPACE
    return CLS_OTHER


ASCII_CLASS = np.array([_char_class(chr(c)) for c in range(128)], dtype=np.uint8)
ASCII_CLASS[0] = CLS_SPACE  # NUL separates documents; inside one it is whitespace


class EncodedText(NamedTuple):
    """Normalized corpus: code points of document d are ``codes[ptr[d]:ptr[d + 1]]``."""

    ptr: np.ndarray  # int64 (n_docs + 1,)
    codes: np.ndarray  # uint32 (total,)
    classes: np.ndarray  # uint8 (total,): 0 other, 1 word character, 2 space


def as_text(doc, where: str) -> str:
    """``doc`` as str (UTF-8 bytes are decoded); DataError naming ``where`` otherwise."""
    if isinstance(doc, str):
        return doc
    if isinstance(doc, (bytes, bytearray)):
        try:
            return bytes(doc).decode("utf-8")
        except UnicodeDecodeError as exc:
            raise DataError(f"{where}: not valid UTF-8 ({exc.reason} at byte "
                            f"{exc.start})") from None
    raise DataError(f"{where}: expected str or UTF-8 bytes, got {type(doc).__name__}")


def classify(codes: np.ndarray) -> np.ndarray:
    """Character class (uint8) of each code point."""
    cls = ASCII_CLASS[np.minimum(codes, 127)]
    wide = codes >= 128
    if wide.any():
        uniq, inv = np.unique(codes[wide], return_inverse=True)
        table = np.array([_char_class(chr(c)) for c in uniq.tolist()], dtype=np.uint8)
        cls[wide] = table[inv]
    return cls


def encode(docs: Sequence[str], lowercase: bool, unicode_form: str) -> EncodedText:
    """Lower-case, Unicode-normalize and whitespace-normalize a corpus.

    Parameters
    ----------
    docs : sequence of str (or UTF-8 bytes)
    lowercase : bool
    unicode_form : "none", "NFC", "NFKC", "NFD" or "NFKD"

    Returns
    -------
    EncodedText; empty or whitespace-only documents have no code points.
    """
    if isinstance(docs, (str, bytes)):
        raise DataError("expected a sequence of documents, got a single string; wrap it in a list")
    if not isinstance(docs, (list, tuple)):
        docs = list(docs)
    try:
        joined = "\x00".join(docs)  # raises TypeError when an item is not a str
        n = len(docs)
    except TypeError:
        docs = [as_text(d, f"document {i}") for i, d in enumerate(docs)]
        joined = "\x00".join(docs)
        n = len(docs)
    if n > 0 and joined.count("\x00") != n - 1:  # NUL inside a document: it counts as space
        joined = "\x00".join(d.replace("\x00", " ") for d in docs)
    if lowercase:
        joined = joined.lower()
    if unicode_form != "none":
        joined = unicodedata.normalize(unicode_form, joined)
    try:
        raw = joined.encode("utf-32-le")
    except UnicodeEncodeError as exc:  # lone surrogates
        doc = joined.count("\x00", 0, exc.start)
        raise DataError(f"document {doc}: invalid character {joined[exc.start]!r} "
                        "(a lone surrogate)") from None
    codes = np.frombuffer(raw, dtype=np.uint32)
    seps = np.flatnonzero(codes == 0)
    starts = np.empty(n, dtype=np.int64)
    ends = np.empty(n, dtype=np.int64)
    if n:
        starts[0] = 0
        starts[1:] = seps + 1
        ends[:-1] = seps
        ends[-1] = codes.shape[0]
    ptr, ncodes, ncls = normalize_whitespace(codes, classify(codes), starts, ends)
    return EncodedText(ptr, ncodes, ncls)


def encode_codes(text: str, unicode_form: str) -> tuple[np.ndarray, np.ndarray]:
    """(code points uint32, classes uint8) of one (already lower-cased) text."""
    if unicode_form != "none":
        text = unicodedata.normalize(unicode_form, text)
    try:
        codes = np.frombuffer(text.encode("utf-32-le"), dtype=np.uint32)
    except UnicodeEncodeError:
        raise DataError("query: invalid character (a lone surrogate)") from None
    return codes, classify(codes)
