"""WebRTC connection details: asked for with webrtc=True, typed, redacted, serialised for the
Chime SDK; in-process and over the local server.

Shapes: botocore's connectparticipant model (WebRTCConnection, WebRTCMeeting,
WebRTCMediaPlacement, MeetingFeaturesConfiguration, Attendee; JoinToken is ``sensitive``).
to_dict(): the keys amazon-chime-sdk-js's MeetingSessionConfiguration reads.
"""

from __future__ import annotations

import logging

import pytest

from connectparticipant_ext import ChatService, InvalidArgumentTypeError, WebRTCConnection
from connectparticipant_ext.webrtc import Attendee, MediaPlacement, Meeting

from _helpers import start_chat

RESPONSE = {
    "Meeting": {
        "MediaPlacement": {
            "AudioHostUrl": "abc.k.m3.ue1.app.chime.aws:3478",
            "AudioFallbackUrl": "wss://haxrp.m3.ue1.app.chime.aws:443/calls/m-1",
            "SignalingUrl": "wss://signal.m3.ue1.app.chime.aws/control/m-1",
            "EventIngestionUrl": "https://data.svc.ue1.ingest.chime.aws/v1/client-events",
        },
        "MeetingFeatures": {"Audio": {"EchoReduction": "AVAILABLE"}},
        "MeetingId": "6f1b8a52-8e7b-4a36-9a47-3f1c2d4e5a6b",
    },
    "Attendee": {"AttendeeId": "a-1", "JoinToken": "SECRET-JOIN-TOKEN"},
}


def test_from_response_is_typed():
    webrtc = WebRTCConnection.from_response(RESPONSE)
    assert isinstance(webrtc.meeting, Meeting) and isinstance(webrtc.attendee, Attendee)
    assert webrtc.meeting.meeting_id == "6f1b8a52-8e7b-4a36-9a47-3f1c2d4e5a6b"
    placement = webrtc.meeting.media_placement
    assert isinstance(placement, MediaPlacement)
    assert placement.audio_host_url == "abc.k.m3.ue1.app.chime.aws:3478"
    assert placement.audio_fallback_url.startswith("wss://haxrp.")
    assert placement.signaling_url.startswith("wss://signal.")
    assert placement.event_ingestion_url.endswith("/client-events")
    assert webrtc.meeting.meeting_features.echo_reduction == "AVAILABLE"
    assert (webrtc.attendee.attendee_id, webrtc.attendee.join_token) == ("a-1", "SECRET-JOIN-TOKEN")


def test_join_token_is_never_in_a_repr_or_str():
    webrtc = WebRTCConnection.from_response(RESPONSE)
    for text in (repr(webrtc), str(webrtc), repr(webrtc.attendee), str(webrtc.attendee), f"{webrtc}"):
        assert "SECRET-JOIN-TOKEN" not in text
    assert "a-1" in repr(webrtc.attendee)


def test_to_dict_is_what_the_chime_sdk_takes():
    data = WebRTCConnection.from_response(RESPONSE).to_dict()
    assert data == {
        "Meeting": {
            "MeetingId": "6f1b8a52-8e7b-4a36-9a47-3f1c2d4e5a6b",
            "MediaPlacement": RESPONSE["Meeting"]["MediaPlacement"],
            "MeetingFeatures": {"Audio": {"EchoReduction": "AVAILABLE"}},
        },
        "Attendee": {"AttendeeId": "a-1", "JoinToken": "SECRET-JOIN-TOKEN"},
    }
    # MeetingSessionConfiguration lower-cases the keys and reads these (amazon-chime-sdk-js).
    meeting = {k.lower(): v for k, v in data["Meeting"].items()}
    placement = {k.lower(): v for k, v in meeting["mediaplacement"].items()}
    attendee = {k.lower(): v for k, v in data["Attendee"].items()}
    assert meeting["meetingid"] and placement["audiohosturl"] and placement["signalingurl"]
    assert attendee["attendeeid"] and attendee["jointoken"]


def test_partial_and_unknown_fields_are_tolerated():
    webrtc = WebRTCConnection.from_response({"Meeting": {"MeetingId": "m", "NewThing": 1}, "Extra": True})
    assert webrtc.meeting.meeting_id == "m"
    assert webrtc.meeting.media_placement == MediaPlacement()
    assert webrtc.meeting.meeting_features is None
    assert webrtc.attendee == Attendee()
    assert webrtc.to_dict() == {"Meeting": {"MeetingId": "m", "MediaPlacement": {}}, "Attendee": {}}


def _types_sent(chat):
    sent: list[list[str]] = []

    def record(params, **kwargs):
        sent.append(list(params.get("Type", [])))

    chat.meta.client.meta.events.register(
        "provide-client-params.connectparticipant.CreateParticipantConnection", record
    )
    return sent


def test_create_connection_asks_for_webrtc(chat, participant, caplog):
    sent = _types_sent(chat)
    caplog.set_level(logging.DEBUG)
    conn = participant.create_connection(webrtc=True)
    assert sent == [["CONNECTION_CREDENTIALS", "WEBSOCKET", "WEBRTC_CONNECTION"]]
    webrtc = conn.webrtc
    assert isinstance(webrtc, WebRTCConnection)
    assert webrtc.meeting.meeting_id and webrtc.attendee.attendee_id and webrtc.attendee.join_token
    assert webrtc.meeting.media_placement.audio_host_url
    assert webrtc.meeting.media_placement.signaling_url.startswith("wss://")
    token = webrtc.attendee.join_token
    assert token not in repr(conn) and token not in str(conn)
    assert token not in caplog.text
    conn.disconnect()


def test_without_webrtc_there_is_none(chat, participant):
    sent = _types_sent(chat)
    conn = participant.create_connection()
    assert sent == [["CONNECTION_CREDENTIALS", "WEBSOCKET"]]
    assert conn.webrtc is None
    conn.disconnect()


def test_webrtc_must_be_a_bool(participant, wire_calls):
    with pytest.raises(InvalidArgumentTypeError, match="webrtc"):
        participant.create_connection(webrtc="yes")
    assert wire_calls == []


def test_participants_of_a_chat_share_the_meeting(chat, participant, connect_client, chat_contact):
    customer = participant.create_connection(webrtc=True)
    response = connect_client.create_participant(
        InstanceId="instance-1",
        ContactId=chat_contact["ContactId"],
        ParticipantDetails={"DisplayName": "Bot", "ParticipantRole": "CUSTOM_BOT"},
    )
    other = chat.Participant(response["ParticipantCredentials"]["ParticipantToken"]).create_connection(webrtc=True)
    assert customer.webrtc.meeting == other.webrtc.meeting
    assert customer.webrtc.attendee.attendee_id != other.webrtc.attendee.attendee_id
    again = participant.create_connection(connect_participant=False, webrtc=True)
    assert again.webrtc.attendee == customer.webrtc.attendee  # one attendee per participant


def test_renewal_keeps_the_webrtc_details(participant):
    conn = participant.create_connection(webrtc=True)
    before = conn.webrtc
    conn.renew()
    assert conn.renewals == 1 and conn.webrtc == before


def test_webrtc_over_the_local_server(local_server):
    import boto3

    connect = boto3.client("connect", region_name="us-east-1", endpoint_url=local_server.endpoint_url)
    contact = start_chat(connect)
    chat = ChatService(region_name="us-east-1", endpoint_url=local_server.endpoint_url)
    conn = chat.Participant(contact["ParticipantToken"]).create_connection(webrtc=True)
    data = conn.webrtc.to_dict()
    assert set(data) == {"Meeting", "Attendee"}
    assert data["Meeting"]["MediaPlacement"]["AudioHostUrl"]
    assert data["Attendee"]["JoinToken"] == conn.webrtc.attendee.join_token
    # the raw answer is botocore's shape, so any SDK reads it
    raw = chat.meta.client.create_participant_connection(
        ParticipantToken=contact["ParticipantToken"], Type=["WEBRTC_CONNECTION"], ConnectParticipant=False
    )
    assert set(raw["WebRTCConnection"]) == {"Meeting", "Attendee"}
    assert "ConnectionCredentials" not in raw
    conn.disconnect()
