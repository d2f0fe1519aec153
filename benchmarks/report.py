"""Turn benchmark JSON runs into ``benchmarks/RESULTS.md`` (tables with ratios to libpecos) and
two plots: accuracy vs single-query latency per data set, and training time and memory vs the
number of labels on the generated problems."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import numpy as np

logger = logging.getLogger(__name__)

LIBS = ("xmr", "libpecos", "napkinxc", "omikuji")
COLORS = {"xmr": "tab:red", "libpecos": "tab:blue", "napkinxc": "tab:green",
          "omikuji": "tab:orange"}
MARKERS = {"xmr": "o", "libpecos": "s", "napkinxc": "^", "omikuji": "D"}
# the accuracy the accuracy-vs-latency plot shows: recall for the retrieval-like sets, whose
# test rows have many relevant labels and few that are reachable; P@1 elsewhere
PLOT_METRIC = {"homedepot-queries": "R@10", "homedepot-titles": "R@10", "aol-queries": "R@10"}
SCALING = (("gen-10k", 10_000), ("gen-100k", 100_000), ("gen-1m", 1_000_000))
SCALING_THREADS = 2


def _latest_records(results_dir: Path) -> tuple[list[dict], dict]:
    """Newest record for each (dataset, lib, setting, threads) over all runs."""
    runs = sorted(results_dir.glob("run-*.json"))
    latest: dict[tuple, dict] = {}
    machine: dict = {}
    for path in runs:
        payload = json.loads(path.read_text())
        machine = payload.get("machine", machine)
        for rec in payload["records"]:
            rec = dict(rec, run_id=payload["run_id"])
            latest[(rec["dataset"], rec["lib"], rec["setting"], rec["threads"])] = rec
    return list(latest.values()), machine


def _fmt(v, digits=3):
    if v is None:
        return "-"
    if isinstance(v, str):
        return v
    if abs(v) >= 100:
        return f"{v:.0f}"
    return f"{v:.{digits}g}"


def _ratio(a, b):
    if a is None or b is None or b == 0:
        return "-"
    return f"{a / b:.2f}x"


def _status(rec: dict) -> str:
    """'ok' or the first phase's failure (timeout, out of memory, error)."""
    for mode in ("train", "predict"):
        st = rec.get(mode, {}).get("status", "missing")
        if st != "ok":
            return f"{mode}: {st}"
    return "ok"


# runs before this one read ru_maxrss, which carries the runner's memory across fork/exec
FIRST_VMHWM_RUN = "20261126-135200"


def _run_time(run_id: str) -> str:
    """'2026-11-26 13:52' from a run id '20261126-135200'."""
    d, t = run_id.split("-")
    return f"{d[:4]}-{d[4:6]}-{d[6:]} {t[:2]}:{t[2:4]}"


def _rss_exact(rec: dict) -> bool:
    """Whether the record's peak RSS is the worker's own (VmHWM), not an upper bound."""
    return bool(rec.get("train", {}).get("rss_source")) or rec["run_id"] >= FIRST_VMHWM_RUN


def _rss(rec: dict) -> str:
    v = rec.get("train", {}).get("train_peak_rss_mb")
    if v is None:
        return "-"
    return _fmt(v) if _rss_exact(rec) else f"<={_fmt(v)}"


def _scaling_rows(records: list[dict]) -> list[dict]:
    """The matched-setting, 2-thread records of the generated 10K/100K/1M problems."""
    out = []
    for ds, n_labels in SCALING:
        for lib in LIBS:
            rec = next((r for r in records if r["dataset"] == ds and r["lib"] == lib and
                        r["setting"] == "matched" and r["threads"] == SCALING_THREADS), None)
            if rec is not None:
                out.append(dict(rec, n_labels=n_labels))
    return out


def _scaling_table(rows: list[dict]) -> list[str]:
    lines = [f"## Scaling with the number of labels (generated problems, PECOS-matched settings, "
             f"{SCALING_THREADS} threads)", "",
             "| labels | library | train s | vs pecos | train RSS MB | vs pecos | model MB | "
             "P@1 | p50 ms |", "|" + "---|" * 9]
    for r in rows:
        tr, pr = r.get("train", {}), r.get("predict", {})
        base = next((b for b in rows if b["lib"] == "libpecos" and
                     b["n_labels"] == r["n_labels"]), {})
        btr = base.get("train", {}) if _status(base) == "ok" else {}
        st = _status(r)
        exact = _rss_exact(r) and bool(base) and _rss_exact(base)
        if st != "ok" and tr.get("status") != "ok":
            lines.append(f"| {r['n_labels']:,} | {r['lib']} | {st} | | | | | | |")
            continue
        p1 = pr.get("P@1")
        lines.append(
            f"| {r['n_labels']:,} | {r['lib']} | {_fmt(tr.get('train_s'))} | "
            f"{_ratio(tr.get('train_s'), btr.get('train_s'))} | {_rss(r)} | "
            f"{_ratio(tr.get('train_peak_rss_mb'), btr.get('train_peak_rss_mb')) if exact else '-'}"
            f" | "
            f"{_fmt(tr.get('model_mb'))} | {'-' if p1 is None else f'{100 * p1:.2f}'}"
            f"{'' if st == 'ok' else f' ({st})'} | {_fmt(pr.get('latency_p50_ms'))} |")
    lines += ["", "![training time and memory vs labels](plots/scaling.png)", ""]
    return lines


def _spread_table(records: list[dict]) -> list[str]:
    """xmr against each peer over the generator shapes of the suite 'shapes' (matched settings,
    2 threads): one row per shape, then the spread (min / median / max) of each ratio."""
    shapes = sorted({r["dataset"] for r in records if r["dataset"].startswith("shape-")})
    if not shapes:
        return []

    def rec(ds: str, lib: str) -> dict:
        r = next((r for r in records if r["dataset"] == ds and r["lib"] == lib and
                  r["setting"] == "matched" and r["threads"] == SCALING_THREADS), {})
        return r if r and _status(r) == "ok" else {}

    peers = [lib for lib in LIBS if lib != "xmr" and any(rec(ds, lib) for ds in shapes)]
    lines = ["## Spread over generator shapes (50K labels, 100K rows, PECOS-matched settings, "
             f"{SCALING_THREADS} threads)", "",
             "Each shape changes one knob of the generator (`benchmarks/run.py`, `SHAPES`); "
             "ratios are xmr / peer (below 1.00x: xmr faster or smaller), P@1 differences are "
             "xmr minus the peer, in points.", "",
             "| shape | nnz / row | labels / row | xmr train s | "
             + " | ".join(f"vs {p} train" for p in peers) + " | xmr P@1 | "
             + " | ".join(f"vs {p} P@1" for p in peers) + " | xmr model MB | vs libpecos model "
             "| xmr train RSS MB | vs libpecos RSS |",
             "|" + "---|" * (7 + 2 * len(peers) + 2)]
    ratios: dict[str, list[float]] = {}
    for ds in shapes:
        x = rec(ds, "xmr")
        if not x:
            lines.append(f"| {ds} | " + "- | " * (6 + 2 * len(peers) + 2))
            continue
        xt, xp = x.get("train", {}), x.get("predict", {})
        shape = x.get("data", {})
        cells = [ds, _fmt(shape.get("nnz_per_row")), _fmt(shape.get("labels_per_row")),
                 _fmt(xt.get("train_s"))]
        for p in peers:
            pt = rec(ds, p).get("train", {})
            cells.append(_ratio(xt.get("train_s"), pt.get("train_s")))
            if xt.get("train_s") and pt.get("train_s"):
                ratios.setdefault(f"train vs {p}", []).append(xt["train_s"] / pt["train_s"])
        cells.append("-" if xp.get("P@1") is None else f"{100 * xp['P@1']:.2f}")
        for p in peers:
            pp = rec(ds, p).get("predict", {})
            if xp.get("P@1") is None or pp.get("P@1") is None:
                cells.append("-")
                continue
            diff = 100 * (xp["P@1"] - pp["P@1"])
            cells.append(f"{diff:+.2f}")
            ratios.setdefault(f"P@1 points vs {p}", []).append(diff)
        pecos = rec(ds, "libpecos").get("train", {})
        cells += [_fmt(xt.get("model_mb")), _ratio(xt.get("model_mb"), pecos.get("model_mb"))]
        if xt.get("model_mb") and pecos.get("model_mb"):
            ratios.setdefault("model size vs libpecos", []).append(
                xt["model_mb"] / pecos["model_mb"])
        exact = _rss_exact(x) and bool(pecos) and _rss_exact(rec(ds, "libpecos"))
        cells += [_rss(x), _ratio(xt.get("train_peak_rss_mb"), pecos.get("train_peak_rss_mb"))
                  if exact else "-"]
        lines.append("| " + " | ".join(cells) + " |")
    lines += ["", "| ratio | min | median | max |", "|---|---|---|---|"]
    for name, vals in ratios.items():
        v = np.array(vals)
        unit = "" if name.startswith("P@1") else "x"
        lines.append(f"| {name} | {v.min():.2f}{unit} | {np.median(v):.2f}{unit} | "
                     f"{v.max():.2f}{unit} |")
    return lines + [""]


def _plot_scaling(rows: list[dict], path: Path, plt) -> None:
    fig, axes = plt.subplots(1, 2, figsize=(10, 4))
    timeouts: dict[int, list[str]] = {}
    for lib in LIBS:
        mine = [r for r in rows if r["lib"] == lib]
        for ax, key in zip(axes, ("train_s", "train_peak_rss_mb"), strict=True):
            ok = [r for r in mine if r.get("train", {}).get("status") == "ok" and
                  (key == "train_s" or _rss_exact(r))]
            ax.plot([r["n_labels"] for r in ok], [r["train"][key] for r in ok],
                    marker=MARKERS[lib], color=COLORS[lib], label=lib)
            if key != "train_s":
                continue
            for r in mine:  # a timeout is drawn at its limit, pointing up, and named
                st = r.get("train", {}).get("status", "")
                if st.startswith("timeout"):
                    limit = float(st.split()[2])
                    ax.plot([r["n_labels"]], [limit], marker="^", markersize=11,
                            color=COLORS[lib], markerfacecolor="none")
                    stacked = timeouts.setdefault(r["n_labels"], [])
                    ax.annotate(f"{lib}: {st}", (r["n_labels"], limit), fontsize=7,
                                color=COLORS[lib], xytext=(-150, -14 - 10 * len(stacked)),
                                textcoords="offset points")
                    stacked.append(lib)
    for ax, title in zip(axes, ("training wall time (s)", "training peak RSS (MB)"),
                         strict=True):
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xticks([n for _, n in SCALING], ["10K", "100K", "1M"])
        ax.set_xlim(6_000, 1_600_000)
        ax.yaxis.set_major_formatter(plt.FuncFormatter(lambda v, _: f"{v:g}"))
        ax.yaxis.set_minor_formatter(plt.NullFormatter())
        ax.set_xlabel("labels (generated problems)")
        ax.set_title(title)
        ax.grid(True, which="both", alpha=0.3)
    axes[0].legend(fontsize=8)
    fig.suptitle(f"PECOS-matched settings, {SCALING_THREADS} threads", fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def _plot_accuracy_latency(records: list[dict], path: Path, plt) -> list[tuple[str, list]]:
    """One panel per data set: accuracy vs p50 single-query latency, one point per library and
    setting (filled: PECOS-matched, hollow: the library's default). Returns the panels drawn,
    as (data set, records)."""
    from matplotlib import ticker

    panels = []
    for ds in sorted({r["dataset"] for r in records}):
        pts = {}
        for r in sorted((r for r in records if r["dataset"] == ds), key=lambda r: r["threads"]):
            pr = r.get("predict", {})
            if _status(r) == "ok" and pr.get("latency_p50_ms") is not None:
                pts.setdefault((r["lib"], r["setting"]), r)  # the 1-thread run when there is one
        if pts:
            panels.append((ds, list(pts.values())))
    if not panels:
        return []
    cols = 3
    nrows = -(-len(panels) // cols)
    fig, axes = plt.subplots(nrows, cols, figsize=(4.2 * cols, 3.4 * nrows), squeeze=False)
    for ax, (ds, pts) in zip(axes.ravel(), panels, strict=False):
        metric = PLOT_METRIC.get(ds, "P@1")
        for r in pts:
            lib, matched = r["lib"], r["setting"] == "matched"
            ax.plot([r["predict"]["latency_p50_ms"]], [100 * r["predict"][metric]],
                    marker=MARKERS[lib], color=COLORS[lib], linestyle="none", markersize=8,
                    markerfacecolor=COLORS[lib] if matched else "none",
                    label=f"{lib} {r['setting']}")
        ax.set_xscale("log")
        # ticks at 1-2-5 steps: the spans are often under a decade; minor labels would overlap
        ax.xaxis.set_major_locator(ticker.LogLocator(subs=(1.0, 2.0, 5.0)))
        ax.xaxis.set_minor_formatter(ticker.NullFormatter())
        ax.xaxis.set_major_formatter(ticker.FuncFormatter(lambda v, _: f"{v:g}"))
        ax.set_xlabel("p50 single-query latency (ms, 1 thread, log)")
        ax.set_ylabel(f"{metric} (%)")
        ax.set_title(ds, fontsize=10)
        ax.grid(True, which="both", alpha=0.3)
    for ax in axes.ravel()[len(panels):]:
        ax.axis("off")
    handles, labels = axes.ravel()[0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="lower center", ncol=4, fontsize=8)
    fig.tight_layout(rect=(0, 0.07, 1, 1))
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return panels


def _write_plots(records: list[dict], plot_dir: Path) -> bool:
    """Draw both plots; False (with a log line) when matplotlib is not installed."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        logger.warning("matplotlib is not installed (pip install -e '.[bench]'): no plots")
        return False
    plot_dir.mkdir(parents=True, exist_ok=True)
    _plot_accuracy_latency(records, plot_dir / "accuracy-latency.png", plt)
    _plot_scaling(_scaling_rows(records), plot_dir / "scaling.png", plt)
    return True


def write_report(results_dir: Path, target: Path) -> None:
    records, machine = _latest_records(results_dir)
    lines = [
        "# Benchmark results",
        "",
        "Generated by `python -m benchmarks.run` (see `benchmarks/README.md`); do not edit.",
        f"Machine: {machine.get('cpus')} CPUs, {machine.get('platform')}, "
        f"Python {machine.get('python')}; last run {machine.get('date')}.",
        "",
        "Ratios are xmr (or the peer) divided by libpecos at the same thread count: below 1.00x "
        "is faster / smaller. Accuracy differences are in points against libpecos. Latency is "
        "one query at a time through each library's Python API, one thread, after warm-up.",
        "",
        f"Memory marked `<=` comes from runs made before {_run_time(FIRST_VMHWM_RUN)}, which "
        "read peak RSS from `ru_maxrss`; that also carries the runner's memory at spawn time, "
        "so those values are upper bounds near the runner's size. Later runs read `VmHWM`.",
        "",
    ]
    has_plots = _write_plots(records, target.parent / "plots")
    if has_plots:
        lines += ["![accuracy vs single-query latency](plots/accuracy-latency.png)", ""]
    lines += _scaling_table(_scaling_rows(records))
    lines += _spread_table(records)
    datasets = sorted({r["dataset"] for r in records})
    for ds in datasets:
        rows = sorted((r for r in records if r["dataset"] == ds),
                      key=lambda r: (r["threads"], r["lib"] != "xmr", r["lib"], r["setting"]))
        subsets = sorted({r.get("test_rows", 0) for r in rows})
        note = ("" if subsets == [0] else
                "Test rows: " + ", ".join("all" if n == 0 else f"the first {n:,}" for n in subsets)
                + " (see the JSON's `test_rows` per record).")
        lines += [f"## {ds}", "", *([note, ""] if note else []),
                  "| library | setting | threads | train s | vs pecos | train RSS MB | "
                  "model MB | predict s | vs pecos | P@1 | P@3 | P@5 | nDCG@5 | R@10 | R@100 | "
                  "p50 ms | p99 ms | load s |",
                  "|" + "---|" * 18]
        base = {r["threads"]: r for r in rows if r["lib"] == "libpecos"}
        for r in rows:
            tr, pr = r.get("train", {}), r.get("predict", {})
            b = base.get(r["threads"], {})
            btr, bpr = b.get("train", {}), b.get("predict", {})
            if b.get("test_rows", 0) != r.get("test_rows", 0):
                bpr = {}  # accuracy on different test rows is not comparable
            status = _status(r)
            if status != "ok" and tr.get("status") != "ok":
                lines.append(f"| {r['lib']} | {r['setting']} | {r['threads']} | {status} |"
                             + " |" * 14)
                continue

            def acc(key, pr=pr, bpr=bpr, lib=r["lib"]):
                v = pr.get(key)
                if v is None:
                    return "-"
                s = f"{100 * v:.2f}"
                if lib != "libpecos" and bpr.get(key) is not None:
                    s += f" ({100 * (v - bpr[key]):+.2f})"
                return s

            lines.append(
                f"| {r['lib']} | {r['setting']} | {r['threads']} | {_fmt(tr.get('train_s'))} | "
                f"{_ratio(tr.get('train_s'), btr.get('train_s'))} | "
                f"{_rss(r)} | {_fmt(tr.get('model_mb'))} | "
                f"{_fmt(pr.get('predict_s')) if status == 'ok' else status} | "
                f"{_ratio(pr.get('predict_s'), bpr.get('predict_s'))}"
                f" | {acc('P@1')} | {acc('P@3')} | {acc('P@5')} | {acc('nDCG@5')} | "
                f"{acc('R@10')} | {acc('R@100')} | {_fmt(pr.get('latency_p50_ms'))} | "
                f"{_fmt(pr.get('latency_p99_ms'))} | {_fmt(pr.get('load_s'))} |")
        lines.append("")
    target.write_text("\n".join(lines) + "\n")


if __name__ == "__main__":
    here = Path(__file__).resolve().parent
    write_report(here / "results", here / "RESULTS.md")
