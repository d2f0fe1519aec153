"""Selection and stable sorting kernels against numpy."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from xmr._kernels.sorting import argsort_stable, kth_smallest, sort_in_place

floats = hnp.arrays(np.float64, st.integers(1, 300),
                    elements=st.floats(-1e6, 1e6, allow_nan=False).map(lambda v: round(v, 1)))


@settings(max_examples=300, deadline=None)
@given(floats, st.data())
def test_kth_smallest_matches_partition(values, data):
    k = data.draw(st.integers(0, values.shape[0] - 1))
    buf = values.copy()
    assert kth_smallest(buf, k) == np.partition(values, k)[k]
    assert sorted(buf.tolist()) == sorted(values.tolist())  # only reordered


@settings(max_examples=300, deadline=None)
@given(hnp.arrays(np.int32, st.integers(0, 400), elements=st.integers(-5, 5)))
def test_argsort_is_numpys_stable_order(keys):
    np.testing.assert_array_equal(argsort_stable(keys), np.argsort(keys, kind="stable"))


@settings(max_examples=100, deadline=None)
@given(floats)
def test_argsort_of_floats(values):
    np.testing.assert_array_equal(argsort_stable(-values), np.argsort(-values, kind="stable"))


def test_sort_in_place_of_distinct_ints():
    a = np.random.default_rng(0).permutation(1000).astype(np.int32)
    sort_in_place(a)
    np.testing.assert_array_equal(a, np.arange(1000))
