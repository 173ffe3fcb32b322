"""URL map of the Participant Service, in moto's ``url_bases`` / ``url_paths`` form."""

from __future__ import annotations

from .responses import ConnectParticipantResponse

url_bases = [
    r"https?://participant\.connect(?:-fips)?\.(.+)\.amazonaws\.com",
]

url_paths = {
    "{0}/participant/.*$": ConnectParticipantResponse.dispatch,
}
