"""The ``xmr`` command: the core verbs (``xmr.cli.core``) and one verb per application, each
registered by the application's own ``cli`` module.

Settings flags are generated from the config dataclasses (``--solver.Cp 2``), so defaults are
never copied by hand. Precedence: built-in defaults < ``--config FILE`` (JSON) < flags. Every
user error ends in one line ``xmr <verb>: error: ...`` and exit status 2.
"""

from __future__ import annotations

import argparse
import errno
import importlib
import logging
import os
import sys
import typing
from collections.abc import Sequence
from importlib.metadata import entry_points
from types import ModuleType

from .._version import __version__
from ..errors import XmrError
from . import core

#: application command modules: each defines NAME, add_parser(sub, parents) and, when it
#: trains, CONFIG
APP_COMMANDS = ("xmr.apps.text2text.cli", "xmr.apps.retrieval.cli", "xmr.apps.qac.cli",
                "xmr.serve.cli")


class _Parser(argparse.ArgumentParser):
    """Usage errors as one line ``xmr <verb>: error: ...`` (``-h`` shows the usage)."""

    def error(self, message: str) -> typing.NoReturn:
        self.exit(2, f"{self.prog}: error: {message} (see '{self.prog} -h')\n")


def _app_modules() -> list[ModuleType]:
    modules = [importlib.import_module(name) for name in APP_COMMANDS]
    for ep in entry_points(group="xmr.commands"):  # commands of other packages
        modules.append(importlib.import_module(ep.value))
    return modules


def build_parser() -> argparse.ArgumentParser:
    quiet = _Parser(add_help=False)
    quiet.add_argument("-q", "--quiet", action="store_true", default=argparse.SUPPRESS,
                       help="only print results and errors")
    parser = _Parser(
        prog="xmr", parents=[quiet],
        description="Extreme multi-label ranking: XR-Linear models (label tree + linear models "
                    "+ beam search) and the applications built on them.")
    parser.add_argument("--version", action="version", version=f"xmr {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    apps = _app_modules()
    core.add_parsers(sub, [quiet], {m.NAME: m.CONFIG for m in apps if getattr(m, "CONFIG", None)})
    for module in apps:
        module.add_parser(sub, [quiet])
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point; returns the exit status (0 ok, 2 usage or data error, 130 interrupted)."""
    parser = build_parser()
    args = parser.parse_args(argv)
    verb = " ".join(v for v in (args.command, getattr(args, "action", None)) if v)
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s %(message)s", "%H:%M:%S"))
    xmr_logger = logging.getLogger("xmr")
    xmr_logger.addHandler(handler)
    previous = xmr_logger.level
    xmr_logger.setLevel(logging.WARNING if getattr(args, "quiet", False) else logging.INFO)
    try:
        return args.func(args)
    except XmrError as exc:
        return _fail(verb, str(exc))
    except BrokenPipeError:
        # the reader went away (``xmr predict ... | head``): stop quietly, as Unix tools do
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 0
    except KeyboardInterrupt:
        print(f"xmr {verb}: interrupted", file=sys.stderr)
        return 130
    except MemoryError:
        return _fail(verb, "out of memory (try a smaller --top-k, --beam-size or batch)")
    except OSError as exc:
        if exc.errno in (errno.ENOSPC, errno.EDQUOT, errno.EACCES, errno.EROFS, errno.EIO):
            where = f"{exc.filename}: " if exc.filename else ""
            return _fail(verb, f"{where}{exc.strerror}")
        raise
    finally:
        xmr_logger.removeHandler(handler)
        xmr_logger.setLevel(previous)


def _fail(verb: str, message: str) -> int:
    print(f"xmr {verb}: error: {message}", file=sys.stderr)
    return 2


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
