"""Limits and behaviour of the HTTP service."""

from __future__ import annotations

from dataclasses import dataclass

from ..config import Config, check_range, field


@dataclass(frozen=True, kw_only=True)
class ServeConfig(Config):
    """What one request may ask for, and how requests run."""

    max_body_bytes: int = field(1 << 20, "largest request body accepted (413 above)")
    max_text_chars: int = field(1000, "longest query, prefix or text accepted (422 above)")
    max_top_k: int = field(1000, "largest top_k accepted")
    max_beam_size: int = field(1000, "largest beam_size accepted")
    max_batch: int = field(256, "most inputs in one batch request")
    max_features: int = field(100_000, "most nonzeros in one sparse feature row")
    offload: bool = field(False, "run model calls in a thread pool (True) instead of on the "
                                 "event loop; see docs/serving.md for the measurement")
    batch_threads: int = field(1, "threads of one batch call (1: no thread pool inside a call)")

    def validate(self) -> None:
        name = type(self).__name__
        check_range(name, "max_body_bytes", self.max_body_bytes, 1024)
        for knob in ("max_text_chars", "max_top_k", "max_beam_size", "max_batch",
                     "max_features", "batch_threads"):
            check_range(name, knob, getattr(self, knob), 1)
