"""Properties of the TF-IDF vectorizer on arbitrary text."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from xmr.text import BlockConfig, TfidfConfig, TfidfVectorizer

FIT_DOCS = ["echo dot with screen", "smart plug wi-fi", "café über naïve", "3/4 in. pipe",
            "東京 tower", "ab cd ef"]
CONFIG = TfidfConfig(blocks=(
    BlockConfig(kind="word", min_n=1, max_n=2),
    BlockConfig(kind="char", min_n=2, max_n=3),
    BlockConfig(kind="char_wb", min_n=3, max_n=3),
    BlockConfig(kind="prefix", min_n=1, max_n=3, position_weight="inverse-position"),
    BlockConfig(kind="prefix", min_n=2, max_n=2, position_weight="word-start"),
))
VEC = TfidfVectorizer(CONFIG).fit(FIT_DOCS)
TEXT = st.text(alphabet=st.sampled_from(list("abcdeéü 東京-./\t") + ["\n", "ß", "İ"]),
               max_size=40)


@settings(max_examples=60, deadline=None)
@given(st.lists(TEXT, min_size=1, max_size=6))
def test_single_query_path_equals_batch_rows(docs):
    X = VEC.transform(docs)
    for i, doc in enumerate(docs):
        idx, val = VEC.transform_one(doc)
        np.testing.assert_array_equal(idx, X[i].indices)
        np.testing.assert_allclose(val, X[i].data, rtol=1e-5)


@settings(max_examples=30, deadline=None)
@given(st.lists(TEXT, min_size=1, max_size=8))
def test_rows_are_unit_or_empty_and_columns_in_range(docs):
    X = VEC.transform(docs)
    assert X.shape == (len(docs), VEC.n_features_)
    norms = np.sqrt(np.asarray(X.multiply(X).sum(axis=1)).ravel())
    assert np.all((np.abs(norms - 1) < 1e-5) | (np.diff(X.indptr) == 0))
    resorted = X.copy()
    resorted.has_sorted_indices = False
    resorted.sort_indices()
    np.testing.assert_array_equal(resorted.indices, X.indices)  # sorted, no duplicates
    assert X.nnz == 0 or X.indices.max() < VEC.n_features_


@settings(max_examples=30, deadline=None)
@given(st.lists(TEXT.filter(lambda s: s.strip()), min_size=1, max_size=8))
def test_fitting_on_any_text_reproduces_its_terms(docs):
    vec = TfidfVectorizer(CONFIG)
    try:
        X = vec.fit_transform(docs)
    except Exception as exc:  # only the documented "no terms left" error is acceptable
        assert "no terms left" in str(exc)
        return
    assert (vec.transform(docs) != X).nnz == 0
