"""What the participant's websocket carries, as the real service pushes it; sources in the docstrings.

Each test opens the websocket URL that CreateParticipantConnection returns, with a bare client
of the frames (``aws/subscribe`` then ``aws/chat`` items), in-process and against LocalServer.
"""

from __future__ import annotations

import json

import pytest
from botocore.exceptions import ClientError
from fidelity_wire import Socket, Wire, code, of_type

from _helpers import EVENT


def _customer_socket(wire: Wire, **start: object) -> tuple[dict, str, Socket]:
    contact = wire.start_chat(**start)
    response = wire.join(contact["ParticipantToken"], types=("WEBSOCKET", "CONNECTION_CREDENTIALS"))
    return contact, response["ConnectionCredentials"]["ConnectionToken"], Socket(response["Websocket"]["Url"])


def test_a_lex_streamed_reply_arrives_in_chunks_and_is_kept_whole(wire: Wire) -> None:
    """amazon-connect-chatjs 5.0 CHANGELOG ("Lex streaming support with partial message stitching")
    and src/core/PartialMessageUtil.js + its spec: items with the same Id, ParticipantRole SYSTEM,
    Type MESSAGE, MessageMetadata.MessageCompleted false and ChunkNumber 1, 2, ... each carrying the
    next piece, then MessageCompleted true carrying the whole text; GetTranscript keeps that one."""
    contact, token, socket = _customer_socket(wire)
    with socket:
        reply = wire.backend.stream_bot_reply(contact["ContactId"], ["Hel", "lo, ", "Ann"])
        items = socket.until(lambda i: i.get("MessageMetadata", {}).get("MessageCompleted") is True)
    pieces = [i for i in items if i["Id"] == reply]
    assert [(i["Type"], i["ParticipantRole"]) for i in pieces] == [("MESSAGE", "SYSTEM")] * 4
    assert [i["MessageMetadata"].get("ChunkNumber") for i in pieces[:3]] == [1, 2, 3]
    assert [i["MessageMetadata"]["MessageCompleted"] for i in pieces] == [False, False, False, True]
    assert [i["Content"] for i in pieces] == ["Hel", "lo, ", "Ann", "Hello, Ann"]
    kept = [i for i in wire.transcript(token) if i["Id"] == reply]
    assert [i["Content"] for i in kept] == ["Hello, Ann"]


@pytest.mark.parametrize(
    ("event", "kept"),
    [
        ("participant.idle", False),
        ("participant.returned", False),
        ("participant.autodisconnection", False),
        ("participant.displayname.updated", False),
        ("authentication.initiated", False),
        ("chat.rehydrated", False),
        ("workflow.cancelled", False),
        ("participant.invited", True),
        ("transfer.succeeded", True),
        ("transfer.failed", True),
    ],
)
def test_service_events_are_pushed_and_only_the_listed_ones_kept(wire: Wire, event: str, kept: bool) -> None:
    """Event content types: amazon-connect-chatjs 5 src/constants.js (CONTENT_TYPE). Which are kept:
    GetTranscript API reference ("chat transcripts contain the following event content types":
    participant.invited, joined, left, chat.ended, transfer.succeeded, transfer.failed)."""
    contact, token, socket = _customer_socket(wire)
    with socket:
        content = json.dumps({"SessionId": "s"}) if event.startswith("authentication") else None
        event_id = wire.backend.emit_event(contact["ContactId"], event, content)
        [pushed] = [i for i in socket.until(of_type(EVENT + event)) if i["Id"] == event_id]
    assert pushed["Type"] == "EVENT" and pushed["ParticipantRole"] == "SYSTEM"
    assert any(i["Id"] == event_id for i in wire.transcript(token)) is kept


def test_typing_is_pushed_live(wire: Wire) -> None:
    """SendEvent API reference (typing is an event a participant sends); GetTranscript reference
    (typing is not kept): the other side sees it live only."""
    contact, token, socket = _customer_socket(wire)
    agent = wire.backend.join_as_agent(contact["ContactId"])
    with socket:
        typing = agent.typing()
        assert any(i["Id"] == typing for i in socket.until(of_type(EVENT + "typing")))
    assert all(i["Id"] != typing for i in wire.transcript(token))


def test_the_socket_stays_open_after_disconnect_until_chat_ended(wire: Wire) -> None:
    """amazon-connect-chatjs 4.0 CHANGELOG: "Modified disconnectParticipant() to defer connection
    termination until server sends chatEnded event ... Enables post-disconnect messaging (surveys,
    confirmations)"; StartChatContact DisconnectOnCustomerExit (connect model): agents are
    disconnected "allowing them to continue through disconnect flows such as surveys"."""
    contact, token, socket = _customer_socket(wire, DisconnectOnCustomerExit=["AGENT"])
    agent = wire.backend.join_as_agent(contact["ContactId"], display_name="Bob")
    with socket:
        wire.participant.disconnect_participant(ConnectionToken=token)
        left = socket.until(lambda i: i.get("DisplayName") == "Bob" and i["ContentType"] == EVENT + "participant.left")
        assert [i["DisplayName"] for i in left if i.get("ContentType") == EVENT + "participant.left"] == ["Ann", "Bob"]
        survey = wire.backend.send_flow_message(contact["ContactId"], "How did we do? 1-5")
        [pushed] = [i for i in socket.until(lambda i: i["Id"] == survey) if i["Id"] == survey]
        assert (pushed["ParticipantRole"], pushed["DisplayName"]) == ("SYSTEM", "SYSTEM_MESSAGE")
        with pytest.raises(ClientError) as info:  # the customer has left: calls are refused
            wire.send(token)
        assert code(info) == "AccessDeniedException"
        assert not agent.backend.get_chat(contact["ContactId"]).ended
        wire.connect.stop_contact(ContactId=contact["ContactId"], InstanceId="instance-1")
        socket.until(of_type(EVENT + "chat.ended"))
        assert socket.closed_by_server()


def test_a_persistent_chat_pushes_chat_rehydrated(wire: Wire) -> None:
    """amazon-connect-chatjs 5 src/constants.js (chatRehydrated) and docs/persistent-chat-feature.md:
    a rehydrated chat sends chat.rehydrated; it is not one of the events GetTranscript keeps."""
    first, token = wire.customer()
    wire.connect.stop_contact(ContactId=first["ContactId"], InstanceId="instance-1")
    contact, token, socket = _customer_socket(
        wire, PersistentChat={"RehydrationType": "FROM_SEGMENT", "SourceContactId": first["ContactId"]}
    )
    chat = wire.backend.get_chat(contact["ContactId"])
    assert chat.previous_contact_ids == [first["ContactId"]]
    assert chat.rehydration_pending is False  # sent when the customer's first websocket URL was issued
    with socket:  # (a hub that pushes only after aws/subscribe does not hold it: emit one to see it)
        rehydrated = wire.backend.emit_event(contact["ContactId"], "chat.rehydrated")
        assert any(i["Id"] == rehydrated for i in socket.until(lambda i: i["Id"] == rehydrated))
    assert all(i.get("ContentType") != EVENT + "chat.rehydrated" for i in wire.transcript(token))


def test_a_receipt_for_a_streamed_reply_names_the_message(wire: Wire) -> None:
    """SendEvent API reference (a receipt's Content is ``{"messageId": ...}``) and the
    MESSAGEMETADATA shape of amazon-connect-chat-ios WebSocketManagerTests.swift: the receipt for
    a completed Lex reply (which already carries MessageMetadata.MessageCompleted) is pushed as
    ``{MessageId, Receipts}`` like any other."""
    contact, token, socket = _customer_socket(wire)
    with socket:
        reply = wire.backend.stream_bot_reply(contact["ContactId"], ["Hel", "lo"])
        socket.until(lambda i: i.get("MessageMetadata", {}).get("MessageCompleted") is True)
        receipt = json.dumps({"messageId": reply})
        wire.participant.send_event(ConnectionToken=token, ContentType=EVENT + "message.read", Content=receipt)
        metadata = socket.until(of_type(EVENT + "message.metadata"))[-1]
    assert metadata["Type"] == "MESSAGEMETADATA"
    assert set(metadata["MessageMetadata"]) == {"MessageId", "Receipts"}
    assert metadata["MessageMetadata"]["MessageId"] == reply
    assert metadata["MessageMetadata"]["Receipts"][0]["ReadTimestamp"]
