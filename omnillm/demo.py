"""The walk-through behind ``python -m omnillm demo`` (offline) and ``python -m omnillm live``.

The offline demo starts the embedded `MockProvider` on 127.0.0.1 and shows, in order: a
call, a stream printed token by token, a cross-protocol transcode with its loss report,
failover when one key starts failing (its breaker opens and traffic moves), a budget
refusal before any network I/O, and the pool status as a table. No network, no keys,
a few seconds.

The live walk does the same calls against the providers configured in ``.env`` (or the
environment), skipping every provider without credentials.
"""

from __future__ import annotations

import json
import os
import sys
import time
from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional, TextIO, Tuple

from . import __version__
from .errors import BudgetExceededError, OmniLLMError
from .model import LlmRequest, Message
from .stream import TextDelta, ToolCallArgumentsDelta, ToolCallStarted
from .transcode import transcode_request_report

_REQUEST_JSON = {
    "model": "gpt-4o",
    "messages": [
        {"role": "system", "content": "You are a concise travel assistant."},
        {"role": "user", "content": "What's the weather in Paris? Answer in Celsius."},
    ],
    "tools": [
        {
            "type": "function",
            "function": {
                "name": "get_weather",
                "description": "Current weather for a city",
                "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
                "strict": True,
            },
        },
        {"type": "custom", "name": "sql_grammar", "description": "free-form SQL"},
    ],
    "max_completion_tokens": 300,
    "temperature": 0.4,
    "seed": 42,
}

_ANSWERS = {
    "paris": "Paris is mild today: 18 °C, light wind from the west, and a dry evening ahead.",
    "haiku": "Packets hop and rest / a mock server answers back / no network needed.",
}


class _Style:
    """ANSI styling when writing to a terminal, plain text otherwise."""

    def __init__(self, out: TextIO) -> None:
        self.on = bool(getattr(out, "isatty", lambda: False)()) and os.environ.get("NO_COLOR") is None

    def _wrap(self, code: str, text: str) -> str:
        return f"\033[{code}m{text}\033[0m" if self.on else text

    def title(self, text: str) -> str:
        return self._wrap("1;36", text)

    def good(self, text: str) -> str:
        return self._wrap("32", text)

    def bad(self, text: str) -> str:
        return self._wrap("31", text)

    def dim(self, text: str) -> str:
        return self._wrap("2", text)


class _Walk:
    def __init__(self, out: TextIO) -> None:
        self.out = out
        self.style = _Style(out)
        self.step = 0

    def section(self, text: str) -> None:
        self.step += 1
        self.out.write(f"\n{self.style.title(f'{self.step}. {text}')}\n")

    def line(self, text: str = "") -> None:
        self.out.write(f"   {text}\n")

    def flush(self) -> None:
        self.out.flush()


def _mock_answer(request: Any, decoded: Optional[LlmRequest]) -> Any:
    from .testing import MockReply

    question = ""
    if decoded is not None:
        for message in reversed(decoded.messages):
            if message.role == "user" and message.text:
                question = message.text.lower()
                break
    for word, answer in _ANSWERS.items():
        if word in question:
            return MockReply(text=answer)
    return MockReply(text=f"You asked: {question or 'nothing'}. The mock provider says hello.")


def run_demo(out: TextIO = sys.stdout) -> int:
    """The offline walk-through; returns the process exit code."""
    from .client import Client
    from .gateway import BreakerConfig, Gateway, KeyConfig, PoolConfig, Price, RetryPolicy, Target
    from .testing import Fault, MockProvider

    walk = _Walk(out)
    s = walk.style
    started = time.monotonic()
    out.write(s.title(f"omnillm {__version__}: the offline demo") + s.dim("  (no network, no keys)") + "\n")
    with MockProvider(_mock_answer, chunk_chars=6) as mock:
        walk.line(s.dim(f"a mock provider speaking every protocol listens on {mock.base_url}"))

        walk.section("A call (Anthropic Messages on the wire)")
        client = Client("anthropic", api_key="demo-key", base_url=mock.base_url + "/v1", environ={})
        question = LlmRequest(
            model="claude-sonnet-4-5",
            messages=[Message.user("What's the weather in Paris?")],
            max_output_tokens=200,
        )
        answer = client.call(question)
        walk.line(f"> {question.messages[0].text}")
        walk.line(s.good(answer.text))
        usage = answer.usage
        if usage is not None:
            walk.line(s.dim(f"stop: {answer.stop_reason}, tokens in/out: {usage.input_tokens}/{usage.output_tokens}"))

        walk.section("A stream, token by token (Gemini streamGenerateContent)")
        gemini = Client("gemini", api_key="demo-key", base_url=mock.base_url + "/v1beta", environ={})
        poem = LlmRequest(model="gemini-2.5-flash", messages=[Message.user("Write a haiku about networks.")])
        out.write("   ")
        with gemini.stream(poem) as stream:
            for event in stream:
                if isinstance(event, TextDelta):
                    out.write(s.good(event.text))
                    walk.flush()
                    time.sleep(0.03)
                elif isinstance(event, ToolCallStarted):
                    out.write(f"[tool {event.name}(")
                elif isinstance(event, ToolCallArgumentsDelta):
                    out.write(event.delta)
        out.write("\n")
        walk.line(s.dim(f"completed: {stream.completed}, stop: {stream.response().stop_reason}"))

        _transcode_section(walk)

        walk.section("Failover: one key starts failing, its breaker opens, traffic moves")
        keys = [
            KeyConfig(
                "openai",
                "demo-key-a",
                label="openai-a",
                base_url=mock.base_url + "/v1",
                wire_format="open_ai_chat_completions",
                models=["gpt-4o"],
            ),
            KeyConfig(
                "anthropic",
                "demo-key-b",
                label="anthropic-b",
                base_url=mock.base_url + "/v1",
                models=["claude-sonnet-4-5"],
            ),
        ]
        config = PoolConfig(
            strategy="lowest_cost",  # prefer the cheaper target while it is healthy
            retry=RetryPolicy(max_attempts=3, base_delay_s=0.0),
            breaker=BreakerConfig(failure_threshold=2, cooldown_s=60),
            max_ejection_fraction=0.5,
        )
        prices = {"gpt-4o": Price.usd("2.5", "10"), "claude-sonnet-4-5": Price.usd("3", "15")}
        routes = {"assistant": [Target("openai", "gpt-4o"), Target("anthropic", "claude-sonnet-4-5")]}
        attempts: List[str] = []
        hooks: Dict[str, List[Any]] = {
            "failure": [lambda i: attempts.append(s.bad(f"{i.key} x {type(i.error).__name__}"))],
            "success": [lambda i: attempts.append(s.good(f"{i.key} ok"))],
        }
        gateway = Gateway(keys, routes=routes, pool_config=config, prices=prices, budget_limit_usd=0.05, hooks=hooks)
        with gateway:
            walk.line(s.dim("route 'assistant': openai/gpt-4o (cheaper, preferred) or anthropic/claude-sonnet-4-5"))
            for n in range(5):
                if n == 1:
                    mock.add_fault(Fault(status=503, key="demo-key-a", message="the OpenAI key is overloaded"))
                    walk.line(s.bad("from now on the OpenAI key answers 503"))
                attempts.clear()
                ask = LlmRequest(model="assistant", messages=[Message.user(f"Question {n + 1}")], max_output_tokens=100)
                gateway.call(ask)
                walk.line(f"call {n + 1}: {' -> '.join(attempts)}")
            breaker = gateway.pool_status().keys[0]
            walk.line(s.dim(f"openai-a: circuit {breaker.circuit}, errors {breaker.errors}"))

            walk.section("A budget refusal, before any network I/O")
            sent_before = len(mock.requests)
            try:
                gateway.call(
                    LlmRequest(model="assistant", messages=[Message.user("Write a novel.")], max_output_tokens=200_000)
                )
            except BudgetExceededError as exc:
                walk.line(s.bad(f"BudgetExceededError: {exc}"))
            walk.line(s.dim(f"requests sent for it: {len(mock.requests) - sent_before}"))

            walk.section("Pool status")
            for row in gateway.pool_status().table().splitlines():
                walk.line(row)
    out.write(
        s.dim(f"\ndone in {time.monotonic() - started:.1f}s. Next: README.rst, docs/, python -m omnillm --help\n")
    )
    return 0


# --------------------------------------------------------------------------- live


_LIVE_MODELS: List[Tuple[str, str]] = [
    ("openai", "gpt-4o-mini"),
    ("anthropic", "claude-haiku-4-5"),
    ("gemini", "gemini-2.5-flash"),
    ("groq", "llama-3.1-8b-instant"),
    ("mistral", "mistral-small-latest"),
    ("deepseek", "deepseek-chat"),
]


def run_live(out: TextIO = sys.stdout, *, env_file: str = ".env", environ: Optional[Dict[str, str]] = None) -> int:
    """The demo's walk against the real providers configured in ``env_file``; skips the rest.

    Per configured provider: a call and a stream. Then, with no network: the transcode
    with its loss report. With at least one provider: a gateway over every configured
    provider plus one deliberately unreachable key (``http://127.0.0.1:9``), so the
    failover and breaker steps are real without breaking a real key; with two or more
    providers the route spans them all. Then a budget refusal (before any network I/O)
    and the pool status. ``OMNILLM_LIVE_<PROVIDER>_MODEL`` picks a model and
    ``OMNILLM_LIVE_<PROVIDER>_BASE_URL`` a base URL (a proxy, or the mock server in tests).
    Returns 0: a provider without credentials is skipped, and a provider error is printed
    as part of the walk, not turned into an exit code.
    """
    from .client import Client
    from .providers import credentials_from_env, embedded_provider_registry, load_dotenv

    walk = _Walk(out)
    s = walk.style
    env: Dict[str, str] = dict(os.environ) if environ is None else dict(environ)
    load_dotenv(env_file, environ=env)
    registry = embedded_provider_registry()
    out.write(s.title(f"omnillm {__version__}: the live walk") + s.dim(f"  (credentials from {env_file})") + "\n")
    configured: List[_LiveProvider] = []
    with_credentials = 0
    for provider, default_model in _LIVE_MODELS:
        spec = registry.get(provider)
        credential = credentials_from_env(spec, env)
        if credential is None:
            walk.line(s.dim(f"skipping {spec.display_name}: no credentials ({', '.join(spec.api_key_env)})"))
            continue
        with_credentials += 1
        upper = provider.upper()
        model = env.get(f"OMNILLM_LIVE_{upper}_MODEL", default_model)
        base_url = env.get(f"OMNILLM_LIVE_{upper}_BASE_URL") or None
        walk.section(f"{spec.display_name} ({model}): a call and a stream")
        client = Client(provider, credentials=credential, base_url=base_url, environ=env)
        request = LlmRequest(model=model, messages=[Message.user("Say hello in five words.")], max_output_tokens=40)
        try:
            walk.line(s.good(client.call(request).text.strip()))
            out.write("   ")
            with client.stream(request) as stream:
                for event in stream:
                    if isinstance(event, TextDelta):
                        out.write(event.text)
                        walk.flush()
            out.write("\n")
            configured.append(_LiveProvider(provider, spec.display_name, model, credential, base_url))
        except OmniLLMError as exc:
            walk.line(s.bad(f"{type(exc).__name__}: {exc}"))
        finally:
            client.close()
    _transcode_section(walk)
    if not configured:
        walk.line("")
        if with_credentials:
            walk.line(s.bad("no configured provider answered: the gateway steps are skipped"))
        else:
            walk.line("no provider had credentials: copy .env.example to .env and fill in the keys you have")
        return 0
    _live_gateway_sections(walk, configured)
    return 0


@dataclass(frozen=True)
class _LiveProvider:
    provider: str
    display_name: str
    model: str
    credential: Any = field(repr=False)
    base_url: Optional[str] = None


def _transcode_section(walk: _Walk) -> None:
    s = walk.style
    walk.section("Transcoding: OpenAI Chat Completions -> Anthropic Messages, honestly")
    report = transcode_request_report(_REQUEST_JSON, "open_ai_chat_completions", "anthropic_messages")
    body = json.loads(report.value)
    walk.line(f"system: {body.get('system')!r}")
    walk.line(f"tools: {[t['name'] for t in body.get('tools', [])]}, max_tokens: {body.get('max_tokens')}")
    walk.line(f"bridged: {report.bridged}, lossy: {report.lossy}")
    for reason in report.loss_reasons:
        walk.line(s.bad(f"- {reason}"))


#: For models the embedded price table lacks: an illustrative rate, so the budget step can run.
_FALLBACK_PRICE = ("1", "4")


def _live_gateway_sections(walk: _Walk, configured: List[_LiveProvider]) -> None:
    from .gateway import BreakerConfig, Gateway, KeyConfig, PoolConfig, Price, RetryPolicy, Target
    from .gateway.pricing import EMBEDDED_PRICES

    s = walk.style
    first = configured[0]
    keys = [
        # The same credential as the first provider's, sent to a closed local port: a key
        # "starts failing" without touching any real key.
        KeyConfig(
            first.provider, first.credential, label=f"{first.provider}-unreachable", base_url="http://127.0.0.1:9"
        )
    ]
    keys += [KeyConfig(p.provider, p.credential, label=p.provider, base_url=p.base_url) for p in configured]
    prices = {p.model: Price.usd(*_FALLBACK_PRICE) for p in configured if EMBEDDED_PRICES.get(p.model) is None}
    config = PoolConfig(
        retry=RetryPolicy(max_attempts=len(keys) + 1, base_delay_s=0.0),
        breaker=BreakerConfig(failure_threshold=1, cooldown_s=300),
        max_ejection_fraction=0.5,
    )
    routes = {"live": [Target(p.provider, p.model) for p in configured]}
    attempts: List[str] = []
    sent: List[int] = []
    hooks: Dict[str, List[Any]] = {
        "request_start": [lambda i: sent.append(i.call_id)],
        "failure": [lambda i: attempts.append(s.bad(f"{i.key} x {type(i.error).__name__}"))],
        "success": [lambda i: attempts.append(s.good(f"{i.key} ok"))],
    }
    gateway = Gateway(keys, routes=routes, pool_config=config, prices=prices, budget_limit_usd=0.05, hooks=hooks)
    with gateway:
        names = " or ".join(f"{p.provider}/{p.model}" for p in configured)
        if len(configured) >= 2:
            walk.section("Failover across providers: one key fails, its breaker opens, traffic moves")
        else:
            walk.section("Failover between keys (configure a second provider to fail over across providers)")
        walk.line(s.dim(f"route 'live': {names}; key {keys[0].label} points at a closed port"))
        for n in range(len(keys)):
            attempts.clear()
            ask = LlmRequest(model="live", messages=[Message.user(f"Say the number {n + 1}.")], max_output_tokens=20)
            try:
                gateway.call(ask)
            except OmniLLMError as exc:
                attempts.append(s.bad(f"gave up: {type(exc).__name__}"))
            walk.line(f"call {n + 1}: {' -> '.join(attempts)}")
        broken = gateway.pool_status().keys[0]
        walk.line(s.dim(f"{broken.label}: circuit {broken.circuit}, errors {broken.errors}"))

        walk.section("A budget refusal, before any network I/O")
        sent_before = len(sent)
        try:
            gateway.call(LlmRequest(model="live", messages=[Message.user("Write a novel.")], max_output_tokens=200_000))
            walk.line(s.bad("the call was not refused"))
        except BudgetExceededError as exc:
            walk.line(s.bad(f"BudgetExceededError: {exc}"))
        walk.line(s.dim(f"requests sent for it: {len(sent) - sent_before}"))

        walk.section("Pool status")
        for row in gateway.pool_status().table().splitlines():
            walk.line(row)
