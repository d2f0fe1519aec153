"""Every committed saved model (each format, each version) still loads and answers the same.

The fixtures under ``tests/data`` are never rewritten (``tests/data/make_fixtures.py`` only adds
new format versions), so a change that alters what a saved model means fails here.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import xmr
from tests.data.fixture_models import RUNNERS
from xmr.io.formats import BUILTIN

DATA = Path(__file__).resolve().parents[1] / "data"
FIXTURES = sorted(p for p in DATA.iterdir() if p.is_dir() and "_v" in p.name)


def _same(got, want, where="") -> None:
    """Equal structure; floats within 1e-4, everything else exactly."""
    if isinstance(want, list):
        assert isinstance(got, list) and len(got) == len(want), where
        for i, (g, w) in enumerate(zip(got, want, strict=True)):
            _same(g, w, f"{where}[{i}]")
    elif isinstance(want, dict):
        assert set(got) == set(want), where
        for key in want:
            _same(got[key], want[key], f"{where}.{key}")
    elif isinstance(want, float):
        assert got == pytest.approx(want, abs=1e-4), where
    else:
        assert got == want, where


def test_every_format_has_a_fixture():
    names = {p.name.rsplit("_v", 1)[0] for p in FIXTURES}
    assert {f"xmr.{n}" for n in names} == set(BUILTIN)


@pytest.mark.parametrize("mmap", [True, False])
@pytest.mark.parametrize("fixture", FIXTURES, ids=[p.name for p in FIXTURES])
def test_saved_model_still_loads_and_answers_the_same(fixture, mmap):
    name = fixture.name.rsplit("_v", 1)[0]
    expected = json.loads((DATA / f"{fixture.name}_expected.json").read_text())
    model = xmr.load(fixture, mmap=mmap)
    assert model.format_name == f"xmr.{name}"
    _same(RUNNERS[name](model, expected["inputs"]), expected["outputs"])


@pytest.mark.parametrize("fixture", FIXTURES, ids=[p.name for p in FIXTURES])
def test_info_describes_every_fixture(fixture):
    info = xmr.describe(fixture)
    assert info["format"].startswith("xmr.") and info["bytes"] > 0
    if not fixture.name.endswith("_v1") or "written_by" in json.loads(
            (fixture / "manifest.json").read_text()):
        assert info["written_by"].startswith("xmr ")


def test_current_fixtures_verify():
    from xmr.io.persist import verify_tree

    for fixture in FIXTURES:
        manifest = json.loads((fixture / "manifest.json").read_text())
        if "files" in manifest:  # written with checksums (xmr >= 0.2)
            assert verify_tree(fixture) >= 1
        else:
            with pytest.raises(xmr.ModelFormatError, match="no checksums"):
                verify_tree(fixture)


def test_fixtures_stay_small():
    total = sum(f.stat().st_size for f in DATA.rglob("*") if f.is_file())
    assert total < 3 * 2**20
