"""Serve saved models over HTTP: ``xmr serve DIR [DIR ...]`` (needs ``pip install 'xmr[serve]'``).

An ASGI application (Starlette, run by uvicorn) answering XR-Linear predictions on sparse
features, text2text predictions, product search and query completion, each alone or in
batches, with health, readiness, Prometheus metrics, hot reload and a type-ahead demo page at
``/``. ``docs/serving.md`` is the guide; :func:`create_app` builds the application in-process.
"""

from .config import ServeConfig

__all__ = ["ServeConfig", "create_app"]


def __getattr__(name: str):
    if name == "create_app":  # Starlette is an optional dependency: import it on use
        from .app import create_app

        return create_app
    raise AttributeError(name)
