"""Fixtures of the fidelity tests (the helpers are in fidelity_wire.py)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fidelity_wire import Wire, clients
from moto import mock_aws

from connectparticipant_ext.testing import get_chat_backend
from connectparticipant_ext.testing.server import LocalServer


@pytest.fixture(params=["mock_aws", "server"])
def wire(request: pytest.FixtureRequest, aws_credentials: None) -> Iterator[Wire]:
    """The backend in-process (``mock_aws``) and behind LocalServer (``server``)."""
    if request.param == "mock_aws":
        with mock_aws():
            yield clients(None, "mock_aws")
            get_chat_backend().reset()
    else:
        with LocalServer() as server:
            yield clients(server.endpoint_url, "server")
            get_chat_backend().reset()
