"""Timestamps as the service writes them (ISO 8601, UTC, milliseconds, ``Z``)."""

from __future__ import annotations

from datetime import datetime, timezone

from botocore.utils import parse_timestamp


def parse_time(value: str | datetime | None) -> datetime | None:
    """Parse a service timestamp into an aware UTC datetime; ``None`` stays ``None``."""
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=timezone.utc)
    text = value[:-1] + "+00:00" if value.endswith("Z") else value
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        parsed = parse_timestamp(value)
    if parsed.tzinfo is None:
        return parsed.replace(tzinfo=timezone.utc)
    return parsed.astimezone(timezone.utc)


def format_time(value: datetime) -> str:
    """Format an aware datetime the way the service expects: ``2024-01-02T03:04:05.678Z``."""
    utc = value.astimezone(timezone.utc)
    return utc.strftime("%Y-%m-%dT%H:%M:%S.") + f"{utc.microsecond // 1000:03d}Z"
