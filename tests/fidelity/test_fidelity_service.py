"""The backend does what the real service does: one behaviour per test, its source in the docstring.

Sources: botocore's service models (``botocore/data/connect*/.../service-2.json``), the Amazon
Connect API reference, and AWS's chat clients (amazon-connect-chatjs 5, amazon-connect-chat-ios,
amazon-connect-chat-android). Each test runs in-process (mock_aws) and against LocalServer.
The numbers are the points of issue 13; docs/fidelity.rst lists them all.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest
import requests
from botocore.exceptions import ClientError
from fidelity_wire import Wire, clients, code

from connectparticipant_ext import ChatService
from connectparticipant_ext.exceptions import InvalidArgumentError

from _helpers import EVENT

CONNECT_ERRORS = {
    "InvalidRequestException",
    "InvalidParameterException",
    "ResourceNotFoundException",
    "LimitExceededException",
    "ServiceQuotaExceededException",
    "ThrottlingException",
    "ConflictException",
    "InternalServiceException",
}


# -- 1, 2: the Connect API -----------------------------------------------------------------------


@pytest.mark.parametrize("role", ["AGENT", "SUPERVISOR", "CUSTOMER"])
def test_create_participant_adds_only_custom_bot_to_a_chat(wire: Wire, role: str) -> None:
    """botocore connect model, CreateParticipant ParticipantDetails: "The only valid value for
    ParticipantRole is CUSTOM_BOT for chat contact"; errors InvalidRequestException et al."""
    contact = wire.start_chat()
    with pytest.raises(ClientError) as info:
        wire.connect.create_participant(
            InstanceId="instance-1",
            ContactId=contact["ContactId"],
            ParticipantDetails={"ParticipantRole": role, "DisplayName": "X"},
        )
    assert code(info) == "InvalidRequestException"
    bot = wire.connect.create_participant(
        InstanceId="instance-1",
        ContactId=contact["ContactId"],
        ParticipantDetails={"ParticipantRole": "CUSTOM_BOT", "DisplayName": "Bot"},
    )
    assert bot["ParticipantId"] and bot["ParticipantCredentials"]["ParticipantToken"]
    # the test control that stands for routing still adds an agent
    agent = wire.backend.join_as_agent(contact["ContactId"], display_name="Bob")
    assert agent.send("hi")


@pytest.mark.parametrize(
    "params",
    [
        {"ChatDurationInMinutes": 30},
        {"ChatDurationInMinutes": 20000},
        {"SupportedMessagingContentTypes": ["text/markdown"]},
        {"PersistentChat": {"SourceContactId": "c"}},
        {"ParticipantDetails": {"DisplayName": ""}},
    ],
)
def test_connect_errors_are_the_connect_apis_never_validation_exception(wire: Wire, params: dict) -> None:
    """botocore connect model: StartChatContact's errors are InvalidRequestException,
    InvalidParameterException, ResourceNotFoundException, InternalServiceException,
    LimitExceededException; the Connect API has no ValidationException."""
    lenient = clients(wire.connect.meta.endpoint_url if wire.mode == "server" else None, wire.mode, validate=False)
    with pytest.raises(ClientError) as info:
        lenient.start_chat(**params)
    assert code(info) in CONNECT_ERRORS and code(info) == "InvalidParameterException"


def test_ended_and_unknown_contacts(wire: Wire) -> None:
    """botocore connect model: StopContact/CreateParticipant raise ResourceNotFoundException for an
    unknown contact and InvalidRequestException for one that cannot take the request."""
    contact = wire.start_chat()
    wire.connect.stop_contact(ContactId=contact["ContactId"], InstanceId="instance-1")
    with pytest.raises(ClientError) as info:
        wire.bot(contact)
    assert code(info) == "InvalidRequestException"
    with pytest.raises(ClientError) as info:
        wire.connect.stop_contact(ContactId="no-such-contact", InstanceId="instance-1")
    assert code(info) == "ResourceNotFoundException"


def test_an_unknown_instance_is_refused_once_moto_knows_instances(wire: Wire) -> None:
    """botocore connect model: StartChatContact raises ResourceNotFoundException; moto's connect
    backend keeps the account's instances (``connect.create_instance``)."""
    from moto.connect.models import connect_backends

    wire.start_chat()  # no instance modelled: any InstanceId is taken (see docs/fidelity.rst)
    created = connect_backends[wire.backend.account_id]["us-east-1"].create_instance("CONNECT_MANAGED", True, True)
    with pytest.raises(ClientError) as info:
        wire.start_chat(InstanceId="instance-1")
    assert code(info) == "ResourceNotFoundException"
    assert wire.start_chat(InstanceId=created["Id"])["ContactId"]
    assert wire.start_chat(InstanceId=created["Arn"])["ContactId"]


# -- 3: the websocket URL --------------------------------------------------------------------------


def test_the_websocket_url_has_a_connect_expiry_of_100_seconds(wire: Wire) -> None:
    """CreateParticipantConnection API reference: "The response URL for WEBSOCKET Type has a
    connect expiry timeout of 100s"; the connection token expires after 1 day."""
    contact = wire.start_chat()
    before = datetime.now(timezone.utc)
    response = wire.join(contact["ParticipantToken"], types=("WEBSOCKET", "CONNECTION_CREDENTIALS"))
    expiry = datetime.fromisoformat(response["Websocket"]["ConnectionExpiry"].replace("Z", "+00:00"))
    assert before + timedelta(seconds=99) <= expiry <= before + timedelta(seconds=101)
    token_expiry = datetime.fromisoformat(response["ConnectionCredentials"]["Expiry"].replace("Z", "+00:00"))
    assert timedelta(hours=23) < token_expiry - before <= timedelta(hours=24, seconds=5)


def test_a_websocket_url_cannot_be_opened_after_its_connect_expiry(wire: Wire) -> None:
    """CreateParticipantConnection API reference: "Upon websocket URL expiry, as specified in the
    response ConnectionExpiry parameter, clients need to call this API again"."""
    from websockets.exceptions import InvalidStatus
    from websockets.sync.client import connect as ws_connect

    wire.backend.settings.websocket_connect_timeout = timedelta(milliseconds=1)
    contact = wire.start_chat()
    url = wire.join(contact["ParticipantToken"], types=("WEBSOCKET",))["Websocket"]["Url"]
    expiry_passed = datetime.now(timezone.utc) + timedelta(milliseconds=5)
    while datetime.now(timezone.utc) < expiry_passed:
        pass
    with pytest.raises(InvalidStatus):
        ws_connect(url, open_timeout=5).close()


# -- 4 to 9: the participant operations --------------------------------------------------------------


def test_receipts_are_refused_with_more_than_two_active_participants(wire: Wire) -> None:
    """SendEvent API reference: "Message receipts are not supported when there are more than two
    active participants in the chat. Using the SendEvent API for message receipts when a
    supervisor is barged-in will result in a conflict exception"."""
    contact, token = wire.customer()
    agent = wire.agent(contact)
    message = wire.send(agent)
    receipt = json.dumps({"messageId": message})
    wire.participant.send_event(ConnectionToken=token, ContentType=EVENT + "message.delivered", Content=receipt)
    wire.agent(contact, name="Sue", role="SUPERVISOR")
    for kind in ("message.delivered", "message.read"):
        with pytest.raises(ClientError) as info:
            wire.participant.send_event(ConnectionToken=token, ContentType=EVENT + kind, Content=receipt)
        assert code(info) == "ConflictException"
    wire.participant.send_event(ConnectionToken=token, ContentType=EVENT + "typing")  # other events still go


def test_a_custom_bot_cannot_download_attachments(wire: Wire) -> None:
    """GetAttachment API reference: "The participant role CUSTOM_BOT is not permitted to access
    attachments customers may upload. An AccessDeniedException can indicate that the participant
    may be a CUSTOM_BOT"."""
    contact, token = wire.customer()
    bot = wire.bot(contact)
    start = wire.participant.start_attachment_upload(
        ConnectionToken=token,
        ContentType="text/plain",
        AttachmentSizeInBytes=3,
        AttachmentName="a.txt",
        ClientToken="u",
    )
    meta = start["UploadMetadata"]
    assert requests.put(meta["Url"], data=b"abc", headers=meta["HeadersToInclude"], timeout=10).status_code == 200
    wire.participant.complete_attachment_upload(
        ConnectionToken=token, AttachmentIds=[start["AttachmentId"]], ClientToken="c"
    )
    assert wire.participant.get_attachment(ConnectionToken=token, AttachmentId=start["AttachmentId"])["Url"]
    with pytest.raises(ClientError) as info:
        wire.participant.get_attachment(ConnectionToken=bot, AttachmentId=start["AttachmentId"])
    assert code(info) == "AccessDeniedException"


def test_send_message_takes_only_the_contacts_supported_content_types(wire: Wire) -> None:
    """SendMessage ContentType (botocore model): "Supported types on the contact are configured
    through SupportedMessagingContentTypes on StartChatContact"; StartChatContact: "Content types
    must always contain text/plain" (default text/plain only)."""
    _, plain = wire.customer()
    with pytest.raises(ClientError) as info:
        wire.send(plain, "**bold**", "text/markdown")
    assert code(info) == "ValidationException"
    _, rich = wire.customer(SupportedMessagingContentTypes=["text/plain", "text/markdown"])
    assert wire.send(rich, "**bold**", "text/markdown")
    with pytest.raises(ClientError) as info:
        wire.send(rich, "{}", "application/json")
    assert code(info) == "ValidationException"


def test_content_is_limited_to_16384_bytes_not_characters(wire: Wire) -> None:
    """SendMessage/SendEvent Content (botocore model): "Maximum of 16,384 bytes for all content
    types"; the library's own check counts the same bytes before any call."""
    _, token = wire.customer()
    assert wire.send(token, "é" * 8192)  # 16,384 bytes of UTF-8
    with pytest.raises(ClientError) as info:
        wire.send(token, "é" * 8193)  # 8,193 characters, 16,386 bytes
    assert code(info) == "ValidationException"
    connection = ChatService(client=wire.participant).Connection(token)
    with pytest.raises(InvalidArgumentError, match="bytes"):
        connection.send_message("é" * 8193)
    assert connection.send_message("é" * 8192).id


def test_transcript_scan_direction_defaults(wire: Wire) -> None:
    """GetTranscript ScanDirection (botocore model): "Default: BACKWARD when no StartPosition is
    provided, FORWARD with StartPosition"; SortOrder default DESCENDING."""
    contact, token = wire.customer()
    sent = [wire.send(token, f"m{n}") for n in range(5)]
    newest_first = wire.participant.get_transcript(ConnectionToken=token, MaxResults=3)["Transcript"]
    assert [i["Id"] for i in newest_first] == sent[:1:-1]
    from_second = wire.participant.get_transcript(ConnectionToken=token, StartPosition={"Id": sent[1]}, MaxResults=10)
    # FORWARD from the start position (sorted DESCENDING, the default order)
    assert [i["Id"] for i in from_second["Transcript"]] == sent[:0:-1]
    # the library reads forward from a start id too
    connection = ChatService(client=wire.participant).Connection(token)
    assert [i.id for i in connection.transcript.filter(start_id=sent[1]) if i.is_message] == sent[1:]


def test_an_unknown_start_position_gives_an_empty_page(wire: Wire) -> None:
    """AWS iOS SDK (amazon-connect-chat-ios, ChatService.fetchTranscript) treats an empty response
    as an invalid StartPosition: the service answers with an empty page, not an error."""
    _, token = wire.customer()
    wire.send(token)
    for direction in ("FORWARD", "BACKWARD"):
        page = wire.participant.get_transcript(
            ConnectionToken=token, StartPosition={"Id": "no-such-item"}, ScanDirection=direction
        )
        assert page["Transcript"] == [] and "NextToken" not in page


def test_typing_is_not_kept_in_the_transcript(wire: Wire) -> None:
    """GetTranscript API reference lists the events a transcript contains (participant.invited,
    joined, left, chat.ended, transfer.succeeded/failed): typing is not among them."""
    _, token = wire.customer()
    event = wire.participant.send_event(ConnectionToken=token, ContentType=EVENT + "typing")
    assert event["Id"]
    assert all(i.get("ContentType") != EVENT + "typing" for i in wire.transcript(token))


# -- 10, 11: leaving, connecting ------------------------------------------------------------------------


def test_the_agent_leaving_ends_the_chat(wire: Wire) -> None:
    """A chat captured in tamdilip/whatsapp-amazonconnect-chat issue #3: the agent ends the chat,
    "AGENT :: participant.left" then "undefined :: chat.ended" (no role), and the customer's next
    SendMessage gets AccessDeniedException."""
    contact, token = wire.customer()
    agent = wire.agent(contact)
    wire.participant.disconnect_participant(ConnectionToken=agent)
    items = wire.backend.get_chat(contact["ContactId"]).items
    assert [i["ContentType"] for i in items[-2:]] == [EVENT + "participant.left", EVENT + "chat.ended"]
    with pytest.raises(ClientError) as info:
        wire.send(token)
    assert code(info) == "AccessDeniedException"


def test_create_participant_connection_without_type(wire: Wire) -> None:
    """botocore connectparticipant model: Type is optional; amazon-connect-chatjs agent sessions
    send ``Type=null, ConnectParticipant=true``."""
    contact = wire.start_chat()
    bot = wire.connect.create_participant(
        InstanceId="instance-1",
        ContactId=contact["ContactId"],
        ParticipantDetails={"ParticipantRole": "CUSTOM_BOT", "DisplayName": "Bot"},
    )
    response = wire.participant.create_participant_connection(
        ParticipantToken=bot["ParticipantCredentials"]["ParticipantToken"], ConnectParticipant=True
    )
    assert "ConnectionCredentials" not in response and "Websocket" not in response
    joined = [i for i in wire.backend.get_chat(contact["ContactId"]).items if i.get("DisplayName") == "Bot"]
    assert [i["ContentType"] for i in joined] == [EVENT + "participant.joined"]


# -- 14, 15, 16: shapes, attachments, persistent chat ------------------------------------------------


def _upload(wire: Wire, token: str, name: str = "a.txt", data: bytes = b"abc") -> str:
    start = wire.participant.start_attachment_upload(
        ConnectionToken=token,
        ContentType="text/plain",
        AttachmentSizeInBytes=len(data),
        AttachmentName=name,
        ClientToken=name,
    )
    meta = start["UploadMetadata"]
    assert requests.put(meta["Url"], data=data, headers=meta["HeadersToInclude"], timeout=10).status_code == 200
    wire.participant.complete_attachment_upload(
        ConnectionToken=token, AttachmentIds=[start["AttachmentId"]], ClientToken=name
    )
    return str(start["AttachmentId"])


def test_item_shapes_as_aws_clients_fixtures_show_them(wire: Wire) -> None:
    """amazon-connect-chat-ios AmazonConnectChatIOSTests/Core/Network/WebSocketManagerTests.swift
    (frames captured from the service): ATTACHMENT items have no top-level ContentType; MESSAGEMETADATA items carry no participant fields; chat.ended has no
    role or display name; the customer's participant.joined does not depend on ConnectParticipant."""
    contact = wire.start_chat()
    token = wire.join(contact["ParticipantToken"], connect=False)["ConnectionCredentials"]["ConnectionToken"]
    agent = wire.agent(contact)
    _upload(wire, token)
    message = wire.send(agent)
    receipts: list[dict] = []
    wire.backend.get_chat(contact["ContactId"]).add_listener(
        lambda item: receipts.append(item) if item["Type"] == "MESSAGEMETADATA" else None
    )
    wire.participant.send_event(
        ConnectionToken=token, ContentType=EVENT + "message.read", Content=json.dumps({"messageId": message})
    )
    items = wire.transcript(token)
    assert items[0]["ContentType"] == EVENT + "participant.joined" and items[0]["ParticipantRole"] == "CUSTOMER"
    [attachment] = [i for i in items if i["Type"] == "ATTACHMENT"]
    assert "ContentType" not in attachment and attachment["Attachments"][0]["ContentType"] == "text/plain"
    [metadata] = receipts
    assert not {"ParticipantId", "ParticipantRole", "DisplayName"} & set(metadata)
    wire.connect.stop_contact(ContactId=contact["ContactId"], InstanceId="instance-1")
    ended = wire.backend.get_chat(contact["ContactId"]).items[-1]
    assert ended["Type"] == "EVENT" and ended["ContentType"] == EVENT + "chat.ended"
    assert "ParticipantRole" not in ended and "DisplayName" not in ended


def test_an_oversize_file_is_a_validation_error_too_many_a_quota_error(wire: Wire) -> None:
    """StartAttachmentUpload API reference: ServiceQuotaExceededException "The number of attachments
    per contact exceeds the quota"; a file over the size limit is a ValidationException."""
    contact, token = wire.customer()
    with pytest.raises(ClientError) as info:
        wire.participant.start_attachment_upload(
            ConnectionToken=token,
            ContentType="text/plain",
            AttachmentSizeInBytes=20 * 1024 * 1024 + 1,
            AttachmentName="big.txt",
            ClientToken="big",
        )
    assert code(info) == "ValidationException"
    wire.backend.settings.max_attachments_per_contact = 1
    _upload(wire, token)
    with pytest.raises(ClientError) as info:
        wire.participant.start_attachment_upload(
            ConnectionToken=token,
            ContentType="text/plain",
            AttachmentSizeInBytes=1,
            AttachmentName="b.txt",
            ClientToken="b",
        )
    assert code(info) == "ServiceQuotaExceededException"


def test_persistent_chat_needs_a_rehydration_type_and_brings_the_past_back(wire: Wire) -> None:
    """StartChatContact PersistentChat (botocore connect model): "RehydrationType is required for
    persistent chat"; ENTIRE_PAST_SESSION takes the past session's initial contact id. GetTranscript
    Item.RelatedContactId: "populated only for persistent chats when the transcript item is from the
    past chat session" (ContactId only for the current one)."""
    first, token = wire.customer()
    said = wire.send(token, "from the first chat")
    wire.connect.stop_contact(ContactId=first["ContactId"], InstanceId="instance-1")
    with pytest.raises(ClientError) as info:
        wire.start_chat(PersistentChat={"SourceContactId": first["ContactId"]})
    assert code(info) == "InvalidParameterException"
    second, token = wire.customer(
        PersistentChat={"RehydrationType": "ENTIRE_PAST_SESSION", "SourceContactId": first["ContactId"]}
    )
    assert second["ContinuedFromContactId"] == first["ContactId"]
    items = wire.transcript(token)
    [old] = [i for i in items if i["Id"] == said]
    assert old["RelatedContactId"] == first["ContactId"] and "ContactId" not in old
    new = [i for i in items if i.get("ContactId") == second["ContactId"]]
    assert new and all("RelatedContactId" not in i for i in new)
    assert all(i.get("ContentType") != EVENT + "chat.rehydrated" for i in items)  # pushed, not kept


def test_start_chat_contact_can_return_the_connection(wire: Wire) -> None:
    """StartChatContact ConnectionTypes (botocore connect model): "To receive connection information
    directly in the response, set ConnectionTypes"; "Request CONNECTION_CREDENTIALS on its own and
    the response returns a connection token but no websocket URL. If you omit this parameter, the
    response has no connection information"."""
    plain = wire.start_chat()
    assert "ConnectionCredentials" not in plain and "Websocket" not in plain
    both = wire.start_chat(ConnectionTypes=["WEBSOCKET", "CONNECTION_CREDENTIALS"])
    assert both["Websocket"]["Url"] and both["Websocket"]["ConnectionExpiry"]
    token = both["ConnectionCredentials"]["ConnectionToken"]
    assert wire.send(token)
    only_token = wire.start_chat(ConnectionTypes=["CONNECTION_CREDENTIALS"])
    assert only_token["ConnectionCredentials"]["ConnectionToken"] and "Websocket" not in only_token


def test_the_library_reports_a_bots_refused_download_as_access_denied(wire: Wire) -> None:
    """GetAttachment API reference (CUSTOM_BOT may not access attachments): the library's bot
    connection gets AccessDeniedError, after its one renewal attempt, not a retry loop."""
    from connectparticipant_ext.exceptions import AccessDeniedError

    contact, token = wire.customer()
    attachment_id = _upload(wire, token)
    created = wire.connect.create_participant(
        InstanceId="instance-1",
        ContactId=contact["ContactId"],
        ParticipantDetails={"ParticipantRole": "CUSTOM_BOT", "DisplayName": "Bot"},
    )
    service = ChatService(client=wire.participant)
    bot = service.Participant(created["ParticipantCredentials"]["ParticipantToken"]).create_connection(websocket=False)
    with pytest.raises(AccessDeniedError):
        bot.Attachment(attachment_id).url()
    customer = service.Connection(token)
    assert customer.Attachment(attachment_id).url().startswith("http")


def test_after_the_chat_ends_even_get_transcript_is_refused(wire: Wire) -> None:
    """amazon-connect-chatjs issue #294, maintainer: "once a chat session ends, its ConnectionToken
    expires, making it impossible to access the transcript"."""
    contact, token = wire.customer()
    wire.send(token)
    wire.connect.stop_contact(ContactId=contact["ContactId"], InstanceId="instance-1")
    with pytest.raises(ClientError) as info:
        wire.participant.get_transcript(ConnectionToken=token)
    assert code(info) == "AccessDeniedException"


# -- what the models and the clients' fixtures settle beyond the shapes --------------------------------


def test_get_transcript_for_a_contact_outside_the_chat_is_an_empty_page(wire: Wire) -> None:
    """GetTranscript's modelled errors are AccessDenied, InternalServer, Throttling and Validation
    (no ResourceNotFound); a capture in amazon-connect-chatjs issue #28 shows another contact's
    ContactId answered with 200 and ``"Transcript": []``."""
    _, token = wire.customer()
    other, _ = wire.customer()
    wire.send(token)
    for contact_id in (other["ContactId"], "no-such-contact"):
        page = wire.participant.get_transcript(ConnectionToken=token, ContactId=contact_id)
        assert page["Transcript"] == [] and "NextToken" not in page


def test_unknown_attachment_ids_are_a_validation_error(wire: Wire) -> None:
    """GetAttachment's and CompleteAttachmentUpload's modelled errors hold no ResourceNotFound:
    an id that names no attachment of the chat is invalid input (ValidationException); an id
    over 256 characters breaks ArtifactId's max (connectparticipant model)."""
    _, token = wire.customer()
    lenient = clients(wire.participant.meta.endpoint_url if wire.mode == "server" else None, wire.mode, validate=False)
    for attachment_id in ("no-such-attachment", "a" * 257):
        with pytest.raises(ClientError) as info:
            lenient.participant.get_attachment(ConnectionToken=token, AttachmentId=attachment_id)
        assert code(info) == "ValidationException"
        with pytest.raises(ClientError) as info:
            lenient.participant.complete_attachment_upload(
                ConnectionToken=token, AttachmentIds=[attachment_id], ClientToken="c"
            )
        assert code(info) == "ValidationException"


def test_a_malformed_start_position_is_a_validation_error(wire: Wire) -> None:
    """GetTranscript StartPosition (connectparticipant model): Id is a ChatItemId of 1 to 256
    characters; AbsoluteTime is "specified in ISO 8601 format: yyyy-MM-ddThh:mm:ss.SSSZ" (a time
    without a zone names no instant); only one of Id, AbsoluteTime, MostRecent. An Id of the
    right length that names no item still gives an empty page (the iOS SDK)."""
    _, token = wire.customer()
    lenient = clients(wire.participant.meta.endpoint_url if wire.mode == "server" else None, wire.mode, validate=False)
    for position in (
        {"Id": "i" * 257},
        {"AbsoluteTime": "2024-01-01T00:00:00"},
        {"AbsoluteTime": "yesterday"},
        {"Id": "x", "MostRecent": 3},
    ):
        with pytest.raises(ClientError) as info:
            lenient.participant.get_transcript(ConnectionToken=token, StartPosition=position)
        assert code(info) == "ValidationException", position
    for valid in ("2024-01-01T00:00:00Z", "2024-01-01T00:00:00.123Z", "2024-01-01T02:00:00+02:00"):
        assert "Transcript" in wire.participant.get_transcript(ConnectionToken=token, StartPosition={"AbsoluteTime": valid})


def test_create_participant_and_stop_contact_check_the_instance(wire: Wire) -> None:
    """connect model: CreateParticipant and StopContact take the contact's InstanceId (required)
    and answer ResourceNotFoundException ("The specified resource was not found") for a contact
    the instance does not have. StopContact on a chat that has ended: "Chat and task contacts can
    be terminated in any state", and ContactNotFoundException "Applies to Voice calls only, not to
    Chat or Task contacts" (API reference): it succeeds and changes nothing."""
    contact = wire.start_chat()
    with pytest.raises(ClientError) as info:
        wire.connect.create_participant(
            InstanceId="another-instance",
            ContactId=contact["ContactId"],
            ParticipantDetails={"ParticipantRole": "CUSTOM_BOT", "DisplayName": "Bot"},
        )
    assert code(info) == "ResourceNotFoundException"
    with pytest.raises(ClientError) as info:
        wire.connect.stop_contact(ContactId=contact["ContactId"], InstanceId="another-instance")
    assert code(info) == "ResourceNotFoundException"
    assert not wire.backend.get_chat(contact["ContactId"]).ended
    wire.connect.stop_contact(ContactId=contact["ContactId"], InstanceId="instance-1")
    items = list(wire.backend.get_chat(contact["ContactId"]).items)
    wire.connect.stop_contact(ContactId=contact["ContactId"], InstanceId="instance-1")
    assert wire.backend.get_chat(contact["ContactId"]).items == items


def test_stop_contact_sends_the_agents_participant_left_then_chat_ended(wire: Wire) -> None:
    """amazon-connect-chatjs README ("End Chat": the agent's ``contact.destroy()`` calls the
    StopContact API) and a chat a customer saw end that way (tamdilip/whatsapp-amazonconnect-chat
    issue #3: "AGENT :: participant.left", then "undefined :: chat.ended"). No source shows the
    customer's own participant.left there, so none is sent."""
    contact, token = wire.customer()
    wire.agent(contact)
    wire.connect.stop_contact(ContactId=contact["ContactId"], InstanceId="instance-1")
    items = wire.backend.get_chat(contact["ContactId"]).items
    tail = [(i["ContentType"], i.get("ParticipantRole")) for i in items[-2:]]
    assert tail == [(EVENT + "participant.left", "AGENT"), (EVENT + "chat.ended", None)]
    assert not [i for i in items if i.get("ContentType") == EVENT + "participant.left" and i.get("ParticipantRole") == "CUSTOMER"]


def test_interactive_responses_must_be_json_with_a_non_empty_action(wire: Wire) -> None:
    """AWS's chat widget (amazon-connect-chat-interface ``ChatSession.js``) answers a view with
    ``action: " "``, noting "empty string is not allowed", and sends interactive responses as JSON
    objects (``helper.js``, ``InteractiveMessage.js``)."""
    response_type = "application/vnd.amazonaws.connect.message.interactive.response"
    _, token = wire.customer(SupportedMessagingContentTypes=["text/plain", response_type])
    for content in ("not json", "[1, 2]", '{"action": ""}', '{"action": 3}'):
        with pytest.raises(ClientError) as info:
            wire.send(token, content, response_type)
        assert code(info) == "ValidationException", content
    sent = '{"version": "1.0", "data": {"actionName": "SHOW_MORE"}, "action": "SHOW_MORE"}'
    assert wire.send(token, sent, response_type)


def test_send_interactive_refuses_templates_outside_the_admin_guides_limits(wire: Wire) -> None:
    """Admin guide, "Add Amazon Lex interactive messages": "flows validate that the message format
    follows one of these templates"; templateType, version "1.0", data and content.title are
    mandatory; a list picker offers "up to six choices"; the whole message is under 20 KB. String
    lengths are left to the client ("expected to be enforced by the client")."""
    contact = wire.start_chat()
    element = {"title": "Apple"}

    def picker(**content: Any) -> dict[str, Any]:
        return {"templateType": "ListPicker", "version": "1.0", "data": {"content": {"title": "Pick", **content}}}

    refused = {
        "seven elements": picker(elements=[element] * 7),
        "no version": {k: v for k, v in picker(elements=[element]).items() if k != "version"},
        "unknown type": {**picker(elements=[element]), "templateType": "Slideshow"},
        "no title": {"templateType": "ListPicker", "version": "1.0", "data": {"content": {"elements": [element]}}},
        "an element without a title": picker(elements=[{"subtitle": "x"}]),
        "over 20 KB": picker(elements=[element], subtitle="x" * 21 * 1024),
    }
    for name, template in refused.items():
        with pytest.raises(ValueError) as info:
            wire.backend.send_interactive(contact["ContactId"], template)
        assert str(info.value), name
    long_title = picker(elements=[{"title": "t" * 1000}] * 6)  # string lengths are the client's business
    assert wire.backend.send_interactive(contact["ContactId"], long_title)


def test_a_client_token_retry_repeats_the_first_answer(wire: Wire) -> None:
    """Every ClientToken: "A unique, case-sensitive identifier that you provide to ensure the
    idempotency of the request ... see Making retries safe with idempotent APIs" (both models).
    StartChatContact ConnectionTypes: "When you retry a request with the same ClientToken, the
    response repeats the original contact and can omit a websocket URL if the chat has already
    ended". On the Connect API a retry with other parameters is refused, as that article (Amazon
    Builders' Library) has it; the refusal's code is not documented (InvalidRequestException, the
    operation's invalid-request error)."""
    first = wire.start_chat(ClientToken="start-1", ConnectionTypes=["WEBSOCKET", "CONNECTION_CREDENTIALS"])
    again = wire.start_chat(ClientToken="start-1", ConnectionTypes=["WEBSOCKET", "CONNECTION_CREDENTIALS"])
    assert again["ContactId"] == first["ContactId"] and again["Websocket"] == first["Websocket"]
    with pytest.raises(ClientError) as info:
        wire.start_chat(ClientToken="start-1", ParticipantDetails={"DisplayName": "Someone else"})
    assert code(info) == "InvalidRequestException"
    token = first["ConnectionCredentials"]["ConnectionToken"]
    sent = wire.participant.send_message(ConnectionToken=token, ContentType="text/plain", Content="hi", ClientToken="m1")
    retry = wire.participant.send_message(ConnectionToken=token, ContentType="text/plain", Content="hi", ClientToken="m1")
    assert retry["Id"] == sent["Id"]
    assert [i["Content"] for i in wire.transcript(token) if i.get("Type") == "MESSAGE"].count("hi") == 1
    wire.participant.disconnect_participant(ConnectionToken=token, ClientToken="bye")
    wire.participant.disconnect_participant(ConnectionToken=token, ClientToken="bye")  # the retry succeeds too
    after_end = wire.start_chat(ClientToken="start-1", ConnectionTypes=["WEBSOCKET", "CONNECTION_CREDENTIALS"])
    assert after_end["ContactId"] == first["ContactId"] and "Websocket" not in after_end


def test_a_participant_client_token_reused_with_other_content_is_a_new_request(wire: Wire) -> None:
    """amazon-connect-chatjs 5.0.0 (``src/core/MessageReceiptsUtil.js`` hands the event type to
    ``ChatClient.sendEvent`` as its ClientToken) sends every read receipt of a chat with the
    ClientToken ``INCOMING_READ_RECEIPT``, and AWS's widget shows "Read" under one message after
    another: the Participant Service answers a reused token with other content as a new request,
    and the same content as a retry."""
    contact, customer = wire.customer()
    agent = wire.backend.join_as_agent(contact["ContactId"])
    first, second = agent.send("one"), agent.send("two")
    receipt = EVENT + "message.read"
    answers = [
        wire.participant.send_event(
            ConnectionToken=customer,
            ContentType=receipt,
            Content=json.dumps({"messageId": message_id}),
            ClientToken="INCOMING_READ_RECEIPT",
        )["Id"]
        for message_id in (first, second, second)
    ]
    assert answers[0] != answers[1] and answers[2] == answers[1]  # the third is a retry of the second
    read = {
        item["Id"]
        for item in agent.items()
        if any(r.get("ReadTimestamp") for r in item.get("MessageMetadata", {}).get("Receipts", []))
    }
    assert read == {first, second}
    sent = wire.participant.send_message(ConnectionToken=customer, ContentType="text/plain", Content="a", ClientToken="t")
    edited = wire.participant.send_message(ConnectionToken=customer, ContentType="text/plain", Content="b", ClientToken="t")
    assert edited["Id"] != sent["Id"]
    assert [i["Content"] for i in wire.transcript(customer) if i.get("Type") == "MESSAGE"][-2:] == ["a", "b"]


def test_describe_view_answers_the_models_view_shape(wire: Wire) -> None:
    """connectparticipant model, DescribeView's View: Id ^[a-zA-Z0-9\\_\\-:\\/$]+$, Name 1..255 of its
    pattern, Content.Template and InputSchema strings (JSON in the iOS SDK's fixtures,
    ``ViewResourceTests.swift``); a view ARN is the instance's (``instance/<id>/view/<view id>``)."""
    from connectparticipant_ext.testing.validation import operation_model, violations

    _, token = wire.customer()
    view = wire.participant.describe_view(ConnectionToken=token, ViewToken=wire.backend.register_view())["View"]
    assert violations(operation_model("connectparticipant", "DescribeView").output_shape.members["View"], view) == []
    assert view["Arn"].endswith(f"/view/{view['Id']}") and ":instance/" in view["Arn"]
    assert isinstance(json.loads(view["Content"]["Template"]), dict)
    with pytest.raises(ValueError):
        wire.backend.register_view(name="bad{name}")


def test_connection_acknowledged_is_accepted_though_deprecated(wire: Wire) -> None:
    """SendEvent ContentType (connectparticipant model): connection.acknowledged "is no longer
    maintained since December 31, 2024" but is still listed, so it is accepted (and, like typing,
    not kept in the transcript)."""
    _, token = wire.customer()
    answer = wire.participant.send_event(ConnectionToken=token, ContentType=EVENT + "connection.acknowledged")
    assert answer["Id"]
    assert all(i.get("ContentType") != EVENT + "connection.acknowledged" for i in wire.transcript(token))
