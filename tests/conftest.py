"""Shared fixtures. The chat backend's own fixtures (``mock_chat``, ``connect_client``,
``chat_contact``, ``chat``, ``participant``, ``connection``, ``agent``) come from the
package's pytest plugin, ``connectparticipant_ext.testing.plugin``."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
from botocore.retries import standard
from hypothesis import settings

# CI runs the property tests on a fixed sequence of examples (a red CI run is reproducible);
# local runs explore new examples each time, which is how the year-999 timestamp bug was found.
settings.register_profile("ci", derandomize=True)
if os.environ.get("CI", "").lower() == "true":
    settings.load_profile("ci")


@pytest.fixture
def no_backoff(monkeypatch: pytest.MonkeyPatch) -> None:
    """botocore's retries without their sleeps: the retry logic stays botocore's own."""
    monkeypatch.setattr(standard.ExponentialBackoff, "delay_amount", lambda self, context: 0)


@pytest.fixture
def wire_calls(chat) -> Iterator[list[str]]:
    """The names of the connectparticipant operations the client is asked to make, in order."""
    calls: list[str] = []
    events = chat.meta.client.meta.events

    def record(model, **kwargs) -> None:
        calls.append(model.name)

    events.register("before-call.connectparticipant", record, unique_id="wire-calls-recorder")
    try:
        yield calls
    finally:
        events.unregister("before-call.connectparticipant", unique_id="wire-calls-recorder")
