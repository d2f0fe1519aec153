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


def test_version_and_python_dash_m(capsys):
    import subprocess
    import sys

    import xmr

    with pytest.raises(SystemExit) as exc:
        main(["--version"])
    assert exc.value.code == 0 and capsys.readouterr().out.strip() == f"xmr {xmr.__version__}"
    out = subprocess.run([sys.executable, "-m", "xmr", "--version"], capture_output=True,
                         text=True, check=True).stdout
    assert out.strip() == f"xmr {xmr.__version__}"


def test_common_flags_mean_the_same_everywhere(data_files, tmp_path, capsys):
    model = tmp_path / "model"
    # -q after the verb, -i as the data flag
    assert main(["train", "-q", "-i", str(data_files / "train.txt.gz"), "-m", str(model),
                 "--indexer.max-leaf-size", "20"]) == 0
    assert capsys.readouterr().err == ""
    names = tmp_path / "names.txt"
    names.write_text("".join(f"label-{i}\n" for i in range(300)))
    out = tmp_path / "pred.jsonl"
    assert main(["predict", "-q", "-i", str(data_files / "test.txt"), "-m", str(model),
                 "-k", "2", "--format", "json", "--label-names", str(names), "-o", str(out)]) == 0
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert len(rows) == 100 and rows[0]["labels"][0].startswith("label-")
    assert len(rows[0]["scores"]) == 2
    assert main(["evaluate", "-i", str(data_files / "test.txt"), "-m", str(model),
                 "--ks", "1", "--format", "text"]) == 0
    assert "P@1: " in capsys.readouterr().out


def test_help_shows_the_real_defaults_of_each_application(capsys, monkeypatch):
    monkeypatch.setenv("COLUMNS", "1000")  # no line wrapping inside the values
    with pytest.raises(SystemExit):
        main(["retrieval", "train", "-h"])
    text = " ".join(capsys.readouterr().out.split())
    assert "--solver.threshold FLOAT" in text and "(default: 0.05)" in text
    assert '(default: "pifa+label-features")' in text


def test_user_errors_are_one_line_before_long_work(data_files, tmp_path, capsys, monkeypatch):
    # as on a fresh clone: every kernel group cold, so long work would be announced
    monkeypatch.setattr("xmr.compile.cold_parts", lambda parts=("text",): list(parts))
    blocker = tmp_path / "file"
    blocker.write_text("x")
    assert main(["train", "-i", str(data_files / "train.txt.gz"),
                 "-m", str(blocker / "model")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("xmr train: error:") and err.count("\n") == 1
    assert main(["predict", "-i", str(data_files / "test.txt"), "-m", str(tmp_path / "none"),
                 "--top-k", "1000000000"]) == 2
    assert "--top-k must be in [1, 100000]" in capsys.readouterr().err
    # once the checks pass, the first run says that it is compiling
    assert main(["predict", "-i", str(data_files / "test.txt"), "-m", str(tmp_path / "none")]) \
        == 2
    assert "compiling the text kernels" in capsys.readouterr().err


def test_usage_errors_are_one_line(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["predict", "-i", "x", "-m", "y", "--top-k", "1e9"])
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("xmr predict: error: argument -k/--top-k")
