"""Gateway budgets end to end against the mock provider on 127.0.0.1: the invariant under
contention, per-key and per-tag budgets, windows, cache writes and non-token families."""

from __future__ import annotations

import json
import random
import threading
from typing import Any, Iterator, List, Optional

import pytest

import omnillm
from omnillm import LlmRequest, Message
from omnillm.api import AudioSpeechRequest, AudioTranscriptionRequest, ImageGenerationRequest
from omnillm.gateway import BreakerConfig, Gateway, KeyConfig, PoolConfig, Price, RetryPolicy
from omnillm.gateway.pricing import TRANSCRIPTION_BYTES_PER_SECOND
from omnillm.model import CacheControl, TextPart
from omnillm.testing import Fault, MockProvider, MockReply
from omnillm.testing.server import RecordedRequest, Reply

PRICES = {"m-1": Price.usd(1.0, 2.0)}
LONG_TEXT = "Bonjour tout le monde, comment allez-vous ? " * 8  # ~88 output tokens unless max_tokens cuts it


def req(text: str = "hello", max_tokens: int = 50, model: str = "m-1") -> LlmRequest:
    return LlmRequest(model=model, messages=[Message.user(text)], max_output_tokens=max_tokens)


@pytest.fixture(scope="module")
def mock() -> Iterator[MockProvider]:
    with MockProvider(MockReply(text=LONG_TEXT), chunk_chars=16) as m:
        yield m


@pytest.fixture(autouse=True)
def _clean(mock: MockProvider) -> None:
    mock.reset()
    mock.default_reply = MockReply(text=LONG_TEXT)


def key(mock: MockProvider, label: str, provider: str = "openai", **kw: Any) -> KeyConfig:
    kw.setdefault("wire_format", "open_ai_chat_completions" if provider == "openai" else None)
    return KeyConfig(provider, f"sk-{label}", label=label, base_url=mock.base_url + "/v1", **kw)


def fast(**kw: Any) -> PoolConfig:
    kw.setdefault("retry", RetryPolicy(max_attempts=2, base_delay_s=0.0, max_delay_s=0.0))
    kw.setdefault("breaker", BreakerConfig(failure_threshold=10**6, min_calls=10**6))
    return PoolConfig(**kw)


# --------------------------------------------------------------------------- the invariant


def test_mock_honours_max_output_tokens(mock: MockProvider) -> None:
    with Gateway([key(mock, "a")], budget_limit_usd=1.0, prices=PRICES) as gw:
        short = gw.call(req(max_tokens=1))
        full = gw.call(req(max_tokens=1000))
        overspend = gw.pool_status().budget
    assert short.usage is not None and short.usage.output_tokens == 1 and short.stop_reason == "max_tokens"
    assert full.usage is not None and full.usage.output_tokens == len(LONG_TEXT) // 4
    assert full.text == LONG_TEXT and full.stop_reason == "end_turn"
    assert overspend is not None and overspend["overspend_micros"] == 0


def test_budget_invariant_16_threads_thousands_of_calls(mock: MockProvider) -> None:
    """16 threads x 160 calls with random prompt sizes, output bounds, reply lengths and failures."""
    reply_rng = random.Random(11)
    reply_lock = threading.Lock()

    def reply(_: RecordedRequest, __: Optional[LlmRequest]) -> MockReply:
        with reply_lock:
            return MockReply(text="x" * reply_rng.randint(0, 1200))

    mock.default_reply = reply
    mock.add_fault(Fault(status=500, key="sk-flaky"))  # always fails: every call on it fails over or fails
    mock.add_fault(Fault(status=503, key="sk-b", times=300))  # a burst of overload on another key
    keys = [key(mock, "a"), key(mock, "b"), key(mock, "flaky")]
    limit_micros = 60_000
    settled: List[int] = []
    outcomes = {"ok": 0, "refused": 0, "failed": 0}
    lock = threading.Lock()
    with Gateway(keys, budget_limit_usd=limit_micros / 1e6, prices=PRICES, pool_config=fast()) as gw:

        def worker(seed: int) -> None:
            rng = random.Random(seed)
            for _ in range(160):
                request = req("y" * rng.randint(1, 800), max_tokens=rng.randint(1, 400))
                try:
                    response = gw.call(request)
                except omnillm.BudgetExceededError:
                    kind = "refused"
                except (omnillm.ServerError, omnillm.OverloadedError):
                    kind = "failed"
                else:
                    kind = "ok"
                    assert response.cost_micros is not None
                with lock:
                    outcomes[kind] += 1
                    if kind == "ok":
                        settled.append(response.cost_micros or 0)

        threads = [threading.Thread(target=worker, args=(n,)) for n in range(16)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        budget = gw.pool_status().budget
    assert sum(outcomes.values()) == 16 * 160
    assert outcomes["ok"] > 100 and outcomes["refused"] > 100 and outcomes["failed"] > 0, outcomes
    assert budget is not None
    assert budget["reserved_micros"] == 0, "every reservation was settled or released"
    assert budget["spent_micros"] == sum(settled), "spent is exactly the sum of settled costs"
    assert budget["spent_micros"] <= limit_micros
    assert budget["overspend_micros"] == 0, "no call cost more than its reservation"


def test_cache_breakpoints_reserve_at_the_cache_write_rate(mock: MockProvider) -> None:
    prices = {"m-1": Price.usd(1.0, 0, cache_write=2.0)}
    prompt = "z" * 4000  # about 1000 tokens: 1000 micro-USD as input, 2000 as cache writes
    plain = LlmRequest(model="m-1", messages=[Message.user(prompt)], max_output_tokens=1)
    cached = LlmRequest(
        model="m-1",
        messages=[Message("user", [TextPart(prompt, cache_control=CacheControl())])],
        max_output_tokens=1,
    )
    with Gateway([key(mock, "a")], budget_limit_usd=0.0015, prices=prices) as gw:
        assert gw.call(plain).text
        with pytest.raises(omnillm.BudgetExceededError) as info:
            gw.call(cached)
    assert info.value.needed > 2000 >= 1500, "the prompt may all be written to the cache"
    assert len(mock.requests) == 1, "refused before any I/O"


# --------------------------------------------------------------------------- per key, per tag, windows


def test_a_key_over_its_own_budget_is_skipped_not_refused(mock: MockProvider) -> None:
    keys = [key(mock, "a"), key(mock, "b")]
    with Gateway(keys, key_budgets_usd={"a": 0.0}, prices=PRICES, pool_config=fast()) as gw:
        for _ in range(6):
            assert gw.call(req()).text
        spent = {k.label: k.spent_micros for k in gw.pool_status().keys}
    assert {r.key for r in mock.requests} == {"sk-b"}
    assert spent["a"] == 0 and spent["b"] > 0


def test_every_key_over_its_budget_refuses_before_io(mock: MockProvider) -> None:
    keys = [key(mock, "a"), key(mock, "b")]
    budgets = {"a": 0.0, "b": 0.000_010}
    with Gateway(keys, key_budgets_usd=budgets, prices=PRICES, pool_config=fast()) as gw:
        with pytest.raises(omnillm.BudgetExceededError) as info:
            gw.call(req(max_tokens=500))
        status = gw.pool_status()
    assert mock.requests == []
    assert info.value.scope == "key:b" and info.value.available == 10, "the roomiest key is reported"
    assert all(b["reserved_micros"] == 0 for b in status.budgets)
    assert all(k.in_flight == 0 for k in status.keys)


def test_a_tag_over_its_budget_refuses_at_once(mock: MockProvider) -> None:
    keys = [key(mock, "a"), key(mock, "b")]
    with Gateway(keys, tag_budgets_usd={"tenant-1": 0.0}, prices=PRICES, pool_config=fast()) as gw:
        with pytest.raises(omnillm.BudgetExceededError) as info:
            gw.call(req(), tag="tenant-1")
        assert gw.call(req(), tag="tenant-2").text, "other tags are not limited"
    assert info.value.scope == "tag:tenant-1"
    assert len(mock.requests) == 1


def test_windowed_budgets_reset_every_day_for_gateway_and_tags(mock: MockProvider) -> None:
    day = 86_400.0
    wall = [10 * day + 3600.0]
    gw = Gateway(
        [key(mock, "a")],
        budget_limit_usd=0.001,
        tag_budget_usd=0.0005,
        budget_window="day",
        prices=PRICES,
        wall=lambda: wall[0],
    )
    with gw:
        tagged = 0
        with pytest.raises(omnillm.BudgetExceededError) as info:
            for _ in range(100):
                gw.call(req(max_tokens=20), tag="t")
                tagged += 1
        assert info.value.scope == "tag:t" and tagged > 0
        snapshot = {b["name"]: b for b in gw.pool_status().budgets}
        assert snapshot["tag:t"]["window"] == "day" and snapshot["tag:t"]["spent_micros"] > 0
        wall[0] += day  # the next UTC day: every window starts empty
        assert gw.call(req(max_tokens=20), tag="t").text
        after = {b["name"]: b for b in gw.pool_status().budgets}
    assert after["tag:t"]["window_id"] != snapshot["tag:t"]["window_id"]
    assert after["tag:t"]["spent_micros"] < snapshot["tag:t"]["spent_micros"]
    assert after["gateway"]["spent_micros"] < snapshot["gateway"]["spent_micros"]
    with pytest.raises(omnillm.ConfigurationError):
        Gateway([key(mock, "a")], tag_budget_usd=1.0, budget_window="week", prices=PRICES)
    built = Gateway.builder().add_key(key(mock, "a")).tag_budget_usd(1.0).budget_window("month")
    with built.prices(PRICES).option("wall", lambda: wall[0]).build() as monthly:
        monthly.call(req(), tag="t")
        assert {b["name"]: b for b in monthly.pool_status().budgets}["tag:t"]["window"] == "month"


# --------------------------------------------------------------------------- images, speech, transcription


def openai_key(mock: MockProvider) -> KeyConfig:
    return KeyConfig("openai", "sk-media", label="media", base_url=mock.base_url + "/v1")


def test_images_reserve_per_image_at_the_size_and_quality_price(mock: MockProvider) -> None:
    with Gateway([openai_key(mock)], budget_limit_usd=0.19) as gw:
        hd = ImageGenerationRequest(model="dall-e-3", prompt="a cat", n=1, size="1024x1792", quality="hd")
        first = gw.call_api(hd)
        budget = gw.pool_status().budget
        assert budget is not None and budget["spent_micros"] == 120_000 * len(first.images)
        with pytest.raises(omnillm.BudgetExceededError) as info:
            gw.call_api(ImageGenerationRequest(model="dall-e-3", prompt="two cats", n=2))
        assert info.value.needed == 80_000 and len(mock.requests) == 1
        standard = gw.call_api(ImageGenerationRequest(model="dall-e-3", prompt="a dog"))
        budget = gw.pool_status().budget
    assert len(first.images) == 1 and len(standard.images) == 1
    assert budget is not None and budget["spent_micros"] == 160_000 and budget["reserved_micros"] == 0


def test_speech_is_priced_per_character(mock: MockProvider) -> None:
    text = "hello " * 1000  # 6000 characters at $15 per million: 90_000 micro-USD
    with Gateway([openai_key(mock)], budget_limit_usd=0.10) as gw:
        gw.call_api(AudioSpeechRequest(model="tts-1", input=text, voice="alloy"))
        budget = gw.pool_status().budget
        assert budget is not None and budget["spent_micros"] == 90_000
        with pytest.raises(omnillm.BudgetExceededError):
            gw.call_api(AudioSpeechRequest(model="tts-1", input=text, voice="alloy"))
    assert len(mock.requests) == 1


def test_transcription_reserves_from_the_audio_size_and_settles_by_duration(mock: MockProvider) -> None:
    audio = b"\x00" * (TRANSCRIPTION_BYTES_PER_SECOND * 600)  # at most 10 minutes: 60_000 micro-USD on whisper-1
    request = AudioTranscriptionRequest("whisper-1", audio, filename="a.mp3", response_format="verbose_json")
    with Gateway([openai_key(mock)], budget_limit_usd=0.05) as gw:
        with pytest.raises(omnillm.BudgetExceededError) as info:
            gw.call_api(request)
        assert info.value.needed == 60_000 and mock.requests == []
    verbose = {"text": "hi", "language": "en", "duration": 42.5}
    mock.endpoints["/audio/transcriptions"] = lambda _: Reply(200, {}, json.dumps(verbose).encode())
    try:
        with Gateway([openai_key(mock)], budget_limit_usd=0.05, max_audio_seconds=300) as gw:
            response = gw.call_api(request)  # the caller vouches for at most 5 minutes: 30_000 reserved
            budget = gw.pool_status().budget
        assert response.duration == 42.5
        assert budget is not None and budget["reserved_micros"] == 0
        assert budget["spent_micros"] == 4_250, "42.5 s at $0.006 a minute"
        del verbose["duration"]
        with Gateway([openai_key(mock)], budget_limit_usd=0.05, max_audio_seconds=300) as gw:
            gw.call_api(request)
            budget = gw.pool_status().budget
        assert budget is not None and budget["spent_micros"] == 30_000, "no duration: the reservation is charged"
    finally:
        del mock.endpoints["/audio/transcriptions"]
