"""Base for frozen, keyword-only config dataclasses.

Each component owns one config class holding its defaults and checks. Configs nest (a field whose
type is itself a :class:`Config`), convert to and from plain dicts (unknown keys raise), and accept
dotted overrides such as ``{"solver.Cp": 2.0}``; the CLI derives its flags from the same fields, so
defaults are written in exactly one place.
"""

from __future__ import annotations

import dataclasses
import typing
from collections.abc import Iterable, Mapping
from typing import Any, Self

from .errors import ConfigError


class Config:
    """Mixin for ``@dataclasses.dataclass(frozen=True, kw_only=True)`` config classes.

    Subclasses implement :meth:`validate` (called after construction) to check ranges.
    """

    def __post_init__(self) -> None:
        self.validate()

    def validate(self) -> None:  # pragma: no cover - overridden where there is something to check
        """Raise :class:`ConfigError` when a field is out of range."""

    # -- conversion -----------------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        """Plain nested dict of every field (JSON-serializable)."""
        out: dict[str, Any] = {}
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            if isinstance(value, Config):
                value = value.to_dict()
            elif isinstance(value, tuple) and value and isinstance(value[0], Config):
                value = [v.to_dict() for v in value]
            out[f.name] = value
        return out

    @classmethod
    def from_dict(cls, data: Mapping[str, Any] | None = None) -> Self:
        """Build from a (possibly partial) nested dict; unknown keys raise :class:`ConfigError`."""
        data = dict(data or {})
        hints = typing.get_type_hints(cls)
        known = {f.name: f for f in dataclasses.fields(cls)}
        unknown = sorted(set(data) - set(known))
        if unknown:
            raise ConfigError(
                f"{cls.__name__}: unknown key(s) {unknown}; known keys are {sorted(known)}"
            )
        kwargs: dict[str, Any] = {}
        for name, value in data.items():
            sub = _config_type(hints[name])
            seq = _config_seq_type(hints[name])
            if seq is not None:
                if isinstance(value, (str, bytes, Mapping)) or not isinstance(value, Iterable):
                    raise ConfigError(f"{cls.__name__}.{name}: expected a list of "
                                      f"{seq.__name__} mappings, got {type(value).__name__}")
                kwargs[name] = tuple(v if isinstance(v, seq) else seq.from_dict(v) for v in value)
            elif sub is not None:
                if isinstance(value, sub):
                    kwargs[name] = value
                elif isinstance(value, Mapping):
                    kwargs[name] = sub.from_dict(value)
                else:
                    raise ConfigError(
                        f"{cls.__name__}.{name}: expected a mapping, got {type(value).__name__}"
                    )
            else:
                kwargs[name] = _coerce(cls.__name__, name, hints[name], value)
        return cls(**kwargs)

    def replace(self, overrides: Mapping[str, Any] | None = None, **kwargs: Any) -> Self:
        """Copy with dotted overrides, e.g. ``cfg.replace({"solver.Cp": 2.0})``."""
        merged = self.to_dict()
        for key, value in {**dict(overrides or {}), **kwargs}.items():
            _set_dotted(merged, key.split("."), value, type(self).__name__)
        return type(self).from_dict(merged)

    @classmethod
    def field_paths(cls) -> Iterable[tuple[str, Any, Any, str]]:
        """Yield ``(dotted_name, type, default, help)`` for every leaf field (for the CLI).

        Defaults are those of ``cls()``, so a nested config whose default differs from its own
        class's default (e.g. an application's indexer) shows the value it really has.
        """
        yield from _leaf_fields(cls, cls())


def _leaf_fields(cls: type[Config], instance: Config) -> Iterable[tuple[str, Any, Any, str]]:
    hints = typing.get_type_hints(cls)
    for f in dataclasses.fields(cls):
        if _config_seq_type(hints[f.name]) is not None:
            continue  # a list of sub-configs has no flag form; set it with --config
        value = getattr(instance, f.name)
        sub = _config_type(hints[f.name])
        if sub is not None:
            for path, tp, default, help_ in _leaf_fields(sub, value):
                yield f"{f.name}.{path}", tp, default, help_
        else:
            yield f.name, hints[f.name], value, f.metadata.get("help", "")


def field(default: Any, help: str = "") -> Any:  # noqa: A002 - mirrors dataclasses.field
    """A dataclass field with a default and a help string (shown by the CLI)."""
    if isinstance(default, Config):
        return dataclasses.field(default_factory=lambda: default, metadata={"help": help})
    return dataclasses.field(default=default, metadata={"help": help})


def check_range(owner: str, name: str, value: float, low: float | None = None,
                high: float | None = None, low_open: bool = False) -> None:
    """Raise a :class:`ConfigError` naming the parameter, range and value when out of range."""
    ok = True
    if low is not None:
        ok = value > low if low_open else value >= low
    if high is not None:
        ok = ok and value <= high
    if not ok:
        lo = "-inf" if low is None else f"{low}"
        hi = "inf" if high is None else f"{high}"
        bracket = "(" if low_open else "["
        raise ConfigError(f"{owner}.{name} must be in {bracket}{lo}, {hi}]; got {value!r}")


def check_choice(owner: str, name: str, value: Any, choices: Iterable[Any]) -> None:
    """Raise a :class:`ConfigError` when ``value`` is not one of ``choices``."""
    choices = tuple(choices)
    if value not in choices:
        raise ConfigError(f"{owner}.{name} must be one of {list(choices)}; got {value!r}")


def _config_type(tp: Any) -> type[Config] | None:
    return tp if isinstance(tp, type) and issubclass(tp, Config) else None


def _config_seq_type(tp: Any) -> type[Config] | None:
    """The element type of a ``tuple[SomeConfig, ...]`` field, else None."""
    if typing.get_origin(tp) is tuple:
        args = typing.get_args(tp)
        if len(args) == 2 and args[1] is Ellipsis:
            return _config_type(args[0])
    return None


def _coerce(owner: str, name: str, tp: Any, value: Any) -> Any:
    """Coerce JSON/CLI scalars to the declared field type, with a clear error."""
    origin = typing.get_origin(tp)
    args = typing.get_args(tp)
    if origin in (typing.Union, getattr(__import__("types"), "UnionType", None)):
        if value is None and type(None) in args:
            return None
        inner = [a for a in args if a is not type(None)]
        return _coerce(owner, name, inner[0], value) if len(inner) == 1 else value
    try:
        if tp is bool:
            if isinstance(value, str):
                low = value.strip().lower()
                if low in ("1", "true", "yes", "on"):
                    return True
                if low in ("0", "false", "no", "off"):
                    return False
                raise ValueError(value)
            if not isinstance(value, (bool, int)):
                raise TypeError(type(value).__name__)
            return bool(value)
        if tp is int:
            if isinstance(value, float) and not value.is_integer():
                raise ValueError(value)
            if isinstance(value, bool):
                raise TypeError("bool")
            return int(value)
        if tp is float:
            if isinstance(value, bool):
                raise TypeError("bool")
            return float(value)
        if tp is str:
            if not isinstance(value, str):
                raise TypeError(type(value).__name__)
            return value
    except (TypeError, ValueError) as exc:
        raise ConfigError(
            f"{owner}.{name}: expected {getattr(tp, '__name__', tp)}, got {value!r}"
        ) from exc
    return value


def _set_dotted(target: dict[str, Any], parts: list[str], value: Any, owner: str) -> None:
    node = target
    for i, part in enumerate(parts[:-1]):
        if part not in node or not isinstance(node[part], dict):
            raise ConfigError(f"{owner}: unknown config section {'.'.join(parts[: i + 1])!r}")
        node = node[part]
    if parts[-1] not in node:
        raise ConfigError(f"{owner}: unknown config key {'.'.join(parts)!r}")
    node[parts[-1]] = value
