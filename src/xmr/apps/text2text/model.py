"""Text to labels: a TF-IDF vectorizer, an XR-Linear model and the label texts, as one model.

PECOS calls this pipeline text2text. Training data are lines ``ID1,ID2<TAB>text`` whose ids are
0-based line numbers of an items file holding one label text per line. By default the label
texts are featurized with the same vectorizer and concatenated with PIFA to embed the labels for
indexing (``indexer.embedding = "pifa+label-features"``), so labels with few (or no) training
rows still land near similar labels.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np
import scipy.sparse as sp

from ...config import Config, field
from ...errors import DataError, NotFittedError
from ...index.config import IndexerConfig
from ...io.persist import Persistent, State, Stored
from ...linear.config import PredictConfig, SolverConfig, XLinearConfig
from ...linear.model import XLinearModel
from ...metrics import evaluate
from ...progress import ProgressCallback, report
from ...rank import TopK
from ...sparse import labels_from_lists
from ...text.config import TfidfConfig
from ...text.vectorizer import TfidfVectorizer

logger = logging.getLogger(__name__)

ITEMS_FILE = "items.txt"  # format 1 kept the label texts in this file


@dataclass(frozen=True, kw_only=True)
class Text2TextConfig(Config):
    """Features, indexing, training and inference defaults of a text-to-labels pipeline."""

    vectorizer: TfidfConfig = field(TfidfConfig(), "TF-IDF blocks and options")
    indexer: IndexerConfig = field(IndexerConfig(embedding="pifa+label-features"),
                                   "label tree (pifa+label-features: PIFA + the items' TF-IDF)")
    solver: SolverConfig = field(SolverConfig(), "per-level linear models")
    predict: PredictConfig = field(PredictConfig(), "inference defaults")

    def model_config(self) -> XLinearConfig:
        """The XR-Linear part of this config."""
        return XLinearConfig(indexer=self.indexer, solver=self.solver, predict=self.predict)


class Prediction(NamedTuple):
    """One ranked label: its id (line of the items file), text and score."""

    id: int
    text: str
    score: float


class Text2Text(Persistent):
    """Raw text in, ranked label texts out.

    Parameters
    ----------
    config : Text2TextConfig, optional
    """

    format_name = "xmr.text2text"
    format_version = 2  # 2: items stored as strings (1: items.txt, one per line)

    def __init__(self, config: Text2TextConfig | None = None) -> None:
        self.config = config or Text2TextConfig()
        self.vectorizer_: TfidfVectorizer | None = None
        self.model_: XLinearModel | None = None
        self.items_: list[str] | None = None
        # TF-IDF of the item texts used for indexing at fit time (None when the embedding does
        # not use them, or after load(): it is not saved); callers that need it reuse it
        self.label_features_: sp.csr_matrix | None = None

    def fit(self, texts: Sequence[str], labels: Sequence[Sequence[int]], items: Sequence[str],
            *, threads: int | None = None, progress: ProgressCallback | None = None
            ) -> Text2Text:
        """Train from texts, their label-id lists (indices into ``items``) and the label texts.

        Parameters
        ----------
        texts : n_rows str
        labels : n_rows lists of int label ids in ``[0, len(items))``
        items : the label texts
        threads : int, optional
        progress : callable(str), optional
            Receives the training's progress reports (see :mod:`xmr.progress`).
        """
        if len(texts) != len(labels):
            raise DataError(f"{len(texts)} texts but {len(labels)} label lists")
        if len(items) == 0:
            raise DataError("no items (label texts) given")
        cfg = self.config
        t0 = time.perf_counter()
        vec = TfidfVectorizer(cfg.vectorizer)
        X = vec.fit_transform(list(texts), threads=threads)
        Y = labels_from_lists(labels, n_labels=len(items))
        label_features = None
        if cfg.indexer.embedding != "pifa":
            label_features = vec.transform(list(items), threads=threads)
        report(progress, logger, f"text2text: {X.shape[0]} texts -> {X.shape[1]} features "
               f"({time.perf_counter() - t0:.2f} s)", "text2text")
        model = XLinearModel(cfg.model_config()).fit(X, Y, label_features=label_features,
                                                     threads=threads, progress=progress)
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

    def warmup(self) -> Text2Text:
        """Compile the featurization and search kernels for the loaded arrays."""
        vec, model, _ = self._check_fitted()
        vec.warmup()
        model.warmup()
        return self

    # -- persistence ----------------------------------------------------------------------------
    def state(self) -> State:
        vec, model, items = self._check_fitted()
        return State(children={"vectorizer": vec, "xlinear": model}, strings={"items": items},
                     meta={"config": self.config.to_dict(), "n_items": len(items)})

    @classmethod
    def from_stored(cls, stored: Stored) -> Text2Text:
        if stored.version == 1:
            obj = cls(_config_v1(stored))
            items = stored.text(ITEMS_FILE).split("\n")[:-1]  # as format 1 wrote them
            items = [item.rstrip("\r") for item in items]
        else:
            obj = cls(stored.config(Text2TextConfig))
            items = stored.strings("items", stored.count("n_items"))
        obj.vectorizer_ = stored.child("vectorizer", TfidfVectorizer)
        obj.model_ = stored.child("xlinear", XLinearModel)
        obj.items_ = items
        stored.check(len(items) == obj.model_.n_labels_,
                     f"{len(items)} items but the model has {obj.model_.n_labels_} labels")
        stored.check(obj.vectorizer_.n_features_ == obj.model_.n_features_,
                     f"the vectorizer makes {obj.vectorizer_.n_features_} features but the "
                     f"model expects {obj.model_.n_features_}")
        return obj


def _config_v1(stored: Stored) -> Text2TextConfig:
    """Format 1 nested the model settings under ``model`` (and had ``label_text_features``)."""
    old = dict(stored.meta("config", dict, {}))
    model = old.pop("model", {}) or {}
    old.pop("label_text_features", None)
    old.update({k: model[k] for k in ("indexer", "solver", "predict") if k in model})
    return Text2TextConfig.from_dict(old)
