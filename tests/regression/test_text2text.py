"""Text2Text on planted text data: quality floor, files, persistence, CLI, bad input."""

from __future__ import annotations

import io
import json

import numpy as np
import pytest

from xmr.apps.text2text import Text2Text, Text2TextConfig, read_items, read_labeled_texts
from xmr.cli.main import main
from xmr.errors import DataError, ModelFormatError
from xmr.io.store import resolve

BRANDS = ["acme", "zenith", "orbit", "nova", "polar", "delta", "sigma", "omega", "terra", "lumen"]
KINDS = ["drill", "saw", "hammer", "ladder", "paint", "lamp", "fan", "heater", "valve", "pipe"]
ITEMS = [f"{b} {k}" for b in BRANDS for k in KINDS]
NOISE = ["cheap", "best", "new", "for", "home", "black"]


def planted(n: int, seed: int) -> tuple[list[str], list[list[int]]]:
    """Texts naming 1-2 items (brand + kind, sometimes plural, shuffled, plus noise words)."""
    rng = np.random.default_rng(seed)
    texts, labels = [], []
    for _ in range(n):
        ids = sorted(rng.choice(len(ITEMS), size=int(rng.integers(1, 3)), replace=False).tolist())
        words = list(rng.choice(NOISE, size=2))
        for i in ids:
            brand, kind = ITEMS[i].split()
            words += [brand, kind + ("s" if rng.random() < 0.3 else "")]
        rng.shuffle(words)
        texts.append(" ".join(words))
        labels.append(ids)
    return texts, labels


CONFIG = Text2TextConfig().replace({"indexer.max_leaf_size": 10})


@pytest.fixture(scope="module")
def trained():
    texts, labels = planted(3000, seed=0)
    return Text2Text(CONFIG).fit(texts, labels, ITEMS)


def test_quality_floor_on_planted_data(trained):
    texts, labels = planted(300, seed=1)
    m = trained.evaluate(texts, labels, ks=(1, 5))
    # a lexical problem: the named items are recoverable; measured 0.77 / 0.96 at seed 0
    assert m["P@1"] > 0.65 and m["R@5"] > 0.9


def test_predictions_carry_item_texts(trained):
    preds = trained.predict_one("acme drill", top_k=3)
    assert preds[0].id == ITEMS.index("acme drill") and preds[0].text == "acme drill"
    assert [p.score for p in preds] == sorted((p.score for p in preds), reverse=True)
    batch = trained.predict(["acme drill", "", "zzzz"], top_k=3)
    assert [p.id for p in batch[0]] == [p.id for p in preds]
    assert batch[1] == [] and batch[2] == []  # documented: no known n-gram, no labels
    assert trained.predict_one("   ") == []


def test_save_load_roundtrip(trained, tmp_path):
    path = trained.save(tmp_path / "t2t")
    loaded = Text2Text.load(path)
    texts, _ = planted(50, seed=2)
    a = trained.predict_ids(texts, top_k=5)
    b = loaded.predict_ids(texts, top_k=5)
    np.testing.assert_array_equal(a.indices, b.indices)
    manifest_file = resolve(path) / "manifest.json"
    manifest = json.loads(manifest_file.read_text())
    manifest["n_items"] += 1
    manifest_file.write_text(json.dumps(manifest))
    with pytest.raises(ModelFormatError, match="items"):
        Text2Text.load(path)


def test_files_are_read_with_clear_errors(tmp_path):
    items = tmp_path / "items.txt"
    items.write_text("a\nb\n")
    assert read_items(items) == ["a", "b"]
    good = tmp_path / "good.txt"
    good.write_text("0,1\tsome text\n1\tmore\ttabs\n")
    texts, labels = read_labeled_texts(good, n_items=2)
    assert texts == ["some text", "more\ttabs"] and labels == [[0, 1], [1]]
    bad = tmp_path / "bad.txt"
    bad.write_text("0\tok\n0,x\tbad id\n")
    with pytest.raises(DataError, match=r"bad.txt:2: label id 'x'"):
        read_labeled_texts(bad)
    bad.write_text("0\tok\n5\tout of range\n")
    with pytest.raises(DataError, match=r"bad.txt:2: label id 5 is not a line"):
        read_labeled_texts(bad, n_items=2)
    bad.write_text("no tab here\n")
    with pytest.raises(DataError, match=r"bad.txt:1: expected"):
        read_labeled_texts(bad)
    assert read_labeled_texts(bad, labels_required=False) == (["no tab here"], None)
    bad.write_bytes(b"0\tok\n0\t\xff\n")
    with pytest.raises(DataError, match=r"bad.txt:2: not valid UTF-8"):
        read_labeled_texts(bad)
    empty = tmp_path / "empty.txt"
    empty.write_text("")
    with pytest.raises(DataError, match="items file is empty"):
        read_items(empty)
    with pytest.raises(DataError, match="no such"):
        read_items(tmp_path / "missing.txt")


def test_cli_train_evaluate_predict(tmp_path, capsys, monkeypatch):
    texts, labels = planted(1500, seed=3)
    (tmp_path / "items.txt").write_text("\n".join(ITEMS) + "\n")
    (tmp_path / "train.txt").write_text(
        "".join(f"{','.join(map(str, ls))}\t{t}\n" for t, ls in zip(texts, labels, strict=True)))
    test_texts, test_labels = planted(100, seed=4)
    (tmp_path / "test.txt").write_text("".join(
        f"{','.join(map(str, ls))}\t{t}\n" for t, ls in zip(test_texts, test_labels, strict=True)))
    model = tmp_path / "model"
    assert main(["-q", "text2text", "train", "-i", str(tmp_path / "train.txt"),
                 "--items", str(tmp_path / "items.txt"), "-m", str(model),
                 "--indexer.max-leaf-size", "10"]) == 0
    assert main(["text2text", "evaluate", "-m", str(model), "-i",
                 str(tmp_path / "test.txt"), "--ks", "1,5"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["texts"] == 100 and result["P@1"] > 0.6
    monkeypatch.setattr("sys.stdin", io.StringIO("nova lamp\n\n"))
    assert main(["text2text", "predict", "-m", str(model), "--top-k", "2"]) == 0
    lines = [json.loads(x) for x in capsys.readouterr().out.splitlines()]
    assert lines[0]["labels"][0]["text"] == "nova lamp" and len(lines[0]["labels"]) == 2
    assert lines[1] == {"input": "", "labels": []}
    out = tmp_path / "pred.jsonl"
    assert main(["text2text", "predict", "-m", str(model), "-i", str(tmp_path / "test.txt"),
                 "-o", str(out)]) == 0
    assert len(out.read_text().splitlines()) == 100
    assert main(["text2text", "train", "-i", str(tmp_path / "test.txt"),
                 "--items", str(tmp_path / "missing.txt"), "-m", str(model)]) == 2
    assert "no such items file" in capsys.readouterr().err
