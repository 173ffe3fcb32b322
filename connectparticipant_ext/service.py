"""The root resource: :class:`ChatService` builds (and shares) the boto3 client."""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Hashable, Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Any, Optional, Union

import attrs
import boto3
import botocore
from botocore.client import BaseClient
from botocore.config import Config

from ._validation import require_seconds
from .attachments import AttachmentLimits
from .exceptions import InvalidArgumentError, InvalidArgumentTypeError

if TYPE_CHECKING:
    import requests

    from . import connection as _connection
    from . import participant as _participant

__all__ = ["ChatService", "DEFAULT_RETRIES", "ServiceMeta", "shared_session"]

SERVICE_NAME = "connectparticipant"

DEFAULT_RETRIES: Mapping[str, Any] = {"mode": "standard", "total_max_attempts": 5}
"""botocore retry settings used unless ``retries=`` or ``config=`` says otherwise.

Five attempts in all (the first and four retries) in botocore's "standard" mode (exponential backoff with jitter), which retries
throttling, 5xx answers and connection errors. Sends carry a ``ClientToken``, so a retry never
duplicates a message.
"""

Timeout = Union[float, int, tuple[float, float]]

_CACHE_SIZE = 32


@attrs.frozen
class _CacheEntry:
    client: BaseClient
    options: Mapping[str, Any]
    session: boto3.session.Session
    shared: bool  # from shared_session(), not from an explicit session=


# Values keep the options and the session alive: keys hold id() of unhashable ones (a
# session, a Config), and an id must not be reused by a new object while its entry exists.
_client_cache: OrderedDict[Hashable, _CacheEntry] = OrderedDict()
_client_cache_lock = threading.Lock()

# Clients are built one at a time: a boto3 session is not thread-safe, and the shared one is
# used by every thread. Re-entrant, because shared_session() is called with it held.
_build_lock = threading.RLock()
_library_session: Optional[boto3.session.Session] = None

_CLIENT_OPTIONS = ("region_name", "endpoint_url", "timeout", "retries", "use_fips", "session", "config")


def _freeze(value: Any) -> Hashable:
    if isinstance(value, Mapping):
        return tuple(sorted((k, _freeze(v)) for k, v in value.items()))
    if isinstance(value, (list, tuple)):
        return tuple(_freeze(v) for v in value)
    return value if isinstance(value, Hashable) else id(value)


@attrs.frozen
class ServiceMeta:
    """What boto3 resources expose as ``meta``: here, the low-level client."""

    _service: ChatService = attrs.field(repr=False)

    @property
    def client(self) -> BaseClient:
        """The boto3 ``connectparticipant`` client underneath (built on first use).

        Every call of the library reads it, so once the client is built it is one lookup.
        """
        service = self._service
        return service._client or service._get_client()


class ChatService:
    """Entry point to the Amazon Connect Participant Service.

    Args:
        region_name: AWS region; when omitted, boto3 resolves it (``AWS_DEFAULT_REGION``,
            config files) as usual. The partition (aws, aws-cn, aws-us-gov) follows from it.
        endpoint_url: a custom endpoint, e.g. ``http://127.0.0.1:2428`` for the local server.
        timeout: seconds for botocore's ``connect_timeout`` and ``read_timeout``, or a
            ``(connect, read)`` pair.
        retries: botocore's retry dict; default :data:`DEFAULT_RETRIES`.
        use_fips: use the FIPS endpoints (botocore ``use_fips_endpoint``).
        session: a :class:`boto3.session.Session` to build the client from.
        client: an existing ``connectparticipant`` client; excludes every option above.
        config: a :class:`botocore.config.Config`, merged over the defaults (unsigned requests,
            standard retries); explicit ``timeout``/``retries``/``use_fips`` win over it.
        attachment_limits: the size and type limits checked before uploads; an Amazon Connect
            instance can change them, so they are a setting (default :class:`AttachmentLimits`).
        http_session: the :class:`requests.Session` used for presigned attachment URLs.

    The participant calls need no AWS credentials: the client signs nothing
    (``signature_version=UNSIGNED``). Services created with the same settings share one
    client, so creating a ``ChatService`` per request (a Django view, say) is cheap. Without
    ``session=``, clients come from one shared boto3 session (see :func:`shared_session`):
    boto3's default session when the application has one, else the library's own.
    """

    def __init__(
        self,
        region_name: Optional[str] = None,
        *,
        endpoint_url: Optional[str] = None,
        timeout: Optional[Timeout] = None,
        retries: Optional[Mapping[str, Any]] = None,
        use_fips: bool = False,
        session: Optional[boto3.session.Session] = None,
        client: Optional[BaseClient] = None,
        config: Optional[Config] = None,
        attachment_limits: Optional[AttachmentLimits] = None,
        http_session: Optional[requests.Session] = None,
    ) -> None:
        if client is not None:
            given = [
                name
                for name, value in self._client_options(
                    region_name, endpoint_url, timeout, retries, use_fips, session, config
                ).items()
                if value not in (None, False)
            ]
            if given:
                raise InvalidArgumentError(
                    f"client= cannot be combined with {', '.join(given)}: configure the client you pass in instead"
                )
            if getattr(getattr(client, "meta", None), "service_model", None) is None or (
                client.meta.service_model.service_name != SERVICE_NAME
            ):
                raise InvalidArgumentTypeError("client= must be a boto3 'connectparticipant' client")
        _check_options(region_name, endpoint_url, timeout, retries, use_fips, config)
        if attachment_limits is not None and not isinstance(attachment_limits, AttachmentLimits):
            raise InvalidArgumentTypeError("attachment_limits must be an AttachmentLimits")
        self._options = self._client_options(region_name, endpoint_url, timeout, retries, use_fips, session, config)
        self._client = client
        self._client_given = client is not None
        self._lock = threading.Lock()
        self.attachment_limits = attachment_limits or AttachmentLimits()
        self._http_session = http_session
        self.meta = ServiceMeta(self)

    @staticmethod
    def _client_options(
        region_name: Optional[str],
        endpoint_url: Optional[str],
        timeout: Optional[Timeout],
        retries: Optional[Mapping[str, Any]],
        use_fips: bool,
        session: Optional[boto3.session.Session],
        config: Optional[Config],
    ) -> dict[str, Any]:
        return {
            "region_name": region_name,
            "endpoint_url": endpoint_url,
            "timeout": timeout,
            "retries": dict(retries) if retries is not None else None,
            "use_fips": use_fips,
            "session": session,
            "config": config,
        }

    def __repr__(self) -> str:
        region = self._client.meta.region_name if self._client is not None else self._options["region_name"]
        return f"ChatService(region_name={region!r})"

    # -- the client ------------------------------------------------------------------------

    def _get_client(self) -> BaseClient:
        if self._client is None:
            with self._lock:
                if self._client is None:
                    self._client = _shared_client(self._options)
        return self._client

    @property
    def http_session(self) -> requests.Session:
        """The :class:`requests.Session` used for presigned attachment URLs (made on first use)."""
        if self._http_session is None:
            import requests

            with self._lock:
                if self._http_session is None:
                    self._http_session = requests.Session()
        return self._http_session

    def with_options(self, **changes: Any) -> ChatService:
        """A new service with some settings changed; this one is left untouched.

        Takes the keyword arguments of :class:`ChatService`. Resources made from either
        service keep working. A service built around ``client=`` can only change the
        options that are not the client's (``attachment_limits``, ``http_session``).
        """
        unknown = set(changes) - set(_CLIENT_OPTIONS) - {"client", "attachment_limits", "http_session"}
        if unknown:
            raise InvalidArgumentError(f"unknown option(s) for with_options: {', '.join(sorted(unknown))}")
        options: dict[str, Any] = {"attachment_limits": self.attachment_limits, "http_session": self._http_session}
        if self._client_given and "client" not in changes:
            client_changes = set(changes) & set(_CLIENT_OPTIONS)
            if client_changes:
                raise InvalidArgumentError(
                    f"this ChatService wraps a client you passed in; cannot change {', '.join(sorted(client_changes))}"
                )
            options["client"] = self._client
        elif "client" not in changes:
            options.update(self._options)
        options.update(changes)
        return ChatService(**options)

    # -- resources -------------------------------------------------------------------------

    def Participant(self, token: str) -> _participant.Participant:  # noqa: N802 - boto3 resource style
        """A chat participant, from the participant token ``StartChatContact`` returned."""
        from .participant import Participant

        return Participant(token, service=self)

    def Connection(  # noqa: N802 - boto3 resource style
        self,
        token: str,
        participant: Optional[_participant.Participant] = None,
        *,
        expires_at: Optional[datetime] = None,
    ) -> _connection.Connection:
        """Restore a connection from a stored connection token (a Django session, say).

        With ``participant``, the connection renews itself when its token expires; pass
        ``expires_at`` (stored alongside the token) so renewal happens before expiry.
        """
        from .connection import Connection

        return Connection(self, token, participant=participant, expires_at=expires_at)


def _check_options(
    region_name: Optional[str],
    endpoint_url: Optional[str],
    timeout: Optional[Timeout],
    retries: Optional[Mapping[str, Any]],
    use_fips: bool,
    config: Optional[Config],
) -> None:
    for name, value in (("region_name", region_name), ("endpoint_url", endpoint_url)):
        if value is not None and (not isinstance(value, str) or not value):
            raise InvalidArgumentTypeError(f"{name} must be a non-empty str")
    if timeout is not None:
        parts = timeout if isinstance(timeout, tuple) else (timeout, timeout)
        if len(parts) != 2 or any(isinstance(p, bool) or not isinstance(p, (int, float)) for p in parts):
            raise InvalidArgumentTypeError("timeout must be a number of seconds or a (connect, read) pair")
        for part in parts:
            require_seconds("timeout", part)
    if retries is not None:
        _check_retries(retries)
    if not isinstance(use_fips, bool):
        raise InvalidArgumentTypeError("use_fips must be a bool")
    if config is not None and not isinstance(config, Config):
        raise InvalidArgumentTypeError("config must be a botocore.config.Config")


_RETRY_MODES = ("legacy", "standard", "adaptive")
_RETRY_COUNTS = {"max_attempts": 0, "total_max_attempts": 1}


def _check_retries(retries: Any) -> None:
    """Check botocore's retry dict now, not at the first call (where it fails obscurely)."""
    if not isinstance(retries, Mapping):
        raise InvalidArgumentTypeError("retries must be a dict of botocore retry settings, e.g. {'max_attempts': 5}")
    unknown = sorted(str(key) for key in retries if key not in ("mode", *_RETRY_COUNTS))
    if unknown:
        raise InvalidArgumentError(
            f"unknown retries setting(s) {', '.join(unknown)}; use mode, max_attempts or total_max_attempts"
        )
    mode = retries.get("mode")
    if mode is not None and mode not in _RETRY_MODES:
        raise InvalidArgumentError(f"retries mode must be one of {', '.join(_RETRY_MODES)}; got {mode!r}")
    for key, minimum in _RETRY_COUNTS.items():
        if key not in retries:
            continue
        value = retries[key]
        if isinstance(value, bool) or not isinstance(value, int):
            raise InvalidArgumentTypeError(f"retries {key} must be an int, not {type(value).__name__}")
        if value < minimum:
            raise InvalidArgumentError(f"retries {key} must be at least {minimum}, got {value}")


def build_config(options: Mapping[str, Any]) -> Config:
    """The botocore Config for a set of options: defaults, then ``config``, then explicit ones."""
    from . import __version__

    config = Config(
        signature_version=botocore.UNSIGNED,
        retries=dict(DEFAULT_RETRIES),
        user_agent_extra=f"connectparticipant-ext/{__version__}",
    )
    if options.get("config") is not None:
        config = config.merge(options["config"])
    explicit: dict[str, Any] = {}
    timeout = options.get("timeout")
    if timeout is not None:
        connect, read = timeout if isinstance(timeout, tuple) else (timeout, timeout)
        explicit.update(connect_timeout=connect, read_timeout=read)
    if options.get("retries") is not None:
        explicit["retries"] = dict(options["retries"])
    if options.get("use_fips"):
        explicit["use_fips_endpoint"] = True
    return config.merge(Config(**explicit)) if explicit else config


def shared_session() -> boto3.session.Session:
    """The boto3 session the library builds its clients from when it is not given one.

    That is boto3's default session (``boto3.DEFAULT_SESSION``, the one ``boto3.client()``
    uses) when the application has one, so the library adds a client to it rather than a
    second copy of botocore's data (about 8 MB); otherwise one session of the library's own,
    made on first use and shared by every client it builds. Neither is changed: each client
    gets its own configuration (unsigned, with the service's options). An explicit
    ``ChatService(session=...)`` is used as given, never this one.

    The session's region and profile apply as they do to ``boto3.client()``: a
    ``ChatService`` without ``region_name`` takes the default session's region.
    """
    default = boto3.DEFAULT_SESSION
    if default is not None:
        return default
    global _library_session
    with _build_lock:
        if _library_session is None:
            _library_session = boto3.session.Session()
        return _library_session


def _shared_client(options: Mapping[str, Any]) -> BaseClient:
    explicit = options.get("session")
    session = explicit if explicit is not None else shared_session()
    # The session is part of the key: when the application replaces boto3's default session
    # (boto3.setup_default_session), new services use the new one, as boto3.client() does.
    key = (id(session),) + tuple((name, _freeze(options.get(name))) for name in _CLIENT_OPTIONS if name != "session")
    with _client_cache_lock:
        cached = _client_cache.get(key)
        if cached is not None:
            _client_cache.move_to_end(key)
            return cached.client
    with _build_lock:
        with _client_cache_lock:  # another thread may have built it while this one waited
            cached = _client_cache.get(key)
        if cached is not None:
            return cached.client
        client = session.client(
            SERVICE_NAME,
            region_name=options.get("region_name"),
            endpoint_url=options.get("endpoint_url"),
            config=build_config(options),
        )
        with _client_cache_lock:
            if explicit is None:
                # A shared session that is no longer the one in use (the application replaced
                # boto3's default session; a test's mock_aws made a new one) pins ~8 MB of
                # botocore data: forget its clients. Services holding one keep it working.
                for stale in [k for k, e in _client_cache.items() if e.shared and e.session is not session]:
                    del _client_cache[stale]
            _client_cache[key] = _CacheEntry(client, dict(options), session, explicit is None)
            _client_cache.move_to_end(key)
            while len(_client_cache) > _CACHE_SIZE:
                _client_cache.popitem(last=False)
    return client


def clear_client_cache() -> None:
    """Forget every shared client and the library's own session (tests use this between mock environments)."""
    global _library_session
    with _build_lock, _client_cache_lock:
        _client_cache.clear()
        _library_session = None
