"""The offline backend's test controls, and its place in moto (plain ``mock_aws``, resets, accounts and regions)."""

from __future__ import annotations

import boto3
import pytest
from botocore.exceptions import ClientError

from connectparticipant_ext import ChatService, exceptions
from connectparticipant_ext.testing import get_chat_backend

from _helpers import EVENT, INSTANCE_ID, contents, start_chat


def test_backend_agent_controls(mock_chat, connection, chat_contact):
    agent = mock_chat.join_as_agent(chat_contact["ContactId"], display_name="Agent Smith")
    mine = connection.send_message("from Ann")
    agent.typing()
    reply = agent.send("from the agent")
    agent.read(mine.id)
    assert agent.messages() == ["from Ann", "from the agent"]
    assert agent.messages("AGENT") == ["from the agent"]
    assert {i["Id"] for i in agent.items()} >= {mine.id, reply}
    assert agent.items() == list(agent.items)
    assert "from the agent" in contents(connection.transcript)
    agent.leave()  # the agent leaving ends the chat (no disconnect flow)
    left = [i["ContentType"] for i in agent.items[-2:]]
    assert left == [EVENT + "participant.left", EVENT + "chat.ended"]


def test_inject_faults_surface_as_typed_errors(mock_chat, connection, no_backoff):
    mock_chat.inject_faults(throttling=1.0, seed=1, operations=["SendMessage"])
    with pytest.raises(exceptions.ThrottlingError) as error:
        connection.send_message("throttled")
    assert isinstance(error.value, ClientError)
    assert error.value.response["Error"]["Code"] == "ThrottlingException"
    mock_chat.inject_faults(throttling=0.0)
    assert connection.send_message("fine again").id


def test_a_plain_mock_aws_block_works():
    import moto

    with moto.mock_aws():
        connect = boto3.client(
            "connect", region_name="us-east-1", aws_access_key_id="testing", aws_secret_access_key="testing"
        )
        contact = start_chat(connect)
        chat = ChatService(region_name="us-east-1")
        with chat.Participant(contact["ParticipantToken"]).create_connection() as conn:
            conn.send_message("inside mock_aws")
            assert "inside mock_aws" in contents(conn.transcript)
        connect.stop_contact(ContactId=contact["ContactId"], InstanceId=INSTANCE_ID)


def test_moto_resets_the_backend_between_mocks(aws_credentials):
    import moto

    with moto.mock_aws():
        contact = start_chat(boto3.client("connect", region_name="us-east-1"))
    with moto.mock_aws():
        assert get_chat_backend().chats == {}
        with pytest.raises(exceptions.AccessDeniedError):
            ChatService(region_name="us-east-1").Participant(contact["ParticipantToken"]).create_connection()


def test_accounts_and_regions_are_isolated(mock_chat, connect_client, monkeypatch):
    west = boto3.client("connect", region_name="us-west-2")
    contact = start_chat(west)
    assert contact["ContactId"] in get_chat_backend(region_name="us-west-2").chats
    assert contact["ContactId"] not in get_chat_backend().chats
    monkeypatch.setenv("MOTO_ACCOUNT_ID", "111111111111")
    elsewhere = start_chat(boto3.client("connect", region_name="us-west-2"))
    monkeypatch.delenv("MOTO_ACCOUNT_ID")
    assert elsewhere["ContactId"] in get_chat_backend("111111111111", "us-west-2").chats
    assert elsewhere["ContactId"] not in get_chat_backend(region_name="us-west-2").chats
    # a chat lives in its region: another region's endpoint does not know its tokens
    with pytest.raises(exceptions.AccessDeniedError):
        ChatService(region_name="eu-west-1").Participant(contact["ParticipantToken"]).create_connection()
    with ChatService(region_name="us-west-2").Participant(contact["ParticipantToken"]).create_connection() as conn:
        assert conn.send_message("in us-west-2").id
