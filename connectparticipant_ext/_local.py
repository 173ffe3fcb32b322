"""The local server's defaults, importable without moto (the CLI builds its parser from them)."""

from __future__ import annotations

DEFAULT_PORT = 2428
"""``serve``'s port unless told otherwise ("CHAT" on a phone keypad): not 5000, which macOS's
AirPlay receiver takes, nor another port a common development tool defaults to."""

DEFAULT_INSTANCE_ID = "demo-instance"
DEFAULT_CONTACT_FLOW_ID = "demo-contact-flow"
"""The chats the CLI and ``POST /start-chat`` start when told no instance or flow."""
