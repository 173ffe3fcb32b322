"""WebRTC connection details (``CreateParticipantConnection`` with ``Type`` ``WEBRTC_CONNECTION``).

For in-app, web and video calling the service answers with an Amazon Chime SDK meeting and
attendee, which a client hands to the Chime SDK to join the call. The shapes follow
botocore's ``connectparticipant`` model (``WebRTCConnection``, ``WebRTCMeeting``,
``WebRTCMediaPlacement``, ``MeetingFeaturesConfiguration``, ``Attendee``); the attendee's
``JoinToken`` is marked ``sensitive`` there and is kept out of every ``repr`` and ``str`` here.

:meth:`WebRTCConnection.to_dict` gives the JSON the Chime SDK for JavaScript's
``MeetingSessionConfiguration`` constructor takes (amazon-chime-sdk-js,
``src/meetingsession/MeetingSessionConfiguration.ts``: ``new MeetingSessionConfiguration(
meetingResponse, attendeeResponse)`` with the ``Meeting``/``Attendee`` keys of the Chime API),
so a web view can pass it to the browser::

    details = conn.webrtc.to_dict()
    # in the browser: new MeetingSessionConfiguration(details.Meeting, details.Attendee)

The join token is valid for the participant's lifetime in the call; after 60 s away the
participant must be created again (botocore's CreateParticipantConnection documentation).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Optional

import attrs

__all__ = ["Attendee", "MediaPlacement", "Meeting", "MeetingFeatures", "WebRTCConnection"]


def _str(value: Any) -> Optional[str]:
    return value if isinstance(value, str) else None


def _mapping(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _drop_none(data: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in data.items() if value is not None}


@attrs.frozen(kw_only=True)
class MediaPlacement:
    """The endpoints a Chime SDK client connects to (``WebRTCMediaPlacement``)."""

    audio_host_url: Optional[str] = None
    audio_fallback_url: Optional[str] = None
    signaling_url: Optional[str] = None
    event_ingestion_url: Optional[str] = None

    @classmethod
    def from_response(cls, data: Mapping[str, Any]) -> MediaPlacement:
        return cls(
            audio_host_url=_str(data.get("AudioHostUrl")),
            audio_fallback_url=_str(data.get("AudioFallbackUrl")),
            signaling_url=_str(data.get("SignalingUrl")),
            event_ingestion_url=_str(data.get("EventIngestionUrl")),
        )

    def to_dict(self) -> dict[str, Any]:
        return _drop_none(
            {
                "AudioHostUrl": self.audio_host_url,
                "AudioFallbackUrl": self.audio_fallback_url,
                "SignalingUrl": self.signaling_url,
                "EventIngestionUrl": self.event_ingestion_url,
            }
        )


@attrs.frozen(kw_only=True)
class MeetingFeatures:
    """The meeting's features (``MeetingFeaturesConfiguration``): echo reduction's status."""

    echo_reduction: Optional[str] = None
    """``AVAILABLE`` or ``UNAVAILABLE`` (``Audio.EchoReduction``), or None when not given."""

    @classmethod
    def from_response(cls, data: Mapping[str, Any]) -> MeetingFeatures:
        return cls(echo_reduction=_str(_mapping(data.get("Audio")).get("EchoReduction")))

    def to_dict(self) -> dict[str, Any]:
        return {"Audio": {"EchoReduction": self.echo_reduction}} if self.echo_reduction else {}


@attrs.frozen(kw_only=True)
class Meeting:
    """The Amazon Chime SDK meeting of the call (``WebRTCMeeting``)."""

    meeting_id: Optional[str] = None
    media_placement: MediaPlacement = attrs.field(factory=MediaPlacement)
    meeting_features: Optional[MeetingFeatures] = None

    @classmethod
    def from_response(cls, data: Mapping[str, Any]) -> Meeting:
        features = data.get("MeetingFeatures")
        return cls(
            meeting_id=_str(data.get("MeetingId")),
            media_placement=MediaPlacement.from_response(_mapping(data.get("MediaPlacement"))),
            meeting_features=MeetingFeatures.from_response(features) if isinstance(features, Mapping) else None,
        )

    def to_dict(self) -> dict[str, Any]:
        """The meeting with the Chime API's key names (``MeetingId``, ``MediaPlacement``, ...)."""
        data: dict[str, Any] = {"MeetingId": self.meeting_id, "MediaPlacement": self.media_placement.to_dict()}
        if self.meeting_features is not None and self.meeting_features.to_dict():
            data["MeetingFeatures"] = self.meeting_features.to_dict()
        return _drop_none(data)


@attrs.frozen(kw_only=True)
class Attendee:
    """This participant as a Chime SDK attendee: its id and join token (a secret)."""

    attendee_id: Optional[str] = None
    join_token: Optional[str] = attrs.field(default=None, repr=False)
    """The attendee's credential for the meeting: never shown in ``repr``/``str``."""

    @classmethod
    def from_response(cls, data: Mapping[str, Any]) -> Attendee:
        return cls(attendee_id=_str(data.get("AttendeeId")), join_token=_str(data.get("JoinToken")))

    def to_dict(self) -> dict[str, Any]:
        """The attendee with the Chime API's key names, join token included (it is what joins)."""
        return _drop_none({"AttendeeId": self.attendee_id, "JoinToken": self.join_token})


@attrs.frozen(kw_only=True)
class WebRTCConnection:
    """A participant's WebRTC connection details: the meeting and this participant's attendee."""

    meeting: Meeting
    attendee: Attendee

    @classmethod
    def from_response(cls, data: Mapping[str, Any]) -> WebRTCConnection:
        """Build from a ``CreateParticipantConnection`` response's ``WebRTCConnection``."""
        return cls(
            meeting=Meeting.from_response(_mapping(data.get("Meeting"))),
            attendee=Attendee.from_response(_mapping(data.get("Attendee"))),
        )

    def to_dict(self) -> dict[str, Any]:
        """``{"Meeting": {...}, "Attendee": {...}}`` for the Chime SDK's ``MeetingSessionConfiguration``.

        The result holds the join token: send it only to the participant's own browser or
        app (over HTTPS), never to a log.
        """
        return {"Meeting": self.meeting.to_dict(), "Attendee": self.attendee.to_dict()}
