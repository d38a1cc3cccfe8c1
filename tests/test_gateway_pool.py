"""Gateway pool behaviour against the mock provider on 127.0.0.1: the ejection cap across
breaker layers, pool_status contents, provider rate-limit headers, live prices, map."""

from __future__ import annotations

import itertools
from typing import Any, Iterator, List

import pytest

import omnillm
from omnillm import LlmRequest, Message
from omnillm.gateway import BreakerConfig, Gateway, KeyConfig, PoolConfig, Price, RetryPolicy
from omnillm.gateway.circuit import FAILURE, Outcome
from omnillm.gateway.gateway import STATUS_WINDOW_S
from omnillm.testing import Fault, MockProvider, MockReply

PRICES = {"m-1": Price.usd(1.0, 2.0), "m-2": Price.usd(1.0, 2.0)}


def req(text: str = "hello", max_tokens: int = 50, model: str = "m-1") -> LlmRequest:
    return LlmRequest(model=model, messages=[Message.user(text)], max_output_tokens=max_tokens)


@pytest.fixture(scope="module")
def mock() -> Iterator[MockProvider]:
    with MockProvider(MockReply(text="Bonjour tout le monde, comment allez-vous ?"), chunk_chars=4) as m:
        yield m


@pytest.fixture(autouse=True)
def _clean(mock: MockProvider) -> None:
    mock.reset()


def key(mock: MockProvider, label: str, **kw: Any) -> KeyConfig:
    kw.setdefault("wire_format", "open_ai_chat_completions")
    return KeyConfig("openai", f"sk-{label}", label=label, base_url=mock.base_url + "/v1", **kw)


def fast(**kw: Any) -> PoolConfig:
    kw.setdefault("retry", RetryPolicy(max_attempts=1))
    kw.setdefault("breaker", BreakerConfig(failure_threshold=2, cooldown_s=30.0, min_calls=100))
    return PoolConfig(**kw)


def trip(gw: Gateway, label: str, model: str = "") -> None:
    breaker = gw.breakers.for_model(label, model) if model else gw.breakers.for_key(label)
    for _ in range(2):
        permit = breaker.acquire()
        assert permit is not None
        permit.record(Outcome(FAILURE))


# --------------------------------------------------------------------------- ejection cap across layers


def test_a_model_breaker_stays_closed_when_the_other_key_is_ejected_at_key_level(mock: MockProvider) -> None:
    with Gateway([key(mock, "a"), key(mock, "b")], pool_config=fast()) as gw:
        gw.call(req())
        gw.call(req())  # both keys have served m-1: their (key, m-1) breakers exist
        trip(gw, "b")  # b fails (on some other model): ejected at key level
        trip(gw, "a", "m-1")  # a fails on m-1: ejecting it too would leave m-1 with no key
        assert gw.breakers.for_key("b").status == "open"
        assert gw.breakers.for_model("a", "m-1").status == "closed"
        assert gw.call(req()).text
    assert mock.requests[-1].key == "sk-a"


def test_a_key_breaker_stays_closed_when_its_model_peer_is_ejected_at_model_level(mock: MockProvider) -> None:
    with Gateway([key(mock, "a"), key(mock, "b")], pool_config=fast()) as gw:
        gw.call(req())
        gw.call(req())
        trip(gw, "a", "m-1")
        trip(gw, "b")
        assert gw.breakers.for_model("a", "m-1").status == "open"
        assert gw.breakers.for_key("b").status == "closed", "b is the only key left for m-1"
        assert gw.call(req()).text
    assert mock.requests[-1].key == "sk-b"


def test_the_cross_layer_cap_still_ejects_within_the_fraction(mock: MockProvider) -> None:
    keys = [key(mock, label) for label in "abcd"]
    with Gateway(keys, pool_config=fast()) as gw:
        for _ in range(4):
            gw.call(req())
        trip(gw, "a")
        trip(gw, "b", "m-1")  # 2 of 4 keys out for m-1: within max_ejection_fraction 0.5
        trip(gw, "c", "m-1")  # a third would exceed it
        states = (gw.breakers.for_key("a").status, gw.breakers.for_model("b", "m-1").status)
        assert states == ("open", "open")
        assert gw.breakers.for_model("c", "m-1").status == "closed"


# --------------------------------------------------------------------------- pool_status


def test_pool_status_reports_window_counts_tokens_latency_limits_and_spend(mock: MockProvider) -> None:
    clock = [0.0]
    keys = [key(mock, "a", rpm=600, tpm=100_000, max_concurrent=4)]
    with Gateway(keys, budget_limit_usd=1.0, prices=PRICES, now=lambda: clock[0]) as gw:
        responses = [gw.call(req()) for _ in range(3)]
        status = gw.pool_status().keys[0]
        tokens = sum(r.usage.total for r in responses if r.usage is not None)
        assert (status.requests, status.total_requests) == (3, 3)
        assert status.tokens == status.total_tokens == tokens > 0
        assert status.spent_micros == sum(r.cost_micros or 0 for r in responses) > 0
        assert status.latency_ewma_s is not None and status.latency_ewma_s >= 0
        assert status.limits["requests_capacity"] == 600 and status.limits["tokens_capacity"] == 100_000
        assert status.limits["requests_available"] == 597, "three requests taken, no time passed"
        assert status.limits["tokens_available"] == 100_000 - tokens
        assert status.limits["concurrency_available"] == 4 and status.in_flight == 0
        clock[0] = STATUS_WINDOW_S * 1.5  # halfway through the next minute: half of the old one still counts
        half = gw.pool_status().keys[0]
        assert half.requests == 2 and half.total_requests == 3  # round(3 * 0.5)
        clock[0] = STATUS_WINDOW_S * 3  # the window has moved past every call
        later = gw.pool_status().keys[0]
        assert (later.requests, later.tokens) == (0, 0)
        assert (later.total_requests, later.total_tokens) == (3, tokens)


def test_pool_status_shows_model_breakers_per_key(mock: MockProvider) -> None:
    keys = [key(mock, "a"), key(mock, "b"), key(mock, "c")]
    with Gateway(keys, pool_config=fast(max_ejection_fraction=1.0)) as gw:
        for _ in range(3):
            gw.call(req())
        trip(gw, "a", "m-1")
        status = {k.label: k for k in gw.pool_status().keys}
    assert status["a"].circuit == "closed" and status["a"].model_circuits == {"m-1": "open"}
    assert status["a"].health == "degraded", "a key whose model is ejected is not just healthy"
    assert status["b"].health == "healthy" and status["b"].model_circuits == {}


# --------------------------------------------------------------------------- provider rate-limit headers


def test_a_key_whose_provider_reported_no_remaining_requests_is_skipped(mock: MockProvider) -> None:
    headers = {"x-ratelimit-remaining-requests": "0", "x-ratelimit-reset-requests": "30s"}
    mock.add_fault(Fault(headers=headers, key="sk-a", times=1))
    with Gateway([key(mock, "a"), key(mock, "b")], pool_config=fast()) as gw:
        for _ in range(6):
            assert gw.call(req()).text
        status = {k.label: k for k in gw.pool_status().keys}
    assert len(mock.requests_for(key="sk-a")) == 1, "after the response that said 0 left, a gets nothing"
    assert len(mock.requests_for(key="sk-b")) == 5
    assert status["a"].limits["provider_remaining_requests"] == 0
    assert 0 < status["a"].limits["provider_reset_requests_s"] <= 30
    assert status["a"].health == "cooling down"


def test_a_429_without_retry_after_cools_the_key_until_its_window_resets(mock: MockProvider) -> None:
    headers = {"x-ratelimit-remaining-requests": "0", "x-ratelimit-reset-requests": "20s"}
    mock.add_fault(Fault(status=429, headers=headers, key="sk-a", times=1))
    with Gateway([key(mock, "a"), key(mock, "b")], pool_config=fast(retry=RetryPolicy(max_attempts=2))) as gw:
        for _ in range(4):
            assert gw.call(req()).text  # the 429 fails over to b
        status = {k.label: k for k in gw.pool_status().keys}
    assert len(mock.requests_for(key="sk-a")) == 1
    assert 15 < status["a"].limits["cooldown_s"] <= 20, "the reset named by the headers, not the 1 s default"
    assert status["a"].circuit == "closed", "a 429 is not a breaker failure"


# --------------------------------------------------------------------------- configuration


def test_construction_validates_timeouts_and_hooks(mock: MockProvider) -> None:
    with pytest.raises(omnillm.ConfigurationError, match="connect_timeout"):
        Gateway([key(mock, "a")], connect_timeout=-1)
    with pytest.raises(omnillm.ConfigurationError, match="connect_timeout"):
        Gateway([key(mock, "a")], connect_timeout="fast")  # type: ignore[arg-type]
    with pytest.raises(omnillm.ConfigurationError, match="callable"):
        Gateway([key(mock, "a")], hooks={"success": ["not a function"]})  # type: ignore[list-item]
    with pytest.raises(omnillm.ConfigurationError, match="list of callables"):
        Gateway([key(mock, "a")], hooks={"success": print})  # type: ignore[dict-item]
    with pytest.raises(omnillm.ConfigurationError, match="max_audio_seconds"):
        Gateway([key(mock, "a")], max_audio_seconds=-5)
    with pytest.raises(omnillm.ConfigurationError, match="callable"):
        Gateway.builder().add_key(key(mock, "a")).hook("retry", 42).build()  # type: ignore[arg-type]


def test_prices_can_change_on_a_live_gateway(mock: MockProvider) -> None:
    with Gateway([key(mock, "a")], budget_limit_usd=1.0, prices=PRICES) as gw:
        before = gw.call(req()).cost_micros
        gw.set_prices({"m-1": Price.usd(10.0, 20.0)})
        after = gw.call(req()).cost_micros
        with pytest.raises(omnillm.ConfigurationError):
            gw.set_prices({"m-1": 3.0})  # type: ignore[dict-item]
    assert before is not None and after is not None and 9 * before <= after <= 10 * before


def test_map_submits_a_bounded_window_of_an_endless_iterable(mock: MockProvider) -> None:
    taken: List[int] = []

    def endless() -> Iterator[LlmRequest]:
        for n in itertools.count():
            taken.append(n)
            yield req(f"n{n}")

    canned = mock.default_reply
    mock.default_reply = MockReply()  # echo the prompt, to check the order of results
    try:
        with Gateway([key(mock, "a")], pool_config=fast(max_workers=2)) as gw:
            results = gw.map(endless())
            assert len(taken) == 4, "map returns after submitting one window (2 x max_workers)"
            first = list(itertools.islice(results, 10))
            assert len(taken) <= 10 + 4, "the iterable is read as results are taken, not all at once"
    finally:
        mock.default_reply = canned
    assert [r.text for r in first] == [f"Mock reply to: n{n}" for n in range(10)], "results in input order"
