"""The Gateway against the mock provider on 127.0.0.1 with real sockets."""

from __future__ import annotations

import os
import select
import signal
import threading
import time
from collections import Counter
from typing import Any, Iterator, List

import pytest

import omnillm
from omnillm import LlmRequest, Message
from omnillm.gateway import (
    BreakerConfig,
    CancellationToken,
    Gateway,
    KeyConfig,
    LowestLatency,
    PoolConfig,
    Price,
    RetryPolicy,
    Target,
)
from omnillm.stream import TextDelta
from omnillm.testing import Fault, MockProvider, MockReply

PRICES = {
    "m-1": Price.usd(1.0, 2.0),
    "gpt-x": Price.usd(1.0, 4.0),
    "claude-x": Price.usd(3.0, 15.0),
}


def req(text: str = "hello", max_tokens: int = 50, model: str = "m-1") -> LlmRequest:
    return LlmRequest(model=model, messages=[Message.user(text)], max_output_tokens=max_tokens)


@pytest.fixture(scope="module")
def mock() -> Iterator[MockProvider]:
    with MockProvider(MockReply(text="Bonjour tout le monde, comment allez-vous ?"), chunk_chars=4) as m:
        yield m


@pytest.fixture(autouse=True)
def _clean(mock: MockProvider) -> None:
    mock.reset()


def key(mock: MockProvider, label: str, provider: str = "openai", **kw: Any) -> KeyConfig:
    prefix = "/v1beta" if provider == "gemini" else "/v1"
    kw.setdefault("wire_format", "open_ai_chat_completions" if provider == "openai" else None)
    return KeyConfig(provider, f"sk-{label}", label=label, base_url=mock.base_url + prefix, **kw)


def fast(**kw: Any) -> PoolConfig:
    kw.setdefault("retry", RetryPolicy(max_attempts=3, base_delay_s=0.0, max_delay_s=0.0))
    kw.setdefault("breaker", BreakerConfig(failure_threshold=2, cooldown_s=30.0, min_calls=100))
    return PoolConfig(**kw)


def test_weighted_balancing_spreads_load_by_weight(mock: MockProvider) -> None:
    keys = [key(mock, "a", weight=1), key(mock, "b", weight=2), key(mock, "c", weight=3)]
    with Gateway(keys, pool_config=fast()) as gw:
        for _ in range(60):
            assert gw.call(req()).text.startswith("Bonjour")
    counts = Counter(r.key for r in mock.requests)
    assert counts == {"sk-a": 10, "sk-b": 20, "sk-c": 30}


def test_equal_keys_are_spread_evenly_by_every_strategy(mock: MockProvider) -> None:
    # Equal keys measure equal latencies only up to the host's noise, which on a busy CI
    # machine passes any fixed tolerance: give lowest_latency one wider than that noise
    # (what counts as a tie is tested with an injected clock in the policy tests).
    strategies: List[Any] = ["weighted_round_robin", "least_in_flight", "lowest_cost", LowestLatency(tolerance_s=1.0)]
    for strategy in strategies:
        mock.reset()
        keys = [key(mock, "a"), key(mock, "b"), key(mock, "c")]
        with Gateway(keys, pool_config=fast(strategy=strategy), prices=PRICES) as gw:
            for _ in range(30):
                gw.call(req())
        counts = Counter(r.key for r in mock.requests)
        assert max(counts.values()) - min(counts.values()) <= 3 and len(counts) == 3, (strategy, counts)


def test_lowest_latency_prefers_the_faster_key(mock: MockProvider) -> None:
    mock.add_fault(Fault(latency=0.05, key="sk-slow"))
    keys = [key(mock, "slow"), key(mock, "fast")]
    with Gateway(keys, pool_config=fast(strategy="lowest_latency")) as gw:
        for _ in range(12):
            gw.call(req())
    counts = Counter(r.key for r in mock.requests)
    assert counts["sk-slow"] == 2 and counts["sk-fast"] == 10, "two calls measure the slow key, then it is avoided"


def test_failing_key_opens_its_breaker_and_traffic_moves(mock: MockProvider) -> None:
    mock.add_fault(Fault(status=500, key="sk-bad"))
    keys = [key(mock, "bad"), key(mock, "good")]
    with Gateway(keys, pool_config=fast()) as gw:
        for _ in range(20):
            assert gw.call(req()).text  # every call succeeds: failures fail over to "good"
        status = {k.label: k for k in gw.pool_status().keys}
    bad_calls = len(mock.requests_for(key="sk-bad"))
    assert bad_calls == 2, "after failure_threshold failures the breaker keeps traffic away"
    assert status["bad"].circuit == "open" and status["bad"].health == "ejected"
    assert status["bad"].errors == {"ServerError": 2}
    assert status["good"].requests == 20 and status["good"].circuit == "closed"


def test_ejection_cap_keeps_the_pool_from_ejecting_itself_empty(mock: MockProvider) -> None:
    mock.add_fault(Fault(status=503))
    keys = [key(mock, "a"), key(mock, "b")]
    config = fast(retry=RetryPolicy(max_attempts=1), max_ejection_fraction=0.5)
    with Gateway(keys, pool_config=config) as gw:
        for _ in range(8):
            with pytest.raises(omnillm.OverloadedError):
                gw.call(req())
        circuits = sorted(k.circuit for k in gw.pool_status().keys)
    assert circuits == ["closed", "open"], "at most half of the keys may be ejected at once"


def test_429_retry_after_is_honoured_and_traffic_moves(mock: MockProvider) -> None:
    mock.add_fault(Fault(status=429, retry_after=30, key="sk-a", times=1))
    keys = [key(mock, "a"), key(mock, "b")]
    with Gateway(keys, pool_config=fast()) as gw:
        first = gw.call(req())
        assert first.text
        for _ in range(4):
            gw.call(req())
        status = {k.label: k for k in gw.pool_status().keys}
    assert len(mock.requests_for(key="sk-a")) == 1, "a cooling key gets nothing until Retry-After passes"
    assert status["a"].health == "cooling down" and status["a"].circuit == "closed"


def test_single_key_waits_for_retry_after(mock: MockProvider) -> None:
    mock.add_fault(Fault(status=429, retry_after=0.2, times=1))
    seen: List[omnillm.gateway.AttemptInfo] = []
    with Gateway([key(mock, "only")], pool_config=fast(), hooks={"retry": [seen.append]}) as gw:
        response = gw.call(req())
    assert response.text and len(mock.requests) == 2
    assert seen and seen[0].delay_s is not None and seen[0].delay_s >= 0.2


def test_failover_across_providers_speaking_different_protocols(mock: MockProvider) -> None:
    mock.add_fault(Fault(status=503, route="open_ai_chat_completions"))
    keys = [key(mock, "oa", models=["gpt-x"]), key(mock, "an", provider="anthropic", models=["claude-x"])]
    routes = {"smart": [Target("openai", "gpt-x"), ("anthropic", "claude-x")]}
    with Gateway(keys, routes=routes, pool_config=fast(strategy="lowest_cost"), prices=PRICES) as gw:
        response = gw.call(req(model="smart"))
    assert response.text == "Bonjour tout le monde, comment allez-vous ?"
    protocols = [r.protocol for r in mock.requests]
    assert protocols == ["open_ai_chat_completions", "anthropic_messages"]
    assert mock.requests[1].json["model"] == "claude-x"
    assert response.cost_micros is not None and response.cost_micros > 0


def test_model_name_mapping_per_key(mock: MockProvider) -> None:
    keys = [key(mock, "az", models={"gpt-4o": "prod-deployment"})]
    with Gateway(keys) as gw:
        gw.call(req(model="gpt-4o"))
    assert mock.requests[0].json["model"] == "prod-deployment"


def test_budget_refusal_happens_before_any_io(mock: MockProvider) -> None:
    with Gateway([key(mock, "a")], budget_limit_usd=0.0001, prices=PRICES) as gw:
        with pytest.raises(omnillm.BudgetExceededError) as info:
            gw.call(req(max_tokens=1000))
        budget = gw.pool_status().budget
    assert mock.requests == []
    assert info.value.needed > info.value.available
    assert budget is not None and budget["reserved_micros"] == 0 and budget["spent_micros"] == 0


def test_budget_settles_to_actual_cost(mock: MockProvider) -> None:
    with Gateway([key(mock, "a")], budget_limit_usd=1.0, prices=PRICES) as gw:
        response = gw.call(req())
        budget = gw.pool_status().budget
    assert response.usage is not None
    expected = PRICES["m-1"].input * response.usage.input_tokens + PRICES["m-1"].output * response.usage.output_tokens
    assert response.cost_micros == -(-expected // 1_000_000)
    assert budget is not None and budget["spent_micros"] == response.cost_micros and budget["reserved_micros"] == 0


def test_unpriced_model_under_a_budget_is_refused_at_construction(mock: MockProvider) -> None:
    with pytest.raises(omnillm.ConfigurationError):
        Gateway([key(mock, "a", models=["no-such-model"])], budget_limit_usd=1.0)


def test_401_disables_the_key_until_reset(mock: MockProvider) -> None:
    mock.add_fault(Fault(status=401, key="sk-a", times=1))
    with Gateway([key(mock, "a")], pool_config=fast()) as gw:
        with pytest.raises(omnillm.AuthenticationError):
            gw.call(req())
        with pytest.raises(omnillm.NoKeyAvailableError):
            gw.call(req())
        assert gw.pool_status().keys[0].health == "disabled"
        gw.reset_key("a")
        assert gw.call(req()).text


def test_request_errors_do_not_trip_breakers(mock: MockProvider) -> None:
    mock.add_fault(Fault(status=400))
    with Gateway([key(mock, "a")], pool_config=fast()) as gw:
        for _ in range(5):
            with pytest.raises(omnillm.InvalidRequestError):
                gw.call(req())
        assert gw.pool_status().keys[0].circuit == "closed"
    assert len(mock.requests) == 5, "a 400 is not retried"


def test_rate_limited_pool_waits_then_names_the_earliest_time(mock: MockProvider) -> None:
    config = fast(rate_limit_wait_s=0.05)
    with Gateway([key(mock, "a", rpm=1)], pool_config=config) as gw:
        gw.call(req())
        with pytest.raises(omnillm.RateLimitError) as info:
            gw.call(req())
    assert info.value.retry_after is not None and 0 < info.value.retry_after <= 60
    assert len(mock.requests) == 1


def test_cancel_a_waiting_call(mock: MockProvider) -> None:
    token = CancellationToken()
    with Gateway([key(mock, "a", rpm=1)], pool_config=fast(rate_limit_wait_s=120), request_timeout=120) as gw:
        gw.call(req())
        threading.Timer(0.1, token.cancel).start()
        with pytest.raises(omnillm.CancelledError):
            gw.call(req(), cancel=token)


def test_cancel_an_in_flight_call_releases_budget_and_connection(mock: MockProvider) -> None:
    mock.add_fault(Fault(trickle=(16, 0.05), times=1))
    token = CancellationToken()
    with Gateway([key(mock, "a")], budget_limit_usd=1.0, prices=PRICES) as gw:
        threading.Timer(0.1, token.cancel).start()
        with pytest.raises(omnillm.CancelledError):
            gw.call(req(), cancel=token)
        budget = gw.pool_status().budget
        assert budget is not None and budget["reserved_micros"] == 0
        assert gw.pool_status().keys[0].in_flight == 0
        assert gw.call(req()).text  # the pool still works


def test_request_timeout_bounds_the_whole_call(mock: MockProvider) -> None:
    mock.add_fault(Fault(latency=1.0))
    config = fast(retry=RetryPolicy(max_attempts=10, base_delay_s=0.0))
    gw = Gateway([key(mock, "a")], pool_config=config, request_timeout=0.4)
    with gw, pytest.raises(omnillm.TimeoutError):
        gw.call(req())
    assert len(mock.requests) == 1, "no attempt starts after the request timeout"


def test_stream_delivers_every_delta_and_settles(mock: MockProvider) -> None:
    with Gateway([key(mock, "a")], budget_limit_usd=1.0, prices=PRICES) as gw:
        with gw.stream(req()) as stream:
            text = "".join(e.text for e in stream if isinstance(e, TextDelta))
        assert text == "Bonjour tout le monde, comment allez-vous ?"
        assert stream.completed and stream.cost_micros is not None and stream.cost_micros > 0
        budget = gw.pool_status().budget
    assert budget is not None and budget["reserved_micros"] == 0 and budget["spent_micros"] == stream.cost_micros


def test_stream_fails_over_before_the_first_event(mock: MockProvider) -> None:
    mock.add_fault(Fault(reset=True, key="sk-a"))
    with Gateway([key(mock, "a"), key(mock, "b")], pool_config=fast()) as gw:
        for _ in range(3):
            with gw.stream(req()) as stream:
                assert "".join(e.text for e in stream if isinstance(e, TextDelta)).startswith("Bonjour")


def _each(stream: Any, style: str) -> Iterator[Any]:
    """The stream's events, taken by a for loop, by next() calls, or two by next() and the rest by a loop."""
    if style == "for":
        yield from stream
        return
    taken = 0
    while style == "next" or taken < 2:
        try:
            event = next(stream)
        except StopIteration:
            return
        taken += 1
        yield event
    yield from stream


STYLES = ["for", "next", "mixed"]


@pytest.mark.parametrize("style", STYLES)
def test_a_stream_taken_any_way_gives_every_event_once_and_settles(style: str, mock: MockProvider) -> None:
    with Gateway([key(mock, "a")], budget_limit_usd=1.0, prices=PRICES) as gw:
        whole = gw.call(req()).text
        stream = gw.stream(req())
        text = "".join(e.text for e in _each(stream, style) if isinstance(e, TextDelta))
        assert text == whole and stream.completed and stream.cost_micros
        assert list(stream) == [] and stream.response().text == whole
        budget = gw.pool_status().budget
    assert budget is not None and budget["reserved_micros"] == 0


@pytest.mark.parametrize("style", STYLES)
def test_stream_interrupted_after_output_raises_with_the_partial(style: str, mock: MockProvider) -> None:
    mock.add_fault(Fault(truncate_after_events=8))
    with Gateway([key(mock, "a"), key(mock, "b")], budget_limit_usd=1.0, prices=PRICES, pool_config=fast()) as gw:
        stream = gw.stream(req())
        got = ""
        with pytest.raises(omnillm.StreamInterruptedError) as info:
            for event in _each(stream, style):
                if isinstance(event, TextDelta):
                    got += event.text
        budget = gw.pool_status().budget
    partial = info.value.partial
    assert partial is not None and partial.text == got and got
    assert isinstance(info.value.cause, omnillm.TruncatedStreamError)
    assert len(mock.requests) == 1, "no silent restart after output reached the caller"
    assert budget is not None and budget["reserved_micros"] == 0 and budget["spent_micros"] > 0


def test_stream_stopped_early_settles_what_was_produced(mock: MockProvider) -> None:
    with Gateway([key(mock, "a")], budget_limit_usd=1.0, prices=PRICES) as gw:
        stream = gw.stream(req())
        next(iter(stream))
        next(iter(stream))
        stream.close()
        budget = gw.pool_status().budget
        assert budget is not None and budget["reserved_micros"] == 0 and budget["spent_micros"] > 0
        assert gw.pool_status().keys[0].in_flight == 0


@pytest.mark.parametrize("style", STYLES)
def test_cancel_a_stream(style: str, mock: MockProvider) -> None:
    mock.add_fault(Fault(trickle=(32, 0.03), times=1))
    token = CancellationToken()
    with Gateway([key(mock, "a")], budget_limit_usd=1.0, prices=PRICES) as gw:
        stream = gw.stream(req(), cancel=token)
        next(iter(stream))
        token.cancel()
        with pytest.raises(omnillm.CancelledError) as info:
            for _ in _each(stream, style):
                pass
        assert info.value.__cause__ is None and info.value.__suppress_context__
        budget = gw.pool_status().budget
    assert budget is not None and budget["reserved_micros"] == 0
    assert budget["spent_micros"] > 0, "what was produced before the cancel is paid for"


def _client_threads() -> int:
    # The mock server's own per-connection threads and test timers are not the client's.
    return sum(
        1
        for t in threading.enumerate()
        if "process_request_thread" not in t.name and not isinstance(t, threading.Timer)
    )


def test_submit_map_and_no_threads_left_behind(mock: MockProvider) -> None:
    before = _client_threads()
    gw = Gateway([key(mock, "a"), key(mock, "b")])
    for _ in range(5):
        gw.call(req())
        with gw.stream(req()) as stream:
            list(stream)
    assert _client_threads() == before, "calls and streams start no threads"
    future = gw.submit(req("one"))
    results = list(gw.map([req(f"n{i}") for i in range(10)]))
    assert future.result().text == "Mock reply to: one" or future.result().text.startswith("Bonjour")
    assert len(results) == 10
    gw.close()
    time.sleep(0.05)
    assert _client_threads() == before, "close() shuts the pool down"
    with pytest.raises(omnillm.ConfigurationError):
        gw.call(req())


def test_map_can_return_exceptions(mock: MockProvider) -> None:
    mock.add_fault(Fault(status=400, times=1))
    with Gateway([key(mock, "a")], pool_config=fast()) as gw:
        results = list(gw.map([req(), req()], return_exceptions=True))
    assert sum(isinstance(r, omnillm.InvalidRequestError) for r in results) == 1


def test_hooks_see_every_attempt(mock: MockProvider) -> None:
    mock.add_fault(Fault(status=503, times=1))
    events: List[str] = []
    gw = (
        Gateway.builder()
        .add_key(key(mock, "a"))
        .add_key(key(mock, "b"))
        .pool_config(fast())
        .hook("request_start", lambda i: events.append(f"start:{i.attempt}"))
        .hook("failure", lambda i: events.append(f"failure:{type(i.error).__name__}"))
        .hook("retry", lambda i: events.append("retry"))
        .hook("success", lambda i: events.append(f"success:{i.key}"))
        .build()
    )
    with gw:
        gw.call(req())
    assert events[:4] == ["start:1", "failure:OverloadedError", "retry", "start:2"]
    assert events[-1].startswith("success:")


def test_construction_validates_everything(mock: MockProvider) -> None:
    with pytest.raises(omnillm.ConfigurationError):
        Gateway([])
    with pytest.raises(omnillm.ConfigurationError):
        Gateway([KeyConfig("no_such_provider", "s")])
    with pytest.raises(omnillm.ConfigurationError):
        Gateway([key(mock, "a", rpm=-1)])
    with pytest.raises(omnillm.ConfigurationError):
        Gateway([key(mock, "a", models=["m-1"])], routes={"x": ["openai/other-model"]})
    with pytest.raises(omnillm.ConfigurationError):
        Gateway([key(mock, "a")], budget_limit_usd=-1)
    with pytest.raises(omnillm.ConfigurationError):
        Gateway([key(mock, "a"), key(mock, "a")])


def test_two_gateways_never_share_state(mock: MockProvider) -> None:
    mock.add_fault(Fault(status=500, key="sk-a"))
    one = Gateway([key(mock, "a")], pool_config=fast(retry=RetryPolicy(max_attempts=1)))
    two = Gateway([key(mock, "a")], pool_config=fast(retry=RetryPolicy(max_attempts=1)))
    for _ in range(3):
        with pytest.raises((omnillm.ServerError, omnillm.NoKeyAvailableError)):
            one.call(req())
    assert one.pool_status().keys[0].circuit == "open"
    assert two.pool_status().keys[0].circuit == "closed"
    one.close()
    two.close()


def test_status_never_shows_a_secret(mock: MockProvider) -> None:
    with Gateway([key(mock, "a")], budget_limit_usd=1.0, prices=PRICES) as gw:
        gw.call(req())
        status = gw.pool_status()
        text = repr(status) + status.table() + repr(gw)
    assert "sk-a" not in text and "a" in text


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork")
def test_a_gateway_built_before_fork_works_in_the_child(mock: MockProvider) -> None:
    clock = [1000.0]  # frozen: the token bucket does not refill, so the child's level is exact
    keys = [key(mock, "a", tpm=1_000_000)]
    with Gateway(keys, budget_limit_usd=1.0, prices=PRICES, now=lambda: clock[0]) as gw:
        gw.call(req())  # the parent has a pooled connection and spent money
        spent_before = gw.pool_status().budget["spent_micros"]  # type: ignore[index]
        level_before = gw.pool_status().keys[0].limits["tokens_available"]
        stream = gw.stream(req())  # ... and a reservation and a token charge in flight at fork time
        next(iter(stream))
        assert gw.pool_status().keys[0].limits["tokens_available"] < level_before
        read, write = os.pipe()
        pid = os.fork()
        if pid == 0:  # pragma: no cover - runs in the child
            code = 1
            try:
                status = gw.pool_status()
                budget = status.budget
                clean = budget is not None and budget["reserved_micros"] == 0
                clean = clean and budget["spent_micros"] == spent_before
                clean = clean and status.keys[0].in_flight == 0
                refunded = status.keys[0].limits["tokens_available"] == level_before
                ok = gw.call(req("from the child")).text
                pooled = gw.submit(req("on the child's pool")).result(timeout=30).text
                code = 0 if clean and refunded and ok and pooled else 2 + clean + 2 * refunded
            finally:
                os.write(write, bytes([code]))
                os._exit(0)
        os.close(write)
        ready, _, _ = select.select([read], [], [], 60)
        result = os.read(read, 1) if ready else b"timeout"
        if not ready:
            os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
        os.close(read)
        stream.close()
    assert result == b"\x00", "the child saw a clean state (nothing in flight) and could call and submit"


def test_an_unreadable_answer_fails_over_to_another_key(mock: MockProvider) -> None:
    mock.add_fault(Fault(malformed_json=True, key="sk-a"))
    with Gateway([key(mock, "a"), key(mock, "b")], pool_config=fast()) as gw:
        for _ in range(4):
            assert gw.call(req()).text.startswith("Bonjour")
        errors = {k.label: k.errors for k in gw.pool_status().keys}
    assert errors["a"] == {"DecodeError": len(mock.requests_for(key="sk-a"))}
