"""Shared pieces of the fidelity tests: the same clients in-process (mock_aws) and over the wire.

Every fidelity test runs twice, through ``wire`` parametrised as ``mock_aws`` and ``server``
(the backend's LocalServer on 127.0.0.1), so ``serve`` and ``mock_aws`` behave the same.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import boto3
import botocore
import pytest
from botocore.client import Config
from botocore.exceptions import ClientError
from websockets.sync.client import ClientConnection
from websockets.sync.client import connect as ws_connect

from connectparticipant_ext.testing import ChatBackend, get_chat_backend

from _helpers import WAIT


@dataclass
class Wire:
    """boto3 clients for Connect and the Participant Service, and the backend behind them."""

    connect: Any
    participant: Any
    mode: str

    @property
    def backend(self) -> ChatBackend:
        return get_chat_backend()

    def start_chat(self, **extra: Any) -> dict[str, Any]:
        params: dict[str, Any] = {
            "InstanceId": "instance-1",
            "ContactFlowId": "flow-1",
            "ParticipantDetails": {"DisplayName": "Ann"},
        }
        params.update(extra)
        response: dict[str, Any] = self.connect.start_chat_contact(**params)
        return response

    def join(
        self, participant_token: str, connect: bool = True, types: tuple[str, ...] = ("CONNECTION_CREDENTIALS",)
    ) -> dict[str, Any]:
        response: dict[str, Any] = self.participant.create_participant_connection(
            ParticipantToken=participant_token, Type=list(types), ConnectParticipant=connect
        )
        return response

    def customer(self, **extra: Any) -> tuple[dict[str, Any], str]:
        contact = self.start_chat(**extra)
        return contact, self.join(contact["ParticipantToken"])["ConnectionCredentials"]["ConnectionToken"]

    def agent(self, contact: dict[str, Any], name: str = "Bob", role: str = "AGENT") -> str:
        token = self.backend.add_participant(contact["ContactId"], role, name)["ParticipantCredentials"][
            "ParticipantToken"
        ]
        return str(self.join(token)["ConnectionCredentials"]["ConnectionToken"])

    def bot(self, contact: dict[str, Any], name: str = "Bot") -> str:
        created = self.connect.create_participant(
            InstanceId="instance-1",
            ContactId=contact["ContactId"],
            ParticipantDetails={"ParticipantRole": "CUSTOM_BOT", "DisplayName": name},
        )
        return str(
            self.join(created["ParticipantCredentials"]["ParticipantToken"])["ConnectionCredentials"]["ConnectionToken"]
        )

    def send(self, token: str, content: str = "hello", content_type: str = "text/plain") -> str:
        return str(
            self.participant.send_message(ConnectionToken=token, Content=content, ContentType=content_type)["Id"]
        )

    def transcript(self, token: str) -> list[dict[str, Any]]:
        """The whole transcript, oldest first."""
        params: dict[str, Any] = {
            "ScanDirection": "FORWARD",
            "SortOrder": "ASCENDING",
            "StartPosition": {"AbsoluteTime": "1970-01-01T00:00:00.000Z"},
            "MaxResults": 100,
        }
        items: list[dict[str, Any]] = []
        while True:
            page = self.participant.get_transcript(ConnectionToken=token, **params)
            items += page["Transcript"]
            if "NextToken" not in page:
                return items
            params["NextToken"] = page["NextToken"]


def clients(endpoint_url: str | None, mode: str, validate: bool = True) -> Wire:
    credentials = {"aws_access_key_id": "testing", "aws_secret_access_key": "testing"}
    connect = boto3.client(
        "connect",
        region_name="us-east-1",
        endpoint_url=endpoint_url,
        config=Config(parameter_validation=validate, retries={"total_max_attempts": 1}),
        **credentials,
    )
    participant = boto3.client(
        "connectparticipant",
        region_name="us-east-1",
        endpoint_url=endpoint_url,
        config=Config(
            signature_version=botocore.UNSIGNED, parameter_validation=validate, retries={"total_max_attempts": 1}
        ),
    )
    return Wire(connect, participant, mode)


def code(info: pytest.ExceptionInfo[ClientError]) -> str:
    return str(info.value.response["Error"]["Code"])


class Socket:
    """A bare websocket client of the design's frames, subscribed to aws/chat."""

    def __init__(self, url: str) -> None:
        self.connection: ClientConnection = ws_connect(url, open_timeout=WAIT).__enter__()
        self.connection.send(json.dumps({"topic": "aws/subscribe", "content": {"topics": ["aws/chat"]}}))
        self.items: list[dict[str, Any]] = []
        self._early: list[dict[str, Any]] = []
        for _ in range(1000):  # wait for the subscription: only then is every new item pushed
            frame = json.loads(self.connection.recv(timeout=WAIT))
            if frame.get("topic") == "aws/subscribe":
                assert frame["content"]["status"] == "success", frame
                break
            if frame.get("topic") == "aws/chat":
                self._early.append(json.loads(frame["content"]))

    def close(self) -> None:
        self.connection.__exit__(None, None, None)

    def __enter__(self) -> Socket:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def until(self, done: Callable[[dict[str, Any]], bool]) -> list[dict[str, Any]]:
        """Read chat items until one satisfies ``done``; returns every item read so far."""
        for _ in range(1000):
            if self._early:
                item = self._early.pop(0)
            else:
                frame = json.loads(self.connection.recv(timeout=WAIT))
                if frame.get("topic") != "aws/chat":
                    continue
                item = json.loads(frame["content"])
            self.items.append(item)
            if done(item):
                return self.items
        raise AssertionError("the awaited item never came")

    def closed_by_server(self) -> bool:
        """True once the server has closed the socket (reads what is left first)."""
        from websockets.exceptions import ConnectionClosed

        try:
            for _ in range(1000):
                self.connection.recv(timeout=WAIT)
        except ConnectionClosed:
            return True
        except TimeoutError:
            return False
        return False


def of_type(content_type: str) -> Callable[[dict[str, Any]], bool]:
    return lambda item: item.get("ContentType") == content_type
