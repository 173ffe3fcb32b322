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
