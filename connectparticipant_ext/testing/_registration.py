"""Plugging the chat backend into moto, which has no plugin API.

* ``moto.backends.get_backend("connectparticipant")`` imports ``moto.connectparticipant``;
  a module of that name is put in ``sys.modules`` holding :data:`chat_backends`.
* The Participant Service's hosts are appended to ``moto.backend_index.backend_url_patterns``,
  which both botocore's stubber and the ``responses`` mock (for ``requests``) consult.
* The routes of the Connect API operations the backend serves (``responses.CONNECT_OPERATIONS``)
  are added to moto's ``connect`` URL map.
* A pattern for the attachments bucket goes first in the list, so the upload fault switch
  can fail a PUT before handing everything else to moto's S3.

It runs at import time of :mod:`connectparticipant_ext.testing` (and so of the pytest
plugin), before ``mock_aws`` starts, and is idempotent.
"""

from __future__ import annotations

import importlib.util
import re
import sys
import threading
import types
from typing import Any
from urllib.parse import urlsplit

import moto
import moto.backend_index as backend_index
import moto.connect.urls as connect_urls
from moto.backends import get_backend
from moto.core.base_backend import BackendDict, BaseBackend
from moto.core.models import DEFAULT_ACCOUNT_ID

from .controls import take_upload_failure
from .models import chat_backends
from .responses import connect_url_paths
from .storage import BUCKET_PREFIX, check_presigned_put
from .urls import url_bases

SERVICE = "connectparticipant"
UPLOADS = "connectparticipantuploads"
_UPLOAD_PATTERN = re.compile(r"https?://s3(?:[.-][a-z0-9-]+)*\.amazonaws\.com(?:\.cn)?/" + re.escape(BUCKET_PREFIX))
_lock = threading.Lock()
_registered = False


def _error_xml(status: int) -> str:
    code = "SlowDown" if status == 503 else ("AccessDenied" if status == 403 else "InternalError")
    return f"<?xml version='1.0' encoding='UTF-8'?><Error><Code>{code}</Code><Message>injected upload failure</Message></Error>"


def upload_failure_for(path: str) -> int | None:
    """If the upload fault switch of the bucket's backend is set, take one failure status."""
    bucket = path.lstrip("/").split("/", 1)[0]
    if not bucket.startswith(BUCKET_PREFIX):
        return None
    account_id, _, region = bucket[len(BUCKET_PREFIX) :].partition("-")
    try:
        backend = chat_backends[account_id][region]
    except KeyError:
        return None
    return take_upload_failure(backend)


def failed_upload_response(status: int) -> tuple[int, dict[str, str], str]:
    return status, {"Content-Type": "application/xml"}, _error_xml(status)


class _UploadGate(BaseBackend):
    """Fails attachment PUTs while the switch is set; hands every request on to moto's S3."""

    @property
    def urls(self) -> dict[str, Any]:
        return {_UPLOAD_PATTERN.pattern: self.dispatch}

    @staticmethod
    def dispatch(request: Any, full_url: str, headers: Any) -> Any:
        parts = urlsplit(full_url)
        if request.method == "PUT":
            status = upload_failure_for(parts.path)
            if status is not None:
                return failed_upload_response(status)
            refused = check_presigned_put(full_url, headers)
            if refused is not None:
                return refused
        clean_url = f"{parts.scheme}://{parts.netloc}{parts.path}"
        s3 = get_backend("s3")[DEFAULT_ACCOUNT_ID]["aws"]
        for url, handler in s3.urls.items():
            if re.compile(url).match(clean_url):
                return handler(request, full_url, headers)
        raise RuntimeError("moto's S3 has no route for an attachment URL")


_upload_gates = BackendDict(_UploadGate, "s3")


def register() -> None:
    """Make moto serve the chat backend; safe to call more than once."""
    global _registered
    with _lock:
        if _registered:
            return
        own = sys.modules.get(f"moto.{SERVICE}")
        if own is None and importlib.util.find_spec(f"moto.{SERVICE}") is not None:
            raise RuntimeError(
                f"moto {moto.__version__} ships its own '{SERVICE}' backend; connectparticipant_ext.testing "
                "will not replace it. Pin moto to a version without it, or use moto's backend."
            )
        module = types.ModuleType(f"moto.{SERVICE}")
        module.__dict__[f"{SERVICE}_backends"] = chat_backends
        sys.modules[f"moto.{SERVICE}"] = module
        gates = types.ModuleType(f"moto.{UPLOADS}")
        gates.__dict__[f"{UPLOADS}_backends"] = _upload_gates
        sys.modules[f"moto.{UPLOADS}"] = gates

        patterns = backend_index.backend_url_patterns
        if not any(name == SERVICE for name, _ in patterns):
            patterns.extend((SERVICE, re.compile(base)) for base in url_bases)
        if not any(name == UPLOADS for name, _ in patterns):
            patterns.insert(0, (UPLOADS, _UPLOAD_PATTERN))
        connect_urls.url_paths.update(connect_url_paths())
        _registered = True
