"""The clients this app shares between requests: one ``ChatService``, one ``connect`` client.

Both are created lazily, once per process, from the ``CONNECT_*`` settings. boto3 clients are
thread-safe, and ``ChatService`` caches its client, so sharing one of each is both cheap and
correct under a threaded server.
"""

from __future__ import annotations

import threading
from typing import Any, Optional
from urllib.parse import urlsplit

import boto3
from botocore.client import BaseClient
from django.conf import settings
from django.core.signals import setting_changed
from django.dispatch import receiver

from connectparticipant_ext import AttachmentLimits, ChatService

_lock = threading.Lock()
_chat_service: Optional[ChatService] = None
_connect_client: Optional[BaseClient] = None


def get_chat_service() -> ChatService:
    """The shared :class:`ChatService` (participant calls: unsigned, no AWS credentials)."""
    global _chat_service
    if _chat_service is None:
        with _lock:
            if _chat_service is None:
                _chat_service = ChatService(
                    region_name=settings.CONNECT_REGION,
                    endpoint_url=settings.CONNECT_ENDPOINT_URL,
                    attachment_limits=AttachmentLimits(max_size=settings.CONNECT_ATTACHMENT_MAX_BYTES),
                )
    return _chat_service


def get_connect_client() -> BaseClient:
    """The shared ``connect`` client; ``start_chat_contact`` is signed with IAM credentials."""
    global _connect_client
    if _connect_client is None:
        with _lock:
            if _connect_client is None:
                _connect_client = boto3.client(
                    "connect",
                    region_name=settings.CONNECT_REGION,
                    endpoint_url=settings.CONNECT_ENDPOINT_URL,
                    **_local_credentials(),
                )
    return _connect_client


def _local_credentials() -> dict[str, str]:
    """Fake credentials for a local server on loopback when none are configured.

    The Connect API is signed, so boto3 wants credentials; ``connectparticipant-ext serve``
    does not check them. Against AWS (no endpoint URL, or a remote one) nothing changes.
    """
    host = urlsplit(settings.CONNECT_ENDPOINT_URL or "").hostname or ""
    if host in ("127.0.0.1", "localhost", "::1") and boto3.Session().get_credentials() is None:
        return {"aws_access_key_id": "testing", "aws_secret_access_key": "testing"}
    return {}


def reset() -> None:
    """Forget the shared clients; the next request builds them from the current settings."""
    global _chat_service, _connect_client
    with _lock:
        _chat_service = None
        _connect_client = None


@receiver(setting_changed, dispatch_uid="chat.services.reset")
def _settings_changed(setting: str, **kwargs: Any) -> None:
    if setting.startswith("CONNECT_"):
        reset()
