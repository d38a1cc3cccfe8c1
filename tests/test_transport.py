"""Both transports against a real server on 127.0.0.1: reuse, streams, timeouts, faults, limits."""

from __future__ import annotations

import gc
import json
import socket
from typing import Any, Iterator

import pytest
import requests

import omnillm
from omnillm.http import Json, TransportRequest
from omnillm.testing import Fault, MockProvider
from omnillm.transport import Timeout
from omnillm.transport.requests_transport import RequestsTransport
from omnillm.transport.urllib3_transport import Urllib3Transport

CHAT = {"model": "gpt-4o", "messages": [{"role": "user", "content": "hello"}]}
STREAM = {**CHAT, "stream": True}


@pytest.fixture(scope="module")
def mock() -> Iterator[MockProvider]:
    with MockProvider(chunk_chars=2) as server:
        yield server


@pytest.fixture(autouse=True)
def _clean(mock: MockProvider) -> None:
    mock.reset()


def _transport(kind: str, **kw: Any) -> Any:
    if kind == "urllib3":
        return Urllib3Transport(**kw)
    session = requests.Session()
    adapter = requests.adapters.HTTPAdapter(pool_maxsize=kw.pop("pool_maxsize", 10), max_retries=0)
    session.mount("http://", adapter)
    return RequestsTransport(session, owns_session=True, **kw)


KINDS = ["urllib3", "requests"]


def _chat(mock: MockProvider, body: Any = CHAT, **headers: str) -> TransportRequest:
    return TransportRequest("POST", f"{mock.base_url}/v1/chat/completions", headers, body=Json(body))


@pytest.mark.parametrize("kind", KINDS)
def test_calls_reuse_one_connection(kind: str, mock: MockProvider) -> None:
    transport = _transport(kind)
    before = mock.connections_opened
    for _ in range(20):
        response = transport.send(_chat(mock, authorization="Bearer sk-test"))
        assert response.status == 200
        assert response.json()["choices"][0]["message"]["content"] == "Mock reply to: hello"
    assert mock.connections_opened - before == 1
    sent = mock.requests[0]
    assert sent.headers.get("user-agent", "").startswith(f"omnillm/{omnillm.__version__}")
    assert sent.headers.get("content-type") == "application/json"
    assert sent.key == "sk-test"
    transport.close()


@pytest.mark.parametrize("kind", KINDS)
def test_streams_read_to_the_end_return_their_connection(kind: str, mock: MockProvider) -> None:
    transport = _transport(kind)
    before = mock.connections_opened
    for _ in range(10):
        response = transport.send(_chat(mock, STREAM), stream=True)
        assert response.stream is not None
        chunks = list(response.stream)
        assert b"data: [DONE]" in b"".join(chunks)
        assert response.stream.closed
    assert mock.connections_opened - before == 1
    transport.close()


@pytest.mark.parametrize("kind", KINDS)
def test_a_stream_is_handed_on_as_it_arrives(kind: str, mock: MockProvider) -> None:
    # The body comes in 16-byte chunks, 2 ms apart: what arrived is handed on at once, not
    # held until a buffer fills or the body ends.
    transport = _transport(kind)
    whole = b"".join(transport.send(_chat(mock, STREAM), stream=True).stream or [])
    mock.add_fault(Fault(trickle=(16, 0.002)))
    response = transport.send(_chat(mock, STREAM), stream=True)
    assert response.stream is not None
    chunks = list(response.stream)
    assert len(chunks) > 4, "a stream must be handed on in pieces, not as one body"
    assert len(b"".join(chunks)) == len(whole)
    assert b"".join(chunks).count(b"data: ") == whole.count(b"data: ")
    assert response.stream.closed
    transport.close()


@pytest.mark.parametrize("kind", KINDS)
def test_abandoned_stream_frees_its_pool_slot(kind: str, mock: MockProvider) -> None:
    transport = _transport(kind, pool_maxsize=1)
    mock.add_fault(Fault(trickle=(8, 0.01)))
    response = transport.send(_chat(mock, STREAM), stream=True)
    assert response.stream is not None
    next(iter(response.stream))
    response.close()  # abandoned halfway
    mock.clear_faults()
    gone = transport.send(_chat(mock, STREAM), stream=True)
    assert gone.stream is not None
    next(iter(gone.stream))
    del gone
    gc.collect()  # abandoned by garbage collection, never closed explicitly
    opened = mock.connections_opened
    for _ in range(5):
        assert transport.send(_chat(mock)).status == 200
    # Each abandoned stream cost its socket, but the slot came back and is reused.
    assert mock.connections_opened - opened <= 1
    transport.close()


@pytest.mark.parametrize("kind", KINDS)
def test_read_timeout(kind: str, mock: MockProvider) -> None:
    transport = _transport(kind)
    mock.add_fault(Fault(latency=1.0, times=1))
    with pytest.raises(omnillm.TimeoutError) as info:
        transport.send(_chat(mock), timeout=Timeout(connect=2, read=0.2))
    assert info.value.retryable
    assert isinstance(info.value, omnillm.OmniLLMError)


@pytest.mark.parametrize("kind", KINDS)
def test_overall_deadline_bounds_a_slow_trickle(kind: str, mock: MockProvider) -> None:
    transport = _transport(kind)
    mock.add_fault(Fault(trickle=(4, 0.05), times=1))
    with pytest.raises(omnillm.TimeoutError):
        transport.send(_chat(mock), timeout=Timeout(connect=2, read=5, total=0.3))


@pytest.mark.parametrize("kind", KINDS)
def test_connection_refused(kind: str) -> None:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()  # nothing listens there now
    transport = _transport(kind)
    request = TransportRequest("POST", f"http://127.0.0.1:{port}/v1/chat/completions", body=Json(CHAT))
    with pytest.raises(omnillm.ConnectionError) as info:
        transport.send(request, timeout=Timeout(connect=2, read=2))
    assert info.value.retryable


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("fault", [Fault(reset=True), Fault(reset_after_bytes=20)], ids=["before", "mid-body"])
def test_connection_reset(kind: str, fault: Fault, mock: MockProvider) -> None:
    transport = _transport(kind)
    mock.add_fault(fault)
    with pytest.raises(omnillm.ConnectionError):
        transport.send(_chat(mock))


@pytest.mark.parametrize("kind", KINDS)
def test_reset_mid_stream_raises_from_the_iterator(kind: str, mock: MockProvider) -> None:
    transport = _transport(kind)
    mock.add_fault(Fault(reset_after_bytes=300))
    response = transport.send(_chat(mock, STREAM), stream=True)
    assert response.stream is not None
    received = b""
    with pytest.raises(omnillm.ConnectionError):
        for chunk in response.stream:
            received += chunk
    assert 0 < len(received) <= 300


@pytest.mark.parametrize("kind", KINDS)
def test_oversize_body_is_a_clear_error(kind: str, mock: MockProvider) -> None:
    transport = _transport(kind, max_response_bytes=64)
    with pytest.raises(omnillm.ResponseTooLargeError) as info:
        transport.send(_chat(mock))
    assert "64" in str(info.value) and not info.value.retryable
    # The connection that carried the oversize body is not reused half-read.
    ok = _transport(kind)
    assert ok.send(_chat(mock)).status == 200


@pytest.mark.parametrize("kind", KINDS)
def test_error_status_is_a_response_not_an_exception(kind: str, mock: MockProvider) -> None:
    transport = _transport(kind)
    mock.add_fault(Fault(status=429, retry_after=3))
    response = transport.send(_chat(mock))
    assert response.status == 429
    assert response.headers.get("retry-after") == "3"
    assert json.loads(response.body)["error"]["code"] == "rate_limit_exceeded"


def test_secrets_stay_out_of_reprs_and_errors() -> None:
    secret = "sk-CANARY-1234567890"
    request = TransportRequest(
        "POST",
        "http://127.0.0.1:9/v1beta/models/x:generateContent",
        {"Authorization": f"Bearer {secret}", "x-goog-api-key": secret},
        query=[("key", secret), ("alt", "sse")],
        body=Json({"a": 1}),
    )
    assert secret not in repr(request)
    assert secret not in repr(request.headers)
    with pytest.raises(omnillm.ConnectionError) as info:
        Urllib3Transport().send(request, timeout=Timeout(connect=1, read=1))
    assert secret not in str(info.value) and secret not in repr(info.value)


def test_tls_verification_is_on_by_default_and_configurable() -> None:
    default = Urllib3Transport()._pool()
    assert default.connection_pool_kw["cert_reqs"] == "CERT_REQUIRED"
    bundle = Urllib3Transport(ca_certs="/etc/ssl/certs/ca-certificates.crt")._pool()
    assert bundle.connection_pool_kw["ca_certs"] == "/etc/ssl/certs/ca-certificates.crt"
    proxied = Urllib3Transport(proxy_url="http://127.0.0.1:3128")._pool()
    assert type(proxied).__name__ == "ProxyManager"


def test_transport_repr_shows_no_configuration_secrets() -> None:
    transport = Urllib3Transport(proxy_url="http://user:hunter2@proxy:3128")
    assert "hunter2" not in repr(transport)


def test_more_hosts_than_pools_still_works(mock: MockProvider) -> None:
    """With ``num_pools=1`` every switch of host makes the manager close the other pool;
    the transport's cached reference to the closed pool is replaced, nothing fails."""
    transport = Urllib3Transport(num_pools=1)
    with MockProvider() as other:
        for _ in range(3):
            for server in (mock, other):
                response = transport.send(_chat(server))
                assert response.status == 200, server.base_url
                assert response.json()["choices"][0]["message"]["content"] == "Mock reply to: hello"
    transport.close()


def test_a_connection_the_server_closed_between_calls_is_replaced(mock: MockProvider) -> None:
    """A keep-alive connection closed by the server while idle is detected and reopened."""
    transport = Urllib3Transport()
    assert transport.send(_chat(mock)).status == 200
    opened = mock.connections_opened
    mock.add_fault(Fault(headers={"connection": "close"}, times=1))  # answer, then close
    assert transport.send(_chat(mock)).status == 200
    for _ in range(3):
        assert transport.send(_chat(mock)).status == 200
    assert mock.connections_opened == opened + 1  # one new connection after the close, then reuse
    transport.close()
