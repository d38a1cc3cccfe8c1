"""Model prices in integer micro-dollars, cost arithmetic, and a cheap prompt-size estimate.

A `Price` holds one model's rates as integers: micro-dollars per million tokens for
input, output, cached input (cache reads) and cache writes, plus per image, per audio
minute and per million speech characters where those apply. A model whose rates jump
above a prompt size (Gemini Pro above 200k tokens, GPT-6 above 272k, Claude Haiku 5.5
above 100k) carries a second `Price` for long prompts, applied to the whole request.

Arithmetic is exact: every rate is an integer, costs are summed as ``tokens * rate``
and divided by a million once, rounding *up*, so a cost is never under-counted by
rounding.

`EMBEDDED_PRICES` is the built-in `PriceTable` (dated; each row names its source).
Tables are immutable: `PriceTable.with_prices` returns a new table, and a gateway holds
its own `Pricing` (table plus policy for models without a price), so overriding a price
for one gateway never changes another's.
"""

from __future__ import annotations

import json
import math
import re
import threading
import warnings
from dataclasses import dataclass
from decimal import Decimal
from types import MappingProxyType
from typing import Any, Dict, Iterator, List, Mapping, Optional, Tuple, Union

from ..errors import ConfigurationError
from ..model import (
    AudioPart,
    FilePart,
    FunctionTool,
    ImagePart,
    LlmRequest,
    Part,
    ReasoningPart,
    RefusalPart,
    TextPart,
    ToolCallPart,
    ToolResultPart,
    Usage,
)

PER_MILLION = 1_000_000

Number = Union[int, float, str, Decimal]
"""A USD amount as an int, a float, a decimal string (``"0.125"``) or a `Decimal`.

A float is read through its shortest decimal form (``2.5`` -> ``"2.5"``), so the prices
people write convert exactly; one that is not a whole number of micro-dollars is refused.
"""


def usd_to_micros(amount: Number) -> int:
    """``amount`` USD as an exact integer of micro-dollars (``"2.50"`` -> 2_500_000)."""
    if isinstance(amount, bool) or not isinstance(amount, (int, float, str, Decimal)):
        raise ConfigurationError(f"price: give USD as a number, a decimal string or a Decimal, not {amount!r}")
    try:
        micros = Decimal(repr(amount) if isinstance(amount, float) else amount) * PER_MILLION
    except ArithmeticError:
        raise ConfigurationError(f"price: {amount!r} is not a number") from None
    if not micros.is_finite() or micros < 0 or micros != micros.to_integral_value():
        raise ConfigurationError(f"price: {amount!r} USD is not a whole number of micro-dollars")
    return int(micros)


def _rate(name: str, value: Optional[int]) -> None:
    if value is None:
        return
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ConfigurationError(f"price: {name} must be a non-negative integer of micro-dollars, not {value!r}")


@dataclass(frozen=True)
class Price:
    """One model's rates in integer micro-dollars.

    ``input``, ``output``, ``cached_input`` and ``cache_write`` are per million tokens
    (``cached_input`` and ``cache_write`` default to ``input`` when None: no discount,
    no surcharge). ``per_image`` is per generated image, ``per_audio_minute`` per minute
    of audio transcribed, ``per_million_chars`` per million characters of speech.
    ``image_variants`` gives per-image rates that differ by size and quality, as
    ``(variant, rate)`` pairs where a variant is ``"1024x1792/hd"``, ``"1024x1792"`` or
    ``"hd"`` (`Price.image_rate` tries them in that order, then ``per_image``).
    ``long_context`` replaces this price for a whole request whose prompt has more than
    ``long_context_threshold`` tokens. ``source`` says where the numbers come from.
    """

    input: int
    output: int
    cached_input: Optional[int] = None
    cache_write: Optional[int] = None
    per_image: Optional[int] = None
    per_audio_minute: Optional[int] = None
    per_million_chars: Optional[int] = None
    long_context_threshold: Optional[int] = None
    long_context: Optional[Price] = None
    source: str = ""
    image_variants: Tuple[Tuple[str, int], ...] = ()

    def __post_init__(self) -> None:
        for name in ("input", "output", "cached_input", "cache_write", "per_image", "per_audio_minute"):
            _rate(name, getattr(self, name))
        _rate("per_million_chars", self.per_million_chars)
        _rate("long_context_threshold", self.long_context_threshold)
        for entry in self.image_variants:
            if not (isinstance(entry, tuple) and len(entry) == 2 and isinstance(entry[0], str) and entry[0]):
                raise ConfigurationError(f"price: image_variants entries are (variant, rate) pairs, not {entry!r}")
            _rate(f"image_variants[{entry[0]!r}]", entry[1])
        if (self.long_context is None) != (self.long_context_threshold is None):
            raise ConfigurationError("price: long_context and long_context_threshold go together")
        if self.long_context is not None and self.long_context.long_context is not None:
            raise ConfigurationError("price: a long-context price cannot have a long-context price of its own")

    @classmethod
    def usd(
        cls,
        input: Number,
        output: Number,
        *,
        cached_input: Optional[Number] = None,
        cache_write: Optional[Number] = None,
        per_image: Optional[Number] = None,
        per_audio_minute: Optional[Number] = None,
        per_million_chars: Optional[Number] = None,
        long_context_threshold: Optional[int] = None,
        long_context: Optional[Price] = None,
        source: str = "",
        image_variants: Optional[Mapping[str, Number]] = None,
    ) -> Price:
        """A price from USD amounts (per million tokens, per image, ...), converted exactly."""

        def opt(value: Optional[Number]) -> Optional[int]:
            return None if value is None else usd_to_micros(value)

        return cls(
            input=usd_to_micros(input),
            output=usd_to_micros(output),
            cached_input=opt(cached_input),
            cache_write=opt(cache_write),
            per_image=opt(per_image),
            per_audio_minute=opt(per_audio_minute),
            per_million_chars=opt(per_million_chars),
            long_context_threshold=long_context_threshold,
            long_context=long_context,
            source=source,
            image_variants=tuple((name, usd_to_micros(v)) for name, v in (image_variants or {}).items()),
        )

    def image_rate(self, size: Optional[str] = None, quality: Optional[str] = None) -> int:
        """Micro-dollars per image of ``size`` and ``quality`` (None: the provider's default, ``per_image``)."""
        if self.image_variants:
            variants = dict(self.image_variants)
            for name in (f"{size}/{quality}", size, quality):
                if name is not None and name in variants:
                    return variants[name]
        return self.per_image or 0

    def for_prompt(self, prompt_tokens: int) -> Price:
        """The price that applies to a request whose prompt has ``prompt_tokens`` tokens."""
        threshold = self.long_context_threshold
        if self.long_context is not None and threshold is not None and prompt_tokens > threshold:
            return self.long_context
        return self


def _ceil_div(numerator: int, denominator: int) -> int:
    return -(-numerator // denominator)


def _tokens(name: str, value: Optional[int]) -> int:
    if value is None:
        return 0
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ConfigurationError(f"usage: {name} must be a non-negative integer, not {value!r}")
    return value


def cost_micros(usage: Usage, price: Price) -> int:
    """The cost of ``usage`` at ``price`` in micro-dollars, rounded up.

    ``usage.input_tokens`` counts every prompt token (the canonical meaning), so cache
    reads (``cached_input_tokens``) and cache writes (``cache_creation_input_tokens``)
    are taken out of it and billed at their own rates; the rest is billed as input.
    Reasoning tokens are part of ``output_tokens`` and billed as output.
    """
    prompt = _tokens("input_tokens", usage.input_tokens)
    cached = _tokens("cached_input_tokens", usage.cached_input_tokens)
    written = _tokens("cache_creation_input_tokens", usage.cache_creation_input_tokens)
    output = _tokens("output_tokens", usage.output_tokens)
    # A provider that reports more cache tokens than prompt tokens is trusted on the cache
    # counts (they are the more specific ones); the plain remainder cannot go negative.
    fresh = max(0, prompt - cached - written)
    rates = price.for_prompt(max(prompt, cached + written))
    cached_rate = rates.input if rates.cached_input is None else rates.cached_input
    write_rate = rates.input if rates.cache_write is None else rates.cache_write
    total = fresh * rates.input + cached * cached_rate + written * write_rate + output * rates.output
    return _ceil_div(total, PER_MILLION)


def estimate_request_micros(
    input_tokens: int, max_output_tokens: int, price: Price, *, cache_writes: bool = False
) -> int:
    """The worst-case cost of a request: every prompt token at full price, every allowed output token.

    With ``cache_writes`` (the request marks cache breakpoints) prompt tokens are priced
    at the higher of the input and cache-write rates, since any of them may be written.
    No cache-read discount is assumed: a reservation must not be short.
    """
    prompt = _tokens("input_tokens", input_tokens)
    output = _tokens("max_output_tokens", max_output_tokens)
    rates = price.for_prompt(prompt)
    input_rate = rates.input
    if cache_writes and rates.cache_write is not None:
        input_rate = max(input_rate, rates.cache_write)
    return _ceil_div(prompt * input_rate + output * rates.output, PER_MILLION)


def image_cost_micros(images: int, price: Price) -> int:
    """The cost of ``images`` generated images (0 when the price has no per-image rate)."""
    return _tokens("images", images) * (price.per_image or 0)


def audio_cost_micros(seconds: float, price: Price) -> int:
    """The cost of ``seconds`` of transcribed audio, rounded up (0 without a per-minute rate)."""
    if not (math.isfinite(seconds) and seconds >= 0):
        raise ConfigurationError(f"audio duration must be a non-negative number, not {seconds!r}")
    rate = price.per_audio_minute or 0
    # Milliseconds keep the arithmetic in integers.
    return _ceil_div(math.ceil(seconds * 1000) * rate, 60_000)


def speech_cost_micros(characters: int, price: Price) -> int:
    """The cost of synthesising ``characters`` characters of speech, rounded up."""
    return _ceil_div(_tokens("characters", characters) * (price.per_million_chars or 0), PER_MILLION)


# --------------------------------------------------------------------------- other endpoint families

TRANSCRIPTION_BYTES_PER_SECOND = 750
"""Audio bytes per second assumed when bounding a transcription's length before the call.

6 kbit/s, the lowest bitrate in common use (Opus voice); real uploads (MP3, WAV, M4A) are
denser, so the bound overstates the duration rather than understating it. A gateway's
``max_audio_seconds`` caps it when the caller knows better.
"""
AUDIO_TOKENS_PER_SECOND = 10
"""Audio input tokens per second of speech, for transcription models billed by tokens (a bound)."""
TRANSCRIPT_TOKENS_PER_SECOND = 10
"""Transcript tokens per second of audio: speech runs at about 3 words a second; a bound."""
SPEECH_TOKENS_PER_CHAR = 2
"""Audio output tokens per input character for speech models billed by tokens (a bound)."""
IMAGE_OUTPUT_TOKENS = 6240
"""Output tokens of one image for image models billed by tokens: the largest size at high quality."""


def _family(request: Any) -> str:
    family = getattr(request, "family", None)
    return str(getattr(family, "value", family or ""))


def _token_micros(price: Price, input_tokens: int, output_tokens: int) -> int:
    rates = price.for_prompt(input_tokens)
    return _ceil_div(input_tokens * rates.input + output_tokens * rates.output, PER_MILLION)


def transcription_seconds_bound(audio_bytes: int, max_audio_seconds: Optional[float] = None) -> float:
    """The longest the audio of ``audio_bytes`` bytes can plausibly last (see `TRANSCRIPTION_BYTES_PER_SECOND`)."""
    seconds = audio_bytes / TRANSCRIPTION_BYTES_PER_SECOND
    return seconds if max_audio_seconds is None else min(seconds, max_audio_seconds)


def estimate_api_micros(
    request: Any, price: Price, *, input_tokens: int, max_audio_seconds: Optional[float] = None
) -> Optional[int]:
    """The worst-case cost of an image, speech or transcription request; None for other families.

    Images: ``n`` images at the rate of the requested size and quality (or, for models
    billed by tokens, `IMAGE_OUTPUT_TOKENS` each), plus the prompt. Speech: every input
    character (or `SPEECH_TOKENS_PER_CHAR` output tokens a character). Transcription: the
    duration bound of `transcription_seconds_bound` at the per-minute rate or at
    `AUDIO_TOKENS_PER_SECOND` + `TRANSCRIPT_TOKENS_PER_SECOND` tokens a second, whichever
    is higher.
    """
    family = _family(request)
    if family == "image_generation":
        n = getattr(request, "n", None) or 1
        per_image = price.image_rate(getattr(request, "size", None), getattr(request, "quality", None))
        tokens_out = 0 if price.output == 0 else n * IMAGE_OUTPUT_TOKENS
        return n * per_image + _token_micros(price, input_tokens, tokens_out)
    if family == "audio_speech":
        chars = len(getattr(request, "input", "") or "")
        return speech_cost_micros(chars, price) + _token_micros(price, input_tokens, chars * SPEECH_TOKENS_PER_CHAR)
    if family == "audio_transcription":
        seconds = transcription_seconds_bound(len(getattr(request, "audio", b"") or b""), max_audio_seconds)
        whole = math.ceil(seconds)
        by_tokens = _token_micros(
            price, whole * AUDIO_TOKENS_PER_SECOND + input_tokens, whole * TRANSCRIPT_TOKENS_PER_SECOND
        )
        return max(audio_cost_micros(seconds, price), by_tokens)
    return None


def api_cost_micros(request: Any, response: Any, price: Price, reserved: int) -> Optional[int]:
    """The actual cost of an image, speech or transcription call from its response; None for other families.

    Token usage, when the response reports it, is billed at the token rates. Images add
    the per-image rate for each image returned. A transcription without token usage is
    billed by its reported duration; with neither, and a speech model billed by tokens
    (responses carry no usage), the call is charged ``reserved``: nothing says it cost less.
    """
    family = _family(request)
    if family not in ("image_generation", "audio_speech", "audio_transcription"):
        return None
    usage = getattr(response, "usage", None)
    tokens_in = int(getattr(usage, "input_tokens", None) or 0)
    tokens_out = int(getattr(usage, "output_tokens", None) or 0)
    by_tokens = _token_micros(price, tokens_in, tokens_out) if (tokens_in or tokens_out) else None
    if family == "image_generation":
        images = len(getattr(response, "images", None) or [])
        per_image = price.image_rate(getattr(request, "size", None), getattr(request, "quality", None))
        if by_tokens is None and price.output > 0:
            return reserved
        return images * per_image + (by_tokens or 0)
    if family == "audio_speech":
        by_chars = speech_cost_micros(len(getattr(request, "input", "") or ""), price)
        if by_tokens is not None:
            return by_chars + by_tokens
        return reserved if price.output > 0 else by_chars
    if by_tokens is not None:
        return by_tokens
    duration = getattr(response, "duration", None)
    if duration is None:
        duration = getattr(usage, "seconds", None)
    if isinstance(duration, (int, float)) and math.isfinite(duration) and duration >= 0:
        return audio_cost_micros(float(duration), price)
    return reserved


# --------------------------------------------------------------------------- table

# Dated snapshot suffixes and routing prefixes that do not change a model's price.
_SUFFIXES = (
    re.compile(r"-\d{4}-\d{2}-\d{2}$"),  # gpt-4o-2024-08-06
    re.compile(r"-\d{8}$"),  # claude-opus-4-5-20251101
    re.compile(r"@[\w.-]+$"),  # Vertex: claude-opus-4-5@20251101
    re.compile(r"-v\d+(?::\d+)?$"),  # Bedrock: ...-v1:0
    re.compile(r"-latest$"),
    re.compile(r"-\d{3}$"),  # gemini-2.0-flash-001
)
_PREFIXES = (
    re.compile(r"^(?:models|publishers/[\w-]+/models)/"),  # Gemini / Vertex resource names
    re.compile(r"^(?:openai|anthropic|google|gemini|bedrock|vertex_ai|azure)/"),  # router prefixes
    re.compile(r"^(?:us|eu|apac|global|jp|au|ca|us-gov)\."),  # Bedrock inference profiles
    re.compile(r"^(?:anthropic|amazon|meta|mistral|cohere|openai)\."),  # Bedrock vendor prefixes
)


def model_name_candidates(model: str) -> List[str]:
    """``model`` and the names it may be priced under, most specific first.

    Strips routing and region prefixes (``models/``, ``us.anthropic.``), then snapshot
    suffixes (dates, ``-v1:0``, ``@20251101``, ``-latest``), one at a time.
    """
    out = [model]
    name = model
    for pattern in _PREFIXES:
        stripped = pattern.sub("", name)
        if stripped != name and stripped:
            name = stripped
            out.append(name)
    changed = True
    while changed:
        changed = False
        for pattern in _SUFFIXES:
            stripped = pattern.sub("", name)
            if stripped != name and stripped:
                name = stripped
                out.append(name)
                changed = True
    return out


class PriceTable:
    """An immutable mapping from model name to `Price`, with the date it was compiled.

    `PriceTable.get` also finds a model under its undated or unprefixed name (see
    `model_name_candidates`).
    """

    def __init__(self, prices: Mapping[str, Price], *, as_of: str, source: str = "") -> None:
        for name, price in prices.items():
            if not isinstance(name, str) or not name or not isinstance(price, Price):
                raise ConfigurationError(f"price table: {name!r} must map a model name to a Price")
        self._prices: Mapping[str, Price] = MappingProxyType(dict(prices))
        self.as_of = as_of
        """The date (ISO) the prices were last checked."""
        self.source = source
        """Where the prices come from, in general (each `Price` also has its own ``source``)."""

    def get(self, model: str) -> Optional[Price]:
        """The price of ``model``, or None when it has none."""
        for name in model_name_candidates(model):
            found = self._prices.get(name)
            if found is not None:
                return found
        return None

    def with_prices(self, prices: Mapping[str, Price], *, as_of: Optional[str] = None) -> PriceTable:
        """A new table with ``prices`` added or replacing rows; this table is unchanged."""
        merged = dict(self._prices)
        merged.update(prices)
        return PriceTable(merged, as_of=self.as_of if as_of is None else as_of, source=self.source)

    def __contains__(self, model: object) -> bool:
        return isinstance(model, str) and self.get(model) is not None

    def __iter__(self) -> Iterator[str]:
        return iter(self._prices)

    def __len__(self) -> int:
        return len(self._prices)

    def __repr__(self) -> str:
        return f"PriceTable({len(self._prices)} models, as_of={self.as_of!r})"


_ANTHROPIC = "platform.claude.com model and pricing pages, read 2026-12-01"
_ANTHROPIC_NEWS = "Anthropic list price as reported by third parties (2026-10/11); not read on claude.com"
_OPENAI = "OpenAI list price as reported by LiteLLM and pricing-tool release notes (2026-09/11); unverified"
_OPENAI_OLD = "OpenAI pricing page as remembered and quoted by third parties (2025-2026); unverified"
_GEMINI = "ai.google.dev pricing as quoted by third parties (2026-03/07); unverified"
_GEMINI_OLD = "ai.google.dev pricing (2025) as remembered; unverified"
_BEDROCK = "AWS Bedrock on-demand price as remembered (2025); unverified"


def _claude(
    input: str,
    output: str,
    read: str,
    write: str,
    *,
    source: str = _ANTHROPIC,
    long: Optional[Price] = None,
    threshold: Optional[int] = None,
) -> Price:
    return Price.usd(
        input,
        output,
        cached_input=read,
        cache_write=write,
        source=source,
        long_context=long,
        long_context_threshold=threshold,
    )


def _gpt(
    input: str,
    output: str,
    cached: Optional[str] = None,
    *,
    write: Optional[str] = None,
    source: str = _OPENAI,
    long: Optional[Price] = None,
) -> Price:
    return Price.usd(
        input,
        output,
        cached_input=cached,
        cache_write=write,
        source=source,
        long_context=long,
        long_context_threshold=None if long is None else 272_000,
    )


def _gemini(
    input: str,
    output: str,
    cached: str,
    *,
    source: str = _GEMINI,
    long: Optional[Price] = None,
    threshold: int = 200_000,
) -> Price:
    return Price.usd(
        input,
        output,
        cached_input=cached,
        source=source,
        long_context=long,
        long_context_threshold=None if long is None else threshold,
    )


_FABLE_5_1 = _claude("10", "50", "0.25", "12.50")
_OPUS_4_5_TO_5 = _claude("5", "25", "0.50", "6.25")
_OPUS_4 = _claude("15", "75", "1.50", "18.75")
_SONNET_4 = _claude("3", "15", "0.30", "3.75", long=_claude("6", "22.50", "0.60", "7.50"), threshold=200_000)

_PRICES: Dict[str, Price] = {
    # Anthropic (also Claude on Bedrock and Vertex: ids normalise to these names)
    "claude-fable-5-2": _claude("8", "40", "0.20", "10", source=_ANTHROPIC_NEWS),
    "claude-mythos-5-2": _claude("8", "40", "0.20", "10", source=_ANTHROPIC_NEWS),
    "claude-fable-5-1": _FABLE_5_1,
    "claude-mythos-5-1": _FABLE_5_1,
    "claude-fable-5": _claude("10", "50", "1", "12.50"),
    "claude-mythos-5": _claude("10", "50", "1", "12.50"),
    "claude-opus-5-5": _claude("4", "20", "0.20", "5"),
    "claude-opus-5": _OPUS_4_5_TO_5,
    "claude-opus-4-8": _OPUS_4_5_TO_5,
    "claude-opus-4-7": _OPUS_4_5_TO_5,
    "claude-opus-4-6": _OPUS_4_5_TO_5,
    "claude-opus-4-5": _OPUS_4_5_TO_5,
    "claude-opus-4-1": _OPUS_4,
    "claude-opus-4": _OPUS_4,
    "claude-sonnet-5-5": _claude("2", "10", "0.10", "2.50", source=_ANTHROPIC_NEWS),
    "claude-sonnet-5": _claude("2", "10", "0.20", "2.50"),
    "claude-sonnet-4-6": _claude("3", "15", "0.30", "3.75"),
    "claude-sonnet-4-5": _SONNET_4,
    "claude-sonnet-4": _SONNET_4,
    "claude-haiku-5-5": _claude(
        "0.10", "0.50", "0.01", "0.125", long=_claude("0.50", "2.50", "0.05", "0.625"), threshold=100_000
    ),
    "claude-haiku-4-5": _claude("1", "5", "0.10", "1.25"),
    # OpenAI
    "gpt-6.2-astra": _gpt("8", "40", "0.40", source=_OPENAI),
    "gpt-6-astra": _gpt("10", "50", "1", write="12.50", long=_gpt("20", "75", "2", write="25")),
    "gpt-6.2-sol": _gpt("2", "10", "0.10"),
    "gpt-6.1-sol": _gpt("2", "10", "0.10"),
    "gpt-6-sol": _gpt("2", "10", "0.20", write="2.50", long=_gpt("4", "15", "0.40", write="5")),
    "gpt-6-luna": _gpt("0.10", "0.50", "0.01", write="0.125", long=_gpt("0.20", "0.75", "0.02", write="0.25")),
    "gpt-5.6-sol": _gpt("4", "20", "0.40"),
    "gpt-5.6-terra": _gpt("2", "12", "0.20"),
    "gpt-5.6-luna": _gpt("0.20", "1.20", "0.02"),
    "gpt-5.5": _gpt("5", "30", "0.50", source=_OPENAI_OLD),
    "gpt-5.5-pro": _gpt("30", "180", source=_OPENAI_OLD),
    "gpt-5.4": _gpt("2.50", "15", "0.25", source=_OPENAI_OLD),
    "gpt-5.4-mini": _gpt("0.75", "4.50", "0.075", source=_OPENAI_OLD),
    "gpt-5.4-nano": _gpt("0.20", "1.25", "0.02", source=_OPENAI_OLD),
    "gpt-5.4-pro": _gpt("30", "180", source=_OPENAI_OLD),
    "gpt-5.2": _gpt("1.75", "14", "0.175", source=_OPENAI_OLD),
    "gpt-5.2-pro": _gpt("21", "168", source=_OPENAI_OLD),
    "gpt-5.1": _gpt("1.25", "10", "0.125", source=_OPENAI_OLD),
    "gpt-5": _gpt("1.25", "10", "0.125", source=_OPENAI_OLD),
    "gpt-5-mini": _gpt("0.25", "2", "0.025", source=_OPENAI_OLD),
    "gpt-5-nano": _gpt("0.05", "0.40", "0.005", source=_OPENAI_OLD),
    "gpt-4.1": _gpt("2", "8", "0.50", source=_OPENAI_OLD),
    "gpt-4.1-mini": _gpt("0.40", "1.60", "0.10", source=_OPENAI_OLD),
    "gpt-4.1-nano": _gpt("0.10", "0.40", "0.025", source=_OPENAI_OLD),
    "gpt-4o": _gpt("2.50", "10", "1.25", source=_OPENAI_OLD),
    "gpt-4o-mini": _gpt("0.15", "0.60", "0.075", source=_OPENAI_OLD),
    "o3": _gpt("2", "8", "0.50", source=_OPENAI_OLD),
    "o4-mini": _gpt("1.10", "4.40", "0.275", source=_OPENAI_OLD),
    "text-embedding-3-small": _gpt("0.02", "0", source=_OPENAI_OLD),
    "text-embedding-3-large": _gpt("0.13", "0", source=_OPENAI_OLD),
    "gpt-image-1": _gpt("5", "40", "1.25", source=_OPENAI_OLD),
    "dall-e-3": Price.usd(
        "0",
        "0",
        per_image="0.04",
        image_variants={
            "1024x1792/hd": "0.12",
            "1792x1024/hd": "0.12",
            "hd": "0.08",
            "1024x1792": "0.08",
            "1792x1024": "0.08",
        },
        source=_OPENAI_OLD + " (standard 1024x1024; HD and tall/wide sizes cost more)",
    ),
    "whisper-1": Price.usd("0", "0", per_audio_minute="0.006", source=_OPENAI_OLD),
    "gpt-4o-transcribe": Price.usd("2.50", "10", per_audio_minute="0.006", source=_OPENAI_OLD),
    "gpt-4o-mini-transcribe": Price.usd("1.25", "5", per_audio_minute="0.003", source=_OPENAI_OLD),
    "tts-1": Price.usd("0", "0", per_million_chars="15", source=_OPENAI_OLD),
    "tts-1-hd": Price.usd("0", "0", per_million_chars="30", source=_OPENAI_OLD),
    "gpt-4o-mini-tts": Price.usd("0.60", "12", source=_OPENAI_OLD + " (output = audio tokens)"),
    # Google Gemini (Gemini API; Vertex list prices match for these models)
    "gemini-3.1-pro-preview": _gemini("2", "12", "0.20", long=_gemini("4", "18", "0.40")),
    "gemini-3-flash-preview": _gemini("0.50", "3", "0.05"),
    "gemini-2.5-pro": _gemini("1.25", "10", "0.125", source=_GEMINI_OLD, long=_gemini("2.50", "15", "0.25")),
    "gemini-2.5-flash": _gemini("0.30", "2.50", "0.03", source=_GEMINI_OLD),
    "gemini-2.5-flash-lite": _gemini("0.10", "0.40", "0.01", source=_GEMINI_OLD),
    "gemini-embedding-001": _gemini("0.15", "0", "0.15", source=_GEMINI_OLD),
    # Amazon Nova on Bedrock (Claude on Bedrock: see the Anthropic rows)
    "nova-premier": Price.usd("2.50", "12.50", cached_input="0.625", source=_BEDROCK),
    "nova-pro": Price.usd("0.80", "3.20", cached_input="0.20", source=_BEDROCK),
    "nova-lite": Price.usd("0.06", "0.24", cached_input="0.015", source=_BEDROCK),
    "nova-micro": Price.usd("0.035", "0.14", cached_input="0.00875", source=_BEDROCK),
    "nova-2-lite": Price.usd("0.30", "2.50", cached_input="0.075", source=_BEDROCK),
}

PRICES_AS_OF = "2026-12-01"
"""The date the embedded prices were last checked."""

EMBEDDED_PRICES = PriceTable(
    _PRICES,
    as_of=PRICES_AS_OF,
    source="list prices (standard tier, no batch discount) of OpenAI, Anthropic, Google and AWS; see each row",
)
"""The built-in price table. Regional, batch, priority and fast-mode rates are not in it."""


# --------------------------------------------------------------------------- per-gateway pricing

MISSING_PRICE_POLICIES = ("refuse", "zero")
"""What `Pricing` does for a model with no price: refuse the call, or warn and count it free."""


class MissingPriceWarning(UserWarning):
    """A model has no price, so calls to it are counted as free against budgets."""


_MEMO_LIMIT = 4096


class Pricing:
    """A gateway's prices: a `PriceTable`, its overrides, and a policy for unpriced models.

    ``missing="refuse"`` makes `Pricing.require` raise `omnillm.errors.ConfigurationError`
    for a model without a price (a budget cannot be enforced on it);
    ``missing="zero"`` warns once per model (`MissingPriceWarning`) and prices it at 0.
    """

    def __init__(
        self,
        table: PriceTable = EMBEDDED_PRICES,
        *,
        overrides: Optional[Mapping[str, Price]] = None,
        missing: str = "refuse",
    ) -> None:
        if missing not in MISSING_PRICE_POLICIES:
            raise ConfigurationError(f"pricing: missing must be 'refuse' or 'zero', not {missing!r}")
        self.missing = missing
        self._lock = threading.Lock()
        self._warned: set[str] = set()
        # Each model's lookup (which tries several name forms) is remembered so the hot
        # path is one dict hit. The table and its memo are swapped together, as one
        # tuple, by `set_prices`: a lookup never stores an old table's price in a new memo.
        first = table if not overrides else table.with_prices(overrides)
        self._current: Tuple[PriceTable, Dict[str, Optional[Price]]] = (first, {})

    @property
    def table(self) -> PriceTable:
        """The `PriceTable` in force."""
        return self._current[0]

    def set_prices(self, prices: Mapping[str, Price], *, as_of: Optional[str] = None) -> None:
        """Add or replace prices on a live gateway (thread-safe; calls already reserved keep their estimate)."""
        for model, price in prices.items():
            if not isinstance(model, str) or not isinstance(price, Price):
                raise ConfigurationError(f"pricing: set_prices takes model names mapped to Price values, not {model!r}")
        with self._lock:
            self._current = (self._current[0].with_prices(prices, as_of=as_of), {})

    def price(self, model: str) -> Optional[Price]:
        """The price of ``model``, or None."""
        table, memo = self._current
        try:
            return memo[model]
        except KeyError:
            if len(memo) >= _MEMO_LIMIT:  # callers may name any model: stay bounded
                memo.clear()
            found = memo[model] = table.get(model)
            return found

    def require(self, model: str) -> Optional[Price]:
        """The price of ``model``; without one, raise (``refuse``) or warn once and return None (``zero``)."""
        found = self.price(model)
        if found is not None:
            return found
        if self.missing == "refuse":
            raise ConfigurationError(
                f"no price for model {model!r}, so a budget cannot be enforced on it: add it to the price table "
                "or choose missing='zero'"
            )
        with self._lock:
            first = model not in self._warned
            self._warned.add(model)
        if first:
            warnings.warn(f"no price for model {model!r}: its calls count as free", MissingPriceWarning, stacklevel=2)
        return None

    def estimate_micros(
        self, model: str, input_tokens: int, max_output_tokens: int, *, cache_writes: bool = False
    ) -> int:
        """The worst-case cost of a request to ``model`` (see `estimate_request_micros`)."""
        price = self.require(model)
        if price is None:
            return 0
        return estimate_request_micros(input_tokens, max_output_tokens, price, cache_writes=cache_writes)

    def cost_micros(self, model: str, usage: Usage) -> int:
        """The actual cost of ``usage`` on ``model`` (see `cost_micros`)."""
        price = self.require(model)
        return 0 if price is None else cost_micros(usage, price)


# --------------------------------------------------------------------------- token estimate

CHARS_PER_TOKEN = 4
"""The estimator's characters per token: about right for English text and JSON."""
MESSAGE_OVERHEAD_TOKENS = 4
"""Tokens each message adds for its role and separators."""
REQUEST_OVERHEAD_TOKENS = 3
"""Tokens every request adds (the reply's priming)."""
IMAGE_TOKENS = 1600
"""Tokens counted per image: the high end of what providers charge for a typical image."""
FILE_TOKENS = 3000
"""Tokens counted per document given as bytes or by reference (a few pages)."""
AUDIO_BYTES_PER_TOKEN = 500
"""Bytes of encoded audio per token (about 32 tokens per second of 128 kbit/s audio)."""


def _part_size(part: Part) -> tuple[int, int]:
    """(characters, fixed tokens) of one content part."""
    if isinstance(part, TextPart):
        return len(part.text), 0
    if isinstance(part, ImagePart):
        return 0, IMAGE_TOKENS
    if isinstance(part, AudioPart):
        return 0, (len(part.data) * 3 // 4) // AUDIO_BYTES_PER_TOKEN + 1
    if isinstance(part, FilePart):
        return (len(part.text), 0) if part.text is not None else (0, FILE_TOKENS)
    if isinstance(part, ToolCallPart):
        return len(part.name) + len(part.arguments), 0
    if isinstance(part, ToolResultPart):
        chars, fixed = len(part.name or ""), 0
        for inner in part.content:
            c, f = _part_size(inner)
            chars, fixed = chars + c, fixed + f
        return chars, fixed
    if isinstance(part, ReasoningPart):
        return len(part.text or "") + sum(len(s) for s in part.summary), 0
    if isinstance(part, RefusalPart):
        return len(part.text), 0
    # What remains is an OpaquePart: its wire data is replayed as it is.
    return len(json.dumps(part.data, default=str)), 0


def estimate_tokens(request: LlmRequest) -> int:
    """A cheap, pure estimate of ``request``'s prompt tokens: characters / 4 plus fixed overheads.

    Counts the instructions, every message part (images, audio and files by fixed
    allowances), tool definitions and the output schema. It is not a tokenizer: expect
    it within a few tens of percent for prose, and use it for reservations and limits,
    where the settlement corrects it.
    """
    chars = len(request.instructions or "")
    fixed = REQUEST_OVERHEAD_TOKENS
    for message in request.messages:
        fixed += MESSAGE_OVERHEAD_TOKENS
        chars += len(message.name or "")
        for part in message.content:
            c, f = _part_size(part)
            chars, fixed = chars + c, fixed + f
    for tool in request.tools:
        if isinstance(tool, FunctionTool):
            chars += len(tool.name) + len(tool.description or "") + len(json.dumps(tool.parameters or {}))
        else:
            chars += len(tool.type) + len(json.dumps(tool.options, default=str))
    if request.output_format is not None and request.output_format.schema is not None:
        chars += len(json.dumps(request.output_format.schema, default=str))
    return fixed + _ceil_div(chars, CHARS_PER_TOKEN)


def request_has_cache_breakpoints(request: LlmRequest) -> bool:
    """True when any part or tool of ``request`` carries a prompt-cache breakpoint."""
    for message in request.messages:
        for part in message.content:
            if getattr(part, "cache_control", None) is not None:
                return True
    return any(getattr(tool, "cache_control", None) is not None for tool in request.tools)


__all__ = [
    "PER_MILLION",
    "usd_to_micros",
    "Price",
    "PriceTable",
    "model_name_candidates",
    "EMBEDDED_PRICES",
    "PRICES_AS_OF",
    "cost_micros",
    "estimate_request_micros",
    "image_cost_micros",
    "audio_cost_micros",
    "speech_cost_micros",
    "estimate_api_micros",
    "api_cost_micros",
    "transcription_seconds_bound",
    "TRANSCRIPTION_BYTES_PER_SECOND",
    "AUDIO_TOKENS_PER_SECOND",
    "TRANSCRIPT_TOKENS_PER_SECOND",
    "SPEECH_TOKENS_PER_CHAR",
    "IMAGE_OUTPUT_TOKENS",
    "Pricing",
    "MissingPriceWarning",
    "MISSING_PRICE_POLICIES",
    "estimate_tokens",
    "request_has_cache_breakpoints",
    "CHARS_PER_TOKEN",
    "MESSAGE_OVERHEAD_TOKENS",
    "REQUEST_OVERHEAD_TOKENS",
    "IMAGE_TOKENS",
    "FILE_TOKENS",
    "AUDIO_BYTES_PER_TOKEN",
]
