"""Attachment bytes live in moto's S3: presigned PUT and GET URLs, and a look at what arrived.

In-process (under ``mock_aws``) the URLs point at S3's usual hosts, which moto intercepts for
``requests`` too; in server mode they point at the local server (see :func:`set_endpoint`).
URLs are path-style, so the upload fault switch can recognise the attachments bucket.
"""

from __future__ import annotations

import hashlib
import hmac
import threading
from collections.abc import Mapping
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING, Any, Optional
from urllib.parse import parse_qsl, quote, unquote, urlsplit

import boto3
from botocore.config import Config
from moto.backends import get_backend

if TYPE_CHECKING:
    from botocore.client import BaseClient

    from .base import ChatBackendBase as ChatBackend
    from .state import UploadRecord

BUCKET_PREFIX = "cp-ext-attachments-"
_ACCESS_KEY = "testing"
_SECRET_KEY = "testing"
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
                aws_access_key_id=_ACCESS_KEY,
                aws_secret_access_key=_SECRET_KEY,
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


def upload_headers(
    record: UploadRecord, *, account_id: str, initial_contact_id: str, organization_id: str
) -> dict[str, str]:
    """The ``HeadersToInclude`` of a StartAttachmentUpload answer, as the service sends them.

    Names and shapes follow the fixture of a real answer in AWS's iOS chat SDK
    (amazon-connect/amazon-connect-chat-ios, ``AmazonConnectChatIOSTests/Core/utils/TestUtils.swift``,
    ``TestConstants.sampleAttachmentHeaders``, whose SDK also names them in
    ``Sources/Core/Utils/HttpClient/HttpHeader.swift``): ``Content-Type``, ``Content-Length``,
    ``Content-Disposition: attachment; filename="..."``, ``x-amz-acl: bucket-owner-full-control``
    and the ``x-amz-meta-`` ``contact_id``, ``initial_contact_id``, ``account_id`` and
    ``organization_id``. The fixture's values are placeholders ("12345"); here the account is
    the backend's account, and the organization is the Connect instance (an inference: the
    service calls the instance an organization elsewhere, no fixture shows a real value). A name
    outside ASCII goes in RFC 6266's ``filename*`` (header values are Latin-1 on the wire); what
    the service does with such names is not shown by any source.
    """
    return {
        "Content-Type": record.content_type,
        "Content-Length": str(record.size),
        "Content-Disposition": content_disposition("ATTACHMENT", record.name),
        "x-amz-acl": "bucket-owner-full-control",
        "x-amz-meta-contact_id": record.contact_id,
        "x-amz-meta-initial_contact_id": initial_contact_id,
        "x-amz-meta-account_id": account_id,
        "x-amz-meta-organization_id": organization_id,
    }


def presigned_put(
    backend: ChatBackend, record: UploadRecord, expires_in: int, *, initial_contact_id: str, organization_id: str
) -> tuple[str, dict[str, str]]:
    """A presigned PUT URL and the headers the PUT must carry (``HeadersToInclude``).

    The URL is signed (SigV4 query signing) over every one of those headers, so a PUT that
    leaves one out or changes its value is refused by :func:`check_presigned_put` with S3's
    ``403 SignatureDoesNotMatch``, as S3 refuses it.
    """
    bucket = _ensure_bucket(backend)
    headers = upload_headers(
        record, account_id=backend.account_id, initial_contact_id=initial_contact_id, organization_id=organization_id
    )
    metadata = {name[len("x-amz-meta-") :]: value for name, value in headers.items() if name.startswith("x-amz-meta-")}
    url = _s3(backend.region_name).generate_presigned_url(
        "put_object",
        Params={
            "Bucket": bucket,
            "Key": object_key(record),
            "ContentType": headers["Content-Type"],
            "ContentLength": record.size,
            "ContentDisposition": headers["Content-Disposition"],
            "ACL": headers["x-amz-acl"],
            "Metadata": metadata,
        },
        ExpiresIn=expires_in,
    )
    return url, headers


def _s3_error(status: int, code: str, message: str) -> tuple[int, dict[str, str], str]:
    body = f"<?xml version='1.0' encoding='UTF-8'?><Error><Code>{code}</Code><Message>{message}</Message></Error>"
    return status, {"Content-Type": "application/xml"}, body


def _hmac(key: bytes, text: str) -> bytes:
    return hmac.new(key, text.encode("utf-8"), hashlib.sha256).digest()


def _uri_encode(text: str) -> str:
    return quote(text, safe="-_.~")


def check_presigned_put(
    full_url: str, headers: Mapping[str, str], now: Optional[datetime] = None
) -> Optional[tuple[int, dict[str, str], str]]:
    """S3's answer to a presigned PUT whose signature does not hold, or None when it holds.

    S3 recomputes a SigV4 query signature over the request it received: the signed headers'
    values as sent, the host, the path and the query. A PUT that leaves out a signed header or
    changes its value does not match (``403 SignatureDoesNotMatch``); an expired URL gives
    ``403 AccessDenied``. moto's S3 checks neither, so the attachment PUTs are checked here,
    in process and on the local server. A PUT without a query signature is left to moto.
    """
    parts = urlsplit(full_url)
    query = parse_qsl(parts.query, keep_blank_values=True)
    params = dict(query)
    signature = params.get("X-Amz-Signature")
    if signature is None:
        return None
    try:
        amz_date = params["X-Amz-Date"]
        signed_at = datetime.strptime(amz_date, "%Y%m%dT%H%M%SZ").replace(tzinfo=timezone.utc)
        expires = int(params["X-Amz-Expires"])
        _access_key, scope = params["X-Amz-Credential"].split("/", 1)
        signed_names = params["X-Amz-SignedHeaders"].split(";")
    except (KeyError, ValueError):
        return _s3_error(400, "AuthorizationQueryParametersError", "The presigned URL's query is incomplete.")
    if (now or datetime.now(timezone.utc)) > signed_at + timedelta(seconds=expires):
        return _s3_error(403, "AccessDenied", "Request has expired")
    sent = {name.lower(): value for name, value in headers.items()}
    sent.setdefault("host", parts.netloc)
    canonical_headers = []
    for name in signed_names:
        value = sent.get(name)
        if value is None:
            return _s3_error(403, "SignatureDoesNotMatch", _MISMATCH)
        canonical_headers.append(f"{name}:{' '.join(str(value).split())}\n")
    canonical_query = "&".join(f"{_uri_encode(k)}={_uri_encode(v)}" for k, v in sorted(query) if k != "X-Amz-Signature")
    canonical_request = "\n".join(
        [
            "PUT",
            quote(unquote(parts.path), safe="/-_.~"),
            canonical_query,
            "".join(canonical_headers),
            ";".join(signed_names),
            "UNSIGNED-PAYLOAD",
        ]
    )
    string_to_sign = "\n".join(
        ["AWS4-HMAC-SHA256", amz_date, scope, hashlib.sha256(canonical_request.encode("utf-8")).hexdigest()]
    )
    key = ("AWS4" + _SECRET_KEY).encode("utf-8")
    for part in scope.split("/"):
        key = _hmac(key, part)
    expected = hmac.new(key, string_to_sign.encode("utf-8"), hashlib.sha256).hexdigest()
    if not hmac.compare_digest(expected, signature):
        return _s3_error(403, "SignatureDoesNotMatch", _MISMATCH)
    return None


_MISMATCH = (
    "The request signature we calculated does not match the signature you provided. Check your key and signing method."
)


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
    # Through the local server a WSGI environ carries ``x-amz-meta-contact_id`` to moto as
    # ``x-amz-meta-contact-id`` (environ keys cannot tell ``_`` from ``-``): read both as one.
    metadata = {
        name.lower().removeprefix("x-amz-meta-").replace("-", "_"): value for name, value in dict(key.metadata).items()
    }
    return int(key.size), metadata
