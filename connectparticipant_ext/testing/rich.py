"""Old home of the backend's interactive, authentication and WebRTC parts, kept so that imports from
it go on working: the operations' state is now in :mod:`.authentication` and :mod:`.webrtc`, the
test controls (``send_interactive``, ``initiate_authentication``, ``finish_authentication``,
``authentication_sessions``) in :mod:`.controls` with the others."""

from __future__ import annotations

from .authentication import AUTHENTICATION_OUTCOMES
from .controls import ChatControls
from .state import INTERACTIVE

__all__ = ["AUTHENTICATION_OUTCOMES", "INTERACTIVE_CONTENT_TYPE", "RichControls"]

INTERACTIVE_CONTENT_TYPE = INTERACTIVE
RichControls = ChatControls
"""The class that holds the interactive and authentication controls now."""
