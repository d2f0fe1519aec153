"""Exception hierarchy: every error xmr raises on purpose is an :class:`XmrError`."""

from __future__ import annotations


class XmrError(Exception):
    """Base class of all errors raised deliberately by xmr."""


class ConfigError(XmrError, ValueError):
    """An invalid parameter: names the parameter, the allowed range and the value given."""


class DataError(XmrError, ValueError):
    """Malformed or inconsistent input data (files, matrices, shapes, label ids)."""


class NotFittedError(XmrError, RuntimeError):
    """A model was used for inference before it was trained or loaded."""


class ModelFormatError(XmrError, OSError):
    """A saved model directory is missing, corrupt or of an unknown format/version."""
