"""TLS verification, custom CA bundles and proxies, against real servers on 127.0.0.1.

The TLS server uses the test-only certificate in ``tests/certs`` (see its README): its
CA is in no system trust store, so verification (on by default) must reject it, and
``ca_certs`` naming that CA must accept it. The proxy is a minimal absolute-form HTTP
proxy that records every request line it forwards.
"""

from __future__ import annotations

import http.client
import ssl
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Iterator, List, Tuple
from urllib.parse import urlsplit

import pytest

import omnillm
from omnillm import LlmRequest, Message
from omnillm.client import Client
from omnillm.testing import MockProvider, MockReply
from omnillm.transport.urllib3_transport import Urllib3Transport

CERTS = Path(__file__).resolve().parent / "certs"
REQUEST = LlmRequest(model="m-1", messages=[Message.user("hello")], max_output_tokens=20)


class _TlsHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("content-length") or 0))
        body = (
            b'{"id":"chatcmpl-1","object":"chat.completion","created":1,"model":"m-1","choices":[{"index":0,'
            b'"message":{"role":"assistant","content":"over TLS"},"finish_reason":"stop"}],'
            b'"usage":{"prompt_tokens":1,"completion_tokens":2,"total_tokens":3}}'
        )
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        return


@pytest.fixture(scope="module")
def tls_server() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _TlsHandler)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(CERTS / "server.pem", CERTS / "server.key")
    server.socket = context.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"https://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def _tls_client(base: str, **kw: object) -> Client:
    return Client(
        "openai",
        api_key="sk-test",
        base_url=base + "/v1",
        wire_format="open_ai_chat_completions",
        environ={},
        **kw,  # type: ignore[arg-type]
    )


def test_tls_verification_is_on_by_default(tls_server: str) -> None:
    with pytest.raises(omnillm.ConnectionError) as info:
        _tls_client(tls_server).call(REQUEST)
    assert "TLS failure" in str(info.value) and info.value.provider == "openai"
    assert info.value.retryable is False  # a certificate problem does not fix itself


def test_ca_bundle_accepts_the_test_ca(tls_server: str) -> None:
    client = _tls_client(tls_server, ca_certs=str(CERTS / "ca.pem"))
    assert client.call(REQUEST).text == "over TLS"
    transport = Urllib3Transport(ca_certs=str(CERTS / "ca.pem"))
    direct = Client(
        "openai",
        api_key="sk-test",
        base_url=tls_server + "/v1",
        wire_format="open_ai_chat_completions",
        environ={},
        transport=transport,
    )
    assert direct.call(REQUEST).text == "over TLS"


@pytest.mark.filterwarnings("ignore::urllib3.exceptions.InsecureRequestWarning")
def test_verify_false_accepts_any_certificate(tls_server: str) -> None:
    assert _tls_client(tls_server, verify=False).call(REQUEST).text == "over TLS"


def test_ca_bundle_of_another_ca_still_rejects(tls_server: str) -> None:
    certifi = pytest.importorskip("certifi")
    with pytest.raises(omnillm.ConnectionError, match="TLS failure"):
        _tls_client(tls_server, ca_certs=certifi.where()).call(REQUEST)


# --------------------------------------------------------------------------- proxy


class _Proxy:
    """An absolute-form forwarding HTTP proxy on 127.0.0.1 that records the request lines it saw."""

    def __init__(self) -> None:
        self.seen: List[Tuple[str, str, str]] = []  # (method, absolute target, Proxy-Authorization)
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def _forward(self) -> None:
                target = urlsplit(self.path)
                proxy.seen.append((self.command, self.path, self.headers.get("proxy-authorization", "")))
                body = self.rfile.read(int(self.headers.get("content-length") or 0))
                headers = {k: v for k, v in self.headers.items() if k.lower() not in ("proxy-authorization", "host")}
                upstream = http.client.HTTPConnection(target.hostname or "", target.port or 80, timeout=10)
                try:
                    path = target.path + (f"?{target.query}" if target.query else "")
                    upstream.request(self.command, path, body=body or None, headers=headers)
                    answer = upstream.getresponse()
                    data = answer.read()
                finally:
                    upstream.close()
                self.send_response(answer.status)
                for name, value in answer.getheaders():
                    if name.lower() not in ("transfer-encoding", "content-length", "connection"):
                        self.send_header(name, value)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST = _forward

            def log_message(self, format: str, *args: object) -> None:
                return

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture()
def proxy() -> Iterator[_Proxy]:
    running = _Proxy()
    try:
        yield running
    finally:
        running.close()


def test_proxy_url_routes_calls_and_streams_through_the_proxy(proxy: _Proxy) -> None:
    with MockProvider(MockReply(text="via the proxy")) as mock:
        client = Client(
            "openai",
            api_key="sk-test",
            base_url=mock.base_url + "/v1",
            wire_format="open_ai_chat_completions",
            environ={},
            proxy_url=proxy.url,
        )
        assert client.call(REQUEST).text == "via the proxy"
        with client.stream(REQUEST) as stream:
            list(stream)
        assert stream.completed and stream.response().text == "via the proxy"
    assert [(m, t) for m, t, _ in proxy.seen] == [("POST", mock.base_url + "/v1/chat/completions")] * 2
    assert len(mock.requests) == 2 and mock.requests[0].headers.get("authorization") == "Bearer sk-test"


def test_proxy_headers_reach_the_proxy_only(proxy: _Proxy) -> None:
    with MockProvider(MockReply(text="ok")) as mock:
        transport = Urllib3Transport(proxy_url=proxy.url, proxy_headers={"Proxy-Authorization": "Basic dGVzdDp0ZXN0"})
        client = Client("openai", api_key="sk-test", base_url=mock.base_url + "/v1", environ={}, transport=transport)
        assert client.call(REQUEST).text == "ok"
    assert proxy.seen[0][2] == "Basic dGVzdDp0ZXN0"
    assert mock.requests[0].headers.get("proxy-authorization") is None


def test_unreachable_proxy_is_a_connection_error() -> None:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    client = Client(
        "openai", api_key="sk-test", base_url="http://127.0.0.1:9/v1", environ={}, proxy_url=f"http://127.0.0.1:{port}"
    )
    with pytest.raises(omnillm.ConnectionError) as info:
        client.call(REQUEST)
    assert info.value.provider == "openai" and info.value.retryable
