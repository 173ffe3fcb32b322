"""Participant and connection tokens: which account and region a token belongs to.

Tokens encode the account and region they were issued in, so a Participant Service call (which
carries no SigV4 signature) finds its backend: in-process, only at its own region's endpoint; on
the local server (one endpoint for every region), whatever region the client was made for.
"""

from __future__ import annotations

import base64
import os
from typing import TYPE_CHECKING, Optional

from .exceptions import AccessDeniedException

if TYPE_CHECKING:
    from .models import ChatBackend

__all__ = ["CONNECTION_TOKEN", "PARTICIPANT_TOKEN", "decode_token", "encode_token", "find_backend"]

PARTICIPANT_TOKEN = "CPT"
CONNECTION_TOKEN = "CCT"


def encode_token(kind: str, account_id: str, region: str) -> str:
    where = base64.urlsafe_b64encode(f"{account_id}:{region}".encode()).decode().rstrip("=")
    return f"{kind}.{where}.{base64.urlsafe_b64encode(os.urandom(24)).decode().rstrip('=')}"


def decode_token(token: str) -> Optional[tuple[str, str, str]]:
    try:
        kind, where, _ = token.split(".", 2)
        account_id, region = base64.urlsafe_b64decode(where + "=" * (-len(where) % 4)).decode().split(":", 1)
    except (ValueError, UnicodeDecodeError):
        return None
    return kind, account_id, region


def find_backend(token: Optional[str], kind: str, region: Optional[str] = None) -> ChatBackend:
    """The backend a token belongs to, or AccessDeniedException for anything else.

    ``region``: the region the request was sent to, when its host names one (in-process,
    ``participant.connect.<region>.amazonaws.com``). A chat lives in one region, so another
    region's endpoint does not know its tokens. The local server passes None: its one endpoint
    serves every region, whatever region the client was made for.
    """
    decoded = decode_token(token or "")
    if decoded is None or decoded[0] != kind:
        raise AccessDeniedException()
    _, account_id, token_region = decoded
    if region is not None and region != token_region:
        raise AccessDeniedException()
    region = token_region
    from .models import chat_backends

    try:
        return chat_backends[account_id][region]
    except KeyError:
        raise AccessDeniedException() from None
