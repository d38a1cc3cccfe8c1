"""Middleware around Client and Gateway calls: order, rewriting, short-circuit, errors, streams, built-ins."""

from __future__ import annotations

import dataclasses
import json
import logging
from typing import Any, Iterator, List

import pytest

import omnillm
from omnillm import LlmRequest, LlmResponse, Message
from omnillm.api import EmbeddingRequest
from omnillm.client import Client
from omnillm.gateway import Gateway, KeyConfig, Price
from omnillm.middleware import (
    ApiNext,
    CallContext,
    CallNext,
    HeaderMiddleware,
    LoggingMiddleware,
    Middleware,
    MiddlewareStream,
    StreamNext,
    TagMiddleware,
    redact,
)
from omnillm.stream import OutputItemDone, StreamEvent, TextDelta, events_from_response
from omnillm.testing import Fault, MockProvider, MockReply

CANARY = "sk-CANARY-middleware-0123456789"


@pytest.fixture(scope="module")
def mock() -> Iterator[MockProvider]:
    with MockProvider(MockReply(text="The quick brown fox."), chunk_chars=4) as m:
        yield m


@pytest.fixture(autouse=True)
def _clean(mock: MockProvider) -> None:
    mock.reset()


def req(text: str = "hello") -> LlmRequest:
    return LlmRequest(model="m-1", messages=[Message.user(text)], max_output_tokens=50)


def client(mock: MockProvider, *middleware: Middleware, provider: str = "anthropic") -> Client:
    return Client(provider, api_key=CANARY, base_url=mock.base_url + "/v1", environ={}, middleware=middleware)


def gateway(mock: MockProvider, *middleware: Middleware, **kw: Any) -> Gateway:
    key = KeyConfig("openai", CANARY, label="main", base_url=mock.base_url + "/v1", wire_format="open_ai_responses")
    return Gateway([key], middleware=middleware, **kw)


class Recorder(Middleware):
    """Writes what it sees to a shared log, under its name."""

    def __init__(self, name: str, log: List[str]) -> None:
        self.name = name
        self.log = log

    def call(self, request: LlmRequest, next: CallNext, context: CallContext) -> LlmResponse:
        self.log.append(f"{self.name}>{request.messages[-1].text}")
        try:
            response = next(request)
        except omnillm.OmniLLMError as error:
            self.log.append(f"{self.name}!{type(error).__name__}")
            raise
        self.log.append(f"{self.name}<{response.text[:9]}")
        return response

    def stream(self, request: LlmRequest, next: StreamNext, context: CallContext) -> Iterator[StreamEvent]:
        self.log.append(f"{self.name}>stream")
        return next(request)

    def call_api(self, request: Any, next: ApiNext, context: CallContext) -> Any:
        self.log.append(f"{self.name}>api")
        return next(request)


class Rewrite(Middleware):
    """Appends a suffix to the last user message."""

    def call(self, request: LlmRequest, next: CallNext, context: CallContext) -> LlmResponse:
        last = request.messages[-1]
        changed = dataclasses.replace(
            request, messages=[*request.messages[:-1], Message.user(last.text + " (rewritten)")]
        )
        return next(changed)


class Canned(Middleware):
    """Answers everything itself."""

    def call(self, request: LlmRequest, next: CallNext, context: CallContext) -> LlmResponse:
        return LlmResponse("canned", request.model, [Message.assistant("from middleware")])

    def stream(self, request: LlmRequest, next: StreamNext, context: CallContext) -> Iterator[StreamEvent]:
        return iter(events_from_response(self.call(request, next, context)))


class Shout(Middleware):
    """Upper-cases streamed text (the deltas and the finished items some protocols send)."""

    def stream(self, request: LlmRequest, next: StreamNext, context: CallContext) -> Iterator[StreamEvent]:
        for event in next(request):
            if isinstance(event, TextDelta):
                yield TextDelta(event.index, event.text.upper())
            elif isinstance(event, OutputItemDone) and isinstance(event.item, Message):
                yield OutputItemDone(event.index, Message.assistant(event.item.text.upper()))
            else:
                yield event


def test_first_middleware_is_outermost(mock: MockProvider) -> None:
    log: List[str] = []
    c = client(mock, Recorder("a", log), Recorder("b", log))
    assert c.call(req("hi")).text == "The quick brown fox."
    assert log == ["a>hi", "b>hi", "b<The quick", "a<The quick"]


def test_middleware_rewrites_the_request_the_provider_sees(mock: MockProvider) -> None:
    log: List[str] = []
    with gateway(mock, Recorder("outer", log), Rewrite(), Recorder("inner", log)) as gw:
        gw.call(req("hi"))
    assert log[0] == "outer>hi" and log[1] == "inner>hi (rewritten)"
    assert "hi (rewritten)" in json.dumps(mock.requests[0].json)


def test_short_circuit_never_reaches_the_provider(mock: MockProvider) -> None:
    log: List[str] = []
    with gateway(
        mock,
        Recorder("a", log),
        Canned(),
        Recorder("never", log),
        budget_limit_usd=1.0,
        prices={"m-1": Price.usd(1.0, 1.0)},
    ) as gw:
        response = gw.call(req("hi"))
        stream = gw.stream(req("hi"))
        events = list(stream)
        budget = gw.pool_status().budget
    assert response.text == "from middleware" and log == ["a>hi", "a<from midd", "a>stream"]
    assert "".join(e.text for e in events if isinstance(e, TextDelta)) == "from middleware"
    assert stream.cost_micros == 0 and stream.response().text == "from middleware"
    assert mock.requests == [] and budget is not None and budget["spent_micros"] == 0


def test_middleware_sees_provider_errors(mock: MockProvider) -> None:
    mock.add_fault(Fault(status=400, message="bad request"))
    log: List[str] = []
    with pytest.raises(omnillm.InvalidRequestError):
        client(mock, Recorder("a", log)).call(req("hi"))
    assert log == ["a>hi", "a!InvalidRequestError"]


@pytest.mark.parametrize("through", ["client", "gateway"])
def test_streams_are_wrapped_and_accumulated(mock: MockProvider, through: str) -> None:
    log: List[str] = []
    chain = (Recorder("r", log), Shout())
    if through == "client":
        stream = client(mock, *chain).stream(req())
    else:
        gw = gateway(mock, *chain)
        stream = gw.stream(req())
    assert isinstance(stream, MiddlewareStream)
    with stream:
        text = "".join(e.text for e in stream if isinstance(e, TextDelta))
    assert text == "THE QUICK BROWN FOX."
    assert stream.completed and stream.response().text == "THE QUICK BROWN FOX."
    assert log == ["r>stream"]
    if through == "gateway":
        assert stream.cost_micros == 0, "settled (no price table: free)"
        gw.close()


def test_closing_a_wrapped_stream_early_closes_the_provider_stream(mock: MockProvider) -> None:
    with gateway(mock, Shout(), budget_limit_usd=1.0, prices={"m-1": Price.usd(1.0, 1.0)}) as gw:
        stream = gw.stream(req())
        first = next(stream)
        assert first is not None
        stream.close()
        budget = gw.pool_status().budget
        assert stream.cost_micros is not None and stream.cost_micros > 0, "what was produced is settled"
    assert budget is not None and budget["reserved_micros"] == 0


def test_a_stream_that_cannot_open_fails_when_created(mock: MockProvider) -> None:
    mock.add_fault(Fault(status=401))
    with pytest.raises(omnillm.AuthenticationError):
        client(mock, Shout()).stream(req())


@pytest.mark.parametrize("operation", ["call", "stream"])
def test_header_middleware_reaches_the_wire(mock: MockProvider, operation: str) -> None:
    headers = HeaderMiddleware({"X-Trace-Id": "trace-42", "X-Team": "search"})
    with gateway(mock, HeaderMiddleware({"x-team": "outer-wins"}), headers) as gw:
        if operation == "call":
            gw.call(req())
        else:
            list(gw.stream(req()))
    sent = mock.requests[-1].headers
    assert sent.get("x-trace-id") == "trace-42" and sent.get("x-team") == "outer-wins"
    assert sent.get("authorization") == f"Bearer {CANARY}", "the provider's own headers stay"
    with pytest.raises(omnillm.ConfigurationError):
        HeaderMiddleware({"Bad Header": "x"})
    with pytest.raises(omnillm.ConfigurationError):
        HeaderMiddleware({"X-Ok": "line\r\nbreak"})


def test_tag_middleware_tags_budgets_and_metadata(mock: MockProvider) -> None:
    tagger = TagMiddleware("team-a", metadata={"app": "omni"})
    prices = {"m-1": Price.usd(1.0, 1.0)}
    with gateway(mock, tagger, tag_budgets_usd={"team-a": 1.0, "team-b": 1.0}, prices=prices) as gw:
        gw.call(req())
        gw.call(dataclasses.replace(req(), metadata={"app": "caller"}), tag="team-b")
        budgets = {b["name"]: b for b in gw.pool_status().budgets}
    assert mock.requests[0].json["metadata"] == {"app": "omni"}
    assert mock.requests[1].json["metadata"] == {"app": "caller"}, "the caller's own keys win"
    spent = {scope: b["spent_micros"] for scope, b in budgets.items()}
    assert spent["tag:team-a"] > 0 and spent["tag:team-b"] > 0, spent


def test_logging_middleware_logs_outcomes_without_secrets(mock: MockProvider, caplog: pytest.LogCaptureFixture) -> None:
    ticks = iter([10.0, 10.25, 20.0, 20.5])
    logger = logging.getLogger("test.omnillm.calls")
    logs = LoggingMiddleware(logger, include_content=True, now=lambda: next(ticks))
    c = client(mock, logs)
    with caplog.at_level(logging.INFO, logger="test.omnillm.calls"):
        c.call(req(f"my key is {CANARY}"))
        mock.add_fault(Fault(status=500))
        with pytest.raises(omnillm.ServerError):
            c.call(req("again"))
    lines = [r.getMessage() for r in caplog.records]
    assert len(lines) == 2
    assert "model=m-1 messages=1" in lines[0] and "stop=end_turn" in lines[0] and "in 0.250s" in lines[0]
    assert "answer='The quick brown fox.'" in lines[0]
    assert "failed in 0.500s: ServerError" in lines[1]
    assert all(CANARY not in line for line in lines) and "[REDACTED]" in lines[0]
    assert redact("Authorization: Bearer abcdefghijklmnop") == "Authorization: [REDACTED]"


def test_call_api_and_submit_go_through_the_chain(mock: MockProvider) -> None:
    # A generation goes through ``call`` whichever entry point sent it, so a middleware
    # written for ``call`` (rewriting, short-circuiting) is never skipped by the pool.
    log: List[str] = []
    with gateway(mock, Recorder("r", log)) as gw:
        gw.call_api(req("direct"))
        future = gw.submit(req("pooled"))
        assert isinstance(future.result(timeout=30), LlmResponse)
        assert [type(r).__name__ for r in gw.map([req("mapped")])] == ["LlmResponse"]
    assert log == ["r>direct", "r<The quick", "r>pooled", "r<The quick", "r>mapped", "r<The quick"]
    assert len(mock.requests) == 3
    log.clear()
    c = client(mock, Recorder("c", log), provider="openai")
    c.call_api(req("client"))
    c.call_api(EmbeddingRequest(model="text-embedding-3-small", inputs=["a"]))
    assert log == ["c>client", "c<The quick", "c>api"]


def test_middleware_must_have_the_interface() -> None:
    with pytest.raises(omnillm.ConfigurationError, match="subclass Middleware"):
        Client("openai", api_key="k", environ={}, middleware=[object()])  # type: ignore[list-item]


def test_context_defaults() -> None:
    context = CallContext("call")
    assert context.tag is None and context.headers == {} and not context.cached
