"""Regenerate the committed model fixtures (run only when a new format version is introduced;
older fixtures must stay untouched so that new code proves it still reads them).

    python tests/data/make_fixtures.py
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

import xmr

HERE = Path(__file__).resolve().parent


def main() -> None:
    p = xmr.make_problem(60, n_train=300, n_test=8, n_features=80, seed=42)
    cfg = xmr.XLinearConfig().replace({"indexer.max_leaf_size": 8, "indexer.branching_factor": 4})
    model = xmr.XLinearModel(cfg).fit(p.X_train, p.Y_train, threads=1)
    target = HERE / "xlinear_v1"
    model.save(target)
    top = model.predict(p.X_test, top_k=5)
    X = p.X_test
    expected = {
        "rows": [{"indices": X.indices[X.indptr[i]:X.indptr[i + 1]].tolist(),
                  "values": X.data[X.indptr[i]:X.indptr[i + 1]].tolist()}
                 for i in range(X.shape[0])],
        "n_features": int(X.shape[1]),
        "labels": top.indices.tolist(),
        "scores": np.round(top.scores.astype(np.float64), 6).tolist(),
    }
    (HERE / "xlinear_v1_expected.json").write_text(json.dumps(expected))


if __name__ == "__main__":
    main()
