"""The ``connectparticipant-ext`` command: a thin layer over the public API.

Tokens are secrets: they are read from environment variables (or a prompt on a terminal),
never required on the command line where other users of the machine can read them, and
never printed. Errors print one line and exit non-zero; ``--debug`` shows the traceback.
"""

from __future__ import annotations

import argparse
import errno
import getpass
import logging
import os
import queue
import sys
import tempfile
import threading
import traceback
from collections.abc import Sequence
from contextlib import ExitStack
from pathlib import Path
from typing import Any, Callable, Optional, TextIO

from botocore.exceptions import BotoCoreError, ClientError

from . import __version__
from ._export import FORMATS, describe, printable, write_transcript
from ._local import DEFAULT_CONTACT_FLOW_ID, DEFAULT_INSTANCE_ID, DEFAULT_PORT
from ._progress import Progress
from ._time import parse_time
from ._validation import require_seconds
from .connection import Connection
from .events import ChatEvent
from .exceptions import ConnectParticipantError, InvalidArgumentError
from .models import TranscriptItem
from .service import ChatService

PROG = "connectparticipant-ext"
PARTICIPANT_TOKEN_ENV = "CONNECT_PARTICIPANT_TOKEN"
CONNECTION_TOKEN_ENV = "CONNECT_CONNECTION_TOKEN"
DEFAULT_REGION = "us-east-1"

EXIT_OK, EXIT_ERROR, EXIT_USAGE, EXIT_INTERRUPTED = 0, 1, 2, 130


class CommandError(Exception):
    """A problem to report on one line (bad usage, a missing token)."""


class _Secrets:
    """Every token the command has read, so that no output can carry one by accident."""

    def __init__(self) -> None:
        self.values: set[str] = set()

    def add(self, value: str) -> str:
        if value:
            self.values.add(value)
        return value

    def mask(self, text: str) -> str:
        for value in sorted(self.values, key=len, reverse=True):
            text = text.replace(value, "***")
        return text


# -- tokens and connections ------------------------------------------------------------------


def _from_env(name: str, explicit: bool) -> Optional[str]:
    value = os.environ.get(name, "").strip()
    if explicit and not value:
        raise CommandError(f"environment variable {name} is not set or empty")
    return value or None


def _service(args: argparse.Namespace) -> ChatService:
    return ChatService(region_name=args.region, endpoint_url=args.endpoint_url)


def _open_connection(args: argparse.Namespace, secrets: _Secrets) -> Connection:
    """A connection from the tokens the user supplied, in order of preference.

    1. a connection token (``--connection-token-env`` or ``CONNECT_CONNECTION_TOKEN``);
    2. a participant token (``--participant-token-env``, ``CONNECT_PARTICIPANT_TOKEN``, or
       ``--participant-token``), switched for a connection (``ConnectParticipant=True``);
    3. a prompt for a participant token, when stdin is a terminal.
    """
    chat = _service(args)
    connection_token = _from_env(args.connection_token_env or CONNECTION_TOKEN_ENV, bool(args.connection_token_env))
    if connection_token and not args.participant_token_env and not args.participant_token:
        return chat.Connection(secrets.add(connection_token))
    participant_token = args.participant_token or _from_env(
        args.participant_token_env or PARTICIPANT_TOKEN_ENV, bool(args.participant_token_env)
    )
    if not participant_token and sys.stdin.isatty():
        participant_token = getpass.getpass("Participant token (input hidden): ").strip()
    if not participant_token:
        raise CommandError(
            f"no token: set {CONNECTION_TOKEN_ENV} or {PARTICIPANT_TOKEN_ENV} "
            "(or name your variable with --connection-token-env / --participant-token-env)"
        )
    participant = chat.Participant(secrets.add(participant_token))
    connection = participant.create_connection(connect_participant=True, websocket=args.command == "chat")
    secrets.add(connection.token)
    return connection


def _warn_token_in_argv(args: argparse.Namespace) -> None:
    if getattr(args, "participant_token", None):
        print(
            f"{PROG}: warning: a token on the command line is visible to other users of this machine; "
            f"prefer {PARTICIPANT_TOKEN_ENV}",
            file=sys.stderr,
        )


# -- commands --------------------------------------------------------------------------------


_LOCAL_EXTRA = "the local backend needs moto: pip install 'connectparticipant-ext[local]'"


def _require_moto() -> None:
    try:
        import moto  # noqa: F401
    except ImportError:
        raise CommandError(_LOCAL_EXTRA) from None


def cmd_demo(args: argparse.Namespace, secrets: _Secrets) -> int:
    if args.endpoint_url is None:
        _require_moto()
    from ._demo import run_demo

    run_demo(
        sys.stdout,
        endpoint_url=args.endpoint_url,
        region=args.region,
        instance_id=args.instance_id,
        contact_flow_id=args.contact_flow_id,
    )
    return EXIT_OK


def cmd_serve(args: argparse.Namespace, secrets: _Secrets) -> int:
    _require_moto()
    from .testing.server import _check_host, serve
    from .testing.startchat import StartChatDefaults

    try:
        _check_host(args.host, args.allow_remote)
    except ValueError:
        raise CommandError(
            f"refusing to listen on {args.host!r}: pass --allow-remote to serve beyond this machine"
        ) from None
    if args.allow_remote:
        print(
            f"{PROG}: warning: --allow-remote: the chat backend on {args.host} is open to the network, "
            "with no authentication; anyone who can reach it can read and write its chats",
            file=sys.stderr,
            flush=True,
        )
    if args.moto_api:
        print(
            f"{PROG}: warning: --moto-api: /moto-api/ dumps every chat's tokens and messages and resets the "
            "backend, for anyone who can reach the server",
            file=sys.stderr,
            flush=True,
        )
    with ExitStack() as stack:
        if args.agent == "echo":
            from .testing.echo import EchoAgents

            stack.enter_context(EchoAgents(delay=args.agent_delay))
            print(
                f"{PROG}: every new chat gets an agent that types, then echoes (--agent echo)",
                file=sys.stderr,
                flush=True,
            )
        try:
            serve(
                args.host,
                args.port,
                allow_remote=args.allow_remote,
                public_url=args.public_url,
                cors_origins=args.cors_origin,
                moto_api=args.moto_api,
                start_chat_defaults=StartChatDefaults(
                    instance_id=args.instance_id, contact_flow_id=args.contact_flow_id, region=args.region
                ),
            )
        except OSError as exc:
            raise CommandError(_listen_error(args.host, args.port, exc)) from None
    return EXIT_OK


def _listen_error(host: str, port: int, exc: OSError) -> str:
    """One line for a port ``serve`` cannot listen on, naming the flag that fixes it."""
    if exc.errno == errno.EADDRINUSE:
        return f"--port {port}: another program is listening on {host}:{port}; pick another port (0: any free one)"
    if exc.errno == errno.EACCES:
        return f"--port {port}: not permitted to listen on {host}:{port}; pick a port above 1023"
    return f"cannot listen on {host}:{port} (--host/--port): {exc.strerror or exc}"


def _url(text: str) -> str:
    """An argparse type: an http(s) URL with a host."""
    from urllib.parse import urlsplit

    parts = urlsplit(text)
    if parts.scheme not in ("http", "https") or not parts.hostname or parts.query or parts.fragment:
        raise argparse.ArgumentTypeError(f"{text!r} is not an http:// or https:// URL without a query")
    try:
        parts.port  # noqa: B018 - raises ValueError for a port out of range
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} has a port out of range") from None
    return text


def _write_token_file(path: str, token: str) -> None:
    """Write a secret readable by its owner only (created 0600; an existing file is replaced)."""
    target = Path(path)
    if target.is_dir():
        raise CommandError(f"--token-file {path} is a directory")
    fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        os.fchmod(handle.fileno(), 0o600)
        handle.write(token + "\n")


def cmd_start(args: argparse.Namespace, secrets: _Secrets) -> int:
    """Start a chat (or join one as a bot) and hand over its participant token as asked.

    The token is a secret: it goes to stdout only with ``--print-token`` (as an ``export``
    line, for ``eval``), or to a file only its owner can read with ``--token-file``; without
    either the command refuses before starting anything.
    """
    if not args.print_token and not args.token_file:
        raise CommandError(
            "say where the participant token goes: --print-token (an export line on stdout, for eval) "
            "or --token-file FILE (readable by you only)"
        )
    from ._demo import _connect_client

    connect = _connect_client(args.region, args.endpoint_url, local=False)
    if args.join:
        created = connect.create_participant(
            InstanceId=args.instance_id,
            ContactId=args.join,
            ParticipantDetails={"ParticipantRole": "CUSTOM_BOT", "DisplayName": args.display_name},
        )
        contact_id, participant_id = args.join, created["ParticipantId"]
        token = secrets.add(created["ParticipantCredentials"]["ParticipantToken"])
        what = f"joined chat contact {contact_id} as CUSTOM_BOT {args.display_name!r}"
    else:
        contact = connect.start_chat_contact(
            InstanceId=args.instance_id,
            ContactFlowId=args.contact_flow_id,
            ParticipantDetails={"DisplayName": args.display_name},
        )
        contact_id, participant_id = contact["ContactId"], contact["ParticipantId"]
        token = secrets.add(contact["ParticipantToken"])
        what = f"started chat contact {contact_id} as {args.display_name!r}"
    endpoint = f" --endpoint-url {args.endpoint_url}" if args.endpoint_url else ""
    print(f"{what} (participant {participant_id})", file=sys.stderr)
    if args.token_file:
        _write_token_file(args.token_file, token)
        print(f"participant token written to {args.token_file} (mode 0600)", file=sys.stderr)
        print(
            f'next: export {PARTICIPANT_TOKEN_ENV}="$(cat {args.token_file})"; {PROG} chat{endpoint}', file=sys.stderr
        )
    if args.print_token:
        # Asked for explicitly: the one place this command writes a secret to stdout.
        print(f"export CONNECT_CONTACT_ID={contact_id}")
        print(f"export CONNECT_PARTICIPANT_ID={participant_id}")
        print(f"export {PARTICIPANT_TOKEN_ENV}={token}")
        if not args.token_file:
            print(f"next: {PROG} chat{endpoint} (after eval of these lines)", file=sys.stderr)
    return EXIT_OK


def _open_output(path: Optional[str], stack: ExitStack) -> TextIO:
    """stdout, or a temporary file beside ``path`` that replaces it only when all went well.

    A refused call or a failure halfway leaves an existing export untouched and no partial
    file under the final name.
    """
    if path is None or path == "-":
        return sys.stdout
    target = Path(path)
    if target.is_dir():
        raise CommandError(f"{path}: is a directory; give -o/--output a file name")
    handle = tempfile.NamedTemporaryFile(  # noqa: SIM115 - closed by the stack
        "w", encoding="utf-8", newline="", dir=target.parent, prefix=f".{target.name}.", suffix=".tmp", delete=False
    )
    temporary = handle.name

    def finish(exc_type: Optional[type[BaseException]], exc: Optional[BaseException], tb: Any) -> None:
        handle.close()
        if exc_type is None:
            mode = os.stat(target).st_mode & 0o777 if target.exists() else _default_file_mode(target.parent)
            os.chmod(temporary, mode)
            os.replace(temporary, target)
        else:
            os.unlink(temporary)

    stack.push(finish)
    return handle  # type: ignore[return-value]  # a text file wrapper


def _default_file_mode(directory: Path) -> int:
    """0666 less the umask, as ``open(path, "w")`` would have made the file."""
    probe = directory / f".umask-probe-{os.getpid()}-{threading.get_ident()}"
    fd = os.open(probe, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
    os.close(fd)
    try:
        return os.stat(probe).st_mode & 0o777
    finally:
        os.unlink(probe)


def _since(text: str) -> Any:
    when = parse_time(text)
    if when is None:
        raise CommandError(
            f"--since: {text!r} is not an ISO 8601 time (e.g. 2024-05-01T09:30:00Z or 2024-05-01T11:30:00+02:00)"
        )
    return when


def cmd_transcript(args: argparse.Namespace, secrets: _Secrets) -> int:
    since = _since(args.since) if args.since is not None else None
    conn = _open_connection(args, secrets)
    collection = conn.transcript.all()
    if args.contact_id:
        collection = collection.filter(contact_id=args.contact_id)
    if since is not None:
        collection = collection.filter(start_time=since)
    if args.limit is not None:
        collection = collection.limit(args.limit)
    progress = Progress("transcript", unit="items")
    with ExitStack() as stack:
        out = _open_output(args.output, stack)
        count = write_transcript(collection, out, args.format, on_item=progress)
    progress.finish()
    if args.output not in (None, "-"):
        print(f"wrote {count} items to {args.output}", file=sys.stderr)
    return EXIT_OK


def _read_stdin_strictly() -> str:
    """Standard input as UTF-8, strictly: bytes that are not UTF-8 are an error, not mojibake."""
    data = sys.stdin.buffer.read() if hasattr(sys.stdin, "buffer") else sys.stdin.read().encode("utf-8")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        position = exc.start
    raise CommandError(f"standard input is not valid UTF-8 (byte {position}); the service takes UTF-8 text")


def cmd_send(args: argparse.Namespace, secrets: _Secrets) -> int:
    # "-" reads stdin; the newline that ends what echo or a file gives is not part of the message
    content = _read_stdin_strictly().rstrip("\r\n") if args.message == "-" else args.message
    conn = _open_connection(args, secrets)
    sent = conn.send_message(content, content_type=args.content_type, client_token=args.client_token)
    print(sent.id)
    return EXIT_OK


def cmd_upload(args: argparse.Namespace, secrets: _Secrets) -> int:
    path = Path(args.file)
    if path.is_dir():
        raise CommandError(f"{args.file}: is a directory; upload sends one file")
    if not path.exists():
        raise CommandError(f"{args.file}: no such file")
    if not path.is_file():
        raise CommandError(f"{args.file}: not a regular file (a pipe, socket or device); upload sends a file")
    conn = _open_connection(args, secrets)
    progress = Progress(f"uploading {path.name}")
    attachment = conn.upload_attachment(
        path, name=args.name, content_type=args.content_type, client_token=args.client_token, progress=progress
    )
    progress.finish()
    if args.wait:
        attachment.wait_until_approved(timeout=args.wait)
    print(f"{attachment.id}\t{printable(attachment.name)}\t{attachment.status or 'IN_PROGRESS'}")
    return EXIT_OK


def cmd_download(args: argparse.Namespace, secrets: _Secrets) -> int:
    dest = Path(args.dest)
    as_directory = dest.is_dir() or args.dest.endswith((os.sep, "/"))
    if not as_directory and dest.exists() and not args.overwrite:
        raise FileExistsError(f"{args.dest}: exists; pass --overwrite to replace it")
    conn = _open_connection(args, secrets)
    attachment = conn.Attachment(args.attachment_id)
    if as_directory:
        attachment.reload()  # the name, for the progress line and the file
    shown = printable(attachment.name or args.attachment_id) if as_directory else dest.name
    progress = Progress(f"downloading {shown}")
    written = attachment.download(args.dest, overwrite=args.overwrite, progress=progress)
    progress.finish()
    print(printable(os.fspath(written)))  # type: ignore[arg-type]
    return EXIT_OK


def cmd_disconnect(args: argparse.Namespace, secrets: _Secrets) -> int:
    conn = _open_connection(args, secrets)
    conn.disconnect()
    print("disconnected", file=sys.stderr)
    return EXIT_OK


def _start_local_chat(args: argparse.Namespace, secrets: _Secrets) -> Connection:
    """A new chat as a customer, through the Connect API at ``--endpoint-url`` (the local server)."""
    from ._demo import _connect_client

    connect = _connect_client(args.region, args.endpoint_url, local=False)
    contact = connect.start_chat_contact(
        InstanceId=args.instance_id,
        ContactFlowId=args.contact_flow_id,
        ParticipantDetails={"DisplayName": args.display_name},
    )
    print(f"started chat contact {contact['ContactId']}", file=sys.stderr)
    participant = _service(args).Participant(secrets.add(contact["ParticipantToken"]))
    connection = participant.create_connection()
    secrets.add(connection.token)
    return connection


def _print_item(item: TranscriptItem, out: TextIO) -> None:
    if item.event is ChatEvent.TYPING or item.type == "MESSAGEMETADATA":
        return
    when = item.absolute_time.strftime("%H:%M:%S") if item.absolute_time else "--:--:--"
    who = printable(item.display_name or item.participant_role or "")
    print(f"{when} {who}: {printable(describe(item))}", file=out, flush=True)


CHAT_PROMPT = "> "
CHAT_HELP = """commands (a line starting with / is not sent):
  /help   this list
  /quit   leave the chat and exit (so does Ctrl+D; with --stay the chat goes on)
  //text  send "/text"
anything else is sent as a message; the chat's items are shown as they arrive"""


def _chat_command(text: Optional[str]) -> Optional[str]:
    """``"quit"``, ``"help"``, another ``/word`` as typed, or None for a message to send."""
    if text is None:
        return "quit"  # end of input
    stripped = text.strip()
    if not stripped.startswith("/") or stripped.startswith("//"):
        return None
    word = stripped.split()[0].lower()
    return {"/quit": "quit", "/exit": "quit", "/help": "help", "/?": "help"}.get(word, word)


def cmd_chat(args: argparse.Namespace, secrets: _Secrets) -> int:
    """Show the chat live and send each line typed; EOF or ``/quit`` leaves the chat."""
    has_token = any(
        (
            args.participant_token,
            args.participant_token_env,
            args.connection_token_env,
            os.environ.get(PARTICIPANT_TOKEN_ENV),
            os.environ.get(CONNECTION_TOKEN_ENV),
        )
    )
    if has_token or not args.endpoint_url:
        conn = _open_connection(args, secrets)
    else:
        conn = _start_local_chat(args, secrets)
    shown: set[str] = set()  # ids of the items the stream has printed
    shown_changed = threading.Condition()
    failures: list[BaseException] = []

    interactive = sys.stdin.isatty()

    def show(stream: Any) -> None:
        try:
            for item in stream:
                if interactive and sys.stderr.isatty():
                    # An item arrives while the prompt waits: put it on the prompt's line and
                    # show the prompt again below it.
                    print("\r\x1b[K", end="", file=sys.stderr, flush=True)
                    _print_item(item, sys.stdout)
                    print(CHAT_PROMPT, end="", file=sys.stderr, flush=True)
                else:
                    _print_item(item, sys.stdout)
                with shown_changed:
                    shown.add(item.id)
                    shown_changed.notify_all()
        except BaseException as exc:
            failures.append(exc)
        finally:
            with shown_changed:
                shown_changed.notify_all()

    lines: queue.Queue[Optional[str]] = queue.Queue()

    def prompt() -> None:
        if interactive:
            print(CHAT_PROMPT, end="", file=sys.stderr, flush=True)

    def read_input() -> None:  # a daemon: a blocked read must not keep the process alive
        for line in sys.stdin:
            lines.put(line.rstrip("\n"))
        lines.put(None)

    print(f"{PROG}: type a message and press Enter; /help lists the commands, /quit leaves", file=sys.stderr)
    prompt()

    left = False
    with conn.stream(history=args.history) as stream:
        reader = threading.Thread(target=show, args=(stream,), name="chat-stream", daemon=True)
        reader.start()
        threading.Thread(target=read_input, name="chat-input", daemon=True).start()
        try:
            last_sent: Optional[str] = None
            while reader.is_alive():
                try:
                    text = lines.get(timeout=0.2)
                except queue.Empty:
                    continue
                command = _chat_command(text)
                if command == "quit":
                    break
                if command == "help":
                    print(CHAT_HELP, file=sys.stderr)
                elif command is not None:
                    print(f"{PROG}: unknown command {command}; /help lists the commands", file=sys.stderr)
                elif text and text.strip():
                    # "//x" sends "/x": a message may start with a slash.
                    last_sent = conn.send_message(text[1:] if text.startswith("//") else text).id
                prompt()
            if last_sent is not None:  # let the last message come back before leaving
                with shown_changed:
                    shown_changed.wait_for(lambda: last_sent in shown or not reader.is_alive(), timeout=5)
        finally:
            # Stop showing first, then leave: what the stream prints does not depend on
            # how fast the service reports our own departure.
            ended_by_itself = stream.ended
            stream.close()
            reader.join(timeout=5)
            if args.leave and not ended_by_itself:
                conn.disconnect()
                left = True
    if failures:
        raise failures[0]
    print("you left the chat" if left else f"the stream ended: {stream.end_reason}", file=sys.stderr)
    return EXIT_OK


# -- the parser -------------------------------------------------------------------------------


def _add_endpoint_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--region",
        default=os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or DEFAULT_REGION,
        help="AWS region of the Amazon Connect instance (default: $AWS_REGION, $AWS_DEFAULT_REGION or %(default)s)",
    )
    parser.add_argument("--endpoint-url", help="another endpoint, e.g. http://127.0.0.1:2428 (the local server)")


def _add_token_options(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group(
        "tokens",
        f"read from {CONNECTION_TOKEN_ENV} or {PARTICIPANT_TOKEN_ENV} unless named otherwise; "
        "prompted for on a terminal",
    )
    group.add_argument("--connection-token-env", metavar="NAME", help="environment variable with a connection token")
    group.add_argument("--participant-token-env", metavar="NAME", help="environment variable with a participant token")
    group.add_argument(
        "--participant-token",
        metavar="TOKEN",
        help="the participant token itself (discouraged: other users can read the command line)",
    )


def _add_chat_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--instance-id", default=DEFAULT_INSTANCE_ID, help="Amazon Connect instance (StartChatContact)")
    parser.add_argument("--contact-flow-id", default=DEFAULT_CONTACT_FLOW_ID, help="contact flow (StartChatContact)")


def _port(text: str) -> int:
    """An argparse type: a TCP port, 0 (any free one) to 65535."""
    try:
        port = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a port number") from None
    if not 0 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"{port} is not a port: use 1 to 65535 (0 picks a free one)")
    return port


def _seconds(text: str) -> float:
    """An argparse type: a finite, positive number of seconds."""
    try:
        value = float(text)
        require_seconds("--wait", value)
    except (ValueError, InvalidArgumentError):
        raise argparse.ArgumentTypeError(f"{text!r} is not a positive number of seconds") from None
    return value


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog=PROG, description="Take part in Amazon Connect chats from the command line.")
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    parser.add_argument("--debug", action="store_true", help="show tracebacks and DEBUG logs (secrets masked)")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    demo = commands.add_parser("demo", help="run a whole chat against the embedded local backend")
    _add_endpoint_options(demo)
    _add_chat_options(demo)
    demo.set_defaults(func=cmd_demo)

    serve = commands.add_parser(
        "serve", help="run the local chat backend (Connect + Participant Service + S3 + websockets + start-chat)"
    )
    serve.add_argument("--host", default="127.0.0.1", help="address to listen on (default: %(default)s)")
    serve.add_argument(
        "--port",
        type=_port,
        default=DEFAULT_PORT,
        help="port to listen on, 0 for any free one (default: %(default)s)",
    )
    serve.add_argument(
        "--allow-remote",
        action="store_true",
        help="permit a non-loopback --host (the server has no authentication: anyone who reaches it can chat)",
    )
    serve.add_argument(
        "--public-url",
        type=_url,
        metavar="URL",
        help="the base URL clients reach the server by (a reverse proxy, a port map, a Selenium grid): "
        "websocket, attachment and start-chat URLs start with it (wss:// for https); its host is served too",
    )
    serve.add_argument(
        "--cors-origin",
        action="append",
        default=[],
        type=_url,
        metavar="ORIGIN",
        help="a web origin whose pages may call the server, besides loopback pages and --public-url's "
        "(repeatable), e.g. https://app.example:8443",
    )
    serve.add_argument(
        "--moto-api",
        action="store_true",
        help="also serve moto's /moto-api/ (state dumps with every token, reset); off by default",
    )
    _add_chat_options(serve)
    serve.add_argument(
        "--region", default=DEFAULT_REGION, help="region of the chats POST /start-chat starts (default: %(default)s)"
    )
    serve.add_argument("--agent", choices=["echo"], help="echo: every new chat gets an agent that types, then answers")
    serve.add_argument(
        "--agent-delay", type=float, default=1.0, metavar="SECONDS", help="the agent types this long before answering"
    )
    serve.set_defaults(func=cmd_serve)

    start = commands.add_parser(
        "start", help="start a chat (or --join one) on a server; hands over the participant token as asked"
    )
    _add_chat_options(start)
    start.add_argument("--display-name", default="Customer", help="the participant's name (default: Customer)")
    start.add_argument(
        "--join",
        metavar="CONTACT_ID",
        help="join this chat as a CUSTOM_BOT instead (connect.create_participant; the only role it adds to a chat)",
    )
    start.add_argument(
        "--print-token", action="store_true", help="print export lines with the token on stdout (for eval)"
    )
    start.add_argument("--token-file", metavar="FILE", help="write the participant token to FILE (mode 0600)")
    start.set_defaults(func=cmd_start)

    transcript = commands.add_parser("transcript", help="export a chat's whole transcript, oldest first")
    transcript.add_argument(
        "--format",
        choices=FORMATS,
        default="text",
        help="text: a table for people; jsonl: each item as the service sent it; csv (default: %(default)s)",
    )
    transcript.add_argument("-o", "--output", metavar="FILE", help="write here instead of stdout")
    transcript.add_argument("--contact-id", help="a previous contact of a persistent chat")
    transcript.add_argument("--since", metavar="TIME", help="only items from this ISO 8601 time on")
    transcript.add_argument("--limit", type=int, help="at most this many items")
    transcript.set_defaults(func=cmd_transcript)

    send = commands.add_parser("send", help="send a message; prints its id")
    send.add_argument("message", help="the text, or - to read it from stdin")
    send.add_argument(
        "--content-type",
        default="text/plain",
        help="text/plain, text/markdown, application/json or "
        "application/vnd.amazonaws.connect.message.interactive.response (default: %(default)s)",
    )
    send.add_argument("--client-token", help="idempotency token: repeating the command with it sends once")
    send.set_defaults(func=cmd_send)

    upload = commands.add_parser("upload", help="send a file as an attachment; prints id, name and status")
    upload.add_argument("file", help="the file to send (a regular file)")
    upload.add_argument("--name", help="the attachment's name (default: the file's)")
    upload.add_argument("--content-type", help="the file's MIME type (default: guessed from the name)")
    upload.add_argument("--client-token", help="idempotency token for the upload")
    upload.add_argument("--wait", type=_seconds, metavar="SECONDS", help="wait until the attachment is approved")
    upload.set_defaults(func=cmd_upload)

    download = commands.add_parser("download", help="download an attachment; prints the path written")
    download.add_argument("attachment_id", help="the attachment's id (from upload or the transcript)")
    download.add_argument("dest", nargs="?", default=".", help="a directory (default: here) or a file path")
    download.add_argument("--overwrite", action="store_true", help="replace an existing file at an explicit path")
    download.set_defaults(func=cmd_download)

    disconnect = commands.add_parser("disconnect", help="leave the chat")
    disconnect.set_defaults(func=cmd_disconnect)

    chat = commands.add_parser(
        "chat", help="a terminal chat: shows the chat live, sends each line typed (/help, /quit)"
    )
    _add_chat_options(chat)
    chat.add_argument("--display-name", default="Customer", help="your name in a chat the command starts")
    chat.add_argument("--history", action="store_true", help="show the transcript so far first")
    chat.add_argument(
        "--stay", dest="leave", action="store_false", help="do not disconnect at the end (the chat goes on)"
    )
    chat.set_defaults(func=cmd_chat)

    for choice in commands._choices_actions:  # every subcommand's --help starts with what it does
        sub_parser = commands.choices[choice.dest]
        if sub_parser.description is None and choice.help:
            sub_parser.description = choice.help[0].upper() + choice.help[1:] + "."
    for sub in (transcript, send, upload, download, disconnect, chat):
        _add_endpoint_options(sub)
        _add_token_options(sub)
    _add_endpoint_options(start)
    for sub in (demo, serve, start, transcript, send, upload, download, disconnect, chat):
        # also accepted after the command; SUPPRESS keeps a --debug given before it
        sub.add_argument("--debug", action="store_true", default=argparse.SUPPRESS, help=argparse.SUPPRESS)
    return parser


_HINTS = {
    "CreateParticipantConnection": "the participant token is wrong, expired or already used "
    "(each StartChatContact token connects once; start a new chat or use a connection token)",
}
_ACCESS_DENIED_HINT = "the connection token is wrong or expired, or the participant has left the chat"


def _error_text(exc: BaseException) -> str:
    if isinstance(exc, ClientError):
        error = exc.response.get("Error", {})
        operation = getattr(exc, "operation_name", None) or "the call"
        text = f"{error.get('Code', 'Error')} from {operation}: {error.get('Message') or exc}"
        if error.get("Code") == "AccessDeniedException":
            text += f" (hint: {_HINTS.get(operation, _ACCESS_DENIED_HINT)})"
        return text
    if isinstance(exc, (CommandError, FileNotFoundError, FileExistsError, IsADirectoryError)):
        return str(exc)
    return f"{type(exc).__name__}: {exc}"


_REPORTED: tuple[type[BaseException], ...] = (
    CommandError,
    ConnectParticipantError,
    ClientError,
    BotoCoreError,
    OSError,
    ValueError,
    TypeError,
)


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Run the command line; returns the exit status (``console_scripts`` passes it to exit)."""
    parser = build_parser()
    args = parser.parse_args(argv)
    secrets = _Secrets()
    if args.debug:
        logging.basicConfig(level=logging.DEBUG, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    _warn_token_in_argv(args)
    func: Callable[[argparse.Namespace, _Secrets], int] = args.func
    try:
        return func(args, secrets)
    except KeyboardInterrupt:
        print(f"{PROG}: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        # The reader went away (``| head``): nothing more to say, and nowhere to say it.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return EXIT_OK
    except _REPORTED as exc:
        if args.debug:
            print(secrets.mask("".join(traceback.format_exception(type(exc), exc, exc.__traceback__))), file=sys.stderr)
        print(f"{PROG}: error: {secrets.mask(_error_text(exc))}", file=sys.stderr)
        return EXIT_USAGE if isinstance(exc, CommandError) else EXIT_ERROR
