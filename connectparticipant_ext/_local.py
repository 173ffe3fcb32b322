"""The local server's defaults, and what counts as this machine; importable without moto (the
CLI builds its parser from them)."""

from __future__ import annotations

import ipaddress

DEFAULT_PORT = 2428
"""``serve``'s port unless told otherwise ("CHAT" on a phone keypad): not 5000, which macOS's
AirPlay receiver takes, nor another port a common development tool defaults to."""

DEFAULT_INSTANCE_ID = "demo-instance"
DEFAULT_CONTACT_FLOW_ID = "demo-contact-flow"
"""The chats the CLI and ``POST /start-chat`` start when told no instance or flow."""


def is_loopback_host(host: str) -> bool:
    """True when ``host`` (a URL's host name, without port or brackets) is this machine:
    ``localhost``, a name under ``.localhost`` (RFC 6761 keeps them for loopback), 127.0.0.0/8
    or ``::1``."""
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
