"""The registry of saved formats: which class reads a manifest's ``format`` name.

Built-in formats are listed by module path and imported only when a model of that format is
loaded, so ``xmr.load`` opens every format without importing every application. A new format
registers itself in one line: an entry in :data:`BUILTIN` (inside xmr), an entry point in the
group ``xmr.formats`` (``name = "package.module:Class"``, for other packages), or simply by
defining a :class:`~xmr.io.persist.Persistent` subclass with a ``format_name`` (for classes that
are imported before their models are loaded).
"""

from __future__ import annotations

import importlib
import os
from importlib.metadata import entry_points
from typing import Any

from ..errors import ModelFormatError

#: format name -> "module:Class" of the reader
BUILTIN: dict[str, str] = {
    "xmr.xlinear": "xmr.linear.model:XLinearModel",
    "xmr.tfidf": "xmr.text.vectorizer:TfidfVectorizer",
    "xmr.csr": "xmr.io.sparse_store:SparseMatrix",
    "xmr.postings": "xmr.lexical.postings:PostingIndex",
    "xmr.bm25": "xmr.lexical.bm25:Bm25Index",
    "xmr.trees": "xmr.trees:TreeEnsemble",
    "xmr.speller": "xmr.lexical.speller:Speller",
    "xmr.text2text": "xmr.apps.text2text.model:Text2Text",
    "xmr.retrieval": "xmr.apps.retrieval.retriever:ProductRetriever",
    "xmr.qac": "xmr.apps.qac.completer:QueryAutocompleter",
    "xmr.qac.features": "xmr.apps.qac.features:QacFeaturizer",
    "xmr.qac.lexicon": "xmr.apps.qac.lexicon:Lexicon",
}

_classes: dict[str, type] = {}


def register_class(cls: type) -> None:
    """Make ``cls`` the reader of ``cls.format_name`` (called by Persistent subclasses)."""
    _classes[cls.format_name] = cls  # type: ignore[attr-defined]


def format_class(name: str, where: str | os.PathLike = "") -> Any:
    """The class that reads format ``name``; ModelFormatError when no class does."""
    if name in _classes:
        return _classes[name]
    target = BUILTIN.get(name)
    if target is None:
        plugins = {ep.name: ep.value for ep in entry_points(group="xmr.formats")}
        target = plugins.get(name)
    if target is None:
        raise ModelFormatError(f"{where}: unknown model format {name!r} (known: "
                               f"{', '.join(sorted(known_formats()))})")
    module, _, attr = target.partition(":")
    cls = getattr(importlib.import_module(module), attr)
    _classes[name] = cls
    return cls


def known_formats() -> list[str]:
    """Every format name this installation can read."""
    names = set(BUILTIN) | set(_classes)
    names |= {ep.name for ep in entry_points(group="xmr.formats")}
    return sorted(names)
