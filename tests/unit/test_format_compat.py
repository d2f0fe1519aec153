"""Models saved by earlier versions keep loading and predicting the same."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import scipy.sparse as sp

import xmr

DATA = Path(__file__).resolve().parents[1] / "data"


@pytest.mark.parametrize("mmap", [True, False])
def test_format_v1_model_still_loads_and_predicts(mmap):
    expected = json.loads((DATA / "xlinear_v1_expected.json").read_text())
    model = xmr.load(DATA / "xlinear_v1", mmap=mmap)
    rows = expected["rows"]
    indptr = np.cumsum([0] + [len(r["indices"]) for r in rows])
    X = sp.csr_matrix((np.concatenate([r["values"] for r in rows]).astype(np.float32),
                       np.concatenate([r["indices"] for r in rows]).astype(np.int32), indptr),
                      shape=(len(rows), expected["n_features"]))
    top = model.predict(X, top_k=5)
    assert top.indices.tolist() == expected["labels"]
    assert np.allclose(top.scores, expected["scores"], atol=1e-5)
