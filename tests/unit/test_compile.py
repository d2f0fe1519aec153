"""Ahead-of-time compilation: which kernel groups are cached, and which groups exist."""

from __future__ import annotations

import pytest


def test_cold_parts_tell_the_bfloat16_kernels_from_the_float32_ones(monkeypatch):
    from xmr import compile as xc

    kernel, wanted = xc._sentinel("bfloat16")
    sig = kernel._cache._cache_file._load_index  # the real index, then one without uint16
    xc._EXERCISES["bfloat16"]()  # compiled and cached here if they were not
    assert xc.cold_parts(["bfloat16"]) == []
    float32_only = {k: v for k, v in sig().items() if not wanted(k[0])}
    monkeypatch.setattr(type(kernel._cache._cache_file), "_load_index",
                        lambda self: float32_only)
    assert xc.cold_parts(["bfloat16"]) == ["bfloat16"]
    assert "bfloat16" not in xc.COMMON_PARTS


def test_compile_kernels_refuses_unknown_groups():
    from xmr.compile import compile_kernels

    with pytest.raises(ValueError, match="unknown kernel groups"):
        compile_kernels(["search", "nope"])
