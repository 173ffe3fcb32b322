"""Attachments: checked before sending, streamed both ways, with explicit lifecycle states.

Sending a file takes three steps on the wire: ``StartAttachmentUpload``, an HTTP PUT of the
bytes to a presigned URL carrying every header in ``HeadersToInclude``, and
``CompleteAttachmentUpload``. :func:`upload_attachment` does all three after checking the
file against :class:`AttachmentLimits`; :class:`AttachmentUpload` exposes the steps.
Presigned URLs are credentials: they never appear in a repr, log line or exception message.
"""

from __future__ import annotations

import contextlib
import enum
import io
import logging
import mimetypes
import os
import re
import stat
import tempfile
import threading
import time
import uuid
from collections.abc import Iterable, Mapping
from datetime import datetime, timezone
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, Callable, Optional, Union

import attrs

from ._files import safe_filename
from ._time import parse_time
from ._validation import require_choice, require_int, require_seconds, require_str
from .exceptions import (
    AttachmentError,
    AttachmentRejectedError,
    AttachmentTooLargeError,
    AttachmentUploadError,
    InvalidArgumentError,
    InvalidArgumentTypeError,
    MalformedResponseError,
    UnsupportedAttachmentTypeError,
)

if TYPE_CHECKING:
    from .connection import Connection

__all__ = [
    "Attachment",
    "AttachmentLimits",
    "AttachmentUpload",
    "AttachmentUploadState",
    "DEFAULT_ALLOWED_EXTENSIONS",
    "DEFAULT_MAX_ATTACHMENT_SIZE",
    "ProgressCallback",
    "upload_attachment",
]

logger = logging.getLogger(__name__)

ProgressCallback = Callable[[int, Optional[int]], None]
"""Called as ``progress(bytes_done, total_bytes)``; ``total_bytes`` is None when unknown."""

DEFAULT_MAX_ATTACHMENT_SIZE = 20 * 1024 * 1024
"""Amazon Connect's default attachment size limit, 20 MB."""

DEFAULT_ALLOWED_EXTENSIONS = frozenset(
    {".csv", ".doc", ".docx", ".jpeg", ".jpg", ".pdf", ".png", ".ppt", ".pptx", ".txt", ".wav", ".xls", ".xlsx"}
)
"""Amazon Connect's default allowed attachment types, by file extension."""

CHUNK_SIZE = 256 * 1024
UPLOAD_ATTEMPTS = 3


def _http_timeout(connection: Connection) -> tuple[float, float]:
    """The service's (connect, read) timeouts, for the presigned PUT and GET too.

    They come from the client's configuration, so ``ChatService(timeout=...)``, ``config=``
    and ``client=`` all apply to attachment transfers as they do to the API calls.
    """
    config = connection.service.meta.client.meta.config
    return (float(config.connect_timeout), float(config.read_timeout))


def _normalise_extensions(values: Iterable[str]) -> frozenset[str]:
    if isinstance(values, str):
        raise InvalidArgumentTypeError("allowed_extensions must be a collection of extensions, not a str")
    return frozenset(("." + v.lstrip(".")).lower() for v in values)


@attrs.frozen
class AttachmentLimits:
    """The size and type limits checked before an upload starts.

    An Amazon Connect instance can change both, so they are a setting of
    :class:`~connectparticipant_ext.ChatService` (``attachment_limits=``).
    """

    max_size: int = attrs.field(default=DEFAULT_MAX_ATTACHMENT_SIZE, validator=attrs.validators.gt(0))
    allowed_extensions: frozenset[str] = attrs.field(
        default=DEFAULT_ALLOWED_EXTENSIONS, converter=_normalise_extensions
    )

    def check(self, name: str, size: int) -> None:
        """Raise if a file of this name and size may not be sent."""
        extension = os.path.splitext(name)[1].lower()
        if extension not in self.allowed_extensions:
            allowed = ", ".join(sorted(self.allowed_extensions))
            shown = extension or "no extension"
            raise UnsupportedAttachmentTypeError(f"{name!r} has {shown}; allowed attachment types are {allowed}")
        if size > self.max_size:
            raise AttachmentTooLargeError(
                f"{name!r} has {size} bytes; the attachment size limit is {self.max_size} bytes"
            )
        if size < 1:
            raise InvalidArgumentError(f"{name!r} is empty; an attachment needs at least 1 byte")


class AttachmentUploadState(enum.Enum):
    """Where an upload stands: STARTED -> UPLOADED -> COMPLETED, or FAILED (retryable)."""

    STARTED = "started"
    UPLOADED = "uploaded"
    COMPLETED = "completed"
    FAILED = "failed"


class _ProgressReader(io.RawIOBase):
    """Reads at most ``size`` bytes from a file, reporting progress; has a length for requests."""

    def __init__(self, fileobj: IO[bytes], size: int, progress: Optional[ProgressCallback]) -> None:
        super().__init__()
        self._fileobj = fileobj
        self._size = size
        self._done = 0
        self._progress = progress

    def __len__(self) -> int:
        return self._size - self._done

    def tell(self) -> int:
        # requests computes Content-Length as len() minus tell(); without this it would
        # fall back to chunked encoding, which presigned S3 PUTs refuse.
        return 0

    def readable(self) -> bool:
        return True

    def read(self, n: Optional[int] = -1) -> bytes:
        wanted = self._size - self._done if n is None or n < 0 else min(n, self._size - self._done)
        if wanted <= 0:
            return b""
        chunk = self._fileobj.read(wanted)
        if not chunk:
            raise AttachmentUploadError(f"the file ended after {self._done} of {self._size} bytes")
        self._done += len(chunk)
        if self._progress is not None:
            self._progress(self._done, self._size)
        return bytes(chunk)

    def readinto(self, buffer: Any) -> int:
        data = self.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)


def _storage_error_code(body: bytes) -> Optional[str]:
    match = re.search(rb"<Code>([^<]{1,100})</Code>", body[:4096])
    return match.group(1).decode("ascii", "replace") if match else None


@attrs.define(eq=False)
class AttachmentUpload:
    """An upload in progress, made by :meth:`Connection.start_attachment_upload`.

    Call :meth:`upload` with a binary file object, then :meth:`complete`. A failed upload
    (state FAILED) can be retried with :meth:`upload` while its URL is valid.
    """

    attachment_id: str
    name: str
    size: int
    content_type: str
    _connection: Connection = attrs.field(repr=False, alias="connection")
    _url: str = attrs.field(repr=False, alias="url")
    url_expires_at: Optional[datetime] = attrs.field(default=None)
    _headers: dict[str, str] = attrs.field(factory=dict, repr=False, alias="headers")
    _client_token: str = attrs.field(factory=lambda: str(uuid.uuid4()), repr=False, alias="client_token")
    state: AttachmentUploadState = AttachmentUploadState.STARTED
    _attachment: Optional[Attachment] = attrs.field(default=None, repr=False, init=False)
    _lock: threading.Lock = attrs.field(factory=threading.Lock, repr=False, init=False)

    @classmethod
    def start(
        cls, connection: Connection, name: str, size: int, content_type: str, *, client_token: Optional[str] = None
    ) -> AttachmentUpload:
        """Check the file's name, size and type, then call ``StartAttachmentUpload``."""
        require_str("name", name, max_length=256)
        require_int("size", size, minimum=0)
        require_str("content_type", content_type, max_length=255)
        connection.service.attachment_limits.check(name, size)
        token = (
            require_str("client_token", client_token, max_length=500) if client_token is not None else str(uuid.uuid4())
        )
        response = connection.call_operation(
            "StartAttachmentUpload",
            ContentType=content_type,
            AttachmentSizeInBytes=size,
            AttachmentName=name,
            ClientToken=token,
        )
        metadata = response.get("UploadMetadata")
        if not isinstance(metadata, dict):
            raise MalformedResponseError("StartAttachmentUpload", "UploadMetadata is missing or not an object")
        headers = metadata.get("HeadersToInclude") or {}
        if not isinstance(headers, dict) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in headers.items()
        ):
            raise MalformedResponseError("StartAttachmentUpload", "HeadersToInclude is not a map of strings")
        return cls(
            attachment_id=_required_str(response, "AttachmentId", "StartAttachmentUpload"),
            name=name,
            size=size,
            content_type=content_type,
            connection=connection,
            url=_required_str(metadata, "Url", "StartAttachmentUpload"),
            url_expires_at=parse_time(metadata.get("UrlExpiry")),
            headers=dict(headers),
            client_token=token,
        )

    @property
    def headers(self) -> Mapping[str, str]:
        """The headers the PUT must carry (``HeadersToInclude``)."""
        return dict(self._headers)

    def upload(self, fileobj: IO[bytes], progress: Optional[ProgressCallback] = None) -> None:
        """PUT the bytes to the presigned URL, streaming them (never read whole into memory).

        Raises:
            AttachmentUploadError: the PUT failed; the upload is FAILED and may be retried.
        """
        with self._lock:
            if self.state in (AttachmentUploadState.UPLOADED, AttachmentUploadState.COMPLETED):
                raise AttachmentError(f"the upload of {self.name!r} is already {self.state.value}")
            _require_binary(fileobj)
            if self.url_expires_at is not None and datetime.now(timezone.utc) >= self.url_expires_at:
                self.state = AttachmentUploadState.FAILED
                raise AttachmentUploadError(f"the upload URL for {self.name!r} has expired; start a new upload")
            headers = dict(self._headers)
            headers["Content-Length"] = str(self.size)
            body = _ProgressReader(fileobj, self.size, progress)
            session = self._connection.service.http_session
            started = time.perf_counter()
            failure: Optional[str] = None
            try:
                response = session.put(self._url, data=body, headers=headers, timeout=_http_timeout(self._connection))
            except AttachmentUploadError:
                self.state = AttachmentUploadState.FAILED
                raise
            except Exception as exc:  # requests' messages quote the URL, signature included
                failure = type(exc).__name__
            if failure is not None:
                # Raised outside the except block: the requests exception (and the signed URL
                # in its message) is neither the cause nor the __context__ of this one.
                self.state = AttachmentUploadState.FAILED
                raise AttachmentUploadError(f"uploading {self.name!r} failed: {failure}")
            if not 200 <= response.status_code < 300:
                self.state = AttachmentUploadState.FAILED
                code = _storage_error_code(response.content)
                raise AttachmentUploadError(
                    f"uploading {self.name!r} failed: HTTP {response.status_code}" + (f" ({code})" if code else ""),
                    status_code=response.status_code,
                    error_code=code,
                )
            self.state = AttachmentUploadState.UPLOADED
            logger.debug(
                "attachment %s: PUT of %d bytes took %.1f ms",
                self.attachment_id,
                self.size,
                (time.perf_counter() - started) * 1000,
            )

    def complete(self) -> Attachment:
        """Call ``CompleteAttachmentUpload``; only after a successful :meth:`upload`."""
        with self._lock:
            if self._attachment is not None:  # set once, when the upload completed
                return self._attachment
            if self.state is not AttachmentUploadState.UPLOADED:
                raise AttachmentError(
                    f"cannot complete the upload of {self.name!r}: it is {self.state.value}, not uploaded"
                )
            token = str(uuid.uuid5(uuid.NAMESPACE_URL, "complete:" + self._client_token))
            self._connection.call_operation(
                "CompleteAttachmentUpload", AttachmentIds=[self.attachment_id], ClientToken=token
            )
            self.state = AttachmentUploadState.COMPLETED
            self._attachment = Attachment(
                self.attachment_id,
                connection=self._connection,
                name=self.name,
                content_type=self.content_type,
                size=self.size,
            )
            return self._attachment


@attrs.define(eq=False)
class Attachment:
    """An attachment of a chat: its metadata, a download URL, a download, an approval wait.

    ``status`` is ``APPROVED``, ``REJECTED``, ``IN_PROGRESS`` or None (not yet seen in the
    transcript); :meth:`reload` refreshes it.
    """

    id: str
    _connection: Optional[Connection] = attrs.field(default=None, repr=False, alias="connection")
    name: Optional[str] = None
    content_type: Optional[str] = None
    status: Optional[str] = None
    size: Optional[int] = None

    @classmethod
    def from_item(cls, data: Mapping[str, Any], *, connection: Optional[Connection] = None) -> Attachment:
        """Build from an entry of a transcript item's ``Attachments``."""
        return cls(
            str(data.get("AttachmentId") or ""),
            connection=connection,
            name=data.get("AttachmentName"),
            content_type=data.get("ContentType"),
            status=data.get("Status"),
        )

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Attachment) and other.id == self.id

    def __hash__(self) -> int:
        return hash((Attachment, self.id))

    @property
    def connection(self) -> Connection:
        if self._connection is None:
            raise AttachmentError("this attachment is not bound to a connection")
        return self._connection

    def reload(self) -> Attachment:
        """Refresh name, type and status from the transcript (newest items first)."""
        for item in self.connection.transcript.filter(direction="BACKWARD"):
            for found in item.attachments:
                if found.id == self.id:
                    self.name, self.content_type, self.status = found.name, found.content_type, found.status
                    return self
        return self

    def _get(self, expires_in: int, disposition: str) -> dict[str, Any]:
        require_int("expires_in", expires_in, minimum=5, maximum=300)
        require_choice("disposition", disposition, ("ATTACHMENT", "INLINE"))
        response = self.connection.call_operation(
            "GetAttachment", AttachmentId=self.id, UrlExpiryInSeconds=expires_in, UrlContentDisposition=disposition
        )
        size = response.get("AttachmentSizeInBytes")
        if size is not None:
            if isinstance(size, bool) or not isinstance(size, int) or size < 0:
                raise MalformedResponseError("GetAttachment", "AttachmentSizeInBytes is not a size in bytes")
            self.size = size
        _required_str(response, "Url", "GetAttachment")
        return response

    def url(self, expires_in: int = 60, disposition: str = "ATTACHMENT") -> str:
        """A presigned download URL (``GetAttachment``), valid for 5 to 300 seconds."""
        return str(self._get(expires_in, disposition)["Url"])

    def download(
        self,
        dest: Union[str, os.PathLike[str], IO[bytes]],
        *,
        overwrite: bool = False,
        progress: Optional[ProgressCallback] = None,
    ) -> Union[Path, IO[bytes]]:
        """Stream the attachment to a directory, a file path or a binary file object.

        Args:
            dest: a directory (existing, or a path ending in a separator: created), where the
                file takes the service's name made safe (see :func:`safe_filename`) and, if
                taken, a `` (1)``-style suffix; a file path; or a binary file object.
            overwrite: replace an existing file at an explicit path.
            progress: called as ``progress(bytes_done, total_bytes)``.

        Returns:
            The path written, or ``dest`` itself for a file object.

        The bytes go to a temporary file next to the target and are moved into place only
        once their count matches ``AttachmentSizeInBytes``: no partial files. In a directory,
        the free name is claimed by creating the file exclusively, so downloads running at
        the same time never take the same name. Files are created with the process's umask.
        """
        if hasattr(dest, "write"):
            _require_binary(dest)
            self._stream_into(dest, progress)  # type: ignore[arg-type]
            return dest  # type: ignore[return-value]
        if not isinstance(dest, (str, os.PathLike)):
            raise InvalidArgumentTypeError("dest must be a directory, a file path or a binary file object")
        path = Path(dest)
        as_directory = path.is_dir() or str(dest).endswith((os.sep, "/"))
        if as_directory:
            path.mkdir(parents=True, exist_ok=True)
            if self.name is None:
                self.reload()  # a bare Attachment(id) learns its name before any byte is fetched
        elif path.exists() and not overwrite:
            raise FileExistsError(f"{str(path)!r} exists; pass overwrite=True to replace it")
        directory = path if as_directory else path.parent
        part = _create_exclusive(directory, lambda n: f".download-{uuid.uuid4().hex}.part")
        try:
            with open(part, "wb") as tmp:
                self._stream_into(tmp, progress)
            if as_directory:
                target = _claim_free_name(directory, safe_filename(self.name or self.id))
            elif overwrite:
                target = path
            else:
                try:
                    target = _create_exclusive(path.parent, lambda n: path.name, attempts=1)
                except FileExistsError:
                    raise FileExistsError(f"{str(path)!r} exists; pass overwrite=True to replace it") from None
            os.replace(part, target)  # over our own empty placeholder: atomic, nobody else's file
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(part)
            raise
        return target

    def _stream_into(self, fileobj: IO[bytes], progress: Optional[ProgressCallback]) -> None:
        response = self._get(60, "ATTACHMENT")
        expected = self.size
        session = self.connection.service.http_session
        failure: Optional[str] = None
        done = 0
        try:
            with session.get(response["Url"], stream=True, timeout=_http_timeout(self.connection)) as answer:
                if not 200 <= answer.status_code < 300:
                    raise AttachmentError(f"downloading attachment {self.id} failed: HTTP {answer.status_code}")
                for chunk in answer.iter_content(CHUNK_SIZE):
                    if expected is not None and done + len(chunk) > expected:
                        raise AttachmentError(
                            f"attachment {self.id}: the download is longer than the {expected} bytes announced; stopped"
                        )
                    fileobj.write(chunk)
                    done += len(chunk)
                    if progress is not None:
                        progress(done, expected)
        except AttachmentError:
            raise
        except Exception as exc:  # requests' messages quote the URL, signature included
            failure = type(exc).__name__
        if failure is not None:  # raised here, so the URL is not kept in __context__ either
            raise AttachmentError(f"downloading attachment {self.id} failed: {failure}")
        if expected is not None and done != expected:
            raise AttachmentError(f"attachment {self.id}: received {done} bytes, expected {expected}")

    def wait_until_approved(self, timeout: float = 60.0, delay: float = 1.0) -> Attachment:
        """Poll the transcript until the attachment is APPROVED, like a boto3 waiter.

        Raises:
            AttachmentRejectedError: the service rejected the attachment.
            AttachmentError: it was not approved within ``timeout`` seconds.
        """
        require_seconds("timeout", timeout)
        require_seconds("delay", delay, allow_zero=True)
        deadline = time.monotonic() + timeout
        while True:
            self.reload()
            if self.status == "APPROVED":
                return self
            if self.status == "REJECTED":
                raise AttachmentRejectedError(f"attachment {self.name or self.id!r} was rejected by the service")
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise AttachmentError(
                    f"attachment {self.name or self.id!r} was not approved within {timeout} s (status {self.status})"
                )
            time.sleep(min(delay, remaining))


def _required_str(data: Mapping[str, Any], key: str, operation: str) -> str:
    value = data.get(key)
    if not isinstance(value, str) or not value:
        raise MalformedResponseError(operation, f"{key} is missing or not a string")
    return value


def _require_binary(fileobj: Any) -> None:
    if isinstance(fileobj, io.TextIOBase) or "b" not in getattr(fileobj, "mode", "b"):
        raise InvalidArgumentTypeError("the file object must be opened in binary mode ('rb' / 'wb')")


def _create_exclusive(directory: Path, name_for: Callable[[int], str], *, attempts: int = 10_000) -> Path:
    """Create a new empty file in ``directory`` (mode 0666 less the umask); never an existing one.

    ``name_for(n)`` gives the name to try at attempt ``n``; the first free one wins, in one
    atomic step (``O_CREAT | O_EXCL``), so two threads or processes never get the same file.
    """
    for attempt in range(attempts):
        candidate = directory / name_for(attempt)
        if candidate.resolve().parent != directory.resolve():  # belt and braces: never leave the directory
            raise AttachmentError("refusing to write outside the target directory")
        try:
            fd = os.open(candidate, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), 0o666)
        except FileExistsError:
            if attempt == attempts - 1:
                raise
            continue
        os.close(fd)
        return candidate
    raise AttachmentError(f"no free file name in {str(directory)!r}")  # pragma: no cover - attempts >= 1


def _claim_free_name(directory: Path, name: str) -> Path:
    """``name`` in ``directory``, or ``stem (1).ext``, ``stem (2).ext``...: the first free one, created."""
    stem, suffix = os.path.splitext(name)
    return _create_exclusive(directory, lambda n: name if n == 0 else f"{stem} ({n}){suffix}")


Source = Union[str, "os.PathLike[str]", bytes, bytearray, memoryview, IO[bytes]]


def _open_regular_file(path: Path) -> IO[bytes]:
    """Open a regular file for reading; refuse a directory, FIFO, socket or device.

    Opened non-blocking, so a FIFO with no writer cannot hang the ``open`` itself; the type is
    checked on the open descriptor, so the file cannot be swapped after the check.
    """
    if path.is_dir():
        raise IsADirectoryError(f"{str(path)!r} is a directory; an attachment must be a regular file")
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0))
    try:
        mode = os.fstat(fd).st_mode
        if not stat.S_ISREG(mode):
            raise InvalidArgumentError(f"{str(path)!r} is not a regular file (a pipe, socket or device); not sent")
        if hasattr(os, "set_blocking"):
            os.set_blocking(fd, True)
        return os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise


def _open_source(
    source: Source, name: Optional[str], limits: AttachmentLimits
) -> tuple[IO[bytes], int, Optional[str], bool]:
    """A seekable binary file object for ``source``, its size, a name, and whether we must close it."""
    if isinstance(source, (str, os.PathLike)):
        path = Path(source)
        fileobj = _open_regular_file(path)
        return fileobj, os.fstat(fileobj.fileno()).st_size, name or path.name, True
    if isinstance(source, (bytes, bytearray, memoryview)):
        data = bytes(source)
        return io.BytesIO(data), len(data), name, True
    if not hasattr(source, "read"):
        raise InvalidArgumentTypeError(
            f"source must be a path, bytes or a binary file object, not {type(source).__name__}"
        )
    _require_binary(source)
    guessed = name or (os.path.basename(source.name) if isinstance(getattr(source, "name", None), str) else None)
    if source.seekable():
        position = source.tell()
        size = source.seek(0, io.SEEK_END) - position
        source.seek(position)
        return source, size, guessed, False
    # A pipe or socket: spool it (to disk past 8 MiB) to learn its size, reading no more than the limit allows.
    spool = tempfile.SpooledTemporaryFile(max_size=8 * 1024 * 1024)
    size = 0
    while chunk := source.read(CHUNK_SIZE):
        size += len(chunk)
        if size > limits.max_size:
            spool.close()
            raise AttachmentTooLargeError(f"the stream is over the attachment size limit of {limits.max_size} bytes")
        spool.write(chunk)
    spool.seek(0)
    return spool, size, guessed, True


def upload_attachment(
    connection: Connection,
    source: Source,
    *,
    name: Optional[str] = None,
    content_type: Optional[str] = None,
    client_token: Optional[str] = None,
    progress: Optional[ProgressCallback] = None,
) -> Attachment:
    """Send a file as an attachment, checked against the service's limits before any call.

    Args:
        source: a path, bytes, or a binary file object (read from its current position).
        name: the attachment's name; defaults to the file's name (required for bytes).
        content_type: defaults to the type :mod:`mimetypes` guesses from the name.
        client_token: idempotency token for the start call (the complete call derives its
            own from it); a retry with the same token never creates a second attachment.
        progress: called as ``progress(bytes_done, total_bytes)`` while uploading.

    The PUT is retried (up to three attempts, same upload URL) on connection errors and
    5xx/429 answers, from the start of the file each time (a stream that cannot be rewound is
    spooled first).
    """
    limits = connection.service.attachment_limits
    if name is not None:
        require_str("name", name, max_length=256)
    fileobj, size, resolved_name, owned = _open_source(source, name, limits)
    try:
        if not resolved_name:
            raise InvalidArgumentError("name= is required when the source has no file name (bytes, a stream)")
        limits.check(resolved_name, size)
        if content_type is None:
            content_type = mimetypes.guess_type(resolved_name, strict=False)[0]
            if content_type is None:
                raise InvalidArgumentError(f"cannot tell the content type of {resolved_name!r}; pass content_type=")
        upload = AttachmentUpload.start(connection, resolved_name, size, content_type, client_token=client_token)
        start = fileobj.tell()  # _open_source gives a file that can be rewound (it spools one that cannot)
        for attempt in range(1, UPLOAD_ATTEMPTS + 1):
            try:
                upload.upload(fileobj, progress)
                break
            except AttachmentUploadError as exc:
                retryable = exc.status_code is None or exc.status_code >= 500 or exc.status_code == 429
                if attempt == UPLOAD_ATTEMPTS or not retryable:
                    raise
                logger.info("upload of attachment %s failed (%s); retrying", upload.attachment_id, exc)
                fileobj.seek(start)
        return upload.complete()
    finally:
        if owned:
            fileobj.close()
