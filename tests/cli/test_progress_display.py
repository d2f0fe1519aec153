"""Progress bars of the train verbs: drawn on a terminal, absent in logs and with -q."""

from __future__ import annotations

import io

import pytest

from xmr.cli.display import TerminalBars, training_progress
from xmr.cli.main import main
from xmr.io.datasets import write_xc
from xmr.progress import Progress

tqdm = pytest.importorskip("tqdm")


class FakeTerminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_bars_follow_the_reports_and_clear_at_the_end_of_a_stage():
    out = FakeTerminal()
    bars = TerminalBars(tqdm.tqdm, out)
    bars(Progress("level 2/3: 5/64 jobs", "level 2/3", 5, 64, "jobs", 1.0, 12.0))
    bars(Progress("level 2/3: 40/64 jobs", "level 2/3", 40, 64, "jobs", 2.0, 1.0))
    drawn = out.getvalue()
    assert "level 2/3" in drawn and "5/64 jobs" in drawn and "40/64 jobs" in drawn
    assert "about 12 s left" in drawn and "%|" in drawn
    bars(Progress("level 2/3: 64 nodes", "level 2/3"))  # final: the bar is cleared
    assert bars._bar is None
    bars("a plain line")  # not a report: ignored
    assert bars._bar is None


def test_no_bars_off_a_terminal_or_when_quiet():
    with training_progress(False, io.StringIO()) as progress:
        assert progress is None  # a log file gets the per-stage lines only
    with training_progress(True, FakeTerminal()) as progress:
        assert progress is None
    with training_progress(False, FakeTerminal()) as progress:
        assert isinstance(progress, TerminalBars)


@pytest.fixture(scope="module")
def train_file(tmp_path_factory):
    from xmr.synthetic import make_problem

    p = make_problem(600, n_train=1500, n_test=50, seed=3)
    path = tmp_path_factory.mktemp("progress") / "train.txt"
    write_xc(path, p.X_train, p.Y_train)
    return path


@pytest.mark.parametrize("quiet", [False, True])
def test_xmr_train_draws_bars_on_a_terminal(train_file, tmp_path, monkeypatch, quiet):
    term = FakeTerminal()
    monkeypatch.setattr("sys.stderr", term)
    argv = ["train", "-x", str(train_file), "-m", str(tmp_path / "m"),
            "--indexer.max-leaf-size", "10", "--indexer.branching-factor", "4"]
    assert main((["-q"] if quiet else []) + argv) == 0
    shown = term.getvalue()
    if quiet:
        assert shown == ""
    else:
        assert "%|" in shown and " jobs" in shown  # a bar was drawn
        assert "level 1/" in shown and "nodes" in shown and "training took" in shown


def test_xmr_train_writes_lines_only_to_a_log(train_file, tmp_path, monkeypatch):
    log = io.StringIO()
    monkeypatch.setattr("sys.stderr", log)
    assert main(["train", "-x", str(train_file), "-m", str(tmp_path / "m"),
                 "--indexer.max-leaf-size", "10"]) == 0
    shown = log.getvalue()
    assert "training took" in shown and "%|" not in shown and "\r" not in shown
