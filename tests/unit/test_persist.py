"""The save/load protocol: versioned atomic saves, strings, checksums, leftovers, registry."""

from __future__ import annotations

import json
import multiprocessing
import os
import shutil
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import xmr
from xmr.cli.main import main
from xmr.io.persist import decode_strings, encode_strings, verify_tree
from xmr.io.store import resolve
from xmr.text import TfidfVectorizer

DATA = Path(__file__).resolve().parents[1] / "data"


@settings(max_examples=200, deadline=None)
@given(st.lists(st.text(alphabet=st.characters(codec=None, min_codepoint=0,
                                                max_codepoint=0x10FFFF)), max_size=20))
def test_any_strings_round_trip(values):
    """Newlines, CR, NUL, tabs, lone surrogates: every Python string comes back unchanged."""
    buf, chars = encode_strings(values)
    assert decode_strings(buf, chars) == values


def test_strings_with_line_breaks_survive_a_model_save(tmp_path):
    items = ["line\nbreak", "lone\rcr", "tab\there", "nul\x00x", "crlf\r\nend", ""]
    texts = ["line break", "lone cr", "tab here", "nul x", "crlf end", "empty"]
    from xmr.apps.text2text import Text2Text

    model = Text2Text().fit(texts, [[i] for i in range(6)], items)
    loaded = Text2Text.load(model.save(tmp_path / "m"))
    assert loaded.items_ == items


def test_save_keeps_one_previous_version_and_removes_dead_leftovers(tmp_path, small_model):
    target = tmp_path / "m"
    small_model.save(target)
    dead = target / ".tmp-999999999-abcd"  # a killed save (no such process)
    dead.mkdir()
    (dead / "x.npy").write_bytes(b"half")
    alive = target / f".tmp-{os.getpid()}-beef"  # a save of this process in progress
    alive.mkdir()
    small_model.save(target)
    assert not dead.exists() and alive.exists()
    versions = [p for p in target.iterdir() if p.name.startswith("v")]
    assert len(versions) == 2


def test_legacy_flat_directory_is_read_then_replaced_by_a_version(tmp_path):
    legacy = tmp_path / "old"
    shutil.copytree(DATA / "xlinear_v1", legacy)
    model = xmr.load(legacy)
    assert resolve(legacy) == legacy
    model.save(legacy)
    assert resolve(legacy) != legacy and not (legacy / "manifest.json").exists()
    assert not list(legacy.glob("*.npy"))
    again = xmr.load(legacy)
    x = np.zeros(model.n_features_, np.float32)
    x[:5] = 1
    assert model.predict(x).indices.tolist() == again.predict(x).indices.tolist()


def test_verify_detects_a_flipped_bit(tmp_path, small_model):
    path = small_model.save(tmp_path / "m")
    assert verify_tree(resolve(path)) == len(list(resolve(path).glob("*.npy")))
    target = resolve(path) / "entry_val.npy"
    raw = bytearray(target.read_bytes())
    raw[-3] ^= 0x10
    target.write_bytes(bytes(raw))
    xmr.load(path)  # same size, plausible values: only the checksum can tell
    with pytest.raises(xmr.ModelFormatError, match="entry_val.npy is damaged"):
        xmr.load(path, verify=True)
    assert main(["verify", str(path)]) == 2


def test_loading_the_wrong_format_or_an_unknown_one(tmp_path):
    vec = TfidfVectorizer().fit(["a b", "b c"])
    path = vec.save(tmp_path / "v")
    with pytest.raises(xmr.ModelFormatError, match="holds a 'xmr.tfidf' model, expected "
                                                   "'xmr.xlinear'"):
        xmr.XLinearModel.load(path)
    manifest_file = resolve(path) / "manifest.json"
    manifest = json.loads(manifest_file.read_text())
    manifest["format"] = "acme.unknown"
    manifest_file.write_text(json.dumps(manifest))
    with pytest.raises(xmr.ModelFormatError, match="unknown model format 'acme.unknown'"):
        xmr.load(path)


def test_save_refuses_files_and_reports_unwritable_places(tmp_path, small_model):
    afile = tmp_path / "file"
    afile.write_text("keep")
    with pytest.raises(xmr.ModelFormatError, match="is a file"):
        small_model.save(afile)
    with pytest.raises(xmr.ModelFormatError, match="is a file"):
        small_model.save(afile / "below")
    assert afile.read_text() == "keep"


def test_info_and_verify_commands(tmp_path, small_model, capsys):
    path = small_model.save(tmp_path / "m")
    assert main(["info", str(path)]) == 0
    out = capsys.readouterr().out
    assert f"xmr.xlinear version {type(small_model).format_version}" in out
    assert "training: " in out and " rows " in out
    assert main(["info", str(path), "--format", "json"]) == 0
    info = json.loads(capsys.readouterr().out)
    assert info["n_labels"] == small_model.n_labels_
    assert info["arrays"]["entry_val"]["bytes"] > 0
    assert main(["verify", str(path)]) == 0
    assert "ok (" in capsys.readouterr().out


def _writer(path: str, n: int) -> None:
    models = [xmr.load(f"{path}.a", mmap=False), xmr.load(f"{path}.b", mmap=False)]
    for i in range(n):
        models[i % 2].save(path)


def _reader(path: str, x: np.ndarray, answers: list, n: int, queue) -> None:
    seen = set()
    for _ in range(n):
        top = xmr.load(path).predict(x, top_k=5).indices.tolist()
        if top not in answers:
            queue.put(("mixed", top))
            return
        seen.add(answers.index(top))
    queue.put(("ok", sorted(seen)))


def test_readers_racing_a_writer_never_see_a_mix(tmp_path):
    """One process overwrites a model 60 times with two different models while two others
    load it: every load gives exactly one of the two models' answers."""
    p1 = xmr.make_problem(300, n_train=600, n_test=20, seed=11)
    p2 = xmr.make_problem(300, n_train=600, n_test=20, seed=12)
    a = xmr.XLinearModel().fit(p1.X_train, p1.Y_train)
    b = xmr.XLinearModel().fit(p2.X_train, p2.Y_train)
    x = p1.X_test[:8]
    answers = [a.predict(x, top_k=5).indices.tolist(), b.predict(x, top_k=5).indices.tolist()]
    assert answers[0] != answers[1]
    path = str(tmp_path / "m")
    a.save(f"{path}.a")
    b.save(f"{path}.b")
    a.save(path)
    ctx = multiprocessing.get_context("spawn")
    queue = ctx.Queue()
    writer = ctx.Process(target=_writer, args=(path, 60))
    readers = [ctx.Process(target=_reader, args=(path, x, answers, 40, queue))
               for _ in range(2)]
    for proc in [writer, *readers]:
        proc.start()
    results = [queue.get(timeout=300) for _ in readers]
    for proc in [writer, *readers]:
        proc.join(timeout=300)
        assert proc.exitcode == 0
    assert all(kind == "ok" for kind, _ in results), results
    assert len([p for p in Path(path).iterdir() if p.name.startswith("v")]) == 2
