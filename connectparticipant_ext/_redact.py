"""Keeping secrets out of text: tokens and presigned URLs never reach a repr, log or error."""

from __future__ import annotations

from urllib.parse import urlsplit, urlunsplit

REDACTED = "***"


def redact_url(url: str | None) -> str:
    """Return ``url`` without its query string and fragment, which carry signatures and tokens."""
    if not url:
        return ""
    parts = urlsplit(url)
    query = REDACTED if parts.query else ""
    return urlunsplit((parts.scheme, parts.netloc, parts.path, query, ""))


def redact_secret(value: object) -> str:
    """The attrs ``repr`` for a secret field."""
    return REDACTED if value else repr(value)
