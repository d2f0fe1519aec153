"""The layering of docs/architecture.md, checked on the source: no module imports upward.

Every module under ``src/xmr`` is assigned the layer the architecture page gives its package;
an import of a module of a higher layer (or, for the service, of an application) fails the test,
and so does a new top-level module that no layer claims yet.
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[2] / "src" / "xmr"

#: the first name under ``xmr`` -> layer, as in docs/architecture.md
LAYERS = {
    "_kernels": 1, "errors": 1, "_version": 1,
    "config": 2, "sparse": 2, "_threads": 2, "distributed": 2, "progress": 2,
    "io": 3, "index": 3, "rank": 3, "synthetic": 3,
    "linear": 4, "text": 4, "lexical": 4, "trees": 4, "metrics": 4,
    "cli": 5, "compile": 5, "__init__": 5, "__main__": 5,
    "apps": 6, "serve": 6,
}


def _module_name(path: Path) -> str:
    parts = path.relative_to(SRC.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _head(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "__init__"


def _imports(path: Path) -> list[tuple[int, str]]:
    """(line, absolute module) of every ``xmr`` import in ``path``."""
    module = _module_name(path)
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            if node.module is None:
                found += [(node.lineno, f"{target}.{alias.name}") for alias in node.names]
            else:
                found.append((node.lineno, target))
    return [(line, name) for line, name in found if name == "xmr" or name.startswith("xmr.")]


SOURCES = sorted(SRC.rglob("*.py"))


def test_every_module_has_a_layer():
    unassigned = sorted({_head(_module_name(p)) for p in SOURCES} - set(LAYERS))
    assert not unassigned, f"add these to docs/architecture.md and LAYERS: {unassigned}"


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: str(p.relative_to(SRC)))
def test_no_module_imports_upward(path):
    me = _module_name(path)
    my_layer = LAYERS[_head(me)]
    upward = []
    for line, target in _imports(path):
        if LAYERS[_head(target)] > my_layer or (
                _head(me) == "serve" and _head(target) == "apps"):
            upward.append(f"line {line}: {target}")
    assert not upward, f"{me} (layer {my_layer}) imports upward: {upward}"


def test_the_checker_sees_an_upward_import(tmp_path, monkeypatch):
    """A kernel module importing an application is reported (the check can fail)."""
    fake = tmp_path / "xmr" / "_kernels" / "bad.py"
    fake.parent.mkdir(parents=True)
    fake.write_text("from ..apps.qac import completer\nimport xmr.serve.app\n", encoding="utf-8")
    monkeypatch.setattr(sys.modules[__name__], "SRC", tmp_path / "xmr")
    assert _imports(fake) == [(1, "xmr.apps.qac"), (2, "xmr.serve.app")]
    with pytest.raises(AssertionError, match="imports upward"):
        test_no_module_imports_upward(fake)
