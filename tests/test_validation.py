"""The argument checks every public call makes before any network call (connectparticipant_ext._validation)."""

from __future__ import annotations

import threading

import pytest

from connectparticipant_ext import InvalidArgumentError, InvalidArgumentTypeError
from connectparticipant_ext._validation import require_seconds


@pytest.mark.parametrize(
    "bad", [float("nan"), float("inf"), float("-inf"), -1, -0.5, threading.TIMEOUT_MAX * 2, 10**400]
)
def test_require_seconds_refuses_what_no_wait_can_take(bad):
    with pytest.raises(InvalidArgumentError, match="delay"):
        require_seconds("delay", bad)


def test_require_seconds_takes_up_to_the_longest_wait():
    assert require_seconds("timeout", threading.TIMEOUT_MAX) == threading.TIMEOUT_MAX
    assert require_seconds("timeout", 2) == 2.0 and isinstance(require_seconds("timeout", 2), float)
    assert require_seconds("timeout", 0, allow_zero=True) == 0.0
    with pytest.raises(InvalidArgumentError):
        require_seconds("timeout", 0)
    for bad_type in (True, "5", None):
        with pytest.raises(InvalidArgumentTypeError):
            require_seconds("timeout", bad_type)
