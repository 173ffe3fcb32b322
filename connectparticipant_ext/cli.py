"""The ``connectparticipant-ext`` command: a thin layer over the public API.

Tokens are secrets: they are read from environment variables (or a prompt on a terminal),
never required on the command line where other users of the machine can read them, and
never printed. Errors print one line and exit non-zero; ``--debug`` shows the traceback.
"""

from __future__ import annotations

import argparse
import errno
import functools
import getpass
import logging
import os
import queue
import re
import shlex
import stat
import sys
import tempfile
import threading
import time
import traceback
from collections.abc import Mapping, Sequence
from contextlib import ExitStack
from pathlib import Path
from typing import Any, Callable, Optional, TextIO
from urllib.parse import urlsplit

from botocore.exceptions import BotoCoreError, ClientError, ParamValidationError

from . import __version__
from ._export import FORMATS, describe, write_transcript
from ._files import safe_filename
from ._local import DEFAULT_CONTACT_FLOW_ID, DEFAULT_INSTANCE_ID, DEFAULT_PORT
from ._progress import Progress
from ._terminal import ChatScreen, LineEditor, escape_controls, printable
from ._time import parse_time
from ._validation import require_seconds
from ._wire import CUSTOM_BOT_ROLE, MESSAGE_METADATA_ITEM_TYPE, SYSTEM_ROLE, TEXT_PLAIN
from .connection import Connection
from .events import ChatEvent
from .exceptions import (
    TRANSPORT_ERRORS,
    ConnectParticipantError,
    InvalidArgumentError,
    InvalidArgumentTypeError,
    ServiceUnreachableError,
)
from .models import TranscriptItem
from .service import ChatService

PROG = "connectparticipant-ext"
PARTICIPANT_TOKEN_ENV = "CONNECT_PARTICIPANT_TOKEN"
CONNECTION_TOKEN_ENV = "CONNECT_CONNECTION_TOKEN"
CONTACT_ID_ENV = "CONNECT_CONTACT_ID"
PARTICIPANT_ID_ENV = "CONNECT_PARTICIPANT_ID"
ENDPOINT_ENV = "CONNECT_ENDPOINT_URL"
BOTOCORE_ENDPOINT_ENVS = ("AWS_ENDPOINT_URL_CONNECTPARTICIPANT", "AWS_ENDPOINT_URL_CONNECT", "AWS_ENDPOINT_URL")
"""botocore's own endpoint settings (the AWS CLI's convention), used when the command names none."""
DEFAULT_REGION = "us-east-1"

EXIT_OK, EXIT_ERROR, EXIT_USAGE, EXIT_INTERRUPTED = 0, 1, 2, 130


class CommandError(Exception):
    """A problem to report on one line: bad usage or a missing token (exit status 2), or
    ``status=EXIT_ERROR`` for an answer the command will not pass on."""

    def __init__(self, message: str, status: int = EXIT_USAGE) -> None:
        super().__init__(message)
        self.status = status


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


def _check_url(url: str, source: str) -> str:
    """``url`` if it is an http(s) URL with a host; else a one-line error naming ``source``."""
    scheme, separator, _ = url.partition("://")
    if not separator:
        raise CommandError(f"{source} {url!r} has no scheme: did you mean http://{url} ?")
    if scheme.lower() not in ("http", "https"):
        raise CommandError(f"{source} {url!r}: the scheme must be http:// or https://")
    if not urlsplit(url).hostname:
        raise CommandError(f"{source} {url!r} names no host")
    return url


def _resolve_endpoint(args: argparse.Namespace) -> None:
    """One endpoint setting for every command, kept in ``args.endpoint_url`` and ``args.endpoint_source``.

    ``--endpoint-url``, else ``$CONNECT_ENDPOINT_URL``: given to both clients (``connect`` and
    ``connectparticipant``). Else None, and botocore resolves each client's own
    (``AWS_ENDPOINT_URL_CONNECT``, ``AWS_ENDPOINT_URL_CONNECTPARTICIPANT``, ``AWS_ENDPOINT_URL``,
    the config file), as the AWS CLI does; those are checked here so a typo gets the same hint.
    """
    if args.endpoint_url is not None:
        args.endpoint_url, args.endpoint_source = (
            _check_url(args.endpoint_url.strip(), "--endpoint-url"),
            "--endpoint-url",
        )
        return
    from_env = os.environ.get(ENDPOINT_ENV, "").strip()
    if from_env:
        args.endpoint_url, args.endpoint_source = _check_url(from_env, ENDPOINT_ENV), ENDPOINT_ENV
        return
    args.endpoint_source = None
    for name in BOTOCORE_ENDPOINT_ENVS:
        value = os.environ.get(name, "").strip()
        if value:
            _check_url(value, name)
            args.endpoint_source = args.endpoint_source or name


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


# The package is not on PyPI yet: the install that works is the clone's (or a wheel built there).
_LOCAL_EXTRA = "the local backend needs moto: install the 'local' extra (in the clone: pip install -e '.[local]')"


def _require_moto() -> None:
    try:
        import moto  # noqa: F401
    except ImportError:
        raise CommandError(_LOCAL_EXTRA) from None


def cmd_demo(args: argparse.Namespace, secrets: _Secrets) -> int:
    endpoint_url = args.endpoint_url
    if endpoint_url is None and args.endpoint_source == "AWS_ENDPOINT_URL":
        endpoint_url = os.environ["AWS_ENDPOINT_URL"].strip()  # the one botocore setting for both clients
    if endpoint_url is None:
        _require_moto()
    from ._demo import run_demo

    run_demo(
        sys.stdout,
        endpoint_url=endpoint_url,
        region=args.region,
        instance_id=args.instance_id,
        contact_flow_id=args.contact_flow_id,
    )
    return EXIT_OK


def cmd_serve(args: argparse.Namespace, secrets: _Secrets) -> int:
    _require_moto()
    from .testing.server import check_host, serve
    from .testing.startchat import StartChatDefaults

    try:
        check_host(args.host, args.allow_remote)
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
    parts = urlsplit(text)
    if parts.scheme not in ("http", "https") or not parts.hostname or parts.query or parts.fragment:
        raise argparse.ArgumentTypeError(f"{text!r} is not an http:// or https:// URL without a query")
    try:
        parts.port  # noqa: B018 - raises ValueError for a port out of range
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} has a port out of range") from None
    return text


_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:-]{0,255}")
"""What a ContactId or ParticipantId looks like (UUIDs on the service): nothing a shell acts on."""
_TOKEN = re.compile(r"[A-Za-z0-9+/=._~-]{1,1000}")
"""What a participant token looks like (base64 or base64url text, at most the model's 1000)."""


def _check_token_file(path: str) -> Path:
    """The token file's path, if it is safe to (re)place; checked before anything is started.

    An existing file is replaced only when it is a regular file of this user's: never through
    a symbolic link, never a file someone else owns (who could read what is written into it).
    """
    target = Path(path)
    try:
        info = os.lstat(target)
    except FileNotFoundError:
        if not target.parent.is_dir():
            raise CommandError(f"--token-file {path}: the directory {target.parent} does not exist") from None
        return target
    if stat.S_ISLNK(info.st_mode):
        raise CommandError(f"--token-file {path} is a symbolic link; refusing to write a token through it")
    if stat.S_ISDIR(info.st_mode):
        raise CommandError(f"--token-file {path} is a directory")
    if not stat.S_ISREG(info.st_mode):
        raise CommandError(f"--token-file {path} is not a regular file")
    if info.st_uid != os.geteuid():
        raise CommandError(f"--token-file {path} belongs to another user (uid {info.st_uid}); refusing to replace it")
    return target


def _write_token_file(path: str, token: str) -> int:
    """Write a secret readable by its owner only; return the file's mode (0600).

    The token goes to a new file (``O_CREAT | O_EXCL | O_NOFOLLOW``, mode 0600) beside the
    target, which is then renamed over it: an existing file's owner and mode are never kept,
    and a link planted at the target is replaced, not followed.
    """
    target = _check_token_file(path)
    nofollow = getattr(os, "O_NOFOLLOW", 0)
    for _ in range(100):
        temporary = target.parent / f".{target.name}.{os.urandom(8).hex()}.tmp"
        try:
            fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL | nofollow, 0o600)
            break
        except FileExistsError:
            continue
    else:  # pragma: no cover - 100 random names taken
        raise CommandError(f"--token-file {path}: could not create a temporary file beside it", status=EXIT_ERROR)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            os.fchmod(handle.fileno(), 0o600)  # the umask may have taken bits away; never added any
            handle.write(token + "\n")
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, target)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
    return stat.S_IMODE(os.stat(target, follow_symlinks=False).st_mode)


def _checked_answer(values: Mapping[str, object]) -> dict[str, str]:
    """The service's ids and token, if each looks like one; else an error that shows none of them.

    They are printed for ``eval`` and written to files: an answer from a hostile or broken
    endpoint must not be able to run a command (``c1$(touch X)``, a token with backticks).
    """
    checked: dict[str, str] = {}
    for name, value in values.items():
        pattern, what = (_TOKEN, "a token") if name == PARTICIPANT_TOKEN_ENV else (_ID, "an id")
        if not isinstance(value, str) or not pattern.fullmatch(value):
            raise CommandError(
                f"the service's answer has a {name.removeprefix('CONNECT_').replace('_', ' ').lower()} that "
                f"does not look like {what}; refusing to pass it on (nothing was printed or written)",
                status=EXIT_ERROR,
            )
        checked[name] = value
    return checked


def shell_assignments(values: Mapping[str, str]) -> str:
    """``export NAME=value`` lines, each value quoted for a POSIX shell (:func:`shlex.quote`)."""
    return "".join(f"export {name}={shlex.quote(value)}\n" for name, value in values.items())


def cmd_start(args: argparse.Namespace, secrets: _Secrets) -> int:
    """Start a chat (or join one as a bot) and hand over its participant token as asked.

    The token is a secret: it goes to stdout only with ``--print-token`` (as ``export``
    lines, for ``eval``), or to a file only its owner can read with ``--token-file``; without
    either the command refuses before starting anything. When anything fails, nothing goes to
    stdout and the exit status is not 0, so ``out="$(... --print-token)" && eval "$out"`` stops.
    """
    if not args.print_token and not args.token_file:
        raise CommandError(
            "say where the participant token goes: --print-token (export lines on stdout, for eval) "
            "or --token-file FILE (readable by you only)"
        )
    if args.join is not None and not _ID.fullmatch(args.join):
        raise CommandError(f"--join {args.join!r} is not a contact id (letters, digits and . _ : -)")
    if args.token_file:
        _check_token_file(args.token_file)
    from ._demo import connect_client

    connect = connect_client(args.region, args.endpoint_url, local=False)
    if args.join:
        created = connect.create_participant(
            InstanceId=args.instance_id,
            ContactId=args.join,
            ParticipantDetails={"ParticipantRole": CUSTOM_BOT_ROLE, "DisplayName": args.display_name},
        )
        contact_id, participant_id = args.join, created.get("ParticipantId")
        token = secrets.add(str(created.get("ParticipantCredentials", {}).get("ParticipantToken") or ""))
        what = f"joined chat contact {contact_id} as CUSTOM_BOT {args.display_name!r}"
    else:
        contact = connect.start_chat_contact(
            InstanceId=args.instance_id,
            ContactFlowId=args.contact_flow_id,
            ParticipantDetails={"DisplayName": args.display_name},
        )
        contact_id, participant_id = contact.get("ContactId"), contact.get("ParticipantId")
        token = secrets.add(str(contact.get("ParticipantToken") or ""))
        what = f"started chat contact {contact_id} as {args.display_name!r}"
    values = _checked_answer(
        {CONTACT_ID_ENV: contact_id, PARTICIPANT_ID_ENV: participant_id, PARTICIPANT_TOKEN_ENV: token}
    )
    print(printable(f"{what} (participant {participant_id})"), file=sys.stderr)
    # The next command needs the same endpoint; a flag is not inherited, the variables are.
    endpoint = f" --endpoint-url {shlex.quote(args.endpoint_url)}" if args.endpoint_source == "--endpoint-url" else ""
    if args.token_file:
        mode = _write_token_file(args.token_file, token)
        print(f"participant token written to {printable(args.token_file)} (mode {mode:04o})", file=sys.stderr)
        print(
            f'next: export {PARTICIPANT_TOKEN_ENV}="$(cat {shlex.quote(args.token_file)})"; {PROG} chat{endpoint}',
            file=sys.stderr,
        )
    if args.print_token:
        # Asked for explicitly: the one place this command writes a secret to stdout.
        sys.stdout.write(shell_assignments(values))
        sys.stdout.flush()
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
    if args.contact_id is not None:
        collection = collection.filter(contact_id=args.contact_id)
    if since is not None:
        collection = collection.filter(start_time=since)
    if args.limit is not None:
        collection = collection.limit(args.limit)
    progress = Progress("transcript", unit="items")
    with ExitStack() as stack:
        out = _open_output(args.output, stack)
        terminal = out is sys.stdout and sys.stdout.isatty()
        count = write_transcript(collection, out, args.format, on_item=progress, terminal=terminal)
    progress.finish()
    if args.output not in (None, "-"):
        print(f"wrote {count} items to {printable(args.output)}", file=sys.stderr)
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
    print(printable(sent.id))
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
    print("\t".join(printable(v) for v in (attachment.id, attachment.name, attachment.status or "IN_PROGRESS")))
    return EXIT_OK


def cmd_download(args: argparse.Namespace, secrets: _Secrets) -> int:
    """One rule for every destination: an existing file is replaced only with ``--overwrite``.

    Into a directory, the file takes the attachment's name made safe (:func:`safe_filename`).
    """
    dest = Path(args.dest)
    as_directory = dest.is_dir() or args.dest.endswith((os.sep, "/"))
    if not as_directory and dest.exists() and not args.overwrite:
        raise FileExistsError(f"{args.dest}: exists; pass --overwrite to replace it")
    conn = _open_connection(args, secrets)
    attachment = conn.Attachment(args.attachment_id)
    target = dest
    if as_directory:
        attachment.reload()  # the name, for the file and the progress line
        target = dest / safe_filename(attachment.name or args.attachment_id)
        if target.exists() and not args.overwrite:
            raise FileExistsError(f"{target}: exists; pass --overwrite to replace it")
        dest.mkdir(parents=True, exist_ok=True)
    progress = Progress(f"downloading {printable(target.name)}")
    written = attachment.download(target, overwrite=args.overwrite, progress=progress)
    progress.finish()
    print(printable(os.fspath(written)))  # type: ignore[arg-type]
    return EXIT_OK


def cmd_disconnect(args: argparse.Namespace, secrets: _Secrets) -> int:
    conn = _open_connection(args, secrets)
    conn.disconnect()
    print("disconnected", file=sys.stderr)
    return EXIT_OK


def _start_local_chat(args: argparse.Namespace, secrets: _Secrets) -> tuple[Connection, str]:
    """A new chat as a customer, through the Connect API at the endpoint; the connection and
    the participant's id."""
    from ._demo import connect_client

    connect = connect_client(args.region, args.endpoint_url, local=False)
    contact = connect.start_chat_contact(
        InstanceId=args.instance_id,
        ContactFlowId=args.contact_flow_id,
        ParticipantDetails={"DisplayName": args.display_name},
    )
    where = f" on {args.endpoint_url}" if args.endpoint_url else ""
    print(
        printable(
            f"no participant token in {PARTICIPANT_TOKEN_ENV}: started a new chat contact {contact['ContactId']} "
            f"as {args.display_name!r}{where} (to join an existing chat, set its token: see start --join)"
        ),
        file=sys.stderr,
    )
    participant = _service(args).Participant(secrets.add(contact["ParticipantToken"]))
    connection = participant.create_connection()
    secrets.add(connection.token)
    return connection, str(contact.get("ParticipantId") or "")


def _token_source(args: argparse.Namespace) -> str:
    if args.participant_token:
        return "the participant token given with --participant-token"
    if args.participant_token_env:
        return f"the participant token in {args.participant_token_env}"
    if args.connection_token_env or os.environ.get(CONNECTION_TOKEN_ENV):
        return f"the connection token in {args.connection_token_env or CONNECTION_TOKEN_ENV}"
    return f"the participant token in {PARTICIPANT_TOKEN_ENV}"


def _joined_contact(conn: Connection) -> Optional[str]:
    """The contact id of the chat a connection is in, from its transcript's latest item."""
    for item in conn.transcript.page_size(1).limit(1):
        return item.contact_id
    return None


TYPING_SHOWN = 12.0
"""Seconds another participant shows as typing after their last typing event: a little more
than the 10 s clients wait between two (``Connection.typing_throttle``), so steady typing shows
steadily."""

CHAT_PROMPT = "> "
CHAT_HELP = """commands (a line starting with / is not sent):
  /help   this list
  /quit   leave the chat and exit (so does Ctrl+D; with --stay the chat goes on)
  //text  send "/text"
anything else is sent as a message; the chat's items are shown as they arrive, with who is
typing and when your messages are delivered and read (read receipts go out for what is shown)"""


class _ChatView:
    """What ``chat`` shows and tells: items, who else is typing, receipts for your messages;
    read receipts for the messages it shows; which items are this participant's own.

    The participant's own id is known when the command started the chat, from
    ``CONNECT_PARTICIPANT_ID`` (``start --print-token`` exports it), or learnt from the first
    item it sent that comes back. Until then an item that arrives while a send is on its way
    waits for that send's id (briefly), so your own typing is not shown as someone else's.
    """

    def __init__(self, screen: Any, own_participant_id: Optional[str]) -> None:
        self.screen = screen
        self.own_participant_id = own_participant_id or None
        self._sent: dict[str, str] = {}  # ids this command sent -> the message text ("" for events)
        self._in_flight = 0
        self._changed = threading.Condition()
        self._names: dict[str, str] = {}  # participant id -> display name
        self._typing: dict[str, float] = {}  # display name -> shown until (monotonic)
        self._typing_lock = threading.Lock()  # the stream's thread and the input loop both refresh
        self._receipts: dict[str, str] = {}  # own message id -> "delivered" or "read", as shown
        self.stream: Any = None
        self.shown: set[str] = set()

    # -- sending -----------------------------------------------------------------------------

    def sending(self, send: Callable[[], Any], text: str = "") -> Any:
        """Run a send (message or event), remembering what it sent as this participant's."""
        with self._changed:
            self._in_flight += 1
        sent = None
        try:
            sent = send()
            return sent
        finally:
            with self._changed:
                self._in_flight -= 1
                if sent is not None:  # None: a typing event the throttle held back
                    self._sent[sent.id] = text
                self._changed.notify_all()

    def _is_mine(self, item: TranscriptItem) -> bool:
        with self._changed:
            if self.own_participant_id is None and item.id not in self._sent:
                # its echo may come back before the send's answer: wait for the answer
                self._changed.wait_for(lambda: self._in_flight == 0 or item.id in self._sent, timeout=2)
            if item.id in self._sent:
                self.own_participant_id = item.participant_id or self.own_participant_id
                return True
            return self.own_participant_id is not None and item.participant_id == self.own_participant_id

    # -- showing -----------------------------------------------------------------------------

    def show(self, item: TranscriptItem) -> None:
        name = item.display_name or item.participant_role or ""
        if item.participant_id and item.display_name:
            self._names[item.participant_id] = item.display_name
        if item.event is ChatEvent.TYPING:
            if not self._is_mine(item):
                with self._typing_lock:
                    self._typing[name] = time.monotonic() + TYPING_SHOWN
                if self.screen.interactive:
                    self.refresh()
                else:
                    self.screen.notice(printable(f"{name} is typing…"))
            return
        if item.type == MESSAGE_METADATA_ITEM_TYPE:
            self._show_receipts(item)
            return
        if item.is_message or item.is_attachment:
            with self._typing_lock:
                self._typing.pop(name, None)  # they sent what they were typing
        when = item.absolute_time.strftime("%H:%M:%S") if item.absolute_time else "--:--:--"
        self.screen.line(f"{when} {printable(name)}: {printable(describe(item))}")
        self.refresh()
        if (
            self.stream is not None
            and (item.is_message or item.is_attachment)
            and item.participant_role != SYSTEM_ROLE  # the flow's and Lex's messages: no one to tell
            and not self._is_mine(item)
        ):
            self.stream.mark_read(item)  # shown is read; batched by the stream, never twice

    def _show_receipts(self, item: TranscriptItem) -> None:
        metadata = item.message_metadata
        if metadata is None or metadata.message_id is None:
            return
        text = self._sent.get(metadata.message_id)
        if text is None:
            return  # not a message this command sent
        for receipt in metadata.receipts:
            if receipt.recipient_participant_id and receipt.recipient_participant_id == self.own_participant_id:
                continue
            kind = "read" if receipt.read_at else "delivered" if receipt.delivered_at else None
            if kind is None or self._receipts.get(metadata.message_id) in (kind, "read"):
                continue
            self._receipts[metadata.message_id] = kind
            who = self._names.get(receipt.recipient_participant_id or "", "the other side")
            at = receipt.read_at or receipt.delivered_at
            when = at.strftime("%H:%M:%S") if at else "--:--:--"
            snippet = text if len(text) <= 40 else text[:39] + "…"
            self.screen.line(printable(f"{when} ({kind} by {who}: {snippet})"))

    def refresh(self) -> None:
        """Show who is typing now (on a terminal's prompt line); forget indicators that expired."""
        now = time.monotonic()
        with self._typing_lock:
            for name in [n for n, until in self._typing.items() if until <= now]:
                del self._typing[name]
            names = sorted(self._typing)
        if self.screen.interactive:
            self.screen.set_status(
                printable(f"{', '.join(names)} {'is' if len(names) == 1 else 'are'} typing…") if names else ""
            )


def _chat_command(text: Optional[str]) -> Optional[str]:
    """``"quit"``, ``"help"``, another ``/word`` as typed, or None for a message to send."""
    if text is None:
        return "quit"  # end of input
    stripped = text.strip()
    if not stripped.startswith("/") or stripped.startswith("//"):
        return None
    word = stripped.split()[0].lower()
    return {"/quit": "quit", "/exit": "quit", "/help": "help", "/?": "help"}.get(word, word)


def _has_token(args: argparse.Namespace) -> bool:
    return any(
        (
            args.participant_token,
            args.participant_token_env,
            args.connection_token_env,
            os.environ.get(PARTICIPANT_TOKEN_ENV, "").strip(),
            os.environ.get(CONNECTION_TOKEN_ENV, "").strip(),
        )
    )


def _chat_connection(args: argparse.Namespace, secrets: _Secrets) -> tuple[Connection, Optional[str]]:
    """The chat's connection and this participant's id if known; says on stderr which chat it is."""
    endpoint_known = args.endpoint_url is not None or args.endpoint_source is not None
    if not _has_token(args) and endpoint_known:
        return _start_local_chat(args, secrets)
    conn = _open_connection(args, secrets)
    contact_id = _joined_contact(conn)
    print(
        printable(f"joined chat contact {contact_id or '(unknown)'} with {_token_source(args)}"),
        file=sys.stderr,
    )
    own = os.environ.get(PARTICIPANT_ID_ENV, "").strip() if not args.participant_token_env else ""
    return conn, own or None


def cmd_chat(args: argparse.Namespace, secrets: _Secrets) -> int:
    """Show the chat live and send each line typed; EOF or ``/quit`` leaves the chat.

    On a terminal (stdin and stderr), lines are edited key by key (:class:`LineEditor`), so a
    typing event goes out while you type (``conn.send_typing()``, at most one per
    ``typing_throttle``); others' typing shows on the prompt line. Messages shown are marked
    read (``stream.mark_read``), and receipts for your own messages are shown as they come.
    """
    conn, own_participant_id = _chat_connection(args, secrets)
    interactive = sys.stdin.isatty() and sys.stderr.isatty()
    screen = ChatScreen(sys.stdout, sys.stderr, interactive=interactive, prompt=CHAT_PROMPT)
    view = _ChatView(screen, own_participant_id)
    shown_changed = threading.Condition()
    failures: list[BaseException] = []
    stop = threading.Event()
    typing_wanted = threading.Event()
    lines: queue.Queue[Optional[str]] = queue.Queue()

    def show(stream: Any) -> None:
        try:
            for item in stream:
                view.show(item)
                with shown_changed:
                    view.shown.add(item.id)
                    shown_changed.notify_all()
        except BaseException as exc:
            failures.append(exc)
        finally:
            with shown_changed:
                shown_changed.notify_all()

    def send_typing() -> None:  # a daemon: one typing event at a time, throttled by the library
        while not stop.is_set():
            if not typing_wanted.wait(timeout=0.5):
                continue
            typing_wanted.clear()
            try:
                view.sending(conn.send_typing)
            except (ConnectParticipantError, ClientError, BotoCoreError) as exc:
                logging.getLogger(__name__).debug("typing not sent: %s", type(exc).__name__)

    def on_edit(text: str) -> None:
        if text.strip() and _chat_command(text) is None:  # a message being written, not a /command
            typing_wanted.set()

    def read_piped() -> None:  # a daemon: a blocked read must not keep the process alive
        for line in sys.stdin:
            lines.put(line.rstrip("\n"))
        lines.put(None)

    left = False
    with ExitStack() as stack:
        stream = stack.enter_context(conn.stream(history=args.history, receipts=True))
        view.stream = stream
        # Said once the stream is open: from here on, what the others do reaches this screen.
        screen.notice(f"{PROG}: type a message and press Enter; /help lists the commands, /quit leaves")
        if interactive:
            editor = stack.enter_context(LineEditor(sys.stdin.fileno(), screen, on_edit))
            reader = threading.Thread(target=editor.read_lines, args=(lines.put,), name="chat-input", daemon=True)
        else:
            reader = threading.Thread(target=read_piped, name="chat-input", daemon=True)
        shower = threading.Thread(target=show, args=(stream,), name="chat-stream", daemon=True)
        shower.start()
        reader.start()
        threading.Thread(target=send_typing, name="chat-typing", daemon=True).start()
        screen.show_prompt()
        try:
            last_sent: Optional[str] = None
            while shower.is_alive():
                try:
                    text = lines.get(timeout=0.2)
                except queue.Empty:
                    view.refresh()
                    continue
                command = _chat_command(text)
                if command == "quit":
                    break
                if command == "help":
                    screen.notice(CHAT_HELP)
                elif command is not None:
                    screen.notice(f"{PROG}: unknown command {printable(command)}; /help lists the commands")
                elif text and text.strip():
                    # "//x" sends "/x": a message may start with a slash.
                    message = text[1:] if text.startswith("//") else text
                    last_sent = view.sending(functools.partial(conn.send_message, message), message).id
            if last_sent is not None:  # let the last message come back before leaving
                with shown_changed:
                    shown_changed.wait_for(lambda: last_sent in view.shown or not shower.is_alive(), timeout=5)
        finally:
            # Stop showing first, then leave: what the stream prints does not depend on
            # how fast the service reports our own departure.
            stop.set()
            screen.show_prompt(False)
            ended_by_itself = stream.ended
            stream.close()
            shower.join(timeout=5)
            if args.leave and not ended_by_itself:
                conn.disconnect()
                left = True
    if failures:
        raise failures[0]
    print("you left the chat" if left else f"the stream ended: {printable(stream.end_reason)}", file=sys.stderr)
    return EXIT_OK


# -- the parser -------------------------------------------------------------------------------


def _add_endpoint_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--region",
        default=os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or DEFAULT_REGION,
        help="AWS region of the Amazon Connect instance (default: $AWS_REGION, $AWS_DEFAULT_REGION or %(default)s)",
    )
    parser.add_argument(
        "--endpoint-url",
        metavar="URL",
        help=f"another endpoint for both the Connect API and the Participant Service, e.g. http://127.0.0.1:{DEFAULT_PORT} "
        f"(serve); default: ${ENDPOINT_ENV}, else botocore's AWS_ENDPOINT_URL_CONNECT / "
        "AWS_ENDPOINT_URL_CONNECTPARTICIPANT / AWS_ENDPOINT_URL, else AWS",
    )


def _add_token_options(parser: argparse.ArgumentParser, without: str = "prompted for on a terminal") -> None:
    group = parser.add_argument_group(
        "tokens", f"read from {CONNECTION_TOKEN_ENV} or {PARTICIPANT_TOKEN_ENV} unless named otherwise; {without}"
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


def _count(text: str) -> int:
    """An argparse type: a whole number, 0 or more."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"{value} is negative: give 0 or more")
    return value


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

    def command(name: str, summary: str) -> argparse.ArgumentParser:
        """A subcommand listed with ``summary``, whose --help starts with it as a sentence."""
        return commands.add_parser(name, help=summary, description=summary[0].upper() + summary[1:] + ".")

    demo = command("demo", "run a whole chat against the embedded local backend")
    _add_endpoint_options(demo)
    _add_chat_options(demo)
    demo.set_defaults(func=cmd_demo)

    serve = command(
        "serve", "run the local chat backend (Connect + Participant Service + S3 + websockets + start-chat)"
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

    start = command("start", "start a chat (or --join one) on a server; hands over the participant token as asked")
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

    transcript = command("transcript", "export a chat's whole transcript, oldest first")
    transcript.add_argument(
        "--format",
        choices=FORMATS,
        default="text",
        help="text: a table for people; jsonl: each item as the service sent it; csv (default: %(default)s)",
    )
    transcript.add_argument("-o", "--output", metavar="FILE", help="write here instead of stdout")
    transcript.add_argument("--contact-id", help="a previous contact of a persistent chat")
    transcript.add_argument("--since", metavar="TIME", help="only items from this ISO 8601 time on")
    transcript.add_argument("--limit", type=_count, metavar="N", help="at most this many items (0 or more)")
    transcript.set_defaults(func=cmd_transcript)

    send = command("send", "send a message; prints its id")
    send.add_argument("message", help="the text, or - to read it from stdin")
    send.add_argument(
        "--content-type",
        default=TEXT_PLAIN,
        help="text/plain, text/markdown, application/json or "
        "application/vnd.amazonaws.connect.message.interactive.response (default: %(default)s)",
    )
    send.add_argument("--client-token", help="idempotency token: repeating the command with it sends once")
    send.set_defaults(func=cmd_send)

    upload = command("upload", "send a file as an attachment; prints id, name and status")
    upload.add_argument("file", help="the file to send (a regular file)")
    upload.add_argument("--name", help="the attachment's name (default: the file's)")
    upload.add_argument("--content-type", help="the file's MIME type (default: guessed from the name)")
    upload.add_argument("--client-token", help="idempotency token for the upload")
    upload.add_argument("--wait", type=_seconds, metavar="SECONDS", help="wait until the attachment is approved")
    upload.set_defaults(func=cmd_upload)

    download = command("download", "download an attachment; prints the path written")
    download.add_argument("attachment_id", help="the attachment's id (from upload or the transcript)")
    download.add_argument("dest", nargs="?", default=".", help="a directory (default: here) or a file path")
    download.add_argument(
        "--overwrite", action="store_true", help="replace an existing file (in a directory or at a path)"
    )
    download.set_defaults(func=cmd_download)

    disconnect = command("disconnect", "leave the chat")
    disconnect.set_defaults(func=cmd_disconnect)

    chat = command(
        "chat",
        "a terminal chat: joins the chat of your token (or starts one on the endpoint), shows it live, "
        "sends each line typed (/help, /quit)",
    )
    _add_chat_options(chat)
    chat.add_argument("--display-name", default="Customer", help="your name in a chat the command starts")
    chat.add_argument(
        "--history",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="show what was said before you joined; --no-history shows only what comes next",
    )
    chat.add_argument(
        "--stay", dest="leave", action="store_false", help="do not disconnect at the end (the chat goes on)"
    )
    chat.set_defaults(func=cmd_chat)

    for sub in (transcript, send, upload, download, disconnect):
        _add_endpoint_options(sub)
        _add_token_options(sub)
    _add_endpoint_options(chat)
    _add_token_options(
        chat,
        without="with no token and an endpoint set, chat starts a new chat there as --display-name (and says so); "
        "with neither, it prompts for a token on a terminal",
    )
    _add_endpoint_options(start)
    for sub in (demo, serve, start, transcript, send, upload, download, disconnect, chat):
        # also accepted after the command; SUPPRESS keeps a --debug given before it
        sub.add_argument("--debug", action="store_true", default=argparse.SUPPRESS, help=argparse.SUPPRESS)
    return parser


_HINTS = {
    # A participant token connects again (ConnectParticipant) for as long as its chat lasts;
    # it is refused once the chat has ended or the participant has left it, or when it is not
    # a token of this endpoint's chats.
    "CreateParticipantConnection": "the participant token is wrong or not from this endpoint, or its chat has "
    "ended or the participant has left it (a participant token connects again for as long as its chat lasts)",
    # The service refuses attachments to CUSTOM_BOT participants, which is what start --join makes.
    "GetAttachment": "a CUSTOM_BOT participant (start --join) cannot download attachments; otherwise the "
    "connection token is wrong or expired, or the chat has ended or the participant has left it",
}
_ACCESS_DENIED_HINT = "the connection token is wrong or expired, or the chat has ended or the participant has left it"

_USAGE_ERRORS: tuple[type[BaseException], ...] = (
    CommandError,
    InvalidArgumentError,
    InvalidArgumentTypeError,
    ParamValidationError,
)
"""Refused before any call because of what was typed: exit status 2, as argparse's own errors."""


def _endpoint_hint(args: argparse.Namespace) -> str:
    source = getattr(args, "endpoint_source", None)
    where = f" (the endpoint comes from {source})" if source else ""
    return f"is the server running?{where} Set the endpoint with --endpoint-url URL or {ENDPOINT_ENV}"


def _unreachable_text(exc: BaseException, args: argparse.Namespace) -> Optional[str]:
    """For a transport failure: which URL could not be reached, and how to set another."""
    cause = exc.__cause__ if isinstance(exc, ServiceUnreachableError) else exc
    if not isinstance(cause, TRANSPORT_ERRORS):
        return None
    url = str(getattr(cause, "kwargs", {}).get("endpoint_url") or "")
    parts = urlsplit(url)
    base = f"{parts.scheme}://{parts.netloc}" if parts.scheme and parts.netloc else "the endpoint"
    operation = getattr(exc, "operation", None)
    what = f"{type(cause).__name__}{f' from {operation}' if operation else ''}"
    return f"could not reach {base} ({what}): {_endpoint_hint(args)}"


def _error_text(exc: BaseException, args: argparse.Namespace) -> str:
    unreachable = _unreachable_text(exc, args)
    if unreachable is not None:
        return unreachable
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
    if "endpoint_url" in vars(args):
        try:
            _resolve_endpoint(args)
        except CommandError as exc:
            print(f"{PROG}: error: {printable(exc)}", file=sys.stderr)
            return EXIT_USAGE
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
        # The service's messages, names and ids are someone else's text: escaped, never acted on.
        if args.debug:
            trace = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
            print(escape_controls(secrets.mask(trace)), file=sys.stderr)
        print(f"{PROG}: error: {printable(secrets.mask(_error_text(exc, args)))}", file=sys.stderr)
        if isinstance(exc, CommandError):
            return exc.status
        return EXIT_USAGE if isinstance(exc, _USAGE_ERRORS) else EXIT_ERROR
