"""The xmr command, called in-process."""

from __future__ import annotations

import json

import pytest

from xmr.cli.main import main
from xmr.io.datasets import write_xc
from xmr.io.store import resolve


@pytest.fixture(scope="module")
def data_files(tmp_path_factory, small_problem_module):
    d = tmp_path_factory.mktemp("cli")
    P = small_problem_module
    write_xc(d / "train.txt.gz", P.X_train, P.Y_train)
    write_xc(d / "test.txt", P.X_test, P.Y_test)
    return d


@pytest.fixture(scope="module")
def small_problem_module():
    from xmr.synthetic import make_problem

    return make_problem(300, n_train=800, n_test=100, seed=5)


def test_config_prints_defaults_and_merges(tmp_path, capsys):
    assert main(["config"]) == 0
    everything = json.loads(capsys.readouterr().out)
    assert set(everything) == {"train", "text2text", "retrieval", "qac"}
    assert everything["retrieval"]["solver"]["threshold"] == 0.05
    assert main(["config", "train"]) == 0
    cfg = json.loads(capsys.readouterr().out)
    assert cfg["solver"]["threshold"] == 0.1 and cfg["indexer"]["branching_factor"] == 16
    f = tmp_path / "c.json"
    f.write_text(json.dumps({"solver": {"Cp": 4}}))
    assert main(["config", "train", "--config", str(f), "--solver.Cn", "2"]) == 0
    cfg = json.loads(capsys.readouterr().out)
    assert cfg["solver"]["Cp"] == 4.0 and cfg["solver"]["Cn"] == 2.0


def test_train_predict_evaluate(data_files, tmp_path, capsys):
    model = tmp_path / "model"
    assert main(["-q", "train", "-x", str(data_files / "train.txt.gz"), "-m", str(model),
                 "--indexer.max-leaf-size", "20", "--solver.threshold", "0.05"]) == 0
    manifest = json.loads((resolve(model) / "manifest.json").read_text())
    assert manifest["config"]["solver"]["threshold"] == 0.05
    out = tmp_path / "pred.txt"
    assert main(["-q", "predict", "-x", str(data_files / "test.txt"), "-m", str(model),
                 "-o", str(out), "--top-k", "3"]) == 0
    lines = out.read_text().splitlines()
    assert len(lines) == 100 and all(len(line.split()) == 3 for line in lines)
    assert main(["-q", "evaluate", "-x", str(data_files / "test.txt"), "-m", str(model),
                 "--ks", "1,5"]) == 0
    metrics = json.loads(capsys.readouterr().out)
    assert metrics["P@1"] >= 0.7 and "R@5" in metrics and metrics["rows"] == 100


def test_errors_are_reported_without_traceback(data_files, tmp_path, capsys):
    bad = tmp_path / "bad.txt"
    bad.write_text("1 2 2\n0 0:1 1:zz\n")
    assert main(["train", "-x", str(bad), "-m", str(tmp_path / "m")]) == 2
    err = capsys.readouterr().err
    assert "line 2" in err and "Traceback" not in err
    assert main(["predict", "-x", str(data_files / "test.txt"), "-m", str(tmp_path / "no")]) == 2
    assert "no such model directory" in capsys.readouterr().err
    assert main(["train", "-x", str(data_files / "test.txt"), "-m", str(tmp_path / "m2"),
                 "--solver.Cp", "-1"]) == 2
    assert "SolverConfig.Cp" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["train"])  # argparse usage error


def test_demo_runs(capsys):
    assert main(["-q", "demo", "--labels", "500"]) == 0
    out = capsys.readouterr().out
    assert "P@1 =" in out and "single query: p50" in out
