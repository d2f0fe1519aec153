"""What every ``xmr`` verb shares: flags generated from configs, the common options, checked
inputs and outputs, and result printing.

The same flag means the same thing in every verb: ``-i/--input`` (data or text to read, '-' for
standard input), ``-o/--output`` (where results go, '-' for standard output), ``-m/--model``,
``--top-k`` (``-k``), ``--beam-size``, ``--threads``, ``--format json|text`` and ``-q``.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import math
import os
import sys
import typing
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import IO, Any

from ..config import Config
from ..errors import XmrError
from ..io.store import check_output_dir


class UsageError(XmrError):
    """A bad command line (bad flag values, unusable paths)."""


def announce_compilation() -> None:
    """Say so when this run will compile kernels (the first run on a machine), instead of
    sitting silent for tens of seconds.

    Verbs call it after their cheap checks of flags and paths, so a usage error is reported
    alone, before any long work is announced.
    """
    from ..compile import cold_parts

    cold = cold_parts()
    if cold:
        logging.getLogger("xmr.cli").info(
            "first run on this machine: compiling the %s kernels as they are needed (about "
            "10-40 s once, cached afterwards; 'xmr compile' does it ahead of time)",
            ", ".join(cold))


def flag(path: str) -> str:
    """``solver.Cp`` -> ``--solver.Cp``; ``max_leaf_size`` -> ``--max-leaf-size``."""
    return "--" + path.replace("_", "-")


def dest(path: str) -> str:
    return "cfg__" + path.replace(".", "__")


def add_config_flags(parser: argparse.ArgumentParser, cls: type[Config]) -> None:
    """One flag per config field (``--solver.Cp``), with its real default in the help."""
    group = parser.add_argument_group("settings (built-in default < --config file < flag)")
    for path, tp, default, help_ in cls.field_paths():
        origin = typing.get_args(tp)[0] if typing.get_origin(tp) else tp
        kind = {bool: str, int: int, float: float}.get(origin, str)
        group.add_argument(flag(path), dest=dest(path), type=kind, default=None,
                           metavar=getattr(origin, "__name__", "VALUE").upper(),
                           help=f"{help_} (default: {_show(default)})")
    parser.add_argument("--config", help="JSON file of settings, as printed by 'xmr config'")


def _show(value: Any) -> str:
    return json.dumps(value) if isinstance(value, (bool, str)) else str(value)


def config_from_args(args: argparse.Namespace, cls: type[Config]) -> Config:
    """Defaults < ``--config`` file < flags."""
    base: dict[str, Any] = {}
    if getattr(args, "config", None):
        path = Path(args.config)
        try:
            base = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise UsageError(f"{path}: no such config file") from None
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise UsageError(f"{path}: not a JSON config file ({exc})") from None
        if not isinstance(base, dict):
            raise UsageError(f"{path}: a config file holds a JSON object")
    cfg = cls.from_dict(base)
    overrides = {path: getattr(args, dest(path)) for path, *_ in cls.field_paths()
                 if getattr(args, dest(path), None) is not None}
    return cfg.replace(overrides)


# -- common options -------------------------------------------------------------------------------
def add_threads(p: argparse.ArgumentParser) -> None:
    p.add_argument("--threads", type=int, default=-1, help="threads to use (-1: all cores)")


def add_model(p: argparse.ArgumentParser, output: bool = False) -> None:
    p.add_argument("-m", "--model", required=True,
                   help="model directory to write" if output else "model directory")


def add_search_knobs(p: argparse.ArgumentParser, top_k: bool = True, beam: bool = True) -> None:
    """``--top-k`` / ``-k`` and ``--beam-size``: per call, default the model's."""
    if top_k:
        p.add_argument("-k", "--top-k", type=int, default=None,
                       help="results per query (default: the model's predict.top_k)")
    if beam:
        p.add_argument("--beam-size", type=int, default=None,
                       help="nodes kept per tree level (default: the model's "
                            "predict.beam_size)")


def add_input(p: argparse.ArgumentParser, help_: str, required: bool = False,
              default: str | None = "-") -> None:
    p.add_argument("-i", "--input", required=required, default=None if required else default,
                   help=help_)


def add_output(p: argparse.ArgumentParser, formats: Sequence[str] = ("json", "text"),
               default_format: str = "json") -> None:
    p.add_argument("-o", "--output", default="-", help="where results go ('-': standard output)")
    p.add_argument("--format", default=default_format, choices=list(formats),
                   help=f"output format (default: {default_format})")


def check_knobs(args: argparse.Namespace) -> dict[str, int]:
    """The given ``--top-k`` / ``--beam-size`` as keyword arguments, checked."""
    out = {}
    for name in ("top_k", "beam_size"):
        value = getattr(args, name, None)
        if value is None:
            continue
        if value < 1 or value > 100_000:
            raise UsageError(f"--{name.replace('_', '-')} must be in [1, 100000]; got {value}")
        out[name] = value
    return out


def parse_ks(text: str) -> list[int]:
    """``"1,3,5"`` -> [1, 3, 5] (positive, at most 100000)."""
    try:
        ks = [int(k) for k in text.split(",") if k.strip()]
    except ValueError:
        raise UsageError(f"--ks must be comma-separated integers; got {text!r}") from None
    if not ks or min(ks) < 1 or max(ks) > 100_000:
        raise UsageError(f"--ks must list integers in [1, 100000]; got {text!r}")
    return ks


def check_model_output(path: str) -> None:
    """Fail now, not after training, when a model cannot be written at ``path``."""
    try:
        check_output_dir(path)
    except XmrError as exc:
        raise UsageError(str(exc)) from None


def check_output_file(path: str) -> None:
    """Fail now, not after the work, when ``path`` cannot be written."""
    if path == "-":
        return
    p = Path(path)
    if p.is_dir():
        raise UsageError(f"{p}: is a directory, expected an output file")
    parent = p.absolute().parent
    if not parent.is_dir():
        raise UsageError(f"{parent}: no such directory for the output file")
    if (p.exists() and not os.access(p, os.W_OK)) or not os.access(parent, os.W_OK):
        raise UsageError(f"{p}: not writable")


@contextlib.contextmanager
def open_output(path: str) -> Iterator[IO[str]]:
    """The output stream (standard output for '-'); errors name the file."""
    if path == "-":
        yield sys.stdout
        sys.stdout.flush()
        return
    try:
        fh = open(path, "w", encoding="utf-8")
    except OSError as exc:
        raise UsageError(f"{path}: cannot write ({exc.strerror})") from None
    with fh:
        yield fh


def read_input_lines(path: str) -> Iterator[str]:
    """Lines of a UTF-8 file, or of standard input for '-' (each answered as it arrives)."""
    if path == "-":
        for line in sys.stdin:
            yield line.rstrip("\r\n")
        return
    from ..io.textfiles import read_utf8, split_lines

    yield from split_lines(read_utf8(path, "input file"))


def json_safe(value: Any) -> Any:
    """``value`` with NaN and infinities replaced by None (strict JSON never holds them)."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_safe(v) for v in value]
    return value


def dump_json(value: Any, indent: int | None = None) -> str:
    return json.dumps(json_safe(value), indent=indent, ensure_ascii=False, allow_nan=False)


def print_result(result: dict[str, Any], fmt: str, out: IO[str] | None = None) -> None:
    """A result object (metrics, settings): indented JSON, or ``key: value`` lines."""
    out = out or sys.stdout
    if fmt == "json":
        out.write(dump_json(result, indent=1) + "\n")
        return
    for key, value in _flatten(result):
        out.write(f"{key}: {value}\n")


def _flatten(value: Any, prefix: str = "") -> Iterator[tuple[str, Any]]:
    if isinstance(value, dict):
        for k, v in value.items():
            yield from _flatten(v, f"{prefix}.{k}" if prefix else str(k))
    else:
        yield prefix, (f"{value:.6g}" if isinstance(value, float) else value)
