"""streaming.verify_sns_message: SNS signatures as the SNS developer guide defines them.

The tests make their own RSA key and self-signed certificate and hand it over through
``fetch_certificate``: nothing touches the network. The string to sign is built here from the
guide's description ("Verifying the signatures of Amazon SNS messages"), independently of the
library's code.
"""

from __future__ import annotations

import base64
import copy
import json
from datetime import datetime, timedelta, timezone

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.x509.oid import NameOID

from connectparticipant_ext import StreamingPayloadError, streaming

CERT_URL = "https://sns.us-west-2.amazonaws.com/SimpleNotificationService-0123456789abcdef.pem"
TOPIC = "arn:aws:sns:us-west-2:123456789012:chats"


def _certificate(key) -> bytes:
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "sns.amazonaws.com")])
    now = datetime.now(timezone.utc)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=1))
        .sign(key, hashes.SHA256())
    )
    return certificate.public_bytes(serialization.Encoding.PEM)


@pytest.fixture(scope="module")
def key():
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture(scope="module")
def pem(key):
    return _certificate(key)


class Fetcher:
    """A certificate source that records what it was asked for."""

    def __init__(self, pem: bytes) -> None:
        self.pem = pem
        self.urls: list[str] = []

    def __call__(self, url: str) -> bytes:
        self.urls.append(url)
        return self.pem


SIGNED = {
    "Notification": ["Message", "MessageId", "Subject", "Timestamp", "TopicArn", "Type"],
    "SubscriptionConfirmation": ["Message", "MessageId", "SubscribeURL", "Timestamp", "Token", "TopicArn", "Type"],
    "UnsubscribeConfirmation": ["Message", "MessageId", "SubscribeURL", "Timestamp", "Token", "TopicArn", "Type"],
}


def sign(key, message: dict, version: str = "1") -> dict:
    """Sign as SNS does: name and value, each followed by a newline, for the type's fields."""
    message = dict(message, SignatureVersion=version)
    text = "".join(f"{name}\n{message[name]}\n" for name in SIGNED[message["Type"]] if message.get(name) is not None)
    algorithm = hashes.SHA1() if version == "1" else hashes.SHA256()
    signature = key.sign(text.encode("utf-8"), padding.PKCS1v15(), algorithm)
    message["Signature"] = base64.b64encode(signature).decode("ascii")
    message.setdefault("SigningCertURL", CERT_URL)
    return message


def notification(**fields) -> dict:
    item = {"Id": "item-1", "Type": "MESSAGE", "ContentType": "text/plain", "Content": 'héllo\n"quoted"'}
    message = {
        "Type": "Notification",
        "MessageId": "22b80b92-fdea-4c2c-8f9d-bdfb0c7bf324",
        "TopicArn": TOPIC,
        "Message": json.dumps(item),
        "Timestamp": "2021-09-08T13:28:24.860Z",
        "MessageAttributes": {
            "ContactId": {"Type": "String", "Value": "contact-1"},
            "MessageVisibility": {"Type": "String", "Value": "ALL"},
        },
    }
    message.update(fields)
    return message


def confirmation(kind: str = "SubscriptionConfirmation") -> dict:
    return {
        "Type": kind,
        "MessageId": "165545c9-2a5c-472c-8df2-7ff2be2b3b1b",
        "Token": "2336412f37fb687f5d51e6e241d09c805a5a57b30d712f794cc5f6a988666d92768dd60a747ba6f3beb71854e",
        "TopicArn": TOPIC,
        "Message": f"You have chosen to subscribe to the topic {TOPIC}.\nTo confirm the subscription, visit the URL.",
        "SubscribeURL": f"https://sns.us-west-2.amazonaws.com/?Action=ConfirmSubscription&TopicArn={TOPIC}&Token=2336",
        "Timestamp": "2012-04-26T20:45:04.751Z",
    }


# -- what holds ------------------------------------------------------------------------------------


@pytest.mark.parametrize("version", ["1", "2"])
@pytest.mark.parametrize(
    "message",
    [
        notification(),
        notification(Subject="My subject"),
        confirmation("SubscriptionConfirmation"),
        confirmation("UnsubscribeConfirmation"),
    ],
    ids=["notification", "with-subject", "subscription", "unsubscribe"],
)
def test_signatures_of_both_versions_and_every_signed_type_hold(key, pem, message, version):
    signed = sign(key, message, version)
    verified = streaming.verify_sns_message(signed, fetch_certificate=Fetcher(pem))
    assert verified == signed
    assert streaming.verify_sns_message(json.dumps(signed), fetch_certificate=Fetcher(pem)) == signed
    assert streaming.verify_sns_message(json.dumps(signed).encode(), fetch_certificate=Fetcher(pem)) == signed


def test_a_verified_notification_parses(key, pem):
    signed = streaming.verify_sns_message(sign(key, notification()), fetch_certificate=Fetcher(pem))
    [event] = streaming.parse(signed, topic_arns=[TOPIC])
    assert event.item.content == 'héllo\n"quoted"' and event.contact_id == "contact-1"


def test_a_lambda_sns_record_with_its_own_spelling_holds(key, pem):
    record = sign(key, notification(), "2")
    record["SigningCertUrl"] = record.pop("SigningCertURL")  # Lambda's SNS records spell it so
    record["Subject"] = None  # and carry an absent subject as null
    record["UnsubscribeUrl"] = "https://sns.us-west-2.amazonaws.com/?Action=Unsubscribe"
    assert streaming.verify_sns_message(record, fetch_certificate=Fetcher(pem)) == record


def test_the_certificate_is_fetched_once_per_url(key, pem):
    fetcher = Fetcher(pem)
    for n in range(3):
        streaming.verify_sns_message(sign(key, notification(MessageId=f"m-{n}")), fetch_certificate=fetcher)
    other = "https://sns.eu-west-1.amazonaws.com/SimpleNotificationService-fedcba.pem"
    streaming.verify_sns_message(sign(key, notification(SigningCertURL=other)), fetch_certificate=fetcher)
    assert fetcher.urls == [CERT_URL, other]


def test_china_regions_serve_certificates_too(key, pem):
    url = "https://sns.cn-north-1.amazonaws.com.cn/SimpleNotificationService-0123.pem"
    fetcher = Fetcher(pem)
    streaming.verify_sns_message(sign(key, notification(SigningCertURL=url)), fetch_certificate=fetcher)
    assert fetcher.urls == [url]


# -- what does not ---------------------------------------------------------------------------------


def test_a_bogus_signature_is_refused(key, pem):
    forged = sign(key, notification())
    forged["Signature"] = base64.b64encode(b"\0" * 256).decode()
    with pytest.raises(StreamingPayloadError, match="signature does not match"):
        streaming.verify_sns_message(forged, fetch_certificate=Fetcher(pem))


@pytest.mark.parametrize(
    "change",
    [
        {"Message": json.dumps({"Id": "item-1", "Type": "MESSAGE", "Content": "send me your card"})},
        {"TopicArn": "arn:aws:sns:us-west-2:999999999999:attacker"},
        {"MessageId": "another"},
        {"Timestamp": "2030-01-01T00:00:00.000Z"},
        {"Subject": "added after signing"},
    ],
)
def test_a_changed_signed_field_is_refused(key, pem, change):
    tampered = dict(sign(key, notification()), **change)
    with pytest.raises(StreamingPayloadError, match="signature does not match"):
        streaming.verify_sns_message(tampered, fetch_certificate=Fetcher(pem))


def test_a_signature_by_another_key_is_refused(pem):
    other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    with pytest.raises(StreamingPayloadError, match="signature does not match"):
        streaming.verify_sns_message(sign(other, notification()), fetch_certificate=Fetcher(pem))


@pytest.mark.parametrize(
    "url",
    [
        "http://sns.us-west-2.amazonaws.com/SimpleNotificationService-0123.pem",
        "https://evil.example.com/SimpleNotificationService-0123.pem",
        "https://sns.us-west-2.amazonaws.com.evil.example/SimpleNotificationService-0123.pem",
        "https://evil.example/sns.us-west-2.amazonaws.com/x.pem",
        "https://sqs.us-west-2.amazonaws.com/SimpleNotificationService-0123.pem",
        "https://sns.us-west-2.amazonaws.com:8443/SimpleNotificationService-0123.pem",
        "https://user@sns.us-west-2.amazonaws.com/SimpleNotificationService-0123.pem",
        "https://sns.us-west-2.amazonaws.com/SimpleNotificationService-0123.pem?x=1",
        "https://sns.us-west-2.amazonaws.com/redirect",
        "https://sns..amazonaws.com/x.pem",
        "file:///etc/ssl/cert.pem",
        "",
    ],
)
def test_a_certificate_anywhere_but_sns_is_never_fetched(key, pem, url):
    fetcher = Fetcher(pem)
    with pytest.raises(StreamingPayloadError, match="SigningCertURL"):
        streaming.verify_sns_message(sign(key, notification(SigningCertURL=url)), fetch_certificate=fetcher)
    assert fetcher.urls == []


@pytest.mark.parametrize(
    ("change", "match"),
    [
        ({"SignatureVersion": "3"}, "SignatureVersion must be 1 or 2"),
        ({"SignatureVersion": None}, "SignatureVersion must be 1 or 2"),
        ({"Type": "Notice"}, "Type must be one of"),
        ({"Signature": "not base64!"}, "not base64"),
        ({"Signature": ""}, "no Signature"),
        ({"Message": None}, "Message is missing"),
        ({"TopicArn": 42}, "TopicArn is missing or not a string"),
    ],
)
def test_malformed_messages_are_refused_naming_the_part(key, pem, change, match):
    message = dict(sign(key, notification()), **change)
    with pytest.raises(StreamingPayloadError, match=match):
        streaming.verify_sns_message(message, fetch_certificate=Fetcher(pem))


def test_what_is_not_a_message_is_refused(pem):
    for payload in ("[" * 100_000, "not json", "[1]", 42):
        with pytest.raises(StreamingPayloadError):
            streaming.verify_sns_message(payload, fetch_certificate=Fetcher(pem))


def test_a_certificate_that_cannot_be_had_is_a_payload_error(key):
    message = sign(key, notification(SigningCertURL=CERT_URL.replace(".pem", "-unreachable.pem")))

    def unreachable(url: str) -> bytes:
        raise ConnectionError("no route")

    with pytest.raises(StreamingPayloadError, match="could not be fetched") as info:
        streaming.verify_sns_message(message, fetch_certificate=unreachable)
    assert isinstance(info.value.__cause__, ConnectionError)
    for junk, match in ((b"not a certificate", "not a PEM"), (b"x" * 100_000, "plausible size")):
        with pytest.raises(StreamingPayloadError, match=match):
            streaming.verify_sns_message(message, fetch_certificate=lambda url, junk=junk: junk)


def test_a_certificate_without_an_rsa_key_is_refused(key):
    ec_pem = _certificate(ec.generate_private_key(ec.SECP256R1()))
    message = sign(key, notification(SigningCertURL=CERT_URL.replace(".pem", "-ec.pem")))
    with pytest.raises(StreamingPayloadError, match="not an RSA key"):
        streaming.verify_sns_message(message, fetch_certificate=Fetcher(ec_pem))


def test_verifying_never_changes_the_message(key, pem):
    message = sign(key, notification())
    before = copy.deepcopy(message)
    streaming.verify_sns_message(message, fetch_certificate=Fetcher(pem))
    assert message == before
