"""No token, presigned query string or bearer value anywhere: reprs, logs, errors and CLI output."""

from __future__ import annotations

import io
import json
import logging
from datetime import timedelta
from typing import Any

import pytest
import requests

import connectparticipant_ext.connection as connection_module
from connectparticipant_ext import ChatService, exceptions

pytestmark = pytest.mark.usefixtures("no_backoff")


def test_secrets_never_in_logs(caplog, mock_chat, connection, chat_contact):
    import logging

    caplog.set_level(logging.DEBUG)
    mock_chat.revoke_connection_token(connection.token)
    connection.send_message("renew and log")
    for record in caplog.records:
        text = record.getMessage()
        assert connection.token not in text and chat_contact["ParticipantToken"] not in text


class _RefusingAdapter(requests.adapters.BaseAdapter):
    """An HTTP adapter that answers every request 403, recording the URLs it was given."""

    def __init__(self) -> None:
        super().__init__()
        self.urls: list[str] = []

    def send(self, request: Any, **kwargs: Any) -> requests.Response:
        self.urls.append(request.url)
        response = requests.Response()
        response.status_code = 403
        response.url = request.url
        response.request = request
        response.raw = io.BytesIO(b"<Error><Code>AccessDenied</Code></Error>")
        response.reason = "Forbidden"
        return response

    def close(self) -> None:
        pass


def test_a_failed_upload_names_no_presigned_query_string(mock_chat, chat_contact, caplog):
    import logging

    caplog.set_level(logging.DEBUG)
    adapter = _RefusingAdapter()
    session = requests.Session()
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    chat = ChatService(region_name="us-east-1", http_session=session)
    with chat.Participant(chat_contact["ParticipantToken"]).create_connection() as conn:
        with pytest.raises(exceptions.AttachmentUploadError) as error:
            conn.upload_attachment(b"data", name="d.txt", content_type="text/plain")
        assert adapter.urls
        query = adapter.urls[0].partition("?")[2]
        assert query
        for text in (str(error.value), repr(error.value), *(r.getMessage() for r in caplog.records)):
            assert query not in text and conn.token not in text


def test_canary_no_secret_anywhere(chat, participant, connection, agent, mock_chat, caplog, tmp_path, monkeypatch):
    caplog.set_level(logging.DEBUG)  # everything: ours, botocore's, urllib3's
    texts: list[str] = []
    secrets = {participant.token, connection.token, agent.token, agent.participant.token}

    sent = connection.send_message("hello")
    agent.send_read_receipt(sent.id)
    attachment = connection.upload_attachment(b"secret bytes", name="s.txt")
    url = attachment.url()
    signature = url.partition("?")[2]
    attachment.download(tmp_path)
    texts += [repr(attachment), repr(connection), repr(participant), repr(connection.websocket), repr(chat)]
    texts += [repr(i) for i in connection.transcript]

    mock_chat.revoke_connection_token(connection.token)
    connection.send_message("renewed")
    secrets.add(connection.token)
    later = connection.expires_at - timedelta(seconds=1)
    monkeypatch.setattr(connection_module, "_utcnow", lambda: later)
    connection.send_typing()
    secrets.add(connection.token)

    mock_chat.fail_next_uploads(3, status=500)
    for failing in (
        lambda: connection.upload_attachment(b"x", name="fail.txt"),
        lambda: chat.Participant("bogus" + participant.token).create_connection(),
        lambda: chat.Connection(connection.token + "x").send_message("nope"),
        lambda: connection.send_message(""),
    ):
        with pytest.raises(Exception) as info:
            failing()
        texts += [str(info.value), repr(info.value)]
    connection.disconnect()
    with pytest.raises(Exception) as info:
        connection.send_message("closed")
    texts += [str(info.value)]

    texts += [record.getMessage() for record in caplog.records]
    blob = "\n".join(texts)
    assert any("SendMessage" in r.getMessage() for r in caplog.records)  # the logs were really captured
    for secret in secrets:
        assert secret not in blob
    assert signature and signature not in blob
    assert json.dumps(blob)  # the blob is plain text


def test_canary_cli_output_carries_no_secret(participant, mock_chat, caplog, capsys, tmp_path, monkeypatch):
    """The command line, in-process with --debug: stdout, stderr and the logs it causes."""
    from connectparticipant_ext.cli import main

    caplog.set_level(logging.DEBUG)
    monkeypatch.setenv("CONNECT_PARTICIPANT_TOKEN", participant.token)
    source = tmp_path / "note.txt"
    source.write_text("hello")
    assert main(["--debug", "send", "hi from the cli"]) == 0
    assert main(["upload", str(source), "--wait", "5", "--debug"]) == 0
    attachment_id = capsys.readouterr().out.split()[-3]
    assert main(["download", attachment_id, str(tmp_path / "down") + "/", "--debug"]) == 0
    for fmt in ("text", "jsonl", "csv"):
        assert main(["transcript", "--format", fmt, "--debug"]) == 0
    assert main(["disconnect", "--debug"]) == 0
    assert main(["send", "after the end", "--debug"]) == 1  # an error with a traceback
    captured = capsys.readouterr()
    blob = "\n".join([captured.out, captured.err, *(r.getMessage() for r in caplog.records)])
    assert "hi from the cli" in blob and "Traceback" in captured.err
    secrets = set(mock_chat.connection_tokens) | set(mock_chat.participant_tokens)
    assert participant.token in secrets
    for secret in secrets:
        assert secret not in blob
    assert "X-Amz-Signature=" not in blob and "AuthToken=" not in blob
