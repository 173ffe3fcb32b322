"""WebRTC in the backend: ``CreateParticipantConnection`` with ``WEBRTC_CONNECTION``.

The answer follows botocore's ``WebRTCConnection`` shape: one Chime meeting per chat
(``MeetingId``, ``MediaPlacement`` URLs, ``MeetingFeatures``) and one attendee per participant
(``AttendeeId``, ``JoinToken``). A chat contact answers ``WEBRTC_CONNECTION`` as a WebRTC contact
would; the service's answer for a chat that has no call is not documented.
"""

from __future__ import annotations

import base64
import json
import os
import threading
import uuid
from typing import Any

from .base import ChatBackendBase
from .state import Chat, ChatParticipant

__all__ = ["WebRTCMeetings"]


class WebRTCMeetings(ChatBackendBase):
    """The meetings and attendees of the backend's chats (a mixin of ``ChatBackend``)."""

    def __init__(self, region_name: str, account_id: str) -> None:
        super().__init__(region_name, account_id)
        self._webrtc_lock = threading.Lock()
        self._meetings: dict[str, dict[str, Any]] = {}
        self._attendees: dict[tuple[str, str], dict[str, Any]] = {}

    def _webrtc_connection(self, chat: Chat, participant: ChatParticipant) -> dict[str, Any]:
        """The ``WebRTCConnection`` of a participant: the chat's meeting and its own attendee."""
        region = _chime_region(self.region_name)
        with self._webrtc_lock:
            meeting = self._meetings.get(chat.contact_id)
            if meeting is None:
                meeting_id = str(uuid.uuid4())
                meeting = {
                    "MeetingId": meeting_id,
                    "MediaPlacement": {
                        "AudioHostUrl": f"{os.urandom(16).hex()}.k.m3.{region}.app.chime.aws:3478",
                        "AudioFallbackUrl": f"wss://haxrp.m3.{region}.app.chime.aws:443/calls/{meeting_id}",
                        "SignalingUrl": f"wss://signal.m3.{region}.app.chime.aws/control/{meeting_id}",
                        "EventIngestionUrl": f"https://data.svc.{region}.ingest.chime.aws/v1/client-events",
                    },
                    "MeetingFeatures": {"Audio": {"EchoReduction": "AVAILABLE"}},
                }
                self._meetings[chat.contact_id] = meeting
            key = (chat.contact_id, participant.participant_id)
            attendee = self._attendees.get(key)
            if attendee is None:
                attendee = {
                    "AttendeeId": str(uuid.uuid4()),
                    "JoinToken": base64.b64encode(os.urandom(48)).decode("ascii"),
                }
                self._attendees[key] = attendee
            return {"Meeting": json.loads(json.dumps(meeting)), "Attendee": dict(attendee)}


def _chime_region(region_name: str) -> str:
    """Chime's short region code in its hostnames (us-east-1 -> ue1), as its media URLs show."""
    parts = region_name.split("-")
    if len(parts) == 3 and parts[2].isdigit():
        return f"{parts[0][0]}{parts[1][0]}{parts[2]}"
    return region_name
