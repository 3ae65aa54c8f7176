"""The second half of test_cases_fair.py's thousand keys (its own module, so that pytest-xdist
runs the halves on two cores)."""

import pytest

from tests.test_cases_fair import CHUNKS, KEYS, check_keys


@pytest.mark.parametrize("chunk", range(CHUNKS // 2, CHUNKS))
def test_every_promise_holds_for_a_thousand_keys(chunk):
    size = KEYS // CHUNKS
    check_keys(chunk * size, (chunk + 1) * size)
