"""Timestamps as the service writes them (ISO 8601, UTC, milliseconds, ``Z``)."""

from __future__ import annotations

import sys
from datetime import datetime, timezone

from botocore.utils import parse_timestamp

if sys.version_info >= (3, 11):
    read_iso_time = datetime.fromisoformat
    """:meth:`datetime.fromisoformat`, which reads the service's ``...Z`` since Python 3.11."""
else:  # pragma: no cover - Python 3.9 and 3.10

    def read_iso_time(value: str) -> datetime:
        """:meth:`datetime.fromisoformat`, given the service's ``...Z`` as ``+00:00``."""
        return datetime.fromisoformat(value[:-1] + "+00:00" if value.endswith("Z") else value)


def parse_time(value: object) -> datetime | None:
    """Parse a service timestamp into an aware UTC datetime.

    ``None``, an empty value, or a value that is not a timestamp at all gives ``None``: a
    newer or misbehaving service must not make reading a transcript fail (the original
    stays in the item's ``raw``).
    """
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=timezone.utc)
    if not isinstance(value, str) or not value:
        return None
    try:
        parsed = read_iso_time(value)
    except ValueError:
        try:
            parsed = parse_timestamp(value)
        except (ValueError, OverflowError):
            return None
    if parsed.tzinfo is timezone.utc:
        return parsed
    if parsed.tzinfo is None:
        return parsed.replace(tzinfo=timezone.utc)
    return parsed.astimezone(timezone.utc)


def format_time(value: datetime) -> str:
    """Format an aware datetime the way the service expects: ``2024-01-02T03:04:05.678Z``."""
    utc = value.astimezone(timezone.utc)
    # Not strftime: its %Y does not pad years before 1000 on every platform ("999-01-01").
    return (
        f"{utc.year:04d}-{utc.month:02d}-{utc.day:02d}T{utc.hour:02d}:{utc.minute:02d}:{utc.second:02d}."
        f"{utc.microsecond // 1000:03d}Z"
    )
