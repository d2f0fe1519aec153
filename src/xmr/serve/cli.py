"""``xmr serve DIR [DIR ...]``: answer requests to saved models over HTTP."""

from __future__ import annotations

import argparse
import json
import logging
import os
import shutil
import tempfile

from ..cli import common as c
from .config import ServeConfig

logger = logging.getLogger(__name__)

NAME = "serve"


def add_parser(sub: argparse._SubParsersAction, parents: list[argparse.ArgumentParser]) -> None:
    """Register ``xmr serve``."""
    p = sub.add_parser(
        NAME, parents=parents, help="serve saved models over HTTP (pip install 'xmr[serve]')",
        description="Serve saved models (xlinear, text2text, retrieval, qac) over HTTP: "
                    "/v1/models/NAME/{predict,search,complete}[/batch], /healthz, /readyz, "
                    "/metrics, /openapi.json, a type-ahead demo at /. docs/serving.md has the "
                    "guide.")
    p.add_argument("models", nargs="+", metavar="DIR",
                   help="saved model directories; NAME=DIR names one (default: its directory's "
                        "name)")
    p.add_argument("--host", default="127.0.0.1", help="address to listen on")
    p.add_argument("--port", type=int, default=8000, help="port to listen on")
    p.add_argument("--workers", type=int, default=1,
                   help="server processes sharing the port (each maps the models; see "
                        "docs/serving.md for how many)")
    c.add_config_flags(p, ServeConfig)
    p.set_defaults(func=cmd_serve)


def cmd_serve(args: argparse.Namespace) -> int:
    try:
        import prometheus_client  # noqa: F401
        import starlette  # noqa: F401
        import uvicorn  # noqa: F401
    except ImportError as exc:
        raise c.UsageError(f"xmr serve needs {exc.name}: pip install 'xmr[serve]'") from None
    import uvicorn

    from ..io import store
    from .registry import model_names

    cfg = c.config_from_args(args, ServeConfig)
    if not 1 <= args.workers <= 64:
        raise c.UsageError(f"--workers must be in [1, 64]; got {args.workers}")
    if not 0 <= args.port <= 65535:
        raise c.UsageError(f"--port must be in [0, 65535]; got {args.port}")
    paths = model_names(args.models)
    for path in paths.values():
        store.resolve(path)  # a missing or foreign directory fails now, in one line
    logger.info("serving %s on http://%s:%d (%d worker%s)", ", ".join(paths), args.host,
                args.port, args.workers, "s" if args.workers > 1 else "")
    options = {"host": args.host, "port": args.port, "access_log": False,
               "log_level": "warning" if getattr(args, "quiet", False) else "info"}
    if args.workers == 1:
        from .app import create_app

        uvicorn.run(create_app(paths, cfg), **options)
        return 0
    state_dir = tempfile.mkdtemp(prefix="xmr-serve-")
    os.environ["XMR_SERVE_SPEC"] = json.dumps({
        "models": {k: str(v) for k, v in paths.items()}, "config": cfg.to_dict(),
        "state_dir": state_dir})
    try:
        uvicorn.run("xmr.serve.app:app_from_environment", factory=True, workers=args.workers,
                    **options)
    finally:
        shutil.rmtree(state_dir, ignore_errors=True)
    return 0
