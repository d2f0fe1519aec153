"""TF-IDF vectorizer over blocks of word n-grams, character n-grams and weighted prefixes.

Each block has its own vocabulary and column range; blocks are stacked side by side and each row
is normalized after stacking. Fitting and transforming run in numba kernels, parallel over
documents (``xmr._kernels.whitespace``, ``ngrams``, ``hashing``, ``featurize``); a single short
text goes through :meth:`transform_one`, which avoids the thread pool and scipy and returns the
arrays that ``XLinearModel.predict_one`` takes.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from typing import NamedTuple

import numpy as np
import scipy.sparse as sp

from .._kernels import featurize as _featurize
from .._kernels import hashing as _hashing
from .._threads import num_threads
from ..errors import DataError, NotFittedError
from ..io.persist import Persistent, State, Stored
from ..sparse import row_norm_scale
from . import passes as _passes
from .config import BlockConfig, TfidfConfig
from .encode import ASCII_CLASS, EncodedText, as_text, encode, encode_codes

logger = logging.getLogger(__name__)

VOCABULARY_FILE = "vocabulary.tsv"
_KIND_ID = {"word": 0, "char": 1, "char_wb": 2, "prefix": 3}
_WEIGHT_ID = {"none": 0, "inverse-position": 1, "word-start": 2}
_SHARD_BITS = 6
_NORM_ID = {"none": 0, "l1": 1, "l2": 2}
_NO_CLASSES = np.empty(0, dtype=np.uint8)


class FittedBlock(NamedTuple):
    """What one block learned: a hash table (n-gram hash -> column), idf and df per column."""

    keys: np.ndarray  # uint64 (capacity,), 0 = empty slot
    values: np.ndarray  # int32 (capacity,): column within the block
    idf: np.ndarray  # float32 (n_terms,)
    df: np.ndarray  # int64 (n_terms,): documents containing the term


def _kernel_args(block: BlockConfig) -> tuple:
    return (_KIND_ID[block.kind], block.min_n, block.max_n, block.token_min_length,
            _WEIGHT_ID[block.position_weight], np.float32(block.inner_weight))


class TfidfVectorizer(Persistent):
    """TF-IDF features from raw text.

    Parameters
    ----------
    config : TfidfConfig, optional
        Blocks and options; default: word 1-2-grams + character trigrams with an end-of-word
        marker, lower-cased, NFKC-normalized, rows L2-normalized.

    Notes
    -----
    Term frequencies are (weighted) counts; ``sublinear_tf`` replaces them by ``1 + ln(tf)``.
    ``idf = ln((1 + n) / (1 + df)) + 1`` (``smooth_idf``) or ``ln(n / df) + 1``, as in
    scikit-learn, whose ``TfidfVectorizer`` this matches on ``word`` (with
    ``token_min_length=2``, ``unicode_form="none"``) and ``char_wb`` blocks, up to column order.
    Columns of a block are ordered by an internal hash shard, then by first occurrence; the
    human-readable vocabulary is :meth:`terms` (and ``vocabulary.tsv`` in a saved model).
    Empty or whitespace-only documents give empty rows.
    """

    format_name = "xmr.tfidf"
    format_version = 2  # 2: terms stored as strings (1: read from vocabulary.tsv)

    def __init__(self, config: TfidfConfig | None = None) -> None:
        self.config = config or TfidfConfig()
        self.blocks_: list[FittedBlock] | None = None
        self.terms_: list[list[str]] | None = None
        self.n_docs_: int = 0
        self._packed: tuple | None = None  # transform_one's arrays, built on first use

    # -- fitting --------------------------------------------------------------------------------
    def fit(self, docs: Sequence[str], *, threads: int | None = None) -> TfidfVectorizer:
        """Learn the vocabularies and idf of every block from ``docs`` (a sequence of str)."""
        self._fit(docs, threads, want_matrix=False)
        return self

    def fit_transform(self, docs: Sequence[str], *, threads: int | None = None) -> sp.csr_matrix:
        """Fit, then return the features of ``docs``: csr_matrix (n_docs, n_features) float32."""
        return self._fit(docs, threads, want_matrix=True)

    def _fit(self, docs, threads, want_matrix: bool):
        cfg = self.config
        t0 = time.perf_counter()
        with num_threads(threads):
            enc = encode(docs, cfg.lowercase, cfg.unicode_form)
            n_docs = enc.ptr.shape[0] - 1
            if n_docs == 0:
                raise DataError("cannot fit a vectorizer on an empty corpus (no documents)")
            blocks, terms, parts = [], [], []
            for b, block in enumerate(cfg.blocks):
                fitted, block_terms, counts = self._fit_block(enc, b, block)
                blocks.append(fitted)
                terms.append(block_terms)
                if want_matrix:
                    parts.append(_weigh(counts, fitted.idf, block))
        self.blocks_, self.terms_, self.n_docs_ = blocks, terms, n_docs
        self._packed = None
        logger.info("fitted TF-IDF on %d documents: %s columns in %.2f s", n_docs,
                    " + ".join(str(len(t)) for t in terms), time.perf_counter() - t0)
        if want_matrix:
            return _stack(parts, cfg.norm)
        return None

    def _fit_block(self, enc: EncodedText, b: int, block: BlockConfig):
        n_docs = enc.ptr.shape[0] - 1
        eptr, h, w, pos, aux = _passes.emit_corpus(enc.codes, enc.classes, enc.ptr,
                                             *_kernel_args(block), True)
        ids, first = _passes.assign_ids(h, _SHARD_BITS)
        indptr, indices, data = _passes.count_matrix(ids, w, eptr)
        n_terms = first.shape[0]
        df = np.bincount(indices, minlength=n_terms)
        keep = _kept_terms(df, np.bincount(indices, weights=data, minlength=n_terms), n_docs,
                           block, b)
        new_id = np.full(n_terms, -1, dtype=np.int32)
        new_id[keep] = np.arange(keep.shape[0], dtype=np.int32)
        counts = _remap_columns(indptr, new_id[indices], data, n_docs, keep.shape[0])
        first = first[keep]
        doc = np.searchsorted(eptr, first, side="right") - 1
        codes = _passes.term_strings(enc.codes, enc.classes, _KIND_ID[block.kind],
                               block.token_min_length, pos[first], aux[first], enc.ptr[doc + 1])
        block_terms = codes.tobytes().decode("utf-32-le").split("\n")[:-1]
        keys, values = _hashing.build_table(h[first], np.arange(keep.shape[0], dtype=np.int32))
        df = df[keep]
        if block.smooth_idf:
            idf = np.log((1.0 + n_docs) / (1.0 + df)) + 1.0
        else:
            idf = np.log(n_docs / df) + 1.0
        return FittedBlock(keys, values, idf.astype(np.float32), df), block_terms, counts

    # -- transforming ---------------------------------------------------------------------------
    def transform(self, docs: Sequence[str], *, threads: int | None = None) -> sp.csr_matrix:
        """Features of ``docs``: csr_matrix (n_docs, n_features) float32, sorted indices.
        n-grams not in the vocabulary are ignored."""
        blocks = self._check_fitted()
        cfg = self.config
        with num_threads(threads):
            enc = encode(docs, cfg.lowercase, cfg.unicode_form)
            n_docs = enc.ptr.shape[0] - 1
            parts = []
            for block, fitted in zip(cfg.blocks, blocks, strict=True):
                eptr, h, w, _, _ = _passes.emit_corpus(enc.codes, enc.classes, enc.ptr,
                                                 *_kernel_args(block), False)
                ids = _passes.lookup_ids(fitted.keys, fitted.values, h)
                indptr, indices, data = _passes.count_matrix(ids, w, eptr)
                counts = sp.csr_matrix((data, indices, indptr),
                                       shape=(n_docs, fitted.idf.shape[0]))
                parts.append(_weigh(counts, fitted.idf, block))
        return _stack(parts, cfg.norm)

    def transform_one(self, text: str) -> tuple[np.ndarray, np.ndarray]:
        """Features of one text as (indices int32 sorted, values float32): the real-time path
        (one numba call for all blocks, no thread pool, no scipy)."""
        packed = self._packed or self._pack()
        cfg = self.config
        if not isinstance(text, str):
            text = as_text(text, "query")
        if cfg.lowercase:
            text = text.lower()
        if text.isascii():
            codes, cls = _codes_of(text), _NO_CLASSES
        else:
            codes, cls = encode_codes(text, cfg.unicode_form)
        return _featurize.transform_one_text(codes, cls, ASCII_CLASS, *packed)

    def _pack(self) -> tuple:
        """Concatenate the blocks' tables and parameters for :func:`transform_one_text`."""
        blocks = self._check_fitted()
        cfg = self.config
        params = np.array([[*_kernel_args(b)[:5], b.sublinear_tf, b.use_idf, _NORM_ID[b.norm]]
                           for b in cfg.blocks], dtype=np.int64)
        inner_w = np.array([b.inner_weight for b in cfg.blocks], dtype=np.float32)
        key_off = np.concatenate([[0], np.cumsum([f.keys.shape[0] for f in blocks])])
        keys = np.concatenate([f.keys for f in blocks])
        values = np.concatenate([f.values for f in blocks])
        idf = np.concatenate([f.idf if b.use_idf else np.ones_like(f.idf)
                              for f, b in zip(blocks, cfg.blocks, strict=True)])
        self._packed = (params, inner_w, key_off.astype(np.int64), keys, values,
                        self.block_offsets(), idf, _NORM_ID[cfg.norm])
        return self._packed

    # -- introspection --------------------------------------------------------------------------
    def _check_fitted(self) -> list[FittedBlock]:
        if self.blocks_ is None:
            raise NotFittedError("this TfidfVectorizer is not fitted; call fit() or load()")
        return self.blocks_

    @property
    def n_features_(self) -> int:
        """Total number of columns (all blocks)."""
        return int(sum(b.idf.shape[0] for b in self._check_fitted()))

    def block_offsets(self) -> np.ndarray:
        """int64 (n_blocks + 1,): block ``b`` owns columns ``[off[b], off[b + 1])``."""
        sizes = [b.idf.shape[0] for b in self._check_fitted()]
        return np.concatenate([[0], np.cumsum(sizes)]).astype(np.int64)

    def terms(self) -> list[str]:
        """The n-gram of every column, in column order (all blocks)."""
        self._check_fitted()
        return [t for block in self.terms_ for t in block]

    def vocabulary(self) -> dict[tuple[int, str], int]:
        """(block index, n-gram) -> column."""
        off = self.block_offsets()
        return {(b, t): int(off[b]) + i for b, block in enumerate(self.terms_)
                for i, t in enumerate(block)}

    # -- persistence ----------------------------------------------------------------------------
    def state(self) -> State:
        """Hash tables and idf as arrays (memory-mapped on load), the terms as strings, and
        ``vocabulary.tsv`` (column, block, df, idf, n-gram) for people."""
        blocks = self._check_fitted()
        arrays: dict[str, np.ndarray] = {}
        strings: dict[str, list[str]] = {}
        for b, fitted in enumerate(blocks):
            for name, arr in fitted._asdict().items():
                arrays[f"block{b}_{name}"] = arr
            strings[f"block{b}_terms"] = self.terms_[b]
        meta = {"config": self.config.to_dict(), "n_docs": self.n_docs_,
                "n_terms": [len(t) for t in self.terms_]}
        return State(arrays=arrays, strings=strings, meta=meta,
                     readable={VOCABULARY_FILE: self._vocabulary_tsv()})

    def _vocabulary_tsv(self) -> str:
        lines = ["column\tblock\tdf\tidf\tterm"]
        off = self.block_offsets()
        for b, (fitted, block_terms) in enumerate(zip(self.blocks_, self.terms_, strict=True)):
            for i, term in enumerate(block_terms):
                lines.append(f"{off[b] + i}\t{b}\t{fitted.df[i]}\t{fitted.idf[i]:.6g}\t{term}")
        return "\n".join(lines) + "\n"

    @classmethod
    def from_stored(cls, stored: Stored) -> TfidfVectorizer:
        vec = cls(stored.config(TfidfConfig))
        n_terms = stored.meta("n_terms", list)
        stored.check(len(n_terms) == len(vec.config.blocks) and
                     all(isinstance(n, int) and n >= 0 for n in n_terms),
                     f"manifest lists {len(n_terms)} blocks, the config has "
                     f"{len(vec.config.blocks)}")
        blocks = []
        for b, n in enumerate(n_terms):
            keys = stored.array(f"block{b}_keys", np.uint64, ndim=1)
            cap = keys.shape[0]
            stored.check(cap >= 2 * max(n, 1) and cap & (cap - 1) == 0,
                         f"block {b}: the hash table size {cap} is not a power of two "
                         f">= 2 x {n} terms")
            values = stored.array(f"block{b}_values", np.int32, shape=(cap,))
            used = keys != 0
            stored.check(int(used.sum()) == n, f"block {b}: the hash table holds "
                                               f"{int(used.sum())} terms, expected {n}")
            stored.check_range(f"block{b}_values", values[used], 0, max(n, 1))
            idf = stored.array(f"block{b}_idf", np.float32, shape=(n,))
            df = stored.array(f"block{b}_df", np.int64, shape=(n,))
            blocks.append(FittedBlock(keys, values, idf, df))
        vec.blocks_ = blocks
        vec.n_docs_ = stored.count("n_docs")
        if stored.version >= 2:
            vec.terms_ = [stored.strings(f"block{b}_terms", n) for b, n in enumerate(n_terms)]
        else:
            vec.terms_ = _read_vocabulary(stored, n_terms)
        return vec

    def warmup(self) -> TfidfVectorizer:
        """Compile the featurization kernels (batch and single text) for these arrays."""
        self.transform(["warm up"], threads=1)
        self.transform_one("warm up")
        return self


def _read_vocabulary(stored: Stored, n_terms: list[int]) -> list[list[str]]:
    """Terms of a format-1 vectorizer, from its ``vocabulary.tsv``."""
    lines = stored.text(VOCABULARY_FILE).split("\n")[1:-1]
    stored.check(len(lines) == sum(n_terms),
                 f"{VOCABULARY_FILE}: {len(lines)} terms, expected {sum(n_terms)}")
    terms = [line.split("\t", 4)[-1] for line in lines]
    out, start = [], 0
    for n in n_terms:
        out.append(terms[start:start + n])
        start += n
    return out


def _kept_terms(df: np.ndarray, tf_total: np.ndarray, n_docs: int, block: BlockConfig,
                b: int) -> np.ndarray:
    """Columns kept by min_df / max_df / max_features, in their original order."""
    min_count = block.min_df if block.min_df >= 1 else block.min_df * n_docs
    max_count = block.max_df * n_docs if block.max_df <= 1 else block.max_df
    keep = np.flatnonzero((df >= min_count) & (df <= max_count))
    if block.max_features and keep.shape[0] > block.max_features:
        top = np.argsort(-tf_total[keep], kind="stable")[:block.max_features]
        keep = np.sort(keep[top])
    if keep.shape[0] == 0:
        raise DataError(f"block {b} ({block.kind}): no terms left out of {df.shape[0]} after "
                        f"min_df={block.min_df}, max_df={block.max_df} on {n_docs} documents")
    return keep


def _remap_columns(indptr, new_indices, data, n_rows: int, n_cols: int) -> sp.csr_matrix:
    """Drop entries whose new column is -1 (column order is kept, so rows stay sorted)."""
    ok = new_indices >= 0
    if ok.all():
        return sp.csr_matrix((data, new_indices, indptr), shape=(n_rows, n_cols))
    row = np.repeat(np.arange(n_rows), np.diff(indptr))
    new_ptr = np.zeros(n_rows + 1, dtype=np.int64)
    np.cumsum(np.bincount(row[ok], minlength=n_rows), out=new_ptr[1:])
    return sp.csr_matrix((data[ok], new_indices[ok], new_ptr), shape=(n_rows, n_cols))


def _weigh(counts: sp.csr_matrix, idf: np.ndarray, block: BlockConfig) -> sp.csr_matrix:
    data = counts.data
    if block.sublinear_tf:
        data = np.log(data) + np.float32(1.0)
    if block.use_idf:
        data = data * idf[counts.indices]
    out = sp.csr_matrix((data.astype(np.float32, copy=False), counts.indices, counts.indptr),
                        shape=counts.shape)
    return _normalize_rows(out, block.norm)


def _codes_of(text: str) -> np.ndarray:
    return np.frombuffer(text.encode("utf-32-le"), dtype=np.uint32)


def _normalize_rows(X: sp.csr_matrix, norm: str) -> sp.csr_matrix:
    """In place: ``X`` is this module's own fresh matrix, already in kernel layout."""
    if norm != "none":
        X.data = (X.data * row_norm_scale(X, norm)).astype(np.float32)
    return X


def _stack(parts: list[sp.csr_matrix], norm: str) -> sp.csr_matrix:
    X = parts[0] if len(parts) == 1 else sp.hstack(parts, format="csr", dtype=np.float32)
    X = _normalize_rows(X, norm)
    X.indices = X.indices.astype(np.int32, copy=False)
    return X

