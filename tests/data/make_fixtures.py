"""Write a small saved model of every format at its current version, with expected outputs.

    python tests/data/make_fixtures.py            # only formats/versions not yet committed

Fixtures are written as ``tests/data/<name>_v<version>/`` (plus ``<name>_v<version>_expected
.json``) and never overwritten: a fixture written by an earlier version stays as it was, so new
code proves it still reads it (``tests/unit/test_format_compat.py``). The ``*_v1`` fixtures of
the tfidf, text2text, retrieval and qac formats were written by xmr 0.1.0 (commit a4f2829)
before the persistence protocol existed.
"""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parents[1]))

from tests.data.fixture_models import build_all  # noqa: E402


def main() -> None:
    for name, (model, expected) in build_all().items():
        target = HERE / f"{name}_v{model.format_version}"
        if target.exists():
            print(f"{target.name}: exists, kept")
            continue
        tmp = HERE / f".{target.name}.tmp"
        shutil.rmtree(tmp, ignore_errors=True)
        model.save(tmp)
        # a fixture is the bare version directory (what every reader also accepts)
        live = tmp / (tmp / "CURRENT").read_text().strip()
        live.rename(target)
        shutil.rmtree(tmp)
        (HERE / f"{target.name}_expected.json").write_text(json.dumps(expected, indent=0))
        print(f"{target.name}: written")


if __name__ == "__main__":
    np.seterr(all="raise")
    main()
