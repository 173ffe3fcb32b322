"""The argument checks every public call makes before any network call (connectparticipant_ext._validation)."""

from __future__ import annotations

import threading
from datetime import datetime, timedelta, timezone, tzinfo

import pytest

from connectparticipant_ext import InvalidArgumentError, InvalidArgumentTypeError
from connectparticipant_ext._validation import require_aware_datetime, require_seconds


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


class _NoOffset(tzinfo):
    """A tzinfo that does not know its offset: Python counts such a datetime as naive."""

    def utcoffset(self, dt):
        return None


def test_a_datetime_whose_tzinfo_has_no_offset_is_naive():
    value = datetime(2024, 1, 1, tzinfo=_NoOffset())
    with pytest.raises(InvalidArgumentError) as info:
        require_aware_datetime("start_time", value)
    assert str(info.value) == (
        "start_time must be timezone-aware (e.g. datetime.now(timezone.utc)); got a naive datetime"
    )


def test_aware_datetimes_come_back_in_utc_whatever_the_local_time_zone(new_york_time):
    tokyo = timezone(timedelta(hours=9))
    for value in (datetime(2024, 1, 1, 9, tzinfo=tokyo), datetime(2024, 1, 1, tzinfo=timezone.utc)):
        utc = require_aware_datetime("start_time", value)
        assert utc.tzinfo is timezone.utc
        assert (utc.year, utc.month, utc.day, utc.hour) == (2024, 1, 1, 0)
        assert utc == value
