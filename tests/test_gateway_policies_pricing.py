"""Prices: exact micro-dollar arithmetic, cache rates, long-prompt tiers, lookup, overrides, estimates."""

from __future__ import annotations

import warnings
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from omnillm.errors import ConfigurationError
from omnillm.gateway import (
    EMBEDDED_PRICES,
    PRICES_AS_OF,
    MissingPriceWarning,
    Price,
    PriceTable,
    Pricing,
    cost_micros,
    estimate_request_micros,
    estimate_tokens,
)
from omnillm.gateway.pricing import (
    FILE_TOKENS,
    IMAGE_TOKENS,
    audio_cost_micros,
    image_cost_micros,
    model_name_candidates,
    request_has_cache_breakpoints,
    speech_cost_micros,
    usd_to_micros,
)
from omnillm.model import (
    CacheControl,
    FilePart,
    FunctionTool,
    ImagePart,
    LlmRequest,
    Message,
    TextPart,
    ToolCallPart,
    ToolResultPart,
    Usage,
)

SONNET = Price.usd("3", "15", cached_input="0.30", cache_write="3.75")


def test_usd_converts_exactly() -> None:
    assert usd_to_micros("2.50") == 2_500_000
    assert usd_to_micros("0.00875") == 8_750
    assert usd_to_micros(3) == 3_000_000
    assert usd_to_micros(Decimal("0.000001")) == 1
    assert usd_to_micros(0.1) == 100_000 and usd_to_micros(2.5) == 2_500_000  # floats by their decimal form
    for bad in ("0.0000001", "-1", "abc", 1e-7, "NaN"):
        with pytest.raises(ConfigurationError):
            usd_to_micros(bad)  # type: ignore[arg-type]


def test_plain_cost() -> None:
    usage = Usage(input_tokens=1_000_000, output_tokens=100_000)
    assert cost_micros(usage, SONNET) == 3_000_000 + 1_500_000


def test_cached_input_is_cheaper_and_cache_writes_dearer() -> None:
    # 10_000 prompt tokens in all: 6_000 read from cache, 1_000 written to it, 3_000 fresh.
    usage = Usage(input_tokens=10_000, output_tokens=500, cached_input_tokens=6_000, cache_creation_input_tokens=1_000)
    expected = 3_000 * 3_000_000 + 6_000 * 300_000 + 1_000 * 3_750_000 + 500 * 15_000_000
    assert cost_micros(usage, SONNET) == expected // 1_000_000
    assert cost_micros(usage, SONNET) < cost_micros(Usage(input_tokens=10_000, output_tokens=500), SONNET) + 1_000


def test_missing_cache_rates_fall_back_to_input() -> None:
    plain = Price.usd("1", "2")
    usage = Usage(input_tokens=100, output_tokens=0, cached_input_tokens=40, cache_creation_input_tokens=10)
    assert cost_micros(usage, plain) == 100


def test_costs_round_up_to_the_next_micro() -> None:
    cheap = Price.usd("0.10", "0.40")
    assert cost_micros(Usage(input_tokens=1, output_tokens=0), cheap) == 1  # 0.1 micro
    assert cost_micros(Usage(input_tokens=10, output_tokens=0), cheap) == 1
    assert cost_micros(Usage(input_tokens=11, output_tokens=0), cheap) == 2
    assert cost_micros(Usage(), cheap) == 0


def test_long_prompt_tier_applies_to_the_whole_request() -> None:
    gemini = EMBEDDED_PRICES.get("gemini-3.1-pro-preview")
    assert gemini is not None
    short = Usage(input_tokens=200_000, output_tokens=1_000)
    long = Usage(input_tokens=200_001, output_tokens=1_000)
    assert cost_micros(short, gemini) == 200_000 * 2 + 1_000 * 12
    assert cost_micros(long, gemini) == 200_001 * 4 + 1_000 * 18


def test_haiku_5_5_prompt_length_tier_counts_cache_tokens() -> None:
    haiku = EMBEDDED_PRICES.get("claude-haiku-5-5")
    assert haiku is not None
    usage = Usage(input_tokens=150_000, output_tokens=0, cached_input_tokens=120_000)
    # Over 100k prompt tokens: 30_000 fresh at 0.50 and 120_000 reads at 0.05 USD/MTok.
    assert cost_micros(usage, haiku) == (30_000 * 500_000 + 120_000 * 50_000) // 1_000_000


def test_worst_case_estimate() -> None:
    assert estimate_request_micros(1_000, 2_000, SONNET) == 3_000 + 30_000
    assert estimate_request_micros(1_000, 2_000, SONNET, cache_writes=True) == 3_750 + 30_000
    gemini = EMBEDDED_PRICES.get("gemini-2.5-pro")
    assert gemini is not None
    assert estimate_request_micros(300_000, 0, gemini) == 300_000 * 2.5


@given(
    st.integers(0, 2_000_000),
    st.integers(0, 200_000),
    st.integers(0, 2_000_000),
    st.integers(0, 2_000_000),
    st.booleans(),
)
def test_worst_case_estimate_bounds_any_actual_usage(
    prompt: int, out: int, cached: int, written: int, caching: bool
) -> None:
    cached = min(cached, prompt)
    written = min(written, prompt - cached) if caching else 0
    for price in (SONNET, EMBEDDED_PRICES.get("gemini-2.5-pro"), EMBEDDED_PRICES.get("claude-haiku-5-5")):
        assert price is not None
        usage = Usage(
            input_tokens=prompt, output_tokens=out, cached_input_tokens=cached, cache_creation_input_tokens=written
        )
        assert cost_micros(usage, price) <= estimate_request_micros(prompt, out, price, cache_writes=caching)


def test_images_audio_and_speech() -> None:
    dalle = EMBEDDED_PRICES.get("dall-e-3")
    whisper = EMBEDDED_PRICES.get("whisper-1")
    tts = EMBEDDED_PRICES.get("tts-1")
    assert dalle is not None and whisper is not None and tts is not None
    assert image_cost_micros(3, dalle) == 120_000
    assert audio_cost_micros(60, whisper) == 6_000
    assert audio_cost_micros(90.5, whisper) == 9_050
    assert audio_cost_micros(0.001, whisper) == 1
    assert speech_cost_micros(1_000, tts) == 15_000
    assert image_cost_micros(3, SONNET) == 0
    with pytest.raises(ConfigurationError):
        audio_cost_micros(-1, whisper)


def test_negative_usage_is_a_configuration_error() -> None:
    with pytest.raises(ConfigurationError):
        cost_micros(Usage(input_tokens=-1), SONNET)


def test_price_validation() -> None:
    with pytest.raises(ConfigurationError):
        Price(input=-1, output=0)
    with pytest.raises(ConfigurationError):
        Price(input=1, output=1, long_context=SONNET)  # threshold missing
    nested = Price(input=1, output=1, long_context_threshold=10, long_context=Price(1, 1))
    with pytest.raises(ConfigurationError):
        Price(input=1, output=1, long_context_threshold=5, long_context=nested)


# --------------------------------------------------------------------------- table


@pytest.mark.parametrize(
    ("model", "expected"),
    [
        ("claude-opus-4-5-20251101", "claude-opus-4-5"),
        ("us.anthropic.claude-opus-4-5-20251101-v1:0", "claude-opus-4-5"),
        ("global.anthropic.claude-sonnet-4-5-20250929-v1:0", "claude-sonnet-4-5"),
        ("claude-opus-4-5@20251101", "claude-opus-4-5"),
        ("amazon.nova-pro-v1:0", "nova-pro"),
        ("models/gemini-2.5-flash", "gemini-2.5-flash"),
        ("gpt-4o-2024-08-06", "gpt-4o"),
        ("openai/gpt-5.5", "gpt-5.5"),
        ("gemini-2.5-flash-001", "gemini-2.5-flash"),
    ],
)
def test_lookup_normalises_dated_and_prefixed_ids(model: str, expected: str) -> None:
    assert expected in model_name_candidates(model)
    assert EMBEDDED_PRICES.get(model) is EMBEDDED_PRICES.get(expected)
    assert EMBEDDED_PRICES.get(model) is not None


def test_lookup_does_not_guess_by_prefix() -> None:
    assert EMBEDDED_PRICES.get("gpt-5.5-ultra") is None  # not priced as gpt-5.5
    assert EMBEDDED_PRICES.get("claude-opus-9") is None
    assert "gpt-4o-mini" in EMBEDDED_PRICES
    assert EMBEDDED_PRICES.get("gpt-4o-mini") is not EMBEDDED_PRICES.get("gpt-4o")


def test_embedded_table_is_dated_sourced_and_covers_every_native_provider() -> None:
    assert EMBEDDED_PRICES.as_of == PRICES_AS_OF
    for model in ("claude-sonnet-5-5", "gpt-6-sol", "gemini-3.1-pro-preview", "nova-pro", "claude-haiku-4-5"):
        price = EMBEDDED_PRICES.get(model)
        assert price is not None, model
        assert price.source
    assert len(EMBEDDED_PRICES) > 40


def test_embedded_rows_are_self_consistent() -> None:
    for model in EMBEDDED_PRICES:
        price = EMBEDDED_PRICES.get(model)
        assert price is not None
        if price.cached_input is not None:
            assert price.cached_input <= price.input or price.input == 0, model
        if price.long_context is not None:
            assert price.long_context.input >= price.input, model


def test_overrides_make_a_new_table_and_leave_the_embedded_one_alone() -> None:
    before = EMBEDDED_PRICES.get("gpt-4o")
    custom = Price.usd("1", "1")
    table = EMBEDDED_PRICES.with_prices({"gpt-4o": custom, "my-model": custom}, as_of="2027-01-01")
    assert table.get("gpt-4o") is custom and table.get("my-model") is custom
    assert table.as_of == "2027-01-01"
    assert EMBEDDED_PRICES.get("gpt-4o") is before
    assert EMBEDDED_PRICES.get("my-model") is None
    one = Pricing(overrides={"my-model": custom})
    other = Pricing()
    assert one.price("my-model") is custom and other.price("my-model") is None


def test_price_table_validation() -> None:
    with pytest.raises(ConfigurationError):
        PriceTable({"m": "cheap"}, as_of="2026-01-01")  # type: ignore[dict-item]


def test_missing_price_refuse_policy() -> None:
    pricing = Pricing()
    with pytest.raises(ConfigurationError, match="no price for model 'mystery'"):
        pricing.estimate_micros("mystery", 10, 10)
    with pytest.raises(ConfigurationError):
        pricing.cost_micros("mystery", Usage(input_tokens=1))


def test_missing_price_zero_policy_warns_once() -> None:
    pricing = Pricing(missing="zero")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        assert pricing.estimate_micros("mystery", 10, 10) == 0
        assert pricing.cost_micros("mystery", Usage(input_tokens=10)) == 0
    assert [w.category for w in caught] == [MissingPriceWarning]
    with pytest.raises(ConfigurationError):
        Pricing(missing="guess")


def test_pricing_uses_the_model_price() -> None:
    pricing = Pricing()
    assert pricing.cost_micros("claude-sonnet-4-6", Usage(input_tokens=1_000_000)) == 3_000_000
    assert pricing.estimate_micros("claude-sonnet-4-6", 1_000, 1_000) == 3_000 + 15_000


# --------------------------------------------------------------------------- token estimate


def test_estimate_tokens_counts_text_at_four_characters_a_token() -> None:
    empty = estimate_tokens(LlmRequest(model="m"))
    one = estimate_tokens(LlmRequest(model="m", messages=[Message.user("x" * 400)]))
    assert one - empty == 4 + 100  # per-message overhead plus 400 / 4
    two = estimate_tokens(LlmRequest(model="m", messages=[Message.user("x" * 400), Message.assistant("y" * 4)]))
    assert two - one == 4 + 1


def test_estimate_tokens_covers_every_part_kind_and_tools() -> None:
    base = LlmRequest(model="m", messages=[Message("user", [])])
    plain = estimate_tokens(base)
    image = LlmRequest(model="m", messages=[Message("user", [ImagePart(url="https://x/y.png")])])
    assert estimate_tokens(image) - plain == IMAGE_TOKENS
    document = LlmRequest(model="m", messages=[Message("user", [FilePart(file_id="file-1")])])
    assert estimate_tokens(document) - plain == FILE_TOKENS
    call = ToolCallPart(id="c1", name="get_weather", arguments='{"city": "Paris"}')
    result = ToolResultPart(call_id="c1", content=[TextPart("18 degrees")])
    tooled = LlmRequest(
        model="m",
        instructions="Be brief.",
        messages=[Message("assistant", [call]), Message("tool", [result])],
        tools=[FunctionTool("get_weather", "Weather", {"type": "object"})],
    )
    assert estimate_tokens(tooled) > estimate_tokens(LlmRequest(model="m", messages=[Message("a"), Message("t")]))


def test_estimate_is_pure() -> None:
    request = LlmRequest(model="m", messages=[Message.user("hello " * 50)])
    assert estimate_tokens(request) == estimate_tokens(request)
    assert request.messages[0].text == "hello " * 50


def test_cache_breakpoints_are_detected() -> None:
    plain = LlmRequest(model="m", messages=[Message.user("hi")])
    assert not request_has_cache_breakpoints(plain)
    marked = LlmRequest(model="m", messages=[Message("user", [TextPart("hi", cache_control=CacheControl())])])
    assert request_has_cache_breakpoints(marked)
    tool = LlmRequest(model="m", tools=[FunctionTool("f", cache_control=CacheControl())])
    assert request_has_cache_breakpoints(tool)


# --------------------------------------------------------------------------- other endpoint families


def test_image_rates_by_size_and_quality() -> None:
    dalle = EMBEDDED_PRICES.get("dall-e-3")
    assert dalle is not None
    assert dalle.image_rate() == 40_000, "the provider's default: standard 1024x1024"
    assert dalle.image_rate("1024x1792", "hd") == 120_000
    assert dalle.image_rate("1024x1024", "hd") == 80_000, "quality alone when size/quality is not listed"
    assert dalle.image_rate("1792x1024", "standard") == 80_000, "size alone"
    with pytest.raises(ConfigurationError):
        Price(input=0, output=0, image_variants=(("hd", -1),))


def test_api_estimates_and_costs_per_family() -> None:
    from omnillm.api import (
        AudioSpeechRequest,
        AudioSpeechResponse,
        AudioTranscriptionRequest,
        AudioTranscriptionResponse,
        GeneratedImage,
        ImageGenerationRequest,
        ImageGenerationResponse,
    )
    from omnillm.gateway.pricing import (
        TRANSCRIPTION_BYTES_PER_SECOND,
        api_cost_micros,
        estimate_api_micros,
    )

    dalle, tts, whisper = (EMBEDDED_PRICES.get(m) for m in ("dall-e-3", "tts-1", "whisper-1"))
    assert dalle is not None and tts is not None and whisper is not None
    images = ImageGenerationRequest(model="dall-e-3", prompt="cats", n=3, quality="hd")
    assert estimate_api_micros(images, dalle, input_tokens=2) == 3 * 80_000
    two = ImageGenerationResponse(images=[GeneratedImage(url="u"), GeneratedImage(url="v")])
    assert api_cost_micros(images, two, dalle, 240_000) == 160_000, "settled for the images returned"

    speech = AudioSpeechRequest(model="tts-1", input="x" * 2000, voice="alloy")
    assert estimate_api_micros(speech, tts, input_tokens=500) == 30_000
    assert api_cost_micros(speech, AudioSpeechResponse(audio=b"..."), tts, 30_000) == 30_000

    audio = AudioTranscriptionRequest(model="whisper-1", audio=b"\0" * TRANSCRIPTION_BYTES_PER_SECOND * 120)
    assert estimate_api_micros(audio, whisper, input_tokens=1) == 12_000, "2 minutes at most"
    assert estimate_api_micros(audio, whisper, input_tokens=1, max_audio_seconds=60) == 6_000
    assert api_cost_micros(audio, AudioTranscriptionResponse(text="hi", duration=30.0), whisper, 12_000) == 3_000
    assert api_cost_micros(audio, AudioTranscriptionResponse(text="hi"), whisper, 12_000) == 12_000

    gpt_image = EMBEDDED_PRICES.get("gpt-image-1")
    assert gpt_image is not None
    token_priced = ImageGenerationRequest(model="gpt-image-1", prompt="cats", n=2)
    # Two images of 6240 output tokens (the largest, high quality) at $40 per million.
    assert estimate_api_micros(token_priced, gpt_image, input_tokens=0) == 499_200


def test_set_prices_swaps_the_table_for_later_lookups() -> None:
    pricing = Pricing(overrides={"m-1": Price.usd(1, 2)})
    assert pricing.price("m-1") == Price.usd(1, 2)  # memoised
    pricing.set_prices({"m-1": Price.usd(3, 4), "m-new": Price.usd(5, 6)}, as_of="2026-12-02")
    assert pricing.price("m-1") == Price.usd(3, 4) and pricing.price("m-new") == Price.usd(5, 6)
    assert pricing.table.as_of == "2026-12-02"
    with pytest.raises(ConfigurationError):
        pricing.set_prices({"m-1": "cheap"})  # type: ignore[dict-item]
