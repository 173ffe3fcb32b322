"""Old name of :mod:`connectparticipant_ext.testing.contact_streaming` (message streaming in the
backend), kept so that imports from it go on working."""

from __future__ import annotations

from .contact_streaming import MAX_TOPICS_PER_CONTACT, STREAMED_EVENTS, StreamingState, is_streamed, streaming_state

__all__ = ["MAX_TOPICS_PER_CONTACT", "STREAMED_EVENTS", "StreamingState", "is_streamed", "streaming_state"]
