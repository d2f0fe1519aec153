"""The HTTP service under load: ``xmr serve`` with the Home Depot retriever and the AOL
autocompleter, driven over loopback by ``benchmarks/loadgen.py`` on the same 2-core machine.

    python -m benchmarks.serve                      # 60 s closed loops, 20 s open-loop steps
    python -m benchmarks.serve --seconds 10 --configs 1   # a quick look

For each server configuration (workers, thread pool): time to ready; closed loops at 1, 8 and
32 clients (half completion, half search); server overhead (one client, end-to-end p50 minus the
in-process p50 of the same calls); open loops with Poisson arrivals at rising rates (the highest
whose p99 stays under 20 ms); and 300 requests/s with both models hot-reloaded in the middle.
Writes ``benchmarks/results/serve.json`` and ``benchmarks/SERVING.md``. Models are trained once
into ``benchmarks/_work/serve`` (about 80 s); skips with a message when the data is absent.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

from .loadgen import closed_loop, json_requests, open_loop, run_async

HERE = Path(__file__).resolve().parent
DATA = HERE.parent.parent / "shared" / "data"
WORK = HERE / "_work" / "serve"
CONFIGS = {"1": ("1 worker", 1, False), "1t": ("1 worker, thread pool", 1, True),
           "2": ("2 workers", 2, False)}
RATES = (100, 200, 300, 400, 500, 650, 800, 1000, 1300)


def log(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", flush=True)


def _models() -> dict[str, Path]:
    """The saved Home Depot retriever and AOL autocompleter (trained on first use)."""
    from xmr.apps.qac import QueryAutocompleter, make_examples, read_queries
    from xmr.apps.retrieval import ProductRetriever, read_catalog, read_judgments, split_queries

    paths = {"homedepot": WORK / "homedepot", "aol": WORK / "aol"}
    if not (paths["homedepot"] / "CURRENT").exists():
        log("training the Home Depot retriever (once)")
        hd = DATA / "homedepot-search"
        train, _ = split_queries(read_judgments(hd / "pairs.csv.gz"), 0.2, seed=0)
        ProductRetriever().fit(read_catalog(hd / "products.csv.gz"), train,
                               threads=2).save(paths["homedepot"])
    if not (paths["aol"] / "CURRENT").exists():
        log("training the AOL autocompleter (once)")
        train, _ = make_examples(read_queries(DATA / "aol-queries" / "train.query.txt.gz"))
        QueryAutocompleter().fit(train, threads=2).save(paths["aol"])
    return paths


def _inputs() -> tuple[list[dict], list[dict]]:
    """Completion bodies (AOL test part) and search bodies (Home Depot test queries)."""
    from xmr.apps.qac import make_examples, read_queries
    from xmr.apps.retrieval import read_judgments, split_queries

    _, test = make_examples(read_queries(DATA / "aol-queries" / "train.query.txt.gz"))
    complete = [{"prefix": p, "previous": q, "top_k": 10}
                for q, p in zip(test.previous[:5000], test.prefix[:5000], strict=True)]
    _, hd_test = split_queries(read_judgments(DATA / "homedepot-search" / "pairs.csv.gz"), 0.2,
                               seed=0)
    search = [{"query": q, "top_k": 10} for q in dict.fromkeys(hd_test.queries)]
    return complete, search


def _in_process(paths: dict[str, Path], complete: list[dict], search: list[dict]) -> dict:
    """p50 / p99 of the library calls the endpoints make, one at a time, one thread."""
    import xmr

    out = {}
    for name, fn, bodies in (
            ("complete", lambda m, b: m.complete(b["prefix"], b["previous"], 10), complete),
            ("search", lambda m, b: m.search(b["query"], 10), search)):
        model = xmr.load(paths["aol" if name == "complete" else "homedepot"]).warmup()
        for b in bodies[:200]:
            fn(model, b)
        lat = np.empty(min(len(bodies), 3000))
        for i, b in enumerate(bodies[:lat.shape[0]]):
            t = time.perf_counter()
            fn(model, b)
            lat[i] = time.perf_counter() - t
        out[name] = {"p50_ms": float(np.percentile(lat, 50) * 1e3),
                     "p99_ms": float(np.percentile(lat, 99) * 1e3)}
    return out


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _start(paths: dict[str, Path], workers: int, offload: bool) -> tuple[subprocess.Popen, str,
                                                                          float]:
    import httpx

    port = _free_port()
    cmd = [sys.executable, "-m", "xmr", "-q", "serve", *(f"{k}={v}" for k, v in paths.items()),
           "--port", str(port), "--workers", str(workers)]
    if offload:
        cmd += ["--offload", "true"]
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    url = f"http://127.0.0.1:{port}"
    while True:
        try:
            if httpx.get(f"{url}/readyz", timeout=1).status_code == 200:
                break
        except httpx.TransportError:
            pass
        if proc.poll() is not None:
            raise RuntimeError(f"the server died: {proc.stderr.read()[-2000:]}")
        time.sleep(0.02)
    return proc, url, time.perf_counter() - t0


def _stop(proc: subprocess.Popen) -> None:
    proc.terminate()
    try:
        proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        proc.kill()


async def _reload_both(url: str) -> list[int]:
    """Reload both models (in a thread: the event loop keeps sending the load)."""
    import httpx

    def reload() -> list[int]:
        return [httpx.post(f"{url}/v1/models/{name}/reload", timeout=60).status_code
                for name in ("aol", "homedepot")]

    return await asyncio.to_thread(reload)


def _one_config(label: str, workers: int, offload: bool, paths, mixed, complete_reqs,
                search_reqs, in_process, seconds: float, step: float) -> dict:
    proc, url, ready_s = _start(paths, workers, offload)
    log(f"{label}: ready in {ready_s:.2f} s")
    res: dict = {"config": label, "workers": workers, "offload": offload, "ready_s": ready_s}
    try:
        run_async(closed_loop(url, mixed, 4, 2.0))  # warm connections and caches
        res["closed"] = {}
        for clients in (1, 8, 32):
            r = run_async(closed_loop(url, mixed, clients, seconds)).summary()
            res["closed"][clients] = r
            log(f"{label}: closed loop, {clients} clients: {r['throughput_rps']:.0f} req/s, "
                f"p50 {r['p50_ms']:.2f} ms, p99 {r['p99_ms']:.2f} ms, errors {r['errors']}")
        res["overhead"] = {}
        for name, reqs in (("complete", complete_reqs), ("search", search_reqs)):
            r = run_async(closed_loop(url, reqs, 1, step)).summary()
            res["overhead"][name] = {"end_to_end_p50_ms": r["p50_ms"],
                                     "in_process_p50_ms": in_process[name]["p50_ms"],
                                     "overhead_ms": r["p50_ms"] - in_process[name]["p50_ms"],
                                     "model_in_server_p50_ms": r["model_p50_ms"],
                                     "paired_overhead_ms": r["outside_model_p50_ms"]}
            log(f"{label}: {name} overhead {res['overhead'][name]['overhead_ms']:.3f} ms "
                f"(end to end {r['p50_ms']:.3f}, in process {in_process[name]['p50_ms']:.3f}); "
                f"paired per request {r['outside_model_p50_ms']}")
        res["open"] = []
        for rate in RATES:
            r = run_async(open_loop(url, mixed, rate, step, seed=rate)).summary()
            res["open"].append({"rate": rate, **r})
            log(f"{label}: open loop {rate}/s: p50 {r['p50_ms']:.2f} ms, p99 {r['p99_ms']:.2f} "
                f"ms, errors {r['errors']}, late starts {r['late_starts']}")
            if r["p99_ms"] > 20 or r["errors"]:
                break
        good = [o["rate"] for o in res["open"] if o["p99_ms"] <= 20 and not o["errors"]]
        res["max_rate_p99_under_20ms"] = max(good) if good else 0
        r = res["reload_at_300"] = _reload_at_300(url, mixed, seconds)
        log(f"{label}: 300/s with a reload: p50 {r['p50_ms']:.2f} ms, p99 {r['p99_ms']:.2f} ms, "
            f"errors {r['errors']}, reloads {r['reload_statuses']}")
    finally:
        _stop(proc)
    return res


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--seconds", type=float, default=60.0, help="closed loops and the reload run")
    p.add_argument("--step", type=float, default=20.0, help="each open-loop rate and overhead")
    p.add_argument("--configs", default="1,1t,2", help=f"of {', '.join(CONFIGS)}")
    p.add_argument("--overhead-only", action="store_true",
                   help="only the server overhead of one worker, --step seconds per endpoint, "
                        "the in-process calls measured just before (writes "
                        "results/serve-overhead.json)")
    p.add_argument("--reload-only", action="store_true",
                   help="only the 300/s run with a reload of both models, --seconds long, for "
                        "each of --configs (writes results/serve-reload-<time>.json)")
    args = p.parse_args(argv)
    needed = [DATA / "homedepot-search" / "pairs.csv.gz",
              DATA / "aol-queries" / "train.query.txt.gz"]
    if not all(f.exists() for f in needed):
        print(f"skipping: needs {', '.join(map(str, needed))} (see their PROVENANCE.md)")
        return 0
    try:
        import httpx  # noqa: F401
        import uvicorn  # noqa: F401
    except ImportError as exc:
        print(f"skipping: needs {exc.name}: pip install -e '.[serve,bench]'")
        return 0
    WORK.mkdir(parents=True, exist_ok=True)
    paths = _models()
    complete, search = _inputs()
    in_process = _in_process(paths, complete, search)
    log(f"in process: {in_process}")
    complete_reqs = json_requests("/v1/models/aol/complete", complete)
    search_reqs = json_requests("/v1/models/homedepot/search", search)
    mixed = [r for pair in zip(complete_reqs, search_reqs, strict=False) for r in pair]
    if args.overhead_only:
        return _overhead_only(paths, complete_reqs, search_reqs, in_process, args.step)
    if args.reload_only:
        return _reload_only(paths, mixed, args.configs.split(","), args.seconds)
    results = {"machine": {"cpus": os.cpu_count()}, "seconds": args.seconds, "step": args.step,
               "in_process": in_process, "configs": []}
    for key in args.configs.split(","):
        label, workers, offload = CONFIGS[key]
        results["configs"].append(_one_config(label, workers, offload, paths, mixed,
                                              complete_reqs, search_reqs, in_process,
                                              args.seconds, args.step))
    out = HERE / "results" / "serve.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps(results, indent=1))
    write_report(results, HERE / "SERVING.md")
    log(f"wrote {out} and {HERE / 'SERVING.md'}")
    return 0


def _overhead_only(paths, complete_reqs, search_reqs, in_process, step: float) -> int:
    proc, url, ready_s = _start(paths, 1, False)
    out: dict = {"machine": {"cpus": os.cpu_count()}, "step": step, "ready_s": ready_s}
    try:
        run_async(closed_loop(url, complete_reqs + search_reqs, 1, 2.0))
        for name, reqs in (("complete", complete_reqs), ("search", search_reqs)):
            r = run_async(closed_loop(url, reqs, 1, step)).summary()
            out[name] = {"end_to_end_p50_ms": r["p50_ms"],
                         "in_process_p50_ms": in_process[name]["p50_ms"],
                         "overhead_ms": r["p50_ms"] - in_process[name]["p50_ms"],
                         "model_in_server_p50_ms": r["model_p50_ms"],
                         "paired_overhead_ms": r["outside_model_p50_ms"]}
            wrk = _wrk_closed_loop(url, reqs, step)
            if wrk is not None:
                out[name]["wrk"] = dict(wrk, overhead_ms=wrk["p50_ms"]
                                        - in_process[name]["p50_ms"])
            log(f"{name}: {out[name]}")
    finally:
        _stop(proc)
    target = HERE / "results" / f"serve-overhead-{time.strftime('%Y%m%d-%H%M%S')}.json"
    target.parent.mkdir(exist_ok=True)
    target.write_text(json.dumps(out, indent=1))
    log(f"wrote {target}")
    return 0


def _lua_string(text: str) -> str:
    """``text`` (ASCII JSON) as a Lua string literal."""
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _wrk_closed_loop(url: str, requests, seconds: float) -> dict | None:
    """One connection of wrk (a load generator written in C, Debian package ``wrk``) cycling
    through ``requests``: the end-to-end latency without the Python client's own cost, which
    the asyncio load generator adds to every request; with the p50 of the server's own model
    time (``Server-Timing``) over the same run, so that ``outside_model_ms`` (the difference of
    the two medians) does not depend on the machine's speed drifting between two
    measurements. None when wrk is not installed."""
    import shutil
    import tempfile

    if shutil.which("wrk") is None:
        log("wrk is not installed (apt-get install wrk): no C-client overhead")
        return None
    path = requests[0][0]
    bodies = ",\n".join(_lua_string(body.decode()) for _, body in requests)
    script = f"""
local bodies = {{
{bodies}
}}
local i = 0
local headers = {{["Content-Type"] = "application/json"}}
local threads = {{}}
durs = {{}}
setup = function(thread) table.insert(threads, thread) end
request = function()
  i = i % #bodies + 1
  return wrk.format("POST", "{path}", headers, bodies[i])
end
response = function(status, hdrs, body)
  local t = hdrs["server-timing"] or hdrs["Server-Timing"]
  if t then durs[#durs + 1] = tonumber(string.match(t, "dur=([%d%.]+)")) end
end
done = function(summary, latency, requests)
  local e = summary.errors
  local d = threads[1]:get("durs")
  table.sort(d)
  local model = #d > 0 and d[math.floor((#d + 1) / 2)] or -1
  io.write(string.format("WRK %d %d %d %d %.4f\\n", latency:percentile(50),
                         latency:percentile(99), summary.requests,
                         e.connect + e.read + e.write + e.status + e.timeout, model))
end
"""
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as f:
        f.write(script)
    try:
        res = subprocess.run(["wrk", "-t1", "-c1", f"-d{int(max(seconds, 1))}s", "-s", f.name,
                              url], capture_output=True, text=True, timeout=seconds + 60)
    finally:
        os.unlink(f.name)
    line = next((x for x in res.stdout.splitlines() if x.startswith("WRK ")), None)
    if line is None:
        raise RuntimeError(f"wrk printed no summary: {res.stdout[-500:]} {res.stderr[-500:]}")
    fields = line.split()[1:]
    p50, p99, n, errors = (int(x) for x in fields[:4])
    model = float(fields[4])  # p50 of the server's own model time (Server-Timing), ms
    return {"p50_ms": p50 / 1e3, "p99_ms": p99 / 1e3, "requests": n, "errors": errors,
            "model_in_server_p50_ms": model if model >= 0 else None,
            "outside_model_ms": p50 / 1e3 - model if model >= 0 else None}


def _reload_at_300(url: str, mixed, seconds: float) -> dict:
    codes: list[int] = []

    async def reload() -> None:
        codes.extend(await _reload_both(url))

    r = run_async(open_loop(url, mixed, 300, seconds, seed=7, during=reload)).summary()
    return {**r, "reload_statuses": codes}


def _reload_only(paths, mixed, configs: list[str], seconds: float) -> int:
    out: dict = {"machine": {"cpus": os.cpu_count()}, "seconds": seconds, "configs": []}
    for key in configs:
        label, workers, offload = CONFIGS[key]
        proc, url, ready_s = _start(paths, workers, offload)
        try:
            run_async(closed_loop(url, mixed, 4, 2.0))  # warm connections and caches
            r = _reload_at_300(url, mixed, seconds)
        finally:
            _stop(proc)
        out["configs"].append({"config": label, "ready_s": ready_s, "reload_at_300": r})
        log(f"{label}: 300/s with a reload: p50 {r['p50_ms']:.2f} ms, p99 {r['p99_ms']:.2f} ms, "
            f"errors {r['errors']}, reloads {r['reload_statuses']}")
    target = HERE / "results" / f"serve-reload-{time.strftime('%Y%m%d-%H%M%S')}.json"
    target.parent.mkdir(exist_ok=True)
    target.write_text(json.dumps(out, indent=1))
    log(f"wrote {target}")
    return 0


def write_report(res: dict, path: Path) -> None:
    ip = res["in_process"]
    lines = [
        "# The HTTP service under load", "",
        f"Regenerated by `python -m benchmarks.serve --seconds {res['seconds']:g} --step "
        f"{res['step']:g}` ({time.strftime('%Y-%m-%d')}, {res['machine']['cpus']} cores; the "
        "load generator runs on the same cores). Models: the Home Depot retriever and the AOL "
        "autocompleter with default settings; requests alternate completion and search (top "
        "10), taken from the held-out parts of each data set. Latency is measured from when a "
        "request was due (open loop: its Poisson arrival time) to its response.", "",
        f"In process, one call at a time: completion p50 {ip['complete']['p50_ms']:.3f} ms / "
        f"p99 {ip['complete']['p99_ms']:.3f} ms, search p50 {ip['search']['p50_ms']:.3f} ms / "
        f"p99 {ip['search']['p99_ms']:.3f} ms. Overhead = end-to-end p50 at one client minus "
        "that in-process p50; in parentheses, the p50 over requests of end-to-end time minus "
        "the server's own model time for the same request (its `Server-Timing` header), which "
        "does not depend on the machine's speed drifting between the two measurements.", "",
        "| server | ready s | overhead ms (complete / search) | closed 1 client: req/s, p50, "
        "p99 | closed 8 | closed 32 | max open-loop rate with p99 < 20 ms | 300/s + reload: p50,"
        " p99, errors |", "|---" * 8 + "|"]
    for c in res["configs"]:
        cl = c["closed"]

        def closed(k, cl=cl):
            r = cl[k] if k in cl else cl[str(k)]
            return (f"{r['throughput_rps']:.0f}, {r['p50_ms']:.2f}, {r['p99_ms']:.2f}"
                    + (f" ({r['errors']} errors)" if r["errors"] else ""))

        o, rl = c["overhead"], c["reload_at_300"]

        def over(name, o=o):
            paired = o[name].get("paired_overhead_ms")
            return f"{o[name]['overhead_ms']:.3f}" + (f" ({paired:.3f})" if paired else "")

        lines.append(
            f"| {c['config']} | {c['ready_s']:.2f} | {over('complete')} / {over('search')} | "
            f"{closed(1)} | {closed(8)} | {closed(32)} | "
            f"{c['max_rate_p99_under_20ms']}/s | {rl['p50_ms']:.2f}, {rl['p99_ms']:.2f}, "
            f"{rl['errors']} |")
    lines += ["", "Open loop, every step:", "", "| server | rate /s | p50 ms | p99 ms | errors |",
              "|---|---|---|---|---|"]
    for c in res["configs"]:
        for o in c["open"]:
            lines.append(f"| {c['config']} | {o['rate']} | {o['p50_ms']:.2f} | {o['p99_ms']:.2f}"
                         f" | {o['errors']} |")
    path.write_text("\n".join(lines) + "\n")


if __name__ == "__main__":
    sys.exit(main())
