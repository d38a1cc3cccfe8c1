"""The library's own CPU per call, without sockets: `Client.execute` and `Gateway.call`
over an in-process transport that answers the canned completion at once.

The socket benchmarks (bench_gateway.py, bench_transport.py) move by about 10% from run
to run on a shared machine, which hides changes of a few microseconds; this one measures
only omnillm's work (encode, sign, parse; and the gateway's lease, breakers, limiter,
pricing and accounting on top) and is steady to a few percent. CPU microseconds per
call, best of 25 batches of 500, contenders alternated. Run:
``python bench/bench_overhead.py``.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any, List, Optional, Tuple

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from _contenders import API_KEY, CHAT, llm_request
from _server import _COMMON_HEADERS, CHAT_RESPONSE
from _timing import best_cpu_per_call

from omnillm.client import Client
from omnillm.gateway import Gateway, KeyConfig
from omnillm.http import Headers, TransportRequest, TransportResponse
from omnillm.transport import Timeout

BASE_URL = "http://127.0.0.1:9"  # never connected to


class CannedTransport:
    """Answers every request with the canned completion (after encoding its body, as a real one must)."""

    def __init__(self) -> None:
        self.body = json.dumps(CHAT_RESPONSE).encode()
        pairs = [line.split(": ", 1) for line in _COMMON_HEADERS.strip().split("\r\n")]
        self.headers: List[Tuple[str, str]] = [(k, v) for k, v in pairs] + [("content-type", "application/json")]

    def send(
        self, request: TransportRequest, *, stream: bool = False, timeout: Optional[Timeout] = None, **_: Any
    ) -> TransportResponse:
        request.body_bytes()
        return TransportResponse(200, Headers(self.headers), self.body, url=request.url)

    def close(self) -> None:
        """Nothing pooled."""


def main() -> None:
    request = llm_request()
    client = Client("openai", api_key=API_KEY, base_url=BASE_URL, wire_format=CHAT, transport=CannedTransport())
    key = KeyConfig("openai", API_KEY, label="bench", base_url=BASE_URL, wire_format=CHAT)
    gateway = Gateway([key], transport=CannedTransport())
    result = best_cpu_per_call(
        {"Client.execute": lambda: client.execute(request), "Gateway.call": lambda: gateway.call(request)},
        500,
        batches=25,
    )
    print("CPU us per call over an in-process transport (best of 25 batches of 500, alternated)")
    for name, us in result.items():
        print(f"{name:16} {us:8.1f}")
    print(f"{'gateway on top':16} {result['Gateway.call'] - result['Client.execute']:8.1f}")


if __name__ == "__main__":
    main()
