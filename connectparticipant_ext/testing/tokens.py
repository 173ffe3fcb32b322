"""Participant and connection tokens: which account and region a token belongs to.

Tokens encode the account and region they were issued in, so a Participant Service call (which
carries no SigV4 signature) finds its backend (:func:`.responses.find_backend`): in-process, only
at its own region's endpoint; on the local server (one endpoint for every region), whatever
region the client was made for.
"""

from __future__ import annotations

import base64
import os
from typing import Optional

__all__ = ["CONNECTION_TOKEN", "PARTICIPANT_TOKEN", "decode_token", "encode_token"]

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
