"""Keeping tokens out of other libraries' DEBUG logs.

botocore logs request headers (``X-Amz-Bearer``: the connection token) and response bodies
(``ConnectionToken``, ``ParticipantToken``, a WebRTC attendee's ``JoinToken``, presigned URLs)
at DEBUG; urllib3 and werkzeug log request lines with their query strings (presigned URL
signatures). A user who turns DEBUG on for everything must not find a secret in their logs, so
importing this package installs a filter on those loggers that masks the secrets and leaves
the rest of each line alone.
"""

from __future__ import annotations

import logging
import re

_PATTERNS = [
    # 'X-Amz-Bearer': b'...'  /  "X-Amz-Bearer": "..."  /  X-Amz-Bearer: ...
    (re.compile(r"""(X-Amz-Bearer['"]?\s*[:=]\s*b?['"]?)[^'",}\s]+""", re.IGNORECASE), r"\1***"),
    (re.compile(r"""((?:Connection|Participant|Join)Token\\?['"]\s*:\s*\\?['"])[^'"\\]+"""), r"\1***"),
    (re.compile(r"""((?:Url|AuthenticationUrl)\\?['"]\s*:\s*\\?['"][^'"?\\]*\?)[^'"\\]+"""), r"\1***"),
    # an HTTP request line (werkzeug, urllib3): everything up to the protocol, even where the
    # logged query has decoded quotes or spaces (filename="a b.pdf" in a presigned GET)
    (re.compile(r"""(\b(?:GET|PUT|POST|HEAD|DELETE|OPTIONS|PATCH) [^\s?]*\?).*?(?= HTTP/\d)"""), r"\1***"),
    # any URL or request path with a query string: the query is masked, through quotes that
    # are inside it (a quote followed by more query text), up to the end of the value
    (
        re.compile(r"""((?:[a-z]+://[^\s'"?]+|\s/[^\s'"?]*)\?)(?:[^\s'"]|['"](?=[^\s,;)}\]]))+"""),
        r"\1***",
    ),
]

REDACTED_LOGGERS = (
    "botocore.endpoint",
    "botocore.parsers",
    "botocore.hooks",
    "botocore.auth",
    "botocore.retryhandler",
    "botocore.regions",
    "urllib3.connectionpool",
    "werkzeug",
    "websockets.client",  # request lines carry the websocket URL's AuthToken query
    "websockets.server",  # the same lines, logged by the local backend's websocket server
)


# botocore.auth logs what it signs as a label line and the text below it: the canonical request
# (path, query, signed headers), the string to sign and the signature. Together they rebuild a
# working presigned URL, and the lines below the label match none of the patterns above, so the
# whole block is masked; the label stays, to show that signing happened.
_SIGNING_LABELS = ("CanonicalRequest:", "StringToSign:", "Signature:", "String to sign:")


def _redact_signing_block(text: str) -> str | None:
    stripped = text.lstrip()
    for label in _SIGNING_LABELS:
        if stripped.startswith(label):
            return f"{label} ***"
    return None


def redact_text(text: str) -> str:
    """Mask tokens, bearer headers and URL query strings in a line of text.

    A signing record of ``botocore.auth`` (canonical request, string to sign, signature, each
    over several lines) is masked whole.
    """
    block = _redact_signing_block(text)
    if block is not None:
        return block
    for pattern, replacement in _PATTERNS:
        text = pattern.sub(replacement, text)
    return text


class SecretRedactingFilter(logging.Filter):
    """A logging filter that masks secrets in the formatted message of each record."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a malformed record is the logging system's to report
            return True
        redacted = redact_text(message)
        if redacted != message:
            record.msg, record.args = redacted, None
        return True


_FILTER = SecretRedactingFilter()


def install_redaction(names: tuple[str, ...] = REDACTED_LOGGERS) -> None:
    """Attach the redacting filter to the given loggers (idempotent)."""
    for name in names:
        target = logging.getLogger(name)
        if _FILTER not in target.filters:
            target.addFilter(_FILTER)
