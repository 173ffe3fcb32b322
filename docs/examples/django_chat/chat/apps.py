from __future__ import annotations

from django.apps import AppConfig


class ChatConfig(AppConfig):
    name = "chat"
    verbose_name = "Amazon Connect chat"

    def ready(self) -> None:
        # Connects the receiver that rebuilds the shared clients when CONNECT_* settings change.
        from . import services  # noqa: F401
