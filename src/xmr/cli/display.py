"""Progress bars on the terminal for the ``train`` verbs, drawn from :mod:`xmr.progress` reports.

A bar per stage (a tree level, the QAC ranker's candidates, distributed jobs) shows jobs done /
total, elapsed time and the time left; when the stage ends the bar is cleared and its one-line
summary is logged as before. Bars are drawn only when standard error is a terminal, ``-q`` is
not given and tqdm is installed (``pip install xmr[progress]``); otherwise the verbs print the
per-stage lines only, as a log file wants.
"""

from __future__ import annotations

import contextlib
import logging
import sys
import threading
from collections.abc import Iterator
from typing import IO, Any

from ..progress import Progress, ProgressCallback, time_left

logger = logging.getLogger(__name__)

_BAR_FORMAT = "{desc}: {percentage:3.0f}%|{bar}| {n_fmt}/{total_fmt} {unit} [{elapsed}{postfix}]"


class TerminalBars:
    """A ``progress=`` callback that draws one tqdm bar per running stage on ``stream``.

    Reports may come from several worker threads at once (a level's jobs finish in the thread
    that ran them), so drawing is serialized by a lock.
    """

    def __init__(self, tqdm_class: Any, stream: IO[str]) -> None:
        self._tqdm = tqdm_class
        self._stream = stream
        self._bar: Any = None
        self._stage: str | None = None
        self._lock = threading.Lock()

    def __call__(self, event: str) -> None:
        if not isinstance(event, Progress):
            return
        with self._lock:
            if event.final:
                self._close()
                return
            if self._bar is None or event.stage != self._stage:
                self._close()
                self._bar = self._tqdm(total=int(event.total), desc=event.stage,
                                       unit=event.unit or "jobs", leave=False,
                                       file=self._stream, bar_format=_BAR_FORMAT,
                                       dynamic_ncols=True)
                self._stage = event.stage
            self._bar.n = int(event.done)
            self._bar.set_postfix_str(time_left(event.eta), refresh=False)
            self._bar.refresh()

    def close(self) -> None:
        """Clear the bar still drawn (a stage interrupted by an error)."""
        with self._lock:
            self._close()

    def _close(self) -> None:
        if self._bar is not None:
            self._bar.close()
        self._bar, self._stage = None, None


@contextlib.contextmanager
def training_progress(quiet: bool, stream: IO[str] | None = None
                      ) -> Iterator[ProgressCallback | None]:
    """The ``progress=`` callback for a train verb: terminal bars, or None (lines only).

    While the bars are in use, the ``xmr`` logger's lines are written through tqdm, so a line
    never lands in the middle of a bar.
    """
    stream = stream if stream is not None else sys.stderr
    if quiet or not _is_terminal(stream):
        yield None
        return
    try:
        from tqdm import tqdm
        from tqdm.contrib.logging import logging_redirect_tqdm
    except ImportError:
        logger.debug("tqdm is not installed: no progress bars (pip install xmr[progress])")
        yield None
        return
    bars = TerminalBars(tqdm, stream)
    with logging_redirect_tqdm(loggers=[logging.getLogger("xmr")], tqdm_class=tqdm):
        try:
            yield bars
        finally:
            bars.close()


def _is_terminal(stream: IO[str]) -> bool:
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):  # no isatty, or a closed stream
        return False
