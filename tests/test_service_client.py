"""ChatService: the boto3 client it builds, checks and shares."""

from __future__ import annotations

import boto3
import botocore
import pytest
from botocore.config import Config

from connectparticipant_ext import ChatService, InvalidArgumentError, InvalidArgumentTypeError


def test_chat_service_builds_an_unsigned_client_with_standard_retries(mock_chat):
    chat = ChatService(region_name="us-east-1")
    client = chat.meta.client
    assert client.meta.service_model.service_name == "connectparticipant"
    assert client.meta.region_name == "us-east-1"
    assert client.meta.config.signature_version is botocore.UNSIGNED
    assert client.meta.config.retries["mode"] == "standard"
    assert "participant.connect.us-east-1.amazonaws.com" in client.meta.endpoint_url


def test_chat_service_takes_a_client_session_endpoint_or_config(mock_chat):
    existing = boto3.client("connectparticipant", region_name="us-east-1")
    assert ChatService(client=existing).meta.client is existing
    session = boto3.session.Session(region_name="eu-west-2")
    assert ChatService(session=session).meta.client.meta.region_name == "eu-west-2"
    local = ChatService(region_name="us-east-1", endpoint_url="http://127.0.0.1:5999")
    assert local.meta.client.meta.endpoint_url == "http://127.0.0.1:5999"
    configured = ChatService(region_name="us-east-1", config=Config(user_agent_extra="contract-test"))
    assert "contract-test" in configured.meta.client.meta.config.user_agent_extra
    assert configured.meta.client.meta.config.signature_version is botocore.UNSIGNED


def test_a_client_needs_no_aws_credentials(mock_chat, chat_contact, monkeypatch, tmp_path):
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-credentials"))  # no such file
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-config"))
    session = boto3.session.Session(region_name="us-east-1")
    chat = ChatService(session=session)
    with chat.Participant(chat_contact["ParticipantToken"]).create_connection() as conn:
        assert conn.send_message("no credentials needed").id


def test_a_chat_service_per_thread_is_cheap_and_shared():
    services = [ChatService(region_name="sa-east-1") for _ in range(50)]
    assert len({id(s.meta.client) for s in services}) == 1


@pytest.mark.parametrize("bad", [float("nan"), float("inf"), -1.0, (1, float("nan"))])
def test_service_timeout_must_be_finite(bad):
    with pytest.raises(InvalidArgumentError):
        ChatService(region_name="us-east-1", timeout=bad)


@pytest.mark.parametrize(
    ("retries", "error", "named"),
    [
        ({"mode": "bogus"}, InvalidArgumentError, "mode"),
        ({"total_max_attempts": "five"}, InvalidArgumentTypeError, "total_max_attempts"),
        ({"max_attempts": 2.5}, InvalidArgumentTypeError, "max_attempts"),
        ({"total_max_attempts": 0}, InvalidArgumentError, "total_max_attempts"),
        ({"max_attempts": -1}, InvalidArgumentError, "max_attempts"),
        ({"mode": "standard", "attempts": 3}, InvalidArgumentError, "attempts"),
    ],
)
def test_retries_are_checked_when_the_service_is_made(retries, error, named):
    with pytest.raises(error) as info:
        ChatService(region_name="us-east-1", retries=retries)
    assert named in str(info.value)


def test_valid_retries_are_accepted():
    for retries in ({"mode": "adaptive", "max_attempts": 0}, {"mode": "legacy"}, {"total_max_attempts": 1}):
        ChatService(region_name="us-east-1", retries=retries).meta.client  # noqa: B018 - builds the client
