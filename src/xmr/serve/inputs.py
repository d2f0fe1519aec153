"""Checks of request bodies: every field typed, bounded and named in the error it causes.

Hand-written rather than a schema library: the checks are a few lines per field, cost
microseconds (the service's overhead budget is 0.3 ms per request), and every error names the
dotted path of the field (``rows[2].values``), which is what a caller needs.
"""

from __future__ import annotations

import json
import math
from typing import Any

from .config import ServeConfig
from .errors import RequestError


def parse_json(body: bytes) -> dict:
    """The body as a JSON object (400 when it is not one)."""
    try:
        data = json.loads(body)
    except (ValueError, RecursionError) as exc:  # UnicodeDecodeError is a ValueError
        raise RequestError(400, None, f"the body is not valid JSON ({exc})") from None
    if not isinstance(data, dict):
        raise RequestError(400, None, f"the body must be a JSON object, not "
                                      f"{type(data).__name__}")
    return data


def allow_only(data: dict, fields: tuple[str, ...], where: str = "") -> None:
    """422 for any field the endpoint does not know (a typo must not be ignored silently)."""
    for key in data:
        if key not in fields:
            raise RequestError(422, f"{where}{key}", f"unknown field; expected one of "
                                                     f"{', '.join(fields)}")


def text(data: dict, key: str, cfg: ServeConfig, *, required: bool = True, where: str = ""
         ) -> str:
    """A string field of at most ``cfg.max_text_chars`` characters ('' when optional and
    absent)."""
    return text_value(data.get(key), f"{where}{key}", cfg, required=required)


def text_value(value: Any, name: str, cfg: ServeConfig, *, required: bool = True) -> str:
    """A string (an array item named ``name``) of at most ``cfg.max_text_chars`` characters."""
    if value is None:
        if required:
            raise RequestError(422, name, "required string is missing")
        return ""
    if not isinstance(value, str):
        raise RequestError(422, name, f"must be a string, not {_kind(value)}")
    if len(value) > cfg.max_text_chars:
        raise RequestError(422, name, f"has {len(value)} characters; the limit is "
                                      f"{cfg.max_text_chars}")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as exc:  # a lone surrogate escaped in the JSON ("\ud800")
        raise RequestError(422, name, f"is not valid Unicode: a lone surrogate at character "
                                      f"{exc.start}") from None
    return value


def integer(data: dict, key: str, low: int, high: int, *, where: str = "") -> int | None:
    """An optional integer field in ``[low, high]``."""
    value = data.get(key)
    if value is None:
        return None
    name = f"{where}{key}"
    if isinstance(value, bool) or not isinstance(value, int):
        raise RequestError(422, name, f"must be an integer, not {_kind(value)}")
    if not low <= value <= high:
        raise RequestError(422, name, f"must be in [{low}, {high}]; got {value}")
    return value


def array(data: dict, key: str, max_len: int, *, where: str = "") -> list:
    """A required JSON array field of at most ``max_len`` items."""
    value = data.get(key)
    name = f"{where}{key}"
    if value is None:
        raise RequestError(422, name, "required array is missing")
    if not isinstance(value, list):
        raise RequestError(422, name, f"must be an array, not {_kind(value)}")
    if len(value) > max_len:
        raise RequestError(422, name, f"has {len(value)} items; the limit is {max_len}")
    return value


def obj(value: Any, name: str) -> dict:
    if not isinstance(value, dict):
        raise RequestError(422, name, f"must be an object, not {_kind(value)}")
    return value


def sparse_row(data: dict, n_features: int, cfg: ServeConfig, where: str = ""
               ) -> tuple[list[int], list[float]]:
    """``indices`` (distinct integers in [0, n_features)) and ``values`` (finite numbers) of
    one sparse feature row, as given (the model sorts them)."""
    allow_only(data, ("indices", "values", "top_k", "beam_size") if not where
               else ("indices", "values"), where)
    indices = array(data, "indices", cfg.max_features, where=where)
    values = array(data, "values", cfg.max_features, where=where)
    if len(indices) != len(values):
        raise RequestError(422, f"{where}values", f"has {len(values)} items but indices has "
                                                  f"{len(indices)}")
    for i, v in enumerate(indices):  # a short list: at most max_features checks
        if isinstance(v, bool) or not isinstance(v, int) or not 0 <= v < n_features:
            raise RequestError(422, f"{where}indices[{i}]",
                               f"must be an integer in [0, {n_features}); got {v!r}")
    if len(set(indices)) != len(indices):
        raise RequestError(422, f"{where}indices", "holds a feature id twice")
    for i, v in enumerate(values):
        if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v) \
                or abs(v) > 3.4e38:
            raise RequestError(422, f"{where}values[{i}]",
                               f"must be a finite float32 number; got {v!r}")
    return indices, values


def _kind(value: Any) -> str:
    return {dict: "an object", list: "an array", str: "a string", bool: "a boolean",
            int: "an integer", float: "a number", type(None): "null"}.get(type(value),
                                                                        type(value).__name__)
