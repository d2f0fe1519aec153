"""Per-request overhead of Starlette vs FastAPI on uvicorn, for the choice in ``xmr.serve``.

    python -m benchmarks.serve_frameworks [--seconds 15]

Both apps answer the same POST (a completion request: a JSON object with a bounded ``prefix``,
an optional ``previous`` and ``top_k``) with the same fixed 10 suggestions, so only the
framework differs: Starlette with the hand-written checks of ``xmr.serve.inputs``, FastAPI with
a pydantic model. One client, closed loop, over loopback (``benchmarks/loadgen.py``); reports
p50 / p99 and the difference.
"""

# no ``from __future__ import annotations`` here: FastAPI must see the request model's class
import argparse
import json
import socket
import subprocess
import sys
import time

from .loadgen import closed_loop, json_requests, run_async

ANSWER = {"suggestions": [{"query": f"garden hose {i}", "score": 1.0 / (i + 1)}
                          for i in range(10)]}


def starlette_app():
    from starlette.applications import Starlette
    from starlette.responses import JSONResponse
    from starlette.routing import Route

    from xmr.serve.config import ServeConfig
    from xmr.serve.errors import RequestError
    from xmr.serve.inputs import allow_only, integer, parse_json, text

    cfg = ServeConfig()

    async def complete(request):
        try:
            data = parse_json(await request.body())
            allow_only(data, ("prefix", "previous", "top_k"))
            text(data, "prefix", cfg)
            text(data, "previous", cfg, required=False)
            integer(data, "top_k", 1, cfg.max_top_k)
        except RequestError as exc:
            return JSONResponse(exc.payload(), status_code=exc.status)
        return JSONResponse(ANSWER)

    return Starlette(routes=[Route("/complete", complete, methods=["POST"])])


def fastapi_app():
    from fastapi import FastAPI
    from pydantic import BaseModel, ConfigDict, Field

    class Complete(BaseModel):
        model_config = ConfigDict(extra="forbid")
        prefix: str = Field(max_length=1000)
        previous: str = Field("", max_length=1000)
        top_k: int | None = Field(None, ge=1, le=1000)

    app = FastAPI()

    @app.post("/complete")
    def complete(body: Complete) -> dict:  # a sync def, as a model call would be
        return ANSWER

    return app


def _serve(factory: str) -> tuple[subprocess.Popen, str]:
    import httpx

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = subprocess.Popen([sys.executable, "-m", "uvicorn", "--factory", factory, "--port",
                             str(port), "--log-level", "warning", "--no-access-log"])
    url = f"http://127.0.0.1:{port}"
    for _ in range(300):
        try:
            httpx.post(f"{url}/complete", json={"prefix": "g"}, timeout=1)
            return proc, url
        except httpx.TransportError:
            time.sleep(0.05)
    proc.kill()
    raise RuntimeError(f"{factory} did not start")


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--seconds", type=float, default=15.0)
    args = p.parse_args(argv)
    try:
        import fastapi  # noqa: F401
        import starlette  # noqa: F401
    except ImportError as exc:
        print(f"skipping: needs {exc.name}")
        return 0
    requests = json_requests("/complete", [{"prefix": "garden h", "previous": "lawn mower",
                                            "top_k": 10}])
    out = {}
    for name in ("starlette", "fastapi"):
        proc, url = _serve(f"benchmarks.serve_frameworks:{name}_app")
        try:
            run_async(closed_loop(url, requests, 1, 2.0))
            out[name] = run_async(closed_loop(url, requests, 1, args.seconds)).summary()
        finally:
            proc.terminate()
            proc.wait(timeout=20)
        print(f"{name}: p50 {out[name]['p50_ms']:.3f} ms, p99 {out[name]['p99_ms']:.3f} ms, "
              f"{out[name]['throughput_rps']:.0f} req/s, errors {out[name]['errors']}",
              flush=True)
        if out[name]["errors"]:
            print(f"{name} answered with errors: the comparison is void")
            return 1
    diff = out["fastapi"]["p50_ms"] - out["starlette"]["p50_ms"]
    print(f"FastAPI - Starlette, p50: {diff:+.3f} ms per request")
    print(json.dumps(out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
