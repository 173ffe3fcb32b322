"""The redaction of secrets in log lines: tokens, bearer headers, URL query strings."""

from __future__ import annotations

import logging

import pytest

from connectparticipant_ext._logging import REDACTED_LOGGERS, redact_text


@pytest.mark.parametrize(
    ("line", "secret"),
    [
        # werkzeug's access log of a presigned GET: the decoded query has quotes and spaces
        ('"GET /b/k?response-content-disposition=attachment;+filename="a.txt"&X-Amz-Signature=s1 HTTP/1.1" 200', "s1"),
        ('"GET /b/k?response-content-disposition=attachment; filename="a b.pdf"&X-Amz-Signature=s2 HTTP/1.1"', "s2"),
        ("< GET /connect/abc?AuthToken=s3 HTTP/1.1", "s3"),
        ("... https://h/p?name='q'&X-Amz-Credential=s4", "s4"),
        ('{"Url": "https://h/p?X-Amz-Signature=s5", "Next": 1}', "s5"),
        ("{'Url': 'https://h/p?X-Amz-Signature=s6'}", "s6"),
        ("opening the websocket ws://127.0.0.1:1/connect/abc?AuthToken=s7", "s7"),
        ("{'X-Amz-Bearer': b's8'}", "s8"),
        ('{"ConnectionToken": "s9"}', "s9"),
    ],
)
def test_secrets_are_masked(line, secret):
    masked = redact_text(line)
    assert secret not in masked and "***" in masked


def test_text_after_a_masked_url_survives():
    assert redact_text('{"Url": "https://h/p?sig=1", "Next": 1}').endswith('"Next": 1}')
    assert redact_text('"PUT /b/k?sig=1 HTTP/1.1" 200 -').endswith('HTTP/1.1" 200 -')
    assert redact_text("plain text? with a question") == "plain text? with a question"


@pytest.mark.parametrize("name", REDACTED_LOGGERS)
def test_every_listed_logger_masks(name, caplog):
    caplog.set_level(logging.DEBUG, logger=name)
    logging.getLogger(name).debug("fetching %s", "https://h/p?X-Amz-Signature=topsecret")
    assert "topsecret" not in caplog.text and "?***" in caplog.text


def test_botocore_auth_signing_blocks_are_masked(caplog):
    """botocore.auth logs the canonical request and ``Signature:`` on lines of their own."""
    import boto3
    from botocore.config import Config

    import connectparticipant_ext  # noqa: F401 - importing the package installs the filter

    caplog.set_level(logging.DEBUG, logger="botocore.auth")
    s3 = boto3.client(
        "s3",
        region_name="us-east-1",
        aws_access_key_id="AKIDEXAMPLE",
        aws_secret_access_key="secret",
        config=Config(signature_version="s3v4"),
    )
    url = s3.generate_presigned_url("get_object", Params={"Bucket": "b", "Key": "k"}, ExpiresIn=60)
    signature = url.rpartition("X-Amz-Signature=")[2]
    assert signature and any("Signature:" in r.getMessage() for r in caplog.records)  # really logged
    blob = "\n".join(r.getMessage() for r in caplog.records)
    assert signature not in blob
    assert "X-Amz-Credential" not in blob and "AKIDEXAMPLE" not in blob  # the canonical request's query


@pytest.mark.parametrize(
    "message",
    [
        "CanonicalRequest:\nGET\n/b/k\nX-Amz-Credential=AKID%2F",
        "StringToSign:\nAWS4-HMAC-SHA256\n",
        "Signature:\nabc123",
    ],
)
def test_signing_blocks_keep_only_their_label(message):
    masked = redact_text(message)
    assert masked.endswith("***") and "\n" not in masked and "AKID" not in masked and "abc123" not in masked
