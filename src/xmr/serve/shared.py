"""How the worker processes of one server agree on reloads: a counter file per model.

A worker that reloads a model increments the model's counter; every worker compares the counter
with the last one it acted on (at most every 0.2 s, one ``read`` per model) and, when behind,
reloads in a background thread while it keeps answering with the model it has.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable
from pathlib import Path

from .errors import RequestError

CHECK_EVERY = 0.2  # seconds between two looks at one model's counter


class ReloadBoard:
    """Reload counters in ``directory`` (shared by the workers of one server)."""

    def __init__(self, directory: str | os.PathLike) -> None:
        self.dir = Path(directory)
        self.dir.mkdir(parents=True, exist_ok=True)
        self._seen: dict[str, int] = {}
        self._checked: dict[str, float] = {}
        self._following: set[str] = set()
        self._lock = threading.Lock()

    def _read(self, name: str) -> int:
        try:
            return int((self.dir / name).read_text() or 0)
        except (OSError, ValueError):
            return 0

    def behind(self, name: str) -> bool:
        """True when another worker reloaded ``name`` since this one last did."""
        now = time.monotonic()
        if now - self._checked.get(name, 0.0) < CHECK_EVERY:
            return False
        self._checked[name] = now
        current = self._read(name)
        if name not in self._seen:  # a worker starts level with the others
            self._seen[name] = current
            return False
        return current > self._seen[name]

    def seen(self, name: str, announce: bool) -> None:
        """This worker now serves the latest load of ``name``; ``announce``: it made that load,
        so the others must follow."""
        with self._lock:
            current = self._read(name)
            if announce:
                current += 1
                tmp = self.dir / f".{name}.{os.getpid()}"
                tmp.write_text(str(current))
                os.replace(tmp, self.dir / name)
            self._seen[name] = current

    def start_following(self, name: str, reload: Callable[[], object]) -> None:
        """Run ``reload`` in a background thread unless one already runs for ``name``."""
        with self._lock:
            if name in self._following:
                return
            self._following.add(name)

        def run() -> None:
            try:
                reload()
            except RequestError:  # logged by the registry; do not retry the same load
                self.seen(name, announce=False)
            finally:
                with self._lock:
                    self._following.discard(name)

        threading.Thread(target=run, name=f"xmr-follow-{name}", daemon=True).start()
