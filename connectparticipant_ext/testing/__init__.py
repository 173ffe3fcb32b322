"""An in-memory Amazon Connect chat for tests, plugged into moto.

Importing this module (or just having the package installed: its pytest plugin imports it)
makes a plain ``with moto.mock_aws():`` serve ``connect.start_chat_contact``,
``connect.create_participant``, ``connect.stop_contact`` and all eleven
``connectparticipant`` operations in-process, with moto's account/region isolation and reset::

    import boto3
    from moto import mock_aws
    import connectparticipant_ext.testing

    with mock_aws():
        connect = boto3.client("connect", region_name="us-east-1")
        contact = connect.start_chat_contact(
            InstanceId="instance", ContactFlowId="flow", ParticipantDetails={"DisplayName": "Ann"}
        )
        backend = connectparticipant_ext.testing.get_chat_backend()
        backend.inject_faults(throttling=0.2, seed=1)

The same backend runs as a local HTTP server: :class:`~connectparticipant_ext.testing.server.LocalServer`
and ``connectparticipant-ext serve``.
"""

from __future__ import annotations

from moto.core.models import DEFAULT_ACCOUNT_ID

from ._registration import register
from .agent import BackendAgent
from .models import ChatBackend, chat_backends
from .state import Chat, ChatSettings

__all__ = [
    "BackendAgent",
    "Chat",
    "ChatBackend",
    "ChatSettings",
    "DEFAULT_ACCOUNT_ID",
    "chat_backends",
    "get_chat_backend",
]

register()


def get_chat_backend(account_id: str = DEFAULT_ACCOUNT_ID, region_name: str = "us-east-1") -> ChatBackend:
    """The chat backend of an account and region (the default account, us-east-1 by default)."""
    return chat_backends[account_id][region_name]
