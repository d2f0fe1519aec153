"""bfloat16 weight store: encoding against a reference, the kernels' reads, models that keep
their answers, and saved models that say what they hold."""

from __future__ import annotations

import json
import struct

import numba
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import xmr
from xmr import XLinearConfig, XLinearModel
from xmr._kernels.weights import bfloat16_to_float32, float32_to_bfloat16, weight_at
from xmr.errors import ModelFormatError
from xmr.metrics import precision_at_k
from xmr.synthetic import make_problem

BF16 = {"solver.weight_store": "bfloat16"}


def _reference_bfloat16(x: float) -> int:
    """Round-to-nearest-even of a float32 to its upper 16 bits, one value at a time."""
    bits = struct.unpack("<I", struct.pack("<f", x))[0]
    upper, lower = bits >> 16, bits & 0xFFFF
    if lower > 0x8000 or (lower == 0x8000 and upper & 1):
        upper += 1
    return upper


finite32 = st.floats(allow_nan=False, allow_infinity=False, width=32,
                     min_value=-2.0 ** 100, max_value=2.0 ** 100)


@settings(max_examples=300, deadline=None)
@given(st.lists(finite32, min_size=1, max_size=50))
def test_encoding_matches_the_reference_and_decodes_within_half_a_unit(values):
    x = np.array(values, dtype=np.float32)
    bits = float32_to_bfloat16(x)
    assert bits.tolist() == [_reference_bfloat16(float(v)) for v in x]
    back = bfloat16_to_float32(bits)
    # half a unit in the last place: relative for normal numbers, 2^-134 among subnormals
    assert np.all(np.abs(back - x) <= np.maximum(np.abs(x) * 2.0 ** -8, 2.0 ** -134))


def test_ties_round_to_even_and_exact_values_stay():
    halfway_up = np.array([0x3F818000], dtype=np.uint32).view(np.float32)  # odd upper half
    halfway_down = np.array([0x3F808000], dtype=np.uint32).view(np.float32)  # even upper half
    assert float32_to_bfloat16(halfway_up).tolist() == [0x3F82]
    assert float32_to_bfloat16(halfway_down).tolist() == [0x3F80]
    exact = np.array([0.0, -0.0, 1.0, -2.5, 0.15625], dtype=np.float32)
    assert np.array_equal(bfloat16_to_float32(float32_to_bfloat16(exact)), exact)


@numba.njit
def _read_all(values):
    out = np.empty(values.shape[0], dtype=np.float32)
    for e in range(values.shape[0]):
        out[e] = weight_at(values, e)
    return out


def test_kernels_read_either_store_as_float32():
    x = np.random.default_rng(0).normal(size=40).astype(np.float32)
    bits = float32_to_bfloat16(x)
    assert np.array_equal(_read_all(x), x)
    assert np.array_equal(_read_all(bits), bfloat16_to_float32(bits))
    assert weight_at(bits, 3) == float(bfloat16_to_float32(bits)[3])


@pytest.fixture(scope="module")
def pair():
    p = make_problem(500, n_train=2000, n_test=400, seed=5)
    cfg = XLinearConfig().replace({"indexer.branching_factor": 4, "indexer.max_leaf_size": 20})
    full = XLinearModel(cfg).fit(p.X_train, p.Y_train, threads=1)
    half = XLinearModel(cfg.replace(BF16)).fit(p.X_train, p.Y_train, threads=1)
    return p, full, half


def test_a_bfloat16_model_holds_half_the_weight_bytes_and_keeps_its_answers(pair):
    p, full, half = pair
    assert half.layout_.weight_store == "bfloat16" and full.layout_.weight_store == "float32"
    assert half.layout_.entry_val.nbytes * 2 == full.layout_.entry_val.nbytes
    # the same float32 weights, rounded: same structure, values within half a bfloat16 unit
    assert np.array_equal(half.layout_.entry_child, full.layout_.entry_child)
    assert np.array_equal(half.layout_.with_weight_store("float32").entry_val,
                          bfloat16_to_float32(float32_to_bfloat16(full.layout_.entry_val)))
    a, b = full.predict(p.X_test), half.predict(p.X_test)
    assert (a.indices[:, 0] == b.indices[:, 0]).mean() >= 0.98
    pa, pb = precision_at_k(a, p.Y_test, (1,)), precision_at_k(b, p.Y_test, (1,))
    assert abs(pa[1] - pb[1]) <= 0.01
    W32, b32 = full.layout_.level_weights(2)
    W16, b16 = half.layout_.level_weights(2)
    assert W16.dtype == np.float32 and np.array_equal(b32, b16)
    assert abs(W16 - W32).max() <= abs(W32).max() * 2.0 ** -8


def test_single_query_equals_batch_on_bfloat16_weights(pair):
    p, _, half = pair
    X = p.X_test.tocsr()
    batch = half.predict(X[:20], top_k=5)
    for i in range(20):
        one = half.predict_one((X.indices[X.indptr[i]:X.indptr[i + 1]],
                                X.data[X.indptr[i]:X.indptr[i + 1]]), top_k=5)
        assert np.array_equal(one.indices, batch.indices[i])
        assert np.allclose(one.scores, batch.scores[i], rtol=1e-6)


def test_saved_bfloat16_model_loads_with_its_store_and_answers_the_same(pair, tmp_path):
    p, _, half = pair
    half.save(tmp_path / "m")
    loaded = xmr.load(tmp_path / "m", verify=True)
    assert loaded.layout_.entry_val.dtype == np.uint16
    assert xmr.describe(tmp_path / "m")["version"] == 3
    assert np.array_equal(loaded.predict(p.X_test).indices, half.predict(p.X_test).indices)


def test_weights_of_another_dtype_or_bfloat16_in_format_2_are_format_errors(pair, tmp_path):
    _, full, half = pair
    for name, model, dtype, version in (("float64", full, np.float64, 3),
                                        ("uint16-v2", half, None, 2)):
        model.save(tmp_path / name)
        directory = xmr.io.store.resolve(tmp_path / name)
        manifest = json.loads((directory / "manifest.json").read_text())
        if dtype is not None:
            values = np.load(directory / "entry_val.npy").astype(dtype)
            np.save(directory / "entry_val.npy", values)
            manifest["arrays"]["entry_val"]["dtype"] = values.dtype.str
        manifest["version"] = version  # (plain loads do not verify the manifest's checksum)
        (directory / "manifest.json").write_text(json.dumps(manifest))
        with pytest.raises(ModelFormatError, match="entry_val"):
            xmr.load(tmp_path / name)
