"""Checking that an SNS message was signed by Amazon SNS, for HTTPS subscriptions.

An SQS queue or a Lambda function receives only what IAM lets SNS deliver to it, so their
messages need no check of their own. An HTTPS endpoint receives whatever anyone POSTs to it:
before it trusts a message it must check the signature, as SNS documents ("Verifying the
signatures of Amazon SNS messages", Amazon SNS developer guide):

* ``SignatureVersion`` ``1`` is RSA with SHA1 (PKCS #1 v1.5), ``2`` RSA with SHA256;
* the string to sign is ``name\\nvalue\\n`` for each signed field, in byte order of the names:
  ``Message``, ``MessageId``, ``Subject`` (only if the message has one), ``Timestamp``,
  ``TopicArn``, ``Type`` for a ``Notification``; ``Message``, ``MessageId``, ``SubscribeURL``,
  ``Timestamp``, ``Token``, ``TopicArn``, ``Type`` for a ``SubscriptionConfirmation`` or an
  ``UnsubscribeConfirmation``;
* ``Signature`` is base64; the public key is in the X.509 certificate at ``SigningCertURL``,
  which must be fetched over HTTPS from SNS itself.

"SNS itself" is the host AWS's own message validators accept (aws-php-sns-message-validator,
sns-validator for Node.js): ``sns.<region>.amazonaws.com`` or ``sns.<region>.amazonaws.com.cn``,
with a path to a ``.pem`` file. Fetching it over verified TLS from that host is what makes the
key SNS's. The X.509 and RSA work is the ``cryptography`` library's (installed by the ``sns``
extra).
"""

from __future__ import annotations

import base64
import binascii
import re
import threading
from collections import OrderedDict
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, Optional, Union
from urllib.parse import urlsplit

from .. import _json
from ..exceptions import StreamingPayloadError

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.asymmetric.rsa import RSAPublicKey

__all__ = ["CertificateFetcher", "verify_sns_message"]

CertificateFetcher = Callable[[str], bytes]
"""Takes a certificate URL (already checked to be SNS's), returns the PEM certificate's bytes."""

_SIGNED_FIELDS = {
    "Notification": ("Message", "MessageId", "Subject", "Timestamp", "TopicArn", "Type"),
    "SubscriptionConfirmation": ("Message", "MessageId", "SubscribeURL", "Timestamp", "Token", "TopicArn", "Type"),
    "UnsubscribeConfirmation": ("Message", "MessageId", "SubscribeURL", "Timestamp", "Token", "TopicArn", "Type"),
}
_OPTIONAL_FIELDS = frozenset({"Subject"})

_CERTIFICATE_HOST = re.compile(r"sns\.[a-z0-9-]+\.amazonaws\.com(?:\.cn)?")
_MAX_CERTIFICATE_BYTES = 64 * 1024  # an SNS signing certificate is about 2 KB of PEM
_FETCH_TIMEOUT = (5.0, 10.0)  # connect, read: seconds

_CACHE_SIZE = 32
_keys: OrderedDict[tuple[CertificateFetcher, str], RSAPublicKey] = OrderedDict()
_keys_lock = threading.Lock()


def verify_sns_message(
    envelope: Union[Mapping[str, Any], str, bytes], *, fetch_certificate: Optional[CertificateFetcher] = None
) -> dict[str, Any]:
    """Check an SNS message's signature; return the message as a dict when it holds.

    Use it on what an HTTPS subscription receives, before :func:`parse` or before confirming
    a subscription; SQS and Lambda deliveries are covered by IAM and need no check.

    Args:
        envelope: the SNS message (``Type`` ``Notification``, ``SubscriptionConfirmation`` or
            ``UnsubscribeConfirmation``) as a dict or as the JSON text of the request body.
            The ``Sns`` object of a Lambda record (``SigningCertUrl``) is read too.
        fetch_certificate: gets the certificate's PEM bytes for a URL that has passed the
            check (tests pass their own); by default an HTTPS GET with certificate
            verification and no redirects. Keys are cached per fetcher and URL.

    Raises:
        StreamingPayloadError: the message is not one SNS signs, a signed field is missing,
            the signature version is not 1 or 2, the certificate URL is not SNS's, the
            certificate cannot be fetched or read, or the signature does not match.
        ModuleNotFoundError: the ``cryptography`` package is not installed.
    """
    try:
        from cryptography.exceptions import InvalidSignature
        from cryptography.hazmat.primitives import hashes
        from cryptography.hazmat.primitives.asymmetric import padding
    except ModuleNotFoundError as exc:
        raise ModuleNotFoundError(
            "verify_sns_message needs the cryptography package (the sns extra installs it): pip install cryptography",
            name=exc.name,
        ) from exc
    message = _as_mapping(envelope)
    kind = message.get("Type")
    fields = _SIGNED_FIELDS.get(kind) if isinstance(kind, str) else None
    if fields is None:
        raise StreamingPayloadError(f"the SNS message's Type must be one of {', '.join(sorted(_SIGNED_FIELDS))}")
    version = message.get("SignatureVersion")
    if version not in ("1", "2"):
        raise StreamingPayloadError("the SNS message's SignatureVersion must be 1 or 2")
    algorithm = hashes.SHA1() if version == "1" else hashes.SHA256()
    signature = _signature(message.get("Signature"))
    url = _certificate_url(message.get("SigningCertURL", message.get("SigningCertUrl")))
    key = _public_key(url, fetch_certificate or _fetch_certificate)
    signed = _string_to_sign(message, fields).encode("utf-8")
    try:
        key.verify(signature, signed, padding.PKCS1v15(), algorithm)
    except InvalidSignature:
        raise StreamingPayloadError("the SNS message's signature does not match its content") from None
    return dict(message)


def _as_mapping(envelope: Any) -> Mapping[str, Any]:
    if isinstance(envelope, (str, bytes)):
        try:
            envelope = _json.loads(envelope)
        except ValueError:
            raise StreamingPayloadError("the SNS message is not valid JSON (or nests too deeply)") from None
    if not isinstance(envelope, Mapping):
        raise StreamingPayloadError(f"the SNS message must be a JSON object, not {type(envelope).__name__}")
    return envelope


def _signature(value: Any) -> bytes:
    if not isinstance(value, str) or not value:
        raise StreamingPayloadError("the SNS message has no Signature")
    try:
        return base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        raise StreamingPayloadError("the SNS message's Signature is not base64") from None


def _certificate_url(url: Any) -> str:
    if not isinstance(url, str) or not url:
        raise StreamingPayloadError("the SNS message has no SigningCertURL")
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        raise StreamingPayloadError("the SNS message's SigningCertURL is not a URL") from None
    host = parts.hostname or ""
    if (
        parts.scheme != "https"
        or not _CERTIFICATE_HOST.fullmatch(host)
        or port not in (None, 443)
        or parts.username is not None
        or parts.query
        or parts.fragment
        or not parts.path.endswith(".pem")
    ):
        raise StreamingPayloadError(
            "the SNS message's SigningCertURL is not an https://sns.<region>.amazonaws.com[.cn]/....pem URL"
        )
    return url


def _string_to_sign(message: Mapping[str, Any], fields: tuple[str, ...]) -> str:
    parts = []
    for name in fields:
        value = message.get(name)
        if value is None and name in _OPTIONAL_FIELDS:
            continue  # "Subject (if included in the message)"; Lambda records carry it as null
        if not isinstance(value, str):
            raise StreamingPayloadError(f"the SNS message's {name} is missing or not a string")
        parts.append(f"{name}\n{value}\n")
    return "".join(parts)


def _public_key(url: str, fetch: CertificateFetcher) -> RSAPublicKey:
    """The RSA public key of the certificate at ``url``, fetched once per fetcher and URL."""
    from cryptography import x509
    from cryptography.hazmat.primitives.asymmetric import rsa

    cache_key = (fetch, url)
    with _keys_lock:
        cached = _keys.get(cache_key)
        if cached is not None:
            _keys.move_to_end(cache_key)
            return cached
    try:
        pem = fetch(url)
    except StreamingPayloadError:
        raise
    except Exception as exc:
        raise StreamingPayloadError(f"the SNS signing certificate could not be fetched ({type(exc).__name__})") from exc
    if not isinstance(pem, (bytes, bytearray)) or len(pem) > _MAX_CERTIFICATE_BYTES:
        raise StreamingPayloadError("the SNS signing certificate is not PEM bytes of a plausible size")
    try:
        public_key = x509.load_pem_x509_certificate(bytes(pem)).public_key()
    except ValueError:
        raise StreamingPayloadError("the SNS signing certificate is not a PEM X.509 certificate") from None
    if not isinstance(public_key, rsa.RSAPublicKey):
        raise StreamingPayloadError("the SNS signing certificate's key is not an RSA key")
    with _keys_lock:
        _keys[cache_key] = public_key
        while len(_keys) > _CACHE_SIZE:
            _keys.popitem(last=False)
    return public_key


def _fetch_certificate(url: str) -> bytes:
    """GET the certificate over HTTPS (certificates verified, no redirects, size bounded)."""
    import requests

    with requests.get(url, timeout=_FETCH_TIMEOUT, allow_redirects=False, stream=True) as response:
        if response.status_code != 200:
            raise StreamingPayloadError(
                f"the SNS signing certificate could not be fetched (HTTP {response.status_code})"
            )
        body = response.raw.read(_MAX_CERTIFICATE_BYTES + 1, decode_content=True)
    return bytes(body)
