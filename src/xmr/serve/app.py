"""The ASGI application: routes, the request path, readiness, reload and the demo page.

Starlette rather than FastAPI: on this service's requests FastAPI's per-request validation and
serialization cost more than the whole budget of a request's overhead (``docs/serving.md`` has
the measurement), and the field checks it would give are hand-written in ``inputs`` with the
error format we want.
"""

from __future__ import annotations

import json
import logging
import os
import signal
import threading
import time
from contextlib import asynccontextmanager
from pathlib import Path

import anyio
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import Route

from ..errors import XmrError
from .config import ServeConfig
from .errors import RequestError
from .handlers import handler_for
from .inputs import parse_json
from .metrics import Metrics
from .openapi import build_schema
from .registry import Registry, model_names
from .shared import ReloadBoard

logger = logging.getLogger(__name__)
DEMO_PAGE = Path(__file__).resolve().parent / "static" / "index.html"


class _Json(JSONResponse):
    """JSON with non-ASCII escaped: a lone surrogate typed by a client stays valid output."""

    def render(self, content) -> bytes:
        return json.dumps(content, ensure_ascii=True, allow_nan=False,
                          separators=(",", ":")).encode("ascii")


def _error(exc: RequestError) -> Response:
    return _Json(exc.payload(), status_code=exc.status)


async def _read_body(request: Request, limit: int) -> bytes:
    """The body, refused with 413 as soon as it is known to exceed ``limit`` bytes."""
    declared = request.headers.get("content-length")
    if declared is not None:
        if not declared.isdigit():
            raise RequestError(400, None, "the Content-Length header is not a number")
        if int(declared) > limit:
            raise RequestError(413, None, f"the body has {declared} bytes; the limit is {limit}")
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise RequestError(413, None, f"the body exceeds the limit of {limit} bytes")
        chunks.append(chunk)
    return b"".join(chunks)


def create_app(models: dict[str, Path] | list[str], config: ServeConfig | None = None, *,
               background_load: bool = True, state_dir: str | os.PathLike | None = None
               ) -> Starlette:
    """The service for some saved models.

    Parameters
    ----------
    models : dict name -> directory, or list of ``DIR`` / ``NAME=DIR`` strings
    config : limits and request execution (:class:`ServeConfig`)
    background_load : bool
        Load the models in a thread once the server starts (``/readyz`` says when they are
        ready); False loads them before the first request is answered.
    state_dir : directory shared by the worker processes of one server, through which a reload
        done by one worker reaches the others (None: one process)
    """
    cfg = config or ServeConfig()
    paths = models if isinstance(models, dict) else model_names(models)
    registry = Registry(paths)
    metrics = Metrics()
    board = ReloadBoard(state_dir) if state_dir is not None else None
    schema = build_schema(cfg)
    limiter = anyio.CapacityLimiter(max(2, os.cpu_count() or 2))
    known_models = set(paths)

    def publish(name: str) -> None:
        served = registry._served.get(name)
        if served is not None:
            metrics.model_loaded(name, served.format, served.version, served.generation)

    def load_everything() -> None:
        registry.load_all()
        for name in paths:
            publish(name)

    def follow_peers(name: str) -> None:
        """Another worker reloaded ``name``: do the same here, in the background."""
        if board is None or not board.behind(name):
            return
        board.start_following(name, lambda: _reload(name, announce=False))

    def _reload(name: str, announce: bool = True) -> dict:
        try:
            served = registry.reload(name)
        except RequestError:
            metrics.reloads.labels(name, "failed").inc()
            raise
        metrics.reloads.labels(name, "ok").inc()
        publish(name)
        if board is not None:
            board.seen(name, announce=announce)
        return served.describe()

    # -- endpoints ------------------------------------------------------------------------------
    async def demo(request: Request) -> Response:
        return HTMLResponse(DEMO_PAGE.read_text(encoding="utf-8"))

    async def healthz(request: Request) -> Response:
        return _Json({"status": "alive"})

    async def readyz(request: Request) -> Response:
        status = registry.status()
        return _Json(status, status_code=200 if status["ready"] else 503)

    async def metrics_endpoint(request: Request) -> Response:
        return Response(metrics.render(), media_type=metrics.content_type)

    async def openapi(request: Request) -> Response:
        return _Json(schema)

    async def list_models(request: Request) -> Response:
        return _Json({"models": registry.list()})

    async def one_model(request: Request) -> Response:
        try:
            return _Json(registry.get(request.path_params["name"]).describe())
        except RequestError as exc:
            return _error(exc)

    async def reload(request: Request) -> Response:
        name = request.path_params["name"]
        try:
            described = await anyio.to_thread.run_sync(_reload, name)  # seconds of work
        except RequestError as exc:
            return _error(exc)
        return _Json(described)

    def model_endpoint(action: str):
        async def endpoint(request: Request) -> Response:
            t0 = time.perf_counter()
            name = request.path_params["name"]
            try:
                if board is not None:
                    follow_peers(name)
                served = registry.get(name)  # this request keeps this model to its end
                handler = handler_for(served, action)
                data = parse_json(await _read_body(request, cfg.max_body_bytes))
                t1 = time.perf_counter()
                if cfg.offload:
                    result = await anyio.to_thread.run_sync(handler, served, data, cfg,
                                                            limiter=limiter)
                else:
                    result = handler(served, data, cfg)
                spent = time.perf_counter() - t1
                response: Response = _Json(result)
                # the model's share of the request (the handler: field checks and the call)
                response.headers["server-timing"] = f"model;dur={spent * 1e3:.3f}"
            except RequestError as exc:
                response = _error(exc)
            except XmrError as exc:  # the library refused the data: the client's mistake
                response = _error(RequestError(422, None, str(exc).splitlines()[0][:500]))
            except Exception:  # a bug: say so without details, log them
                logger.exception("%s %s failed", request.method, request.url.path)
                response = _Json({"error": {"status": 500, "field": None,
                                            "message": "internal error (logged)"}},
                                 status_code=500)
            metrics.observe(action, name if name in known_models else "-",
                            response.status_code, time.perf_counter() - t0)
            return response

        return endpoint

    routes = [  # model endpoints first: Starlette tries the routes in order
        *(Route(f"/v1/models/{{name}}/{action}", model_endpoint(action), methods=["POST"])
          for action in ("complete", "search", "predict", "complete/batch", "search/batch",
                         "predict/batch")),
        Route("/", demo, methods=["GET"]),
        Route("/healthz", healthz, methods=["GET"]),
        Route("/readyz", readyz, methods=["GET"]),
        Route("/metrics", metrics_endpoint, methods=["GET"]),
        Route("/openapi.json", openapi, methods=["GET"]),
        Route("/v1/models", list_models, methods=["GET"]),
        Route("/v1/models/{name}", one_model, methods=["GET"]),
        Route("/v1/models/{name}/reload", reload, methods=["POST"]),
    ]

    @asynccontextmanager
    async def lifespan(app: Starlette):
        if background_load:
            threading.Thread(target=load_everything, name="xmr-load", daemon=True).start()
        else:
            await anyio.to_thread.run_sync(load_everything)
        _on_sighup(lambda: threading.Thread(target=_reload_all, daemon=True).start())
        yield

    def _reload_all() -> None:
        for name in paths:
            try:
                _reload(name)
            except RequestError:
                pass  # logged; the old model keeps serving

    async def not_found(request: Request, exc) -> Response:
        return _error(RequestError(404, None, f"no endpoint {request.method} "
                                              f"{request.url.path}; see /openapi.json"))

    async def not_allowed(request: Request, exc) -> Response:
        status = getattr(exc, "status_code", 405)
        return _error(RequestError(status, None, f"{request.method} {request.url.path}: "
                                                 f"{getattr(exc, 'detail', 'not allowed')}"))

    app = Starlette(routes=routes, lifespan=lifespan,
                    exception_handlers={404: not_found, 405: not_allowed})
    app.state.registry = registry
    app.state.metrics = metrics
    app.state.config = cfg
    return app


def _on_sighup(callback) -> None:
    """Reload every model on SIGHUP (Unix, main thread of the process only)."""
    if not hasattr(signal, "SIGHUP") or threading.current_thread() is not threading.main_thread():
        return
    try:
        import asyncio

        asyncio.get_running_loop().add_signal_handler(signal.SIGHUP, callback)
    except (NotImplementedError, RuntimeError):  # not an asyncio loop that can do it
        logger.info("SIGHUP reload unavailable in this event loop")


def app_from_environment() -> Starlette:
    """The app of one uvicorn worker process, described by ``XMR_SERVE_SPEC`` (JSON written by
    ``xmr serve``)."""
    spec = json.loads(os.environ["XMR_SERVE_SPEC"])
    return create_app({k: Path(v) for k, v in spec["models"].items()},
                      ServeConfig.from_dict(spec["config"]), state_dir=spec.get("state_dir"))
