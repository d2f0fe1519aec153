"""Text to labels: a TF-IDF vectorizer, an XR-Linear model and the label texts, as one model.

PECOS calls this pipeline text2text. Training data are lines ``ID1,ID2<TAB>text`` whose ids are
0-based line numbers of an items file holding one label text per line. The label texts are
featurized with the same vectorizer and, by default, concatenated with PIFA to embed the labels
for indexing, so labels with few (or no) training rows still land near similar labels.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

import numpy as np
import scipy.sparse as sp

from ..config import Config, field
from ..errors import DataError, ModelFormatError, NotFittedError
from ..io.store import atomic_directory, read_checked_manifest, write_composite_manifest
from ..io.textfiles import read_utf8
from ..linear.config import XLinearConfig
from ..linear.model import XLinearModel
from ..metrics import evaluate
from ..rank import TopK
from ..sparse import labels_from_lists
from .config import TfidfConfig
from .vectorizer import TfidfVectorizer

logger = logging.getLogger(__name__)

FORMAT_NAME = "xmr.text2text"
FORMAT_VERSION = 1
ITEMS_FILE = "items.txt"


@dataclass(frozen=True, kw_only=True)
class Text2TextConfig(Config):
    """Vectorizer and model settings of a text-to-labels pipeline."""

    vectorizer: TfidfConfig = field(TfidfConfig(), "TF-IDF blocks and options")
    model: XLinearConfig = field(XLinearConfig(), "XR-Linear indexing, training, prediction")
    label_text_features: bool = field(True, "embed labels by PIFA + their own text's TF-IDF")


class Prediction(NamedTuple):
    """One ranked label: its id (line of the items file), text and score."""

    id: int
    text: str
    score: float


# -- files ----------------------------------------------------------------------------------------
def read_items(path: str | os.PathLike) -> list[str]:
    """Label texts, one per line (UTF-8); an empty line is an empty label text."""
    path = Path(path)
    text = read_utf8(path, "items file")
    items = text.split("\n")
    if items and items[-1] == "":
        items.pop()
    if not items:
        raise DataError(f"{path}: the items file is empty")
    return [s.rstrip("\r") for s in items]


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
    try:
        fh = open(path, "rb")
    except FileNotFoundError:
        raise DataError(f"{path}: no such file") from None
    with fh:
        for lineno, raw in enumerate(fh, start=1):
            try:
                line = raw.decode("utf-8").rstrip("\r\n")
            except UnicodeDecodeError as exc:
                raise DataError(f"{path}:{lineno}: not valid UTF-8 (byte {exc.start})") from None
            if "\t" not in line:
                if labels_required:
                    raise DataError(f"{path}:{lineno}: expected 'ID1,ID2<TAB>text' "
                                    "(no tab found)")
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
        if not tok.isdigit():
            raise DataError(f"{path}:{lineno}: label id {tok!r} is not a non-negative integer")
        value = int(tok)
        if n_items is not None and value >= n_items:
            raise DataError(f"{path}:{lineno}: label id {value} is not a line of the items "
                            f"file (it has {n_items} items)")
        ids.append(value)
    return ids


# -- the pipeline ---------------------------------------------------------------------------------
class Text2Text:
    """Raw text in, ranked label texts out.

    Parameters
    ----------
    config : Text2TextConfig, optional
    """

    def __init__(self, config: Text2TextConfig | None = None) -> None:
        self.config = config or Text2TextConfig()
        self.vectorizer_: TfidfVectorizer | None = None
        self.model_: XLinearModel | None = None
        self.items_: list[str] | None = None
        # TF-IDF of the item texts used for indexing at fit time (None when label_text_features
        # is off or after load(): it is not saved); callers that need it again reuse it
        self.label_features_: sp.csr_matrix | None = None

    def fit(self, texts: Sequence[str], labels: Sequence[Sequence[int]], items: Sequence[str],
            *, threads: int | None = None) -> Text2Text:
        """Train from texts, their label-id lists (indices into ``items``) and the label texts."""
        if len(texts) != len(labels):
            raise DataError(f"{len(texts)} texts but {len(labels)} label lists")
        if len(items) == 0:
            raise DataError("no items (label texts) given")
        cfg = self.config
        t0 = time.perf_counter()
        vec = TfidfVectorizer(cfg.vectorizer)
        X = vec.fit_transform(list(texts), threads=threads)
        Y = labels_from_lists(labels, n_labels=len(items))
        model_cfg = cfg.model
        label_features = None
        if cfg.label_text_features:
            label_features = vec.transform(list(items), threads=threads)
            if model_cfg.indexer.embedding == "pifa":
                model_cfg = model_cfg.replace({"indexer.embedding": "pifa+label-features"})
        logger.info("text2text: %d texts -> %d features (%.2f s)", X.shape[0], X.shape[1],
                    time.perf_counter() - t0)
        model = XLinearModel(model_cfg).fit(X, Y, label_features=label_features, threads=threads)
        self.vectorizer_, self.model_, self.items_ = vec, model, list(items)
        self.label_features_ = label_features
        return self

    def _check_fitted(self) -> tuple[TfidfVectorizer, XLinearModel, list[str]]:
        if self.model_ is None or self.vectorizer_ is None or self.items_ is None:
            raise NotFittedError("this Text2Text is not fitted; call fit() or load()")
        return self.vectorizer_, self.model_, self.items_

    def predict_ids(self, texts: Sequence[str], *, top_k: int | None = None,
                    beam_size: int | None = None, threads: int | None = None) -> TopK:
        """Top label ids and scores of many texts (batch, parallel over texts)."""
        vec, model, _ = self._check_fitted()
        X = vec.transform(list(texts), threads=threads)
        return model.predict(X, top_k=top_k, beam_size=beam_size, threads=threads)

    def predict(self, texts: Sequence[str], *, top_k: int | None = None,
                beam_size: int | None = None,
                threads: int | None = None) -> list[list[Prediction]]:
        """Ranked (id, label text, score) of every text, best first. A text with no known
        n-gram (empty, whitespace, unseen characters) gets an empty list."""
        vec, model, _ = self._check_fitted()
        X = vec.transform(list(texts), threads=threads)
        top = model.predict(X, top_k=top_k, beam_size=beam_size, threads=threads)
        empty = np.diff(X.indptr) == 0
        return [[] if e else self._named(ids, scores)
                for ids, scores, e in zip(top.indices, top.scores, empty, strict=True)]

    def predict_one(self, text: str, *, top_k: int | None = None,
                    beam_size: int | None = None) -> list[Prediction]:
        """Ranked labels of one text through the single-query paths (no thread pool); empty
        when the text has no known n-gram."""
        vec, model, _ = self._check_fitted()
        features = vec.transform_one(text)
        if features[0].shape[0] == 0:
            return []
        top = model.predict_one(features, top_k=top_k, beam_size=beam_size)
        return self._named(top.indices, top.scores)

    def _named(self, ids: np.ndarray, scores: np.ndarray) -> list[Prediction]:
        items = self.items_
        return [Prediction(int(i), items[i], float(s))
                for i, s in zip(ids.tolist(), scores.tolist(), strict=True) if i >= 0]

    def evaluate(self, texts: Sequence[str], labels: Sequence[Sequence[int]], *,
                 ks: Sequence[int] = (1, 3, 5, 10), beam_size: int | None = None,
                 threads: int | None = None) -> dict[str, float]:
        """P@k, R@k, nDCG@k and MRR of the predictions against the given label lists."""
        _, _, items = self._check_fitted()
        top = self.predict_ids(texts, top_k=max(ks), beam_size=beam_size, threads=threads)
        return evaluate(top, labels_from_lists(labels, n_labels=len(items)), ks)

    # -- persistence ----------------------------------------------------------------------------
    def save(self, path: str | os.PathLike) -> Path:
        """Write ``path`` atomically: ``vectorizer/``, ``xlinear/``, ``items.txt``, manifest."""
        vec, model, items = self._check_fitted()
        with atomic_directory(path) as tmp:
            vec.save(tmp / "vectorizer")
            model.save(tmp / "xlinear")
            (tmp / ITEMS_FILE).write_text("".join(f"{s}\n" for s in items), encoding="utf-8")
            write_composite_manifest(tmp, FORMAT_NAME, FORMAT_VERSION, self.config.to_dict(),
                                     n_items=len(items))
        return Path(path)

    @classmethod
    def load(cls, path: str | os.PathLike, mmap: bool = True) -> Text2Text:
        """Load a saved pipeline (arrays memory-mapped when ``mmap``)."""
        path = Path(path)
        manifest = read_checked_manifest(path, FORMAT_NAME, FORMAT_VERSION)
        obj = cls(Text2TextConfig.from_dict(manifest.get("config", {})))
        obj.vectorizer_ = TfidfVectorizer.load(path / "vectorizer", mmap=mmap)
        obj.model_ = XLinearModel.load(path / "xlinear", mmap=mmap)
        obj.items_ = read_items(path / ITEMS_FILE)
        if len(obj.items_) != obj.model_.n_labels_:
            raise ModelFormatError(f"{path}: {len(obj.items_)} items but the model has "
                                   f"{obj.model_.n_labels_} labels")
        if obj.vectorizer_.n_features_ != obj.model_.n_features_:
            raise ModelFormatError(f"{path}: the vectorizer makes {obj.vectorizer_.n_features_} "
                                   f"features but the model expects {obj.model_.n_features_}")
        return obj
