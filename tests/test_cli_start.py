"""``connectparticipant-ext start``, ``serve --agent echo`` and the ``chat`` prompt, through the
real entry point against ``connectparticipant-ext serve --agent echo`` in a subprocess."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from _helpers import TIMEOUT, cli_env, free_port, run_cli


@pytest.fixture(scope="module")
def echo_server() -> Iterator[str]:
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "connectparticipant_ext", "serve", "--port", str(port)]
        + ["--agent", "echo", "--agent-delay", "0.2"],
        env=cli_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None and process.stderr is not None
        assert "--agent echo" in process.stderr.readline()
        line = process.stdout.readline()
        assert f"127.0.0.1:{port}" in line, line
        yield f"http://127.0.0.1:{port}"
    finally:
        process.terminate()
        process.communicate(timeout=TIMEOUT)  # also closes the pipes


def exports(stdout: str) -> dict[str, str]:
    found = {}
    for line in stdout.splitlines():
        assert line.startswith("export "), line
        name, _, value = line[len("export ") :].partition("=")
        found[name] = value
    return found


def test_start_refuses_to_run_without_being_told_where_the_token_goes(echo_server: str) -> None:
    result = run_cli("start", "--endpoint-url", echo_server)
    assert result.returncode == 2
    assert "--print-token" in result.stderr and "--token-file" in result.stderr
    assert result.stdout == ""


def test_start_prints_export_lines_only_when_asked(echo_server: str) -> None:
    result = run_cli("start", "--endpoint-url", echo_server, "--display-name", "Ann", "--print-token")
    assert result.returncode == 0, result.stderr
    values = exports(result.stdout)
    assert set(values) == {"CONNECT_CONTACT_ID", "CONNECT_PARTICIPANT_ID", "CONNECT_PARTICIPANT_TOKEN"}
    token = values["CONNECT_PARTICIPANT_TOKEN"]
    assert token and token not in result.stderr  # stderr (a log) never has it
    assert f"started chat contact {values['CONNECT_CONTACT_ID']}" in result.stderr


def test_start_writes_the_token_to_an_owner_only_file(echo_server: str, tmp_path: Path) -> None:
    target = tmp_path / "token"
    result = run_cli("start", "--endpoint-url", echo_server, "--token-file", str(target))
    assert result.returncode == 0, result.stderr
    assert result.stdout == ""
    token = target.read_text().strip()
    assert token and token not in result.stderr
    assert stat.S_IMODE(os.stat(target).st_mode) == 0o600


def _chat(server: str, token: str, lines: str) -> Any:
    return run_cli("chat", "--endpoint-url", server, env=cli_env(CONNECT_PARTICIPANT_TOKEN=token), input=lines)


def test_start_then_chat_with_the_echo_agent(echo_server: str) -> None:
    started = run_cli("start", "--endpoint-url", echo_server, "--print-token")
    token = exports(started.stdout)["CONNECT_PARTICIPANT_TOKEN"]
    result = _chat(echo_server, token, "/help\nhello agent\n/quit\n")
    assert result.returncode == 0, result.stderr
    assert "/quit" in result.stderr and "/help" in result.stderr  # the help text
    assert "Customer: hello agent" in result.stdout
    assert token not in result.stdout + result.stderr


def test_chat_does_not_send_commands_or_empty_lines(echo_server: str) -> None:
    started = run_cli("start", "--endpoint-url", echo_server, "--print-token")
    values = exports(started.stdout)
    result = _chat(echo_server, values["CONNECT_PARTICIPANT_TOKEN"], "/nope\n\n//slash\n/quit\n")
    assert result.returncode == 0, result.stderr
    assert "unknown command /nope" in result.stderr
    assert "Customer: /slash" in result.stdout
    assert "/nope" not in result.stdout


def test_a_bot_joins_with_start_join_and_talks_to_the_customer(echo_server: str) -> None:
    customer = exports(run_cli("start", "--endpoint-url", echo_server, "--print-token").stdout)
    agent = run_cli(
        "start",
        "--endpoint-url",
        echo_server,
        "--join",
        customer["CONNECT_CONTACT_ID"],
        "--display-name",
        "Zed",
        "--print-token",
    )
    assert agent.returncode == 0, agent.stderr
    assert "as CUSTOM_BOT 'Zed'" in agent.stderr
    agent_token = exports(agent.stdout)["CONNECT_PARTICIPANT_TOKEN"]
    said = run_cli("send", "hello from Zed", "--endpoint-url", echo_server, env=cli_env(CONNECT_PARTICIPANT_TOKEN=agent_token))
    assert said.returncode == 0, said.stderr
    shown = run_cli(
        "transcript",
        "--endpoint-url",
        echo_server,
        env=cli_env(CONNECT_PARTICIPANT_TOKEN=customer["CONNECT_PARTICIPANT_TOKEN"]),
    )
    assert "hello from Zed" in shown.stdout


def test_serve_agent_echo_answers_every_new_chat(echo_server: str) -> None:
    started = exports(run_cli("start", "--endpoint-url", echo_server, "--print-token").stdout)
    token = started["CONNECT_PARTICIPANT_TOKEN"]
    env = cli_env(CONNECT_PARTICIPANT_TOKEN=token)
    assert run_cli("send", "ping", "--endpoint-url", echo_server, env=env).returncode == 0
    import time

    deadline = time.monotonic() + 15
    text = ""
    while time.monotonic() < deadline and "Echo: ping" not in text:
        text = run_cli("transcript", "--endpoint-url", echo_server, env=env).stdout
    assert "Echo agent" in text and "Echo: ping" in text


def test_serve_help_names_the_agent_switch() -> None:
    result = run_cli("serve", "--help")
    assert "--agent {echo}" in result.stdout
    assert (
        subprocess.run(
            [sys.executable, "-m", "connectparticipant_ext", "serve", "--agent", "nobody"],
            capture_output=True,
            text=True,
            timeout=TIMEOUT,
        ).returncode
        == 2
    )
