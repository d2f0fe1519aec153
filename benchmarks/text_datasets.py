"""The real-text benchmark data sets, featurized once by xmr's TF-IDF vectorizer so that every
library reads the same ``.npz`` matrices.

- ``homedepot-queries``: Home Depot search queries -> products (relevance >= 2.5), queries split
  80/20 with seed 0 (as in docs/product-retrieval.md); train rows are the training queries only,
  so most test products were never a training positive.
- ``homedepot-titles``: the same, plus each product's title as one more training row for it.
- ``aol-queries``: previous query + typed prefix -> next query (xmr.apps.qac protocol: adjacent
  lines, first 90% train, seeded prefix lengths); labels are the training part's distinct
  queries; test rows whose query never occurs in training keep an empty label row (a miss for
  everyone).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import scipy.sparse as sp

NAMES = ("homedepot-queries", "homedepot-titles", "aol-queries")


def build(name: str, shared: Path) -> dict | None:
    """{"train": (X, Y), "test": (X, Y)} or None when the source files are absent."""
    if name.startswith("homedepot"):
        return _homedepot(shared / "homedepot-search", title_rows=name.endswith("titles"))
    if name == "aol-queries":
        return _aol(shared / "aol-queries" / "train.query.txt.gz")
    raise ValueError(name)


def _homedepot(src: Path, title_rows: bool) -> dict | None:
    if not (src / "pairs.csv.gz").exists():
        return None
    from xmr.apps.retrieval import (
        ProductRetriever,
        RetrieverConfig,
        judged_matrices,
        read_catalog,
        read_judgments,
    )
    from xmr.apps.retrieval.data import split_queries
    from xmr.sparse import labels_from_lists
    from xmr.text import TfidfVectorizer

    catalog = read_catalog(src / "products.csv.gz")
    train, test = split_queries(read_judgments(src / "pairs.csv.gz"), 0.2, seed=0)
    cfg = RetrieverConfig().replace(title_rows=title_rows)
    texts, labels = ProductRetriever(cfg).training_rows(catalog, train)
    vec = TfidfVectorizer(cfg.vectorizer)
    X_train = vec.fit_transform(texts)
    queries, Y_test, _ = judged_matrices(test, catalog.ids, cfg.min_relevance)
    n = len(catalog.ids)
    return {"train": (X_train, labels_from_lists(labels, n_labels=n)),
            "test": (vec.transform(queries), Y_test)}


def _aol(path: Path) -> dict | None:
    if not path.exists():
        return None
    from xmr.apps.qac import make_examples, read_queries
    from xmr.apps.qac.features import QacFeaturizer

    train, test = make_examples(read_queries(path))
    labels = sorted(set(train.target))
    index = {q: i for i, q in enumerate(labels)}
    feat = QacFeaturizer().fit(train.previous, train.prefix, labels)

    def Y(targets):
        rows = np.repeat(np.arange(len(targets)), [t in index for t in targets])
        cols = [index[t] for t in targets if t in index]
        return sp.csr_matrix((np.ones(len(cols), dtype=np.float32), (rows, cols)),
                             shape=(len(targets), len(labels)))

    return {"train": (feat.transform(train.previous, train.prefix), Y(train.target)),
            "test": (feat.transform(test.previous, test.prefix), Y(test.target))}
