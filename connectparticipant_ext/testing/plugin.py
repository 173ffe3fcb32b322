"""pytest plugin (registered through the ``pytest11`` entry point).

Importing it registers the chat backend with moto, so ``with mock_aws():`` works in any test.
Fixtures, each function-scoped:

* ``aws_credentials``: fake credentials and region in the environment (nothing reaches AWS).
* ``mock_chat``: ``mock_aws`` active; yields the :class:`ChatBackend` of the default account
  in us-east-1, whose switches a test can turn (faults, token lifetimes, verdicts, ...).
* ``connect_client``: a boto3 ``connect`` client (us-east-1).
* ``chat_contact``: the ``start_chat_contact`` response for a customer named "Ann".
* ``chat``: a :class:`~connectparticipant_ext.ChatService` for us-east-1.
* ``participant``: the customer's :class:`~connectparticipant_ext.Participant`.
* ``connection``: the customer's :class:`~connectparticipant_ext.Connection` (disconnected
  afterwards if still open).
* ``agent``: a second participant's connection (role AGENT, "Bob") in the same chat.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import pytest

from . import get_chat_backend

if TYPE_CHECKING:
    from botocore.client import BaseClient

    from connectparticipant_ext import ChatService, Connection, Participant

    from .models import ChatBackend

INSTANCE_ID = "instance-1"
CONTACT_FLOW_ID = "flow-1"

_data_loader: Any = None  # botocore's loader, holding the service models it has parsed


def _boto3_session() -> Any:
    """A new boto3 session (credentials and region read afresh) that reuses parsed service data.

    ``mock_aws`` drops boto3's default session, so ``boto3.client("connect")`` would build a
    session, and parse the ``connect`` service's JSON model (several MB), for every test: most
    of a moto-backed test's setup. The parsed models never change; only they are shared.
    """
    import boto3
    import botocore.loaders
    import botocore.session

    global _data_loader
    if _data_loader is None:
        _data_loader = botocore.loaders.create_loader()
    core = botocore.session.Session()
    core.register_component("data_loader", _data_loader)
    return boto3.session.Session(botocore_session=core)


@pytest.fixture
def aws_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    """Fake credentials and a default region, so no test can reach a real account."""
    for name, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SECURITY_TOKEN": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
    }.items():
        monkeypatch.setenv(name, value)


@pytest.fixture
def mock_chat(aws_credentials: None) -> Iterator[ChatBackend]:
    """``mock_aws`` active for the test; yields the default account's us-east-1 chat backend."""
    from moto import mock_aws

    with mock_aws():
        yield get_chat_backend()


@pytest.fixture
def connect_client(mock_chat: ChatBackend) -> BaseClient:
    client: BaseClient = _boto3_session().client("connect", region_name="us-east-1")
    return client


@pytest.fixture
def chat_contact(connect_client: BaseClient) -> dict[str, Any]:
    """A started chat: ``ContactId``, ``ParticipantId``, ``ParticipantToken`` of customer Ann."""
    response: dict[str, Any] = connect_client.start_chat_contact(
        InstanceId=INSTANCE_ID, ContactFlowId=CONTACT_FLOW_ID, ParticipantDetails={"DisplayName": "Ann"}
    )
    return response


@pytest.fixture
def chat(mock_chat: ChatBackend) -> ChatService:
    from connectparticipant_ext import ChatService

    return ChatService(region_name="us-east-1")


@pytest.fixture
def participant(chat: ChatService, chat_contact: dict[str, Any]) -> Participant:
    return chat.Participant(chat_contact["ParticipantToken"])


@pytest.fixture
def connection(participant: Participant) -> Iterator[Connection]:
    conn = participant.create_connection()
    yield conn
    if not conn.closed:
        try:
            conn.disconnect()
        except Exception:  # the test may have ended the chat; nothing left to clean up
            pass


@pytest.fixture
def agent(chat: ChatService, connect_client: BaseClient, chat_contact: dict[str, Any]) -> Connection:
    """An agent ("Bob") connected to the same chat as ``connection``."""
    # Connect's create_participant adds only CUSTOM_BOT participants to a chat; an agent comes
    # through routing, which the backend control stands in for.
    response = get_chat_backend().add_participant(chat_contact["ContactId"], "AGENT", "Bob")
    return chat.Participant(response["ParticipantCredentials"]["ParticipantToken"]).create_connection()
