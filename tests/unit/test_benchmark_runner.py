"""The benchmark suite's own logic: job planning, resuming, metrics and the report.

The suite's numbers are only as good as this code, so it is tested like the library: the
ranking metrics against a direct per-row computation, the plan against the issue's matrix, and
the report on hand-made records (a timeout, an upper-bound memory value, a peer that failed).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import scipy.sparse as sp

from benchmarks import report, run
from benchmarks.common import ranking_metrics
from xmr.metrics import evaluate as xmr_evaluate


def _reference_metrics(pred: np.ndarray, Y: sp.csr_matrix) -> dict[str, float]:
    """Per-row definitions, written the slow and obvious way."""
    rows = [set(Y.indices[Y.indptr[i]:Y.indptr[i + 1]]) for i in range(Y.shape[0])]
    out = {}
    for k in (1, 3, 5):
        out[f"P@{k}"] = np.mean([sum(p in rel for p in pred[i, :k] if p >= 0) / k
                                 for i, rel in enumerate(rows)])
    ndcg, rec10, rec100 = [], [], []
    for i, rel in enumerate(rows):
        if not rel:
            continue
        dcg = sum(1 / np.log2(r + 2) for r, p in enumerate(pred[i, :5]) if p >= 0 and p in rel)
        idcg = sum(1 / np.log2(r + 2) for r in range(min(len(rel), 5)))
        ndcg.append(dcg / idcg)
        rec10.append(len(rel & set(pred[i, :10])) / len(rel))
        rec100.append(len(rel & set(pred[i, :100])) / len(rel))
    out.update({"nDCG@5": np.mean(ndcg), "R@10": np.mean(rec10), "R@100": np.mean(rec100)})
    return out


def test_ranking_metrics_match_per_row_definitions():
    rng = np.random.default_rng(3)
    n, L, k = 60, 40, 12
    Y = sp.random(n, L, density=0.08, format="lil", random_state=4)
    Y[5, :] = 0  # a row without labels counts in P@k (as a miss) but not in nDCG / recall
    Y = Y.tocsr()
    Y.eliminate_zeros()
    Y.data[:] = 1
    assert Y[5].nnz == 0
    pred = np.stack([rng.permutation(L)[:k] for _ in range(n)])
    pred[7, 4:] = -1  # a short list, padded
    got = ranking_metrics(pred, Y)
    want = _reference_metrics(pred, Y)
    for key, v in want.items():
        assert got[key] == pytest.approx(v, abs=1e-12), key
    # the benchmark's copy (it runs where xmr is not installed) agrees with xmr.metrics
    ours = xmr_evaluate(pred, Y, ks=(1, 3, 5, 10, 100))
    for key in ("P@1", "P@3", "P@5", "nDCG@5", "R@10", "R@100"):
        assert got[key] == pytest.approx(ours[key], abs=1e-12), key


def test_full_suite_plan_covers_the_issue_matrix():
    libs = ["xmr", "libpecos", "napkinxc", "omikuji"]
    jobs = [j for part in run.SUITES["full"]
            for j in run.plan_jobs(part["datasets"], libs, part["threads"],
                                   part.get("settings", ""), part.get("test_rows", 0))]
    keys = {(j["dataset"], j["lib"], j["setting"], j["threads"]) for j in jobs}
    assert len(keys) == len(jobs)  # no job twice
    for ds in ("bibtex", "homedepot-queries", "homedepot-titles", "aol-queries", "gen-10k",
               "gen-100k", "gen-1m"):
        assert {lib for d, lib, _, _ in keys if d == ds} == set(libs), ds
    # every library's every setting at 1 and 2 threads below 1M labels
    assert ("gen-100k", "omikuji", "default", 1) in keys
    assert ("aol-queries", "napkinxc", "matched", 2) in keys
    one_m = [j for j in jobs if j["dataset"] == "gen-1m"]
    assert {j["setting"] for j in one_m} == {"matched"}
    assert {j["test_rows"] for j in one_m} == {20_000}


def _record(ds, lib, setting="matched", threads=2, train=None, predict=None, test_rows=0):
    return {"dataset": ds, "lib": lib, "setting": setting, "threads": threads,
            "test_rows": test_rows, "n_train": 100,
            "train": train or {"status": "ok", "train_s": 10.0, "train_peak_rss_mb": 100.0,
                               "rss_source": "VmHWM", "model_mb": 5.0},
            "predict": predict or {"status": "ok", "predict_s": 1.0, "P@1": 0.5, "P@3": 0.3,
                                   "P@5": 0.2, "nDCG@5": 0.4, "R@10": 0.6, "R@100": 0.8,
                                   "latency_p50_ms": 0.1, "latency_p99_ms": 0.2,
                                   "load_s": 0.01}}


def _write_run(results: Path, run_id: str, records: list[dict]) -> None:
    results.mkdir(parents=True, exist_ok=True)
    payload = {"run_id": run_id, "machine": {"cpus": 2, "platform": "test", "python": "3.11",
                                             "date": "2026-11-26"}, "records": records}
    (results / f"run-{run_id}.json").write_text(json.dumps(payload))


def test_skip_done_keeps_timeouts_and_reruns_errors(tmp_path):
    _write_run(tmp_path, "20261126-170000", [
        _record("gen-1m", "libpecos", train={"status": "timeout after 1800 s"}),
        _record("gen-1m", "napkinxc", train={"status": "failed: ImportError: napkinxc"}),
        _record("gen-10k", "xmr"),
    ])
    done = run.done_jobs(tmp_path)
    assert ("gen-1m", "libpecos", "matched", 2, 0) in done
    assert ("gen-10k", "xmr", "matched", 2, 0) in done
    assert ("gen-1m", "napkinxc", "matched", 2, 0) not in done  # an error is worth a re-run


def test_report_tables_ratios_and_failures(tmp_path):
    results = tmp_path / "results"
    old = _record("gen-100k", "omikuji")
    del old["train"]["rss_source"]
    _write_run(results, "20261126-120000", [old])  # before the VmHWM fix: an upper bound
    _write_run(results, "20261126-170000", [
        _record("gen-100k", "xmr", train={"status": "ok", "train_s": 5.0,
                                          "train_peak_rss_mb": 50.0, "rss_source": "VmHWM",
                                          "model_mb": 5.0}),
        _record("gen-100k", "libpecos"),
        _record("gen-1m", "xmr"),
        _record("gen-1m", "libpecos", train={"status": "timeout after 1800 s"}),
    ])
    target = tmp_path / "RESULTS.md"
    report.write_report(results, target)
    text = target.read_text()
    assert "| 100,000 | xmr | 5 | 0.50x | 50 | 0.50x |" in text
    assert "| 100,000 | omikuji | 10 | 1.00x | <=100 | - |" in text
    assert "| 1,000,000 | libpecos | train: timeout after 1800 s |" in text
    # in the per-data-set table the timed-out peer is a row of its own, not dropped
    assert "| libpecos | matched | 2 | train: timeout after 1800 s |" in text


def test_report_draws_both_plots(tmp_path, monkeypatch):
    pytest.importorskip("matplotlib")
    results = tmp_path / "results"
    _write_run(results, "20261126-170000", [
        _record(ds, lib) for ds in ("gen-10k", "gen-100k") for lib in ("xmr", "libpecos")
    ] + [_record("gen-1m", "libpecos", train={"status": "timeout after 1800 s"}),
         _record("bibtex", "omikuji", threads=1)])
    panels = []
    draw = report._plot_accuracy_latency

    def spy(records, path, plt):
        out = draw(records, path, plt)
        panels.extend(out)
        return out

    monkeypatch.setattr(report, "_plot_accuracy_latency", spy)
    report.write_report(results, tmp_path / "RESULTS.md")
    # one panel per data set with a latency, each drawn from its own records only
    assert [ds for ds, _ in panels] == ["bibtex", "gen-100k", "gen-10k"]
    assert [len(pts) for _, pts in panels] == [1, 2, 2]
    for name in ("accuracy-latency.png", "scaling.png"):
        png = tmp_path / "plots" / name
        assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n", name
    assert "plots/scaling.png" in (tmp_path / "RESULTS.md").read_text()


def test_shapes_suite_and_its_spread_table(tmp_path):
    jobs = [j for part in run.SUITES["shapes"]
            for j in run.plan_jobs(part["datasets"], ["xmr", "libpecos", "omikuji"],
                                   part["threads"], part["settings"], 0)]
    assert {j["dataset"] for j in jobs} == set(run.SHAPES)
    assert {(j["setting"], j["threads"]) for j in jobs} == {("matched", 2)}
    results = tmp_path / "results"
    shape = {"nnz_per_row": 28.0, "labels_per_row": 2.4}

    def rec(ds, lib, train_s, p1, mb):
        r = _record(ds, lib, train={"status": "ok", "train_s": train_s,
                                    "train_peak_rss_mb": 100.0, "rss_source": "VmHWM",
                                    "model_mb": mb})
        r["predict"]["P@1"] = p1
        return dict(r, data=shape)

    _write_run(results, "20261203-080000", [
        rec("shape-base", "xmr", 8.0, 0.90, 6.0), rec("shape-base", "libpecos", 10.0, 0.91, 4.0),
        rec("shape-base", "omikuji", 4.0, 0.88, 1.0),
        rec("shape-wide", "xmr", 30.0, 0.80, 9.0), rec("shape-wide", "libpecos", 10.0, 0.80, 3.0),
        rec("shape-wide", "omikuji", 20.0, 0.85, 1.0)])
    report.write_report(results, tmp_path / "RESULTS.md")
    text = (tmp_path / "RESULTS.md").read_text()
    assert "| shape-base | 28 | 2.4 | 8 | 0.80x | 2.00x | 90.00 | -1.00 | +2.00 | 6 | 1.50x |" \
        in text
    assert "| train vs libpecos | 0.80x | 1.90x | 3.00x |" in text  # min / median / max
    assert "| P@1 points vs omikuji | -5.00 | -1.50 | 2.00 |" in text
    assert "| model size vs libpecos | 1.50x | 2.25x | 3.00x |" in text


def test_data_shape_reads_the_training_part(tmp_path):
    X = sp.csr_matrix(np.array([[1, 0, 2], [0, 0, 3]], dtype=np.float32))
    Y = sp.csr_matrix(np.array([[1, 1], [0, 1]], dtype=np.float32))
    sp.save_npz(tmp_path / "X_train.npz", X)
    sp.save_npz(tmp_path / "Y_train.npz", Y)
    assert run.data_shape(tmp_path) == {"rows": 2, "features": 3, "labels": 2,
                                        "nnz_per_row": 1.5, "labels_per_row": 1.5}
