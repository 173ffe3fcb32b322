"""One boto3 session for the library's clients (issue 17).

Without ``session=``, every client the library builds comes from one session: boto3's default
session when the application has one, else one of the library's own. An explicit
``session=`` is used as given. These tests check which session each client comes from
(botocore keeps its session's loader on the client, ``client._loader``), that regions and
endpoints are still each service's own, and that threads build each client once.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator

import boto3
import pytest

from connectparticipant_ext import ChatService
from connectparticipant_ext import service as service_module
from connectparticipant_ext.service import clear_client_cache, shared_session


@pytest.fixture(autouse=True)
def no_default_session(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Each test starts with no boto3 default session and an empty client cache."""
    monkeypatch.setattr(boto3, "DEFAULT_SESSION", None)
    clear_client_cache()
    yield
    clear_client_cache()


@pytest.fixture
def sessions_built(monkeypatch: pytest.MonkeyPatch) -> list[boto3.session.Session]:
    """Every boto3 Session constructed from now on."""
    built: list[boto3.session.Session] = []
    original = boto3.session.Session.__init__

    def record(self: boto3.session.Session, *args: object, **kwargs: object) -> None:
        original(self, *args, **kwargs)  # type: ignore[arg-type]
        built.append(self)

    monkeypatch.setattr(boto3.session.Session, "__init__", record)
    return built


def loader_of(service: ChatService) -> object:
    return service.meta.client._loader


def test_option_sets_share_one_library_session(sessions_built):
    east = ChatService(region_name="us-east-1")
    west = ChatService(region_name="us-west-2", timeout=3)
    local = ChatService(region_name="eu-west-1", endpoint_url="http://127.0.0.1:5999")
    clients = [s.meta.client for s in (east, west, local)]
    assert len({id(c) for c in clients}) == 3
    assert len(sessions_built) == 1
    assert (
        loader_of(east) is loader_of(west) is loader_of(local) is shared_session()._session.get_component("data_loader")
    )
    # Each client keeps its own options.
    assert [c.meta.region_name for c in clients] == ["us-east-1", "us-west-2", "eu-west-1"]
    assert clients[1].meta.config.read_timeout == 3
    assert clients[2].meta.endpoint_url == "http://127.0.0.1:5999"
    assert clients[0].meta.endpoint_url == "https://participant.connect.us-east-1.amazonaws.com"


def test_the_library_does_not_create_boto3s_default_session():
    ChatService(region_name="us-east-1").meta.client  # noqa: B018
    assert boto3.DEFAULT_SESSION is None


def test_the_applications_default_session_is_reused(sessions_built, monkeypatch):
    boto3.setup_default_session(region_name="eu-north-1")
    app_session = boto3.DEFAULT_SESSION
    app_client = boto3.client("s3")
    sessions_built.clear()
    client = ChatService().meta.client
    assert sessions_built == []  # no second session
    assert shared_session() is app_session
    assert client.meta.region_name == "eu-north-1"  # as boto3.client() would resolve it
    assert client._loader is app_client._loader
    assert ChatService(region_name="ap-south-1").meta.client.meta.region_name == "ap-south-1"
    assert app_session.region_name == "eu-north-1"  # the application's session is not changed


def test_a_replaced_default_session_is_used_by_new_clients(monkeypatch):
    boto3.setup_default_session(region_name="eu-west-3")
    first = ChatService().meta.client
    boto3.setup_default_session(region_name="sa-east-1")
    second = ChatService().meta.client
    assert first is not second
    assert (first.meta.region_name, second.meta.region_name) == ("eu-west-3", "sa-east-1")


def test_an_explicit_session_is_used_as_given(sessions_built):
    boto3.setup_default_session(region_name="eu-west-1")
    mine = boto3.session.Session(
        region_name="ca-central-1", aws_access_key_id="AKIDEXAMPLE", aws_secret_access_key="not-a-real-secret"
    )
    sessions_built.clear()
    client = ChatService(session=mine).meta.client
    assert sessions_built == []
    assert client.meta.region_name == "ca-central-1"
    assert client._loader is mine._session.get_component("data_loader")
    assert client._loader is not boto3.DEFAULT_SESSION._session.get_component("data_loader")
    # The session itself is untouched: same region, same credentials.
    assert mine.region_name == "ca-central-1"
    assert mine.get_credentials().access_key == "AKIDEXAMPLE"
    # An explicit region still wins over the session's, as with session.client(region_name=...).
    assert ChatService(session=mine, region_name="us-west-1").meta.client.meta.region_name == "us-west-1"


def test_explicit_sessions_do_not_share_clients():
    one = boto3.session.Session(region_name="us-east-1")
    two = boto3.session.Session(region_name="us-east-1")
    assert ChatService(session=one).meta.client is not ChatService(session=two).meta.client
    assert ChatService(session=one).meta.client is ChatService(session=one).meta.client


def test_threads_build_each_client_once_from_one_session(sessions_built):
    regions = ["us-east-1", "us-west-2", "eu-west-1", "ap-southeast-2"]
    barrier = threading.Barrier(16)
    clients: list[object] = []
    errors: list[BaseException] = []

    def make(region: str) -> None:
        try:
            barrier.wait(timeout=10)
            clients.append((region, ChatService(region_name=region).meta.client))
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=make, args=(regions[n % 4],)) for n in range(16)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert errors == []
    assert len(clients) == 16
    assert len(sessions_built) == 1
    by_region: dict[str, set[int]] = {}
    for region, client in clients:
        by_region.setdefault(region, set()).add(id(client))
    assert {region: len(ids) for region, ids in by_region.items()} == dict.fromkeys(regions, 1)


def test_clear_client_cache_drops_the_library_session(sessions_built):
    first = shared_session()
    clear_client_cache()
    assert shared_session() is not first
    assert len(sessions_built) == 2
    assert service_module._client_cache == {}


def test_clients_of_a_replaced_default_session_are_forgotten():
    boto3.setup_default_session(region_name="eu-west-3")
    old = boto3.DEFAULT_SESSION
    kept = ChatService()
    kept_client = kept.meta.client
    explicit = boto3.session.Session(region_name="us-east-2")
    ChatService(session=explicit).meta.client  # noqa: B018
    boto3.setup_default_session(region_name="sa-east-1")
    ChatService().meta.client  # noqa: B018
    sessions = [entry.session for entry in service_module._client_cache.values()]
    assert old not in sessions  # ~8 MB of botocore data no longer pinned by the cache
    assert explicit in sessions  # an explicit session's client stays cached
    assert kept.meta.client is kept_client  # a service that has its client keeps it
