"""Attachment bytes live in moto's S3: presigned PUT and GET URLs, and a look at what arrived.

In-process (under ``mock_aws``) the URLs point at S3's usual hosts, which moto intercepts for
``requests`` too; in server mode they point at the local server (see :func:`set_endpoint`).
URLs are path-style, so the upload fault switch can recognise the attachments bucket.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Any, Optional
from urllib.parse import quote

import boto3
from botocore.config import Config
from moto.backends import get_backend

if TYPE_CHECKING:
    from botocore.client import BaseClient

    from .models import ChatBackend, UploadRecord

BUCKET_PREFIX = "cp-ext-attachments-"
_endpoint: Optional[str] = None
_clients: dict[tuple[str, Optional[str]], BaseClient] = {}
_lock = threading.Lock()


def set_endpoint(endpoint_url: Optional[str]) -> None:
    """Point presigned URLs at a local server (``None``: S3's usual hosts, for ``mock_aws``)."""
    global _endpoint
    _endpoint = endpoint_url


def bucket_name(backend: ChatBackend) -> str:
    return f"{BUCKET_PREFIX}{backend.account_id}-{backend.region_name}".lower()


def object_key(record: UploadRecord) -> str:
    return f"{record.contact_id}/{record.attachment_id}"


def _s3(region: str) -> BaseClient:
    key = (region, _endpoint)
    with _lock:
        if key not in _clients:
            _clients[key] = boto3.client(
                "s3",
                region_name=region,
                endpoint_url=_endpoint,
                aws_access_key_id="testing",
                aws_secret_access_key="testing",
                config=Config(signature_version="s3v4", s3={"addressing_style": "path"}),
            )
        return _clients[key]


def _s3_backend(backend: ChatBackend) -> Any:
    return get_backend("s3")[backend.account_id][backend.partition]


def _ensure_bucket(backend: ChatBackend) -> str:
    name = bucket_name(backend)
    s3 = _s3_backend(backend)
    with _lock:
        if name not in s3.buckets:
            s3.create_bucket(name, backend.region_name)
    return name


def presigned_put(backend: ChatBackend, record: UploadRecord, expires_in: int) -> tuple[str, dict[str, str]]:
    """A presigned PUT URL and the headers the PUT must carry (``HeadersToInclude``)."""
    bucket = _ensure_bucket(backend)
    headers = {"Content-Type": record.content_type, "x-amz-meta-attachment-id": record.attachment_id}
    url = _s3(backend.region_name).generate_presigned_url(
        "put_object",
        Params={
            "Bucket": bucket,
            "Key": object_key(record),
            "ContentType": record.content_type,
            "Metadata": {"attachment-id": record.attachment_id},
        },
        ExpiresIn=expires_in,
    )
    return url, headers


def content_disposition(disposition: str, name: str) -> str:
    """A Content-Disposition value for ``name`` that any HTTP server can send (RFC 6266).

    Header values are Latin-1 on the wire: a name outside ASCII goes in ``filename*`` as
    percent-encoded UTF-8 (RFC 8187), with an ASCII ``filename`` fallback for old clients.
    """
    kind = disposition.lower()
    fallback = "".join(ch if 32 <= ord(ch) < 127 and ch not in '"\\%' else "_" for ch in name)
    if fallback == name:
        return f'{kind}; filename="{name}"'
    return f"{kind}; filename=\"{fallback}\"; filename*=UTF-8''{quote(name, safe='')}"


def presigned_get(backend: ChatBackend, record: UploadRecord, expires_in: int, disposition: str) -> str:
    return str(
        _s3(backend.region_name).generate_presigned_url(
            "get_object",
            Params={
                "Bucket": bucket_name(backend),
                "Key": object_key(record),
                "ResponseContentDisposition": content_disposition(disposition, record.name),
            },
            ExpiresIn=expires_in,
        )
    )


def stored_object(backend: ChatBackend, record: UploadRecord) -> Optional[tuple[int, dict[str, str]]]:
    """Size and user metadata of an uploaded attachment, or None if nothing arrived."""
    s3 = _s3_backend(backend)
    bucket = s3.buckets.get(bucket_name(backend))
    if bucket is None:
        return None
    key = bucket.keys.get(object_key(record))
    if key is None:
        return None
    metadata = {name.lower().removeprefix("x-amz-meta-"): value for name, value in dict(key.metadata).items()}
    return int(key.size), metadata
