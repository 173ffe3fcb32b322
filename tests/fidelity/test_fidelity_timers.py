"""Participant timers: ``connect.update_participant_role_config`` and what fires on the backend's clock.

Sources: botocore's connect model (UpdateParticipantRoleConfig, ParticipantTimerConfiguration),
the admin guide's "Set up chat timeouts for chat participants", and amazon-connect-chatjs's
README and ``src/constants.js`` for the events (``participant.idle``, ``participant.returned``,
``participant.autodisconnection``, each about a participant). The test control
``backend.advance_clock`` moves the backend's clock; each test runs in-process and against
LocalServer.
"""

from __future__ import annotations

from typing import Any

import pytest
from botocore.exceptions import ClientError
from fidelity_wire import Wire, clients, code

from _helpers import EVENT


def timers(*entries: tuple[str, str, Any]) -> dict[str, Any]:
    """A ChannelConfiguration: ``(role, timer type, minutes or "Unset")`` each."""
    config = []
    for role, kind, value in entries:
        timer_value = {"ParticipantTimerAction": value} if value == "Unset" else {"ParticipantTimerDurationInMinutes": value}
        config.append({"ParticipantRole": role, "TimerType": kind, "TimerValue": timer_value})
    return {"Chat": {"ParticipantTimerConfigList": config}}


def configure(wire: Wire, contact: dict[str, Any], *entries: tuple[str, str, Any], **overrides: Any) -> dict[str, Any]:
    params = {"InstanceId": "instance-1", "ContactId": contact["ContactId"], "ChannelConfiguration": timers(*entries)}
    params.update(overrides)
    response: dict[str, Any] = wire.connect.update_participant_role_config(**params)
    return response


def events_of(wire: Wire, contact: dict[str, Any]) -> list[dict[str, Any]]:
    """Every item the chat pushes from now on (timer events are pushed, not kept)."""
    seen: list[dict[str, Any]] = []
    wire.backend.get_chat(contact["ContactId"]).add_listener(seen.append)
    return seen


def kinds(items: list[dict[str, Any]]) -> list[tuple[str, str]]:
    return [(i["ContentType"].removeprefix(EVENT), i.get("ParticipantRole", "")) for i in items if i["Type"] == "EVENT"]


def test_update_participant_role_config_takes_the_models_timer_limits(wire: Wire) -> None:
    """connect model: ParticipantTimerDurationInMinutes 2..480, ParticipantTimerConfigList 1..6,
    roles CUSTOMER and AGENT, types IDLE and DISCONNECT_NONCUSTOMER, TimerValue a union
    ("Only one value can be set"); "Duplicate entries error out the request with a 400" (boto3's
    documentation of ParticipantTimerConfigList). Its errors: InvalidRequestException,
    InvalidParameterException, ResourceNotFoundException, ...; no ValidationException."""
    lenient = clients(wire.connect.meta.endpoint_url if wire.mode == "server" else None, wire.mode, validate=False)
    contact = wire.start_chat()
    answer = configure(wire, contact, ("CUSTOMER", "IDLE", 2), ("AGENT", "DISCONNECT_NONCUSTOMER", 480))
    assert set(answer) == {"ResponseMetadata"}  # the output shape has no members
    refusals = {
        "one minute": [("CUSTOMER", "IDLE", 1)],
        "481 minutes": [("AGENT", "IDLE", 481)],
        "seven timers": [("CUSTOMER", "IDLE", 2 + n) for n in range(7)],
        "a duplicate": [("CUSTOMER", "IDLE", 2), ("CUSTOMER", "IDLE", 3)],
        "a bot's timer": [("CUSTOM_BOT", "IDLE", 2)],
        "a disconnect type": [("CUSTOMER", "DISCONNECT", 2)],
    }
    for name, entries in refusals.items():
        with pytest.raises(ClientError) as info:
            configure(lenient, contact, *entries)
        assert code(info) == "InvalidParameterException", name
        assert info.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400, name
    with pytest.raises(ClientError) as info:
        configure(wire, contact, ("CUSTOMER", "IDLE", 2), ContactId="no-such-contact")
    assert code(info) == "ResourceNotFoundException"
    with pytest.raises(ClientError) as info:
        configure(wire, contact, ("CUSTOMER", "IDLE", 2), InstanceId="another-instance")
    assert code(info) == "ResourceNotFoundException"
    wire.connect.stop_contact(ContactId=contact["ContactId"], InstanceId="instance-1")
    with pytest.raises(ClientError) as info:
        configure(wire, contact, ("CUSTOMER", "IDLE", 2))
    assert code(info) == "InvalidRequestException"


def test_an_idle_customer_is_marked_idle_and_returns_with_a_message(wire: Wire) -> None:
    """Admin guide, "Set up chat timeouts": Customer idle timeout: "Mark the customer as idle";
    timers run "when both an agent and a customer are connected", "are first started when an
    agent ... joins"; inactivity is "no messages sent". chatjs: participant.idle /
    participant.returned events carry the participant's role."""
    contact, customer = wire.customer()
    configure(wire, contact, ("CUSTOMER", "IDLE", 2))
    pushed = events_of(wire, contact)
    wire.backend.advance_clock(10 * 60)
    assert kinds(pushed) == []  # no agent yet: the timers do not run
    wire.agent(contact)
    pushed.clear()
    wire.backend.advance_clock(119)
    assert kinds(pushed) == []
    wire.backend.advance_clock(2)
    assert kinds(pushed) == [("participant.idle", "CUSTOMER")]
    wire.backend.advance_clock(10 * 60)
    assert kinds(pushed) == [("participant.idle", "CUSTOMER")]  # once per idleness
    wire.send(customer, "still here")
    assert kinds(pushed)[-1] == ("participant.returned", "CUSTOMER")
    assert all(i.get("ContentType") != EVENT + "participant.idle" for i in wire.transcript(customer))  # pushed only


def test_an_idle_agent_is_disconnected_after_its_idle_time(wire: Wire) -> None:
    """Admin guide: Agent auto-disconnect timeout: "Automatically disconnect the agent from the
    chat due to agent idleness"; "Idle timers run before auto-disconnect timers, if both are
    configured for a role". chatjs README, onAutoDisconnection: the event's data names the
    participant (``data.ParticipantRole === "AGENT"``). The agent then leaves as agents do."""
    contact, customer = wire.customer()
    agent = wire.agent(contact)
    configure(wire, contact, ("AGENT", "IDLE", 2), ("AGENT", "DISCONNECT_NONCUSTOMER", 5))
    pushed = events_of(wire, contact)
    wire.send(customer, "hello?")  # the customer's activity does not keep the agent's timers
    wire.backend.advance_clock(2 * 60 + 1)
    assert kinds(pushed) == [("participant.idle", "AGENT")]
    wire.backend.advance_clock(5 * 60)
    assert kinds(pushed) == [
        ("participant.idle", "AGENT"),
        ("participant.autodisconnection", "AGENT"),
        ("participant.left", "AGENT"),
        ("chat.ended", ""),
    ]
    with pytest.raises(ClientError) as info:
        wire.send(agent)
    assert code(info) == "AccessDeniedException"


def test_customer_idleness_disconnects_the_agent_and_unset_removes_a_timer(wire: Wire) -> None:
    """Admin guide: Customer auto-disconnect timeout: "Automatically disconnect the agent from the
    chat due to customer idleness"; connect model ParticipantTimerAction: "Unset. It deletes a
    timer"."""
    contact, customer = wire.customer()
    wire.agent(contact)
    configure(wire, contact, ("CUSTOMER", "IDLE", 2))
    configure(wire, contact, ("CUSTOMER", "IDLE", "Unset"), ("CUSTOMER", "DISCONNECT_NONCUSTOMER", 3))
    pushed = events_of(wire, contact)
    wire.backend.advance_clock(2 * 60 + 1)
    assert kinds(pushed) == []  # the idle timer is gone
    wire.send(customer, "one more thing")  # activity starts the customer's timer again
    wire.backend.advance_clock(2 * 60 + 59)
    assert kinds(pushed) == []
    wire.backend.advance_clock(2)
    assert kinds(pushed)[:3] == [
        ("participant.autodisconnection", "AGENT"),
        ("participant.left", "AGENT"),
        ("chat.ended", ""),
    ]


def test_the_clock_control_moves_token_expiry_too(wire: Wire) -> None:
    """CreateParticipantConnection reference: "Expiry time for the connection token is 1 day";
    the backend's clock (advance_clock) is the one token expiry reads."""
    _, token = wire.customer()
    wire.backend.advance_clock(23 * 3600)
    assert wire.send(token)
    wire.backend.advance_clock(3600 + 1)
    with pytest.raises(ClientError) as info:
        wire.send(token)
    assert code(info) == "AccessDeniedException"
    with pytest.raises(ValueError):
        wire.backend.advance_clock(-1)
