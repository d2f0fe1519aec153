"""Label embeddings for indexing: PIFA and combinations with label features."""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from ..errors import DataError
from ..sparse import as_csr, l2_normalize_rows


def pifa(X: sp.csr_matrix, Y: sp.csr_matrix) -> sp.csr_matrix:
    """Positive Instance Feature Aggregation: row-normalize(normalize_rows(Y)^T X).

    Parameters
    ----------
    X : csr_matrix (n_rows, n_features)
    Y : csr_matrix (n_rows, n_labels), binary

    Returns
    -------
    csr_matrix (n_labels, n_features), float32, unit-norm rows (zero for unused labels)
    """
    if X.shape[0] != Y.shape[0]:
        raise DataError(f"X has {X.shape[0]} rows but Y has {Y.shape[0]}")
    Yn = l2_normalize_rows(Y)
    emb = (Yn.T.tocsr() @ X).tocsr()
    return l2_normalize_rows(emb)


def label_embedding(kind: str, X: sp.csr_matrix, Y: sp.csr_matrix,
                    label_features: sp.spmatrix | np.ndarray | None = None) -> sp.csr_matrix:
    """Embedding named by ``IndexerConfig.embedding`` (pifa, pifa+label-features,
    label-features); label features are row-normalized before concatenation."""
    if kind == "pifa":
        return pifa(X, Y)
    if label_features is None:
        raise DataError(f"embedding {kind!r} needs label_features (n_labels, n_label_features)")
    Z = as_csr(label_features, name="label_features")
    if Z.shape[0] != Y.shape[1]:
        raise DataError(f"label_features has {Z.shape[0]} rows but there are {Y.shape[1]} labels")
    Z = l2_normalize_rows(Z)
    if kind == "label-features":
        return Z
    if kind == "pifa-convex":
        return convex_embedding(pifa(X, Y), Z, np.diff(as_csr(Y).tocsc().indptr))
    return l2_normalize_rows(sp.hstack([pifa(X, Y), Z], format="csr"))


def convex_embedding(P: sp.csr_matrix, Z: sp.csr_matrix, positives: np.ndarray) -> sp.csr_matrix:
    """Per label, ``a * PIFA + (1 - a) * label features`` with ``a = n / (n + 1)`` for a label
    of ``n`` positive rows (PECOS's ``pifa_lf_convex_combine`` with a per-label weight, as in
    PEFA): a label never seen is its text alone, one seen often is mostly its queries.

    Parameters
    ----------
    P : csr (n_labels, d) PIFA, Z : csr (n_labels, d) label features (same columns), both with
        unit-norm rows; positives : int (n_labels,)
    """
    if P.shape != Z.shape:
        raise DataError(f"pifa-convex needs label features in the input space: PIFA has shape "
                        f"{P.shape}, the label features {Z.shape}")
    a = positives.astype(np.float64) / (positives + 1.0)
    mixed = sp.diags(a.astype(np.float32)) @ P + sp.diags((1.0 - a).astype(np.float32)) @ Z
    return l2_normalize_rows(sp.csr_matrix(mixed))
