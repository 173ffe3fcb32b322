"""ChatService: the client it builds, the shared-client cache, options, partitions, FIPS."""

from __future__ import annotations

import io
import threading

import boto3
import botocore
import pytest
import requests
from botocore.awsrequest import AWSResponse
from botocore.config import Config

from connectparticipant_ext import AttachmentLimits, ChatService, InvalidArgumentError, InvalidArgumentTypeError
from connectparticipant_ext.service import DEFAULT_RETRIES


def test_default_client_is_unsigned_with_standard_retries():
    client = ChatService(region_name="us-east-1").meta.client
    assert client.meta.service_model.service_name == "connectparticipant"
    assert client.meta.config.signature_version is botocore.UNSIGNED
    assert client.meta.config.retries == dict(DEFAULT_RETRIES)
    assert client.meta.region_name == "us-east-1"


class _RawBody(io.BytesIO):
    def stream(self, **kwargs):
        yield self.read()


def test_requests_are_unsigned_and_need_no_credentials(monkeypatch, tmp_path):
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-credentials"))  # no such file
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-config"))
    service = ChatService(region_name="eu-west-2", retries={"max_attempts": 1}, timeout=1.25)
    sent = []

    def answer(request, **kwargs):
        sent.append(request)
        body = b'{"Id": "m-1", "AbsoluteTime": "2024-01-02T03:04:05.678Z"}'
        return AWSResponse(request.url, 200, {"Content-Type": "application/json"}, _RawBody(body))

    events = service.meta.client.meta.events
    events.register_first("before-send.connectparticipant.SendMessage", answer, unique_id="unsigned-test")
    try:
        message = service.Connection("connection-token-value").send_message("hi")
    finally:
        events.unregister("before-send.connectparticipant.SendMessage", unique_id="unsigned-test")
    assert message.id == "m-1"
    [request] = sent
    assert "Authorization" not in request.headers
    assert (
        request.headers["X-Amz-Bearer"] == b"connection-token-value"
        or request.headers["X-Amz-Bearer"] == "connection-token-value"
    )
    assert request.url == "https://participant.connect.eu-west-2.amazonaws.com/participant/message"


def test_same_settings_share_one_client():
    first = ChatService(region_name="us-east-1", timeout=7)
    second = ChatService(region_name="us-east-1", timeout=7)
    assert first.meta.client is second.meta.client
    assert ChatService(region_name="us-east-1", timeout=8).meta.client is not first.meta.client
    assert ChatService(region_name="us-west-2", timeout=7).meta.client is not first.meta.client


def test_sixteen_threads_share_one_client():
    clients = []
    barrier = threading.Barrier(16)

    def make() -> None:
        barrier.wait(timeout=10)
        clients.append(ChatService(region_name="ap-southeast-2", timeout=3.5).meta.client)

    threads = [threading.Thread(target=make) for _ in range(16)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert len(clients) == 16
    assert len({id(c) for c in clients}) == 1


def test_client_is_built_lazily(monkeypatch):
    built = []
    monkeypatch.setattr("connectparticipant_ext.service._shared_client", lambda options: built.append(options))
    service = ChatService(region_name="us-east-1")
    assert built == []
    _ = service.meta.client
    assert len(built) == 1


def test_existing_client_is_used_as_is():
    client = boto3.client(
        "connectparticipant", region_name="us-east-1", config=Config(signature_version=botocore.UNSIGNED)
    )
    assert ChatService(client=client).meta.client is client


@pytest.mark.parametrize(
    "options",
    [
        {"config": Config(read_timeout=3)},
        {"region_name": "us-east-1"},
        {"endpoint_url": "http://127.0.0.1:5000"},
        {"timeout": 3},
        {"retries": {"max_attempts": 2}},
        {"use_fips": True},
        {"session": boto3.session.Session(region_name="us-east-1")},
    ],
)
def test_client_conflicts_with_client_options(options):
    client = boto3.client("connectparticipant", region_name="us-east-1")
    with pytest.raises(InvalidArgumentError) as info:
        ChatService(client=client, **options)
    assert "client=" in str(info.value)
    assert next(iter(options)) in str(info.value)


def test_client_must_be_a_connectparticipant_client():
    with pytest.raises(InvalidArgumentTypeError):
        ChatService(client=boto3.client("s3", region_name="us-east-1"))


@pytest.mark.parametrize(
    ("options", "mentions"),
    [
        ({"timeout": -1}, "timeout"),
        ({"timeout": "3"}, "timeout"),
        ({"timeout": (1, 2, 3)}, "timeout"),
        ({"retries": 5}, "retries"),
        ({"use_fips": "yes"}, "use_fips"),
        ({"config": {"read_timeout": 3}}, "config"),
        ({"region_name": ""}, "region_name"),
        ({"endpoint_url": 5}, "endpoint_url"),
        ({"attachment_limits": {"max_size": 1}}, "attachment_limits"),
    ],
)
def test_bad_options(options, mentions):
    with pytest.raises((InvalidArgumentError, InvalidArgumentTypeError)) as info:
        ChatService(**{"region_name": "us-east-1", **options})
    assert mentions in str(info.value)


def test_timeout_sets_connect_and_read_timeouts():
    config = ChatService(region_name="us-east-1", timeout=4).meta.client.meta.config
    assert (config.connect_timeout, config.read_timeout) == (4, 4)
    config = ChatService(region_name="us-east-1", timeout=(2, 9)).meta.client.meta.config
    assert (config.connect_timeout, config.read_timeout) == (2, 9)


def test_retries_option():
    config = ChatService(
        region_name="us-east-1", retries={"mode": "adaptive", "max_attempts": 9}
    ).meta.client.meta.config
    assert config.retries["mode"] == "adaptive"
    assert config.retries["total_max_attempts"] == 10  # botocore: max_attempts counts retries


def test_config_is_merged_and_explicit_options_win():
    config = Config(read_timeout=11, connect_timeout=12, retries={"max_attempts": 2}, user_agent_appid="myapp")
    client = ChatService(region_name="us-east-1", config=config, timeout=(1, 2)).meta.client
    assert client.meta.config.signature_version is botocore.UNSIGNED
    assert (client.meta.config.connect_timeout, client.meta.config.read_timeout) == (1, 2)
    assert client.meta.config.retries["total_max_attempts"] == 3
    assert client.meta.config.user_agent_appid == "myapp"


def test_session_is_used():
    session = boto3.session.Session(region_name="eu-central-1")
    client = ChatService(session=session).meta.client
    assert client.meta.region_name == "eu-central-1"


def test_endpoint_url():
    client = ChatService(region_name="us-east-1", endpoint_url="http://127.0.0.1:5999").meta.client
    assert client.meta.endpoint_url == "http://127.0.0.1:5999"


@pytest.mark.parametrize(
    ("region", "fips", "endpoint", "partition"),
    [
        ("us-east-1", False, "https://participant.connect.us-east-1.amazonaws.com", "aws"),
        ("us-east-1", True, "https://participant.connect-fips.us-east-1.amazonaws.com", "aws"),
        ("us-west-2", True, "https://participant.connect-fips.us-west-2.amazonaws.com", "aws"),
        ("eu-west-2", False, "https://participant.connect.eu-west-2.amazonaws.com", "aws"),
        ("us-gov-west-1", False, "https://participant.connect.us-gov-west-1.amazonaws.com", "aws-us-gov"),
        ("us-gov-west-1", True, "https://participant.connect.us-gov-west-1.amazonaws.com", "aws-us-gov"),
        ("cn-north-1", False, "https://participant.connect.cn-north-1.amazonaws.com.cn", "aws-cn"),
        ("ca-central-1", True, "https://participant.connect-fips.ca-central-1.amazonaws.com", "aws"),
    ],
)
def test_partitions_and_fips_resolve_without_a_call(region, fips, endpoint, partition):
    client = ChatService(region_name=region, use_fips=fips).meta.client
    assert client.meta.endpoint_url == endpoint
    assert client.meta.partition == partition
    assert bool(client.meta.config.use_fips_endpoint) is fips


def test_with_options_returns_a_new_service_and_leaves_the_original():
    original = ChatService(region_name="us-east-1", timeout=5)
    original_client = original.meta.client
    derived = original.with_options(timeout=20, retries={"max_attempts": 2})
    assert derived is not original
    assert original.meta.client is original_client
    assert original_client.meta.config.read_timeout == 5
    assert derived.meta.client.meta.config.read_timeout == 20
    assert derived.meta.client.meta.config.retries["total_max_attempts"] == 3
    assert derived.meta.client.meta.region_name == "us-east-1"


def test_with_options_same_settings_share_the_client():
    original = ChatService(region_name="us-east-1", timeout=5)
    assert original.with_options().meta.client is original.meta.client


def test_with_options_keeps_limits_and_http_session():
    limits = AttachmentLimits(max_size=10)
    session = requests.Session()
    original = ChatService(region_name="us-east-1", attachment_limits=limits, http_session=session)
    derived = original.with_options(endpoint_url="http://127.0.0.1:5998")
    assert derived.attachment_limits is limits
    assert derived.http_session is session
    assert derived.meta.client.meta.endpoint_url == "http://127.0.0.1:5998"


def test_with_options_on_a_given_client():
    client = boto3.client("connectparticipant", region_name="us-east-1")
    service = ChatService(client=client)
    assert service.with_options(attachment_limits=AttachmentLimits(max_size=5)).meta.client is client
    with pytest.raises(InvalidArgumentError):
        service.with_options(timeout=3)


def test_with_options_unknown_option():
    with pytest.raises(InvalidArgumentError) as info:
        ChatService(region_name="us-east-1").with_options(colour="blue")
    assert "colour" in str(info.value)


def test_resources_from_both_services_keep_working(connection, chat):
    derived = chat.with_options(timeout=30)
    restored = derived.Connection(connection.token)
    restored.send_message("through the derived service")
    connection.send_message("through the original")
    contents = [i.content for i in connection.transcript if i.is_message]
    assert contents[-2:] == ["through the derived service", "through the original"]


def test_repr_shows_the_region():
    assert repr(ChatService(region_name="eu-west-1")) == "ChatService(region_name='eu-west-1')"


@pytest.mark.parametrize("bad", [1e308, float("nan"), -1, (3, 1e308), (float("nan"), 3)])
def test_timeouts_past_what_a_wait_can_take_are_refused(bad):
    with pytest.raises(InvalidArgumentError, match="timeout"):
        ChatService(region_name="us-east-1", timeout=bad)
