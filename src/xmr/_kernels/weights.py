"""Reading a stored weight as float32, whether the layout holds float32 or bfloat16 weights.

A bfloat16 weight is the upper 16 bits of a float32 (sign, the same 8-bit exponent, 7 mantissa
bits), kept as uint16: half the bytes of float32 at about 3 significant digits. Decoding is a
shift and a bit cast, so the beam search reads either store at the same speed; numba compiles
one specialization per store. IEEE float16 would keep 3 more mantissa bits, but its 5-bit
exponent needs re-biasing on every read and overflows above 65,504; numba has no float16 on
the CPU either way.

``weight_at(values, e)`` is the only way kernels read ``entry_val``.
"""

from __future__ import annotations

import numpy as np
from numba import types
from numba.core import cgutils
from numba.extending import intrinsic, overload


@intrinsic
def _float32_from_bits(typingctx, bits):
    """The float32 whose bit pattern is the low 32 bits of the integer ``bits``."""
    if not isinstance(bits, types.Integer):
        return None

    def codegen(context, builder, signature, args):
        value = args[0]
        i32 = cgutils.ir.IntType(32)
        if value.type.width > 32:
            value = builder.trunc(value, i32)
        elif value.type.width < 32:
            value = builder.zext(value, i32)
        return builder.bitcast(value, context.get_value_type(types.float32))

    return types.float32(bits), codegen


def weight_at(values: np.ndarray, e: int) -> float:
    """``values[e]`` as a float (float32 weights, or bfloat16 bits in uint16), in Python."""
    if values.dtype == np.uint16:
        return float(bfloat16_to_float32(values[e:e + 1])[0])
    return float(values[e])


@overload(weight_at, inline="always")
def _weight_at(values, e):
    if isinstance(values, types.Array) and values.dtype == types.uint16:
        def read_bfloat16(values, e):
            return _float32_from_bits(np.uint32(values[e]) << np.uint32(16))
        return read_bfloat16
    if isinstance(values, types.Array) and values.dtype == types.float32:
        def read_float32(values, e):
            return values[e]
        return read_float32
    return None


def float32_to_bfloat16(values: np.ndarray) -> np.ndarray:
    """uint16 bfloat16 bits of float32 ``values``, rounded to nearest, ties to even
    (finite inputs; the largest finite values may round to infinity)."""
    bits = np.ascontiguousarray(values, dtype=np.float32).view(np.uint32)
    rounding = ((bits >> np.uint32(16)) & np.uint32(1)) + np.uint32(0x7FFF)
    return ((bits + rounding) >> np.uint32(16)).astype(np.uint16)


def bfloat16_to_float32(bits: np.ndarray) -> np.ndarray:
    """float32 values of uint16 bfloat16 ``bits`` (exact)."""
    return (np.asarray(bits, dtype=np.uint16).astype(np.uint32) << np.uint32(16)).view(np.float32)
