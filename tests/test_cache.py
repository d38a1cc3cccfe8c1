"""The response cache: fingerprints, the in-memory LRU with TTL, and its place in front of the pool."""

from __future__ import annotations

import dataclasses
import json
from typing import Any, Dict, Iterator, List, Optional

import pytest

import omnillm
from omnillm import FunctionTool, LlmRequest, LlmResponse, Message
from omnillm.cache import CachePolicy, InMemoryCache, ResponseCache, request_fingerprint
from omnillm.client import Client
from omnillm.gateway import Gateway, KeyConfig, PoolConfig, Price
from omnillm.middleware import MiddlewareStream
from omnillm.protocols import codec
from omnillm.stream import ResponseCompleted, TextDelta
from omnillm.testing import MockProvider, MockReply

PRICES = {"m-1": Price.usd(1.0, 2.0)}


class Clock:
    def __init__(self) -> None:
        self.t = 1000.0

    def __call__(self) -> float:
        return self.t


def req(text: str = "hello", **kw: Any) -> LlmRequest:
    return LlmRequest(model="m-1", messages=[Message.user(text)], max_output_tokens=50, **kw)


def answer(text: str) -> LlmResponse:
    return LlmResponse("r", "m-1", [Message.assistant(text)])


# --------------------------------------------------------------------------- fingerprints

SAME_REQUEST = {
    "open_ai_chat_completions": {
        "model": "m-1",
        "messages": [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hi"}],
        "max_tokens": 50,
        "temperature": 0,
        "user": "alice",
        "stream": True,
        "tools": [
            {
                "type": "function",
                "function": {
                    "name": "look",
                    "description": "Look it up.",
                    "parameters": {"type": "object", "properties": {"q": {"type": "string"}}, "required": ["q"]},
                },
            }
        ],
    },
    "anthropic_messages": {
        "model": "m-1",
        "system": [{"type": "text", "text": "Be brief.", "cache_control": {"type": "ephemeral"}}],
        "messages": [{"role": "user", "content": [{"type": "text", "text": "Hi"}]}],
        "max_tokens": 50,
        "temperature": 0.0,
        "metadata": {"user_id": "bob"},
        "tools": [
            {
                "name": "look",
                "description": "Look it up.",
                "input_schema": {"required": ["q"], "properties": {"q": {"type": "string"}}, "type": "object"},
            }
        ],
    },
    "open_ai_responses": {
        "model": "m-1",
        "instructions": "Be brief.",
        "input": "Hi",
        "max_output_tokens": 50,
        "temperature": 0,
        "metadata": {"trace": "x"},
        "tools": [
            {
                "type": "function",
                "name": "look",
                "description": "Look it up.",
                "parameters": {"properties": {"q": {"type": "string"}}, "type": "object", "required": ["q"]},
            }
        ],
    },
    "gemini_generate_content": {
        "model": "m-1",
        "systemInstruction": {"parts": [{"text": "Be brief."}]},
        "contents": [{"role": "user", "parts": [{"text": "Hi"}]}],
        "generationConfig": {"maxOutputTokens": 50, "temperature": 0},
        "tools": [
            {
                "functionDeclarations": [
                    {
                        "name": "look",
                        "description": "Look it up.",
                        "parametersJsonSchema": {
                            "type": "object",
                            "properties": {"q": {"type": "string"}},
                            "required": ["q"],
                        },
                    }
                ]
            }
        ],
    },
}


def test_fingerprint_is_the_same_for_one_request_in_every_protocol() -> None:
    prints = {name: request_fingerprint(codec(name).decode_request(body)) for name, body in SAME_REQUEST.items()}
    assert len(set(prints.values())) == 1, prints


def test_fingerprint_ignores_key_order_and_irrelevant_fields() -> None:
    base = req(tools=[FunctionTool("f", parameters={"type": "object", "properties": {"a": {}, "b": {}}})])
    reordered = req(tools=[FunctionTool("f", parameters={"properties": {"b": {}, "a": {}}, "type": "object"})])
    decorated = dataclasses.replace(
        base, user="u", metadata={"k": "v"}, stream=True, prompt_cache_key="p", service_tier="flex"
    )
    assert request_fingerprint(base) == request_fingerprint(reordered) == request_fingerprint(decorated)
    assert request_fingerprint(req(temperature=1)) == request_fingerprint(req(temperature=1.0))


@pytest.mark.parametrize(
    "change",
    [
        {"temperature": 0.5},
        {"max_output_tokens": 51},
        {"model": "m-2"},
        {"messages": [Message.user("hello!")]},
        {"output_format": omnillm.OutputFormat("json_schema", schema={"type": "object"})},
        {"tools": [FunctionTool("g")]},
        {"seed": 7},
    ],
    ids=lambda c: next(iter(c)),
)
def test_fingerprint_changes_with_what_changes_the_answer(change: Dict[str, Any]) -> None:
    assert request_fingerprint(req()) != request_fingerprint(dataclasses.replace(req(), **change))


# --------------------------------------------------------------------------- the LRU


def test_lru_evicts_the_least_recently_used_entry() -> None:
    cache = InMemoryCache(max_entries=2)
    cache.set("a", answer("A"), None)
    cache.set("b", answer("B"), None)
    assert cache.get("a") is not None  # a is now the most recent
    cache.set("c", answer("C"), None)
    assert cache.get("b") is None and cache.get("a") is not None and cache.get("c") is not None
    assert len(cache) == 2
    cache.delete("a")
    assert cache.get("a") is None
    cache.clear()
    assert len(cache) == 0
    with pytest.raises(omnillm.ConfigurationError):
        InMemoryCache(max_entries=0)


def test_entries_expire_after_their_ttl() -> None:
    clock = Clock()
    cache = InMemoryCache(now=clock)
    cache.set("k", answer("x"), 10.0)
    clock.t += 9.999
    assert cache.get("k") is not None
    clock.t += 0.001
    assert cache.get("k") is None and len(cache) == 0


def test_stored_and_returned_responses_are_copies() -> None:
    cache = InMemoryCache()
    original = answer("x")
    cache.set("k", original, None)
    original.output.clear()
    got = cache.get("k")
    assert got is not None and got.text == "x"
    got.output.clear()
    again = cache.get("k")
    assert again is not None and again.text == "x"


def test_policy_validates_and_opts_out_of_sampled_requests() -> None:
    with pytest.raises(omnillm.ConfigurationError):
        CachePolicy(ttl_s=0)
    policy = CachePolicy(skip_nonzero_temperature=True)
    assert policy.applies(req(temperature=0))
    assert not policy.applies(req(temperature=0.7)) and not policy.applies(req())


# --------------------------------------------------------------------------- in front of the pool


@pytest.fixture(scope="module")
def mock() -> Iterator[MockProvider]:
    with MockProvider(MockReply(text="Cached answer text."), chunk_chars=5) as m:
        yield m


@pytest.fixture(autouse=True)
def _clean(mock: MockProvider) -> None:
    mock.reset()


def key(mock: MockProvider, provider: str = "openai", **kw: Any) -> KeyConfig:
    prefix = "/v1beta" if provider == "gemini" else "/v1"
    if provider == "openai":
        kw.setdefault("wire_format", "open_ai_chat_completions")
    return KeyConfig(provider, f"sk-{provider}", label=provider, base_url=mock.base_url + prefix, **kw)


def test_a_hit_is_free_marked_and_never_reaches_the_provider(mock: MockProvider) -> None:
    cache = ResponseCache()
    with Gateway([key(mock)], cache=cache, budget_limit_usd=1.0, prices=PRICES) as gw:
        first = gw.call(req())
        spent = gw.pool_status().budget["spent_micros"]  # type: ignore[index]
        second = gw.call(req())
        status = gw.pool_status()
    assert len(mock.requests) == 1
    assert not first.cached and first.cost_micros is not None and first.cost_micros > 0
    assert second.cached and second.cost_micros == 0 and second.text == first.text == "Cached answer text."
    assert (
        status.budget is not None and status.budget["spent_micros"] == spent and status.budget["reserved_micros"] == 0
    )
    assert status.keys[0].requests == 1, "the key saw one call"
    assert cache.stats() == {"hits": 1, "misses": 1, "stores": 1}


def test_a_hit_skips_rate_limits(mock: MockProvider) -> None:
    config = PoolConfig(rate_limit_wait_s=0.0)
    with Gateway([key(mock, rpm=1)], cache=ResponseCache(), pool_config=config) as gw:
        gw.call(req())
        with pytest.raises(omnillm.RateLimitError):
            gw.call(req("something else"))  # the one request per minute is used up
        assert gw.call(req()).cached, "a hit takes no capacity, so it is served anyway"
    assert len(mock.requests) == 1


def test_a_request_in_another_protocol_hits_the_same_entry(mock: MockProvider) -> None:
    cache = ResponseCache()
    with Gateway([key(mock)], cache=cache) as gw:
        from_chat = codec("open_ai_chat_completions").decode_request(SAME_REQUEST["open_ai_chat_completions"])
        from_anthropic = codec("anthropic_messages").decode_request(SAME_REQUEST["anthropic_messages"])
        first = gw.call(from_chat)
        second = gw.call(from_anthropic)
    assert not first.cached and second.cached and second.text == first.text
    assert len(mock.requests) == 1


def test_ttl_expiry_sends_again(mock: MockProvider) -> None:
    clock = Clock()
    cache = ResponseCache(policy=CachePolicy(ttl_s=60), now=clock)
    with Gateway([key(mock)], cache=cache) as gw:
        gw.call(req())
        clock.t += 59
        assert gw.call(req()).cached
        clock.t += 1
        assert not gw.call(req()).cached
    assert len(mock.requests) == 2


def test_size_bound_evicts_through_the_gateway(mock: MockProvider) -> None:
    with Gateway([key(mock)], cache=ResponseCache(max_entries=2)) as gw:
        for text in ("a", "b", "c", "a"):
            gw.call(req(text))
    assert [r.json["messages"][-1]["content"] for r in mock.requests] == ["a", "b", "c", "a"]


def test_sampled_requests_can_opt_out(mock: MockProvider) -> None:
    cache = ResponseCache(policy=CachePolicy(skip_nonzero_temperature=True))
    with Gateway([key(mock)], cache=cache) as gw:
        for _ in range(2):
            gw.call(req(temperature=0.8))
        for _ in range(2):
            gw.call(req(temperature=0))
    assert len(mock.requests) == 3


def test_failed_calls_are_not_cached(mock: MockProvider) -> None:
    from omnillm.testing import Fault

    mock.add_fault(Fault(status=400, times=1))
    cache = ResponseCache()
    with Gateway([key(mock)], cache=cache) as gw:
        with pytest.raises(omnillm.InvalidRequestError):
            gw.call(req())
        assert not gw.call(req()).cached
        assert gw.call(req()).cached


@pytest.mark.parametrize("provider", ["openai", "anthropic", "gemini"])
def test_streams_are_served_from_cache_as_replayed_events(mock: MockProvider, provider: str) -> None:
    cache = ResponseCache()
    with Gateway([key(mock, provider)], cache=cache, budget_limit_usd=1.0, prices=PRICES) as gw:
        live = gw.stream(req())
        live_text = "".join(e.text for e in live if isinstance(e, TextDelta))
        assert isinstance(live, MiddlewareStream) and not live.cached
        assert live.cost_micros is not None and live.cost_micros > 0
        spent = gw.pool_status().budget["spent_micros"]  # type: ignore[index]

        replay = gw.stream(req())
        events = list(replay)
        assert replay.cached and replay.cost_micros == 0
        assert "".join(e.text for e in events if isinstance(e, TextDelta)) == live_text == "Cached answer text."
        assert isinstance(events[-1], ResponseCompleted)
        response = replay.response()
        assert response.cached and response.cost_micros == 0 and response.text == live_text

        assert gw.call(req()).cached, "a streamed answer also serves calls"
        assert gw.pool_status().budget["spent_micros"] == spent  # type: ignore[index]
    assert len(mock.requests) == 1


def test_a_stream_stopped_early_is_not_stored(mock: MockProvider) -> None:
    cache = ResponseCache()
    with Gateway([key(mock)], cache=cache) as gw:
        stream = gw.stream(req())
        next(stream)
        stream.close()
        assert not gw.call(req()).cached
    assert cache.stats()["stores"] == 1 and len(mock.requests) == 2


def test_cached_structured_answers_are_parsed_again(mock: MockProvider) -> None:
    @dataclasses.dataclass
    class City:
        name: str

    mock.queue(MockReply(text=json.dumps({"name": "Lyon"})))
    with Gateway([key(mock)], cache=ResponseCache()) as gw:
        first = gw.call(req(), output_type=City)
        second = gw.call(req(), output_type=City)
        plain = gw.call(req())
    assert first.parsed == second.parsed == City("Lyon") and second.cached
    assert not plain.cached, "a request without the output schema is another entry"


def test_client_cache_and_custom_backend(mock: MockProvider) -> None:
    class DictBackend(omnillm.cache.CacheBackend):
        def __init__(self) -> None:
            self.data: Dict[str, LlmResponse] = {}
            self.ttls: List[Optional[float]] = []

        def get(self, key: str) -> Optional[LlmResponse]:
            found = self.data.get(key)
            return dataclasses.replace(found) if found is not None else None

        def set(self, key: str, response: LlmResponse, ttl_s: Optional[float]) -> None:
            self.data[key] = response
            self.ttls.append(ttl_s)

        def delete(self, key: str) -> None:
            self.data.pop(key, None)

        def clear(self) -> None:
            self.data.clear()

    backend = DictBackend()
    client = Client(
        "anthropic",
        api_key="sk-x",
        base_url=mock.base_url + "/v1",
        environ={},
        cache=ResponseCache(backend, policy=CachePolicy(ttl_s=5)),
    )
    assert not client.call(req()).cached
    assert client.call(req()).cached
    assert len(backend.data) == 1 and backend.ttls == [5]
    assert len(mock.requests) == 1


def test_an_answer_that_fails_validation_is_not_cached(mock: MockProvider) -> None:
    @dataclasses.dataclass
    class Count:
        n: int

    mock.queue(MockReply(text='{"n": "many"}'), MockReply(text='{"n": 3}'))
    cache = ResponseCache()
    with Gateway([key(mock)], cache=cache) as gw:
        with pytest.raises(omnillm.errors.StructuredOutputError):
            gw.call(req(), output_type=Count)
        second = gw.call(req(), output_type=Count)
        third = gw.call(req(), output_type=Count)
    assert not second.cached and second.parsed == Count(3)
    assert third.cached and third.parsed == Count(3)
    assert len(mock.requests) == 2
