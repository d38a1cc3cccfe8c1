"""Every stream of every source protocol, transcoded to every other protocol, judged by its SDK.

For each generation format with a ``streams_<format>.py`` corpus and each complete stream
in it, `transcode_stream` converts the stream into every other format, the official SDK of
the *target* consumes the result with streaming on (served over 127.0.0.1), and its
accumulated final message must carry what the source carried: text, tool calls with
complete arguments (parsed JSON equal), the stop-reason category, usage when the source had
it, and reasoning text. A format joins by adding its corpus (a module whose ``STREAMS`` maps
names to wire bodies, str for SSE or bytes for other framings, optionally with an
``event_chunks(body)`` splitter) and an SDK consumer below; formats without either are
skipped.

The file also proves the driver properties every protocol shares: transcoding is
incremental (everything an input chunk can produce is yielded before the next chunk is
read), memory stays bounded by the largest event rather than the stream, re-chunking the
same bytes never changes the events, and errors or truncation surface as an
`OmniLLMError` after every delta that arrived, carrying the partial response.
"""

from __future__ import annotations

import importlib
import json
import re
import tracemalloc
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any, Callable, Dict, Iterator, List, Optional, Tuple, Union

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sdk_server import CannedServer

from omnillm.errors import ProviderStreamError, StreamError, TruncatedStreamError
from omnillm.model import LlmResponse
from omnillm.protocols import stream_codec
from omnillm.report import LossLog
from omnillm.sse import SSEParser
from omnillm.stream import StreamAccumulator, StreamEvent
from omnillm.streaming import decode_stream, transcode_stream
from omnillm.wire import GENERATION_FORMATS

FORMATS = [f.value for f in GENERATION_FORMATS]
Body = Union[str, bytes]
FIXTURES = Path(__file__).resolve().parents[2] / "shared" / "fixtures" / "real"


def _corpus(fmt: str) -> Optional[ModuleType]:
    try:
        stream_codec(fmt)
        return importlib.import_module(f"streams_{fmt}")
    except ImportError:
        return None


CORPORA: Dict[str, ModuleType] = {fmt: module for fmt in FORMATS if (module := _corpus(fmt)) is not None}


def _outcome(fmt: str, body: Body) -> Tuple[LlmResponse, Optional[StreamError]]:
    acc = StreamAccumulator()
    try:
        for _ in decode_stream([body], fmt, accumulator=acc):
            pass
    except StreamError as exc:
        return acc.response(), exc
    return acc.response(), None


def _split(fmt: str, body: Body) -> List[Body]:
    """One chunk per wire event, so that each read delivers exactly one event."""
    splitter = getattr(CORPORA[fmt], "event_chunks", None)
    if splitter is not None:
        chunks: List[Body] = splitter(body)
        return chunks
    assert isinstance(body, str), f"{fmt}: a non-SSE corpus needs event_chunks()"
    return [m for m in re.findall(r".*?(?:\r\n\r\n|\n\n|\r\r|$)", body, re.S) if m]


def _join(pieces: List[Body]) -> Body:
    if pieces and isinstance(pieces[0], bytes):
        return b"".join(p for p in pieces if isinstance(p, bytes))
    return "".join(p for p in pieces if isinstance(p, str))


COMPLETE = [
    (source, name)
    for source, module in CORPORA.items()
    for name, body in module.STREAMS.items()
    if _outcome(source, body)[1] is None
]
FAILING = [
    (source, name)
    for source, module in CORPORA.items()
    for name, body in module.STREAMS.items()
    if _outcome(source, body)[1] is not None
]


# --------------------------------------------------------------------------- what an SDK accumulated


@dataclass
class Final:
    """A final message, reduced to what every protocol can express."""

    text: str
    calls: List[Tuple[str, Any]]
    stop: str  # end | tool | length | filter | other
    usage: Optional[Tuple[int, int]]
    reasoning: str


_CANONICAL_STOP = {
    "end_turn": "end",
    "stop_sequence": "end",
    "tool_use": "tool",
    "max_tokens": "length",
    "content_filter": "filter",
    "refusal": "filter",
    "pause": "other",
    "error": "other",
    "other": "other",
}


def _arguments(value: Any) -> Any:
    """Arguments as a value: JSON text parsed, no arguments as an empty object."""
    if isinstance(value, str):
        if not value.strip():
            return {}
        try:
            return json.loads(value)
        except ValueError:
            return ("not json", value)
    return {} if value is None else value


def expected(response: LlmResponse) -> Final:
    usage = response.usage
    return Final(
        text=response.text + (response.refusal or ""),
        calls=[(c.name, _arguments(c.arguments)) for c in response.tool_calls],
        stop=_CANONICAL_STOP[response.stop_reason],
        usage=None if usage is None else (usage.input_tokens, usage.output_tokens),
        reasoning="".join(r.text if r.text is not None else "\n\n".join(r.summary) for r in response.reasoning),
    )


@dataclass
class Clients:
    server: CannedServer
    openai: Any
    anthropic: Any
    genai: Any
    bedrock: Any


def _chat(clients: Clients) -> Final:
    import openai

    with clients.openai.chat.completions.stream(
        model="gpt-4o", messages=[{"role": "user", "content": "hi"}], stream_options={"include_usage": True}
    ) as stream:
        for _ in stream:
            pass
        try:
            completion = stream.get_final_completion()
        except (openai.LengthFinishReasonError, openai.ContentFilterFinishReasonError) as exc:
            # The helper refuses to *parse* such completions; what it accumulated is on the error.
            completion = exc.completion
    choice = completion.choices[0]
    message = choice.message
    stops = {"stop": "end", "tool_calls": "tool", "function_call": "tool", "length": "length"}
    u = completion.usage
    return Final(
        text=(message.content or "") + (message.refusal or ""),
        calls=[(t.function.name, _arguments(t.function.arguments)) for t in message.tool_calls or []],
        stop="filter" if message.refusal else stops.get(choice.finish_reason, "filter"),
        usage=None if u is None else (u.prompt_tokens, u.completion_tokens),
        reasoning=getattr(message, "reasoning_content", None) or "",
    )


def _responses(clients: Clients) -> Final:
    with clients.openai.responses.stream(model="gpt-5", input="hi") as stream:
        last = None
        for event in stream:
            last = event
        final = (
            last.response
            if last is not None and last.type in ("response.incomplete", "response.failed")
            else stream.get_final_response()
        )
    messages = [c for o in final.output if o.type == "message" for c in o.content]
    text = "".join(c.text if c.type == "output_text" else c.refusal for c in messages)
    refused = any(c.type == "refusal" for c in messages)
    calls = [(o.name, _arguments(o.arguments)) for o in final.output if o.type == "function_call"]
    if final.status == "completed":
        stop = "tool" if calls else "filter" if refused else "end"
    elif final.status == "incomplete":
        stop = "length" if final.incomplete_details.reason == "max_output_tokens" else "filter"
    else:
        stop = "other"
    reasoning = ""
    for o in final.output:
        if o.type == "reasoning":
            content = o.content or []
            reasoning += "".join(c.text for c in content) if content else "\n\n".join(s.text for s in o.summary)
    u = final.usage
    return Final(text, calls, stop, None if u is None else (u.input_tokens, u.output_tokens), reasoning)


def _anthropic(clients: Clients) -> Final:
    with clients.anthropic.messages.stream(
        model="claude-sonnet-4-6", max_tokens=1024, messages=[{"role": "user", "content": "hi"}]
    ) as stream:
        message = stream.get_final_message()
    stops = {"end_turn": "end", "stop_sequence": "end", "tool_use": "tool", "max_tokens": "length", "refusal": "filter"}
    u = message.usage
    prompt = u.input_tokens + (u.cache_read_input_tokens or 0) + (u.cache_creation_input_tokens or 0)
    return Final(
        text="".join(b.text for b in message.content if b.type == "text"),
        calls=[(b.name, _arguments(b.input)) for b in message.content if b.type == "tool_use"],
        stop=stops.get(message.stop_reason, "other"),
        usage=(prompt, u.output_tokens),
        reasoning="".join(b.thinking for b in message.content if b.type == "thinking"),
    )


def _gemini(clients: Clients) -> Final:
    text, thoughts, calls = [], [], []
    finish = usage = None
    for chunk in clients.genai.models.generate_content_stream(model="gemini-2.5-flash", contents="hi"):
        for candidate in chunk.candidates or []:
            for part in (candidate.content.parts if candidate.content else None) or []:
                if part.function_call is not None:
                    calls.append((part.function_call.name, _arguments(part.function_call.args)))
                elif part.text is not None:
                    (thoughts if part.thought else text).append(part.text)
            if candidate.finish_reason is not None:
                finish = candidate.finish_reason.value
        usage = chunk.usage_metadata or usage
    if finish == "STOP":
        stop = "tool" if calls else "end"
    else:
        stop = {"MAX_TOKENS": "length", "OTHER": "other", "FINISH_REASON_UNSPECIFIED": "other"}.get(finish, "filter")
    counts = None
    if usage is not None:
        output = (usage.candidates_token_count or 0) + (usage.thoughts_token_count or 0)
        counts = (usage.prompt_token_count or 0, output)
    return Final("".join(text), calls, stop, counts, "".join(thoughts))


def _bedrock(clients: Clients) -> Final:
    from judge_bedrock_converse import PLACEHOLDER_MODEL, sdk_final

    response = clients.bedrock.converse_stream(
        modelId=PLACEHOLDER_MODEL, messages=[{"role": "user", "content": [{"text": "hi"}]}]
    )
    final = sdk_final(list(response["stream"]))
    content = final["content"]
    stops = {"end_turn": "end", "stop_sequence": "end", "tool_use": "tool", "max_tokens": "length"}
    stops.update(model_context_window_exceeded="length", guardrail_intervened="filter", content_filtered="filter")
    u = final["usage"]
    prompt = u["inputTokens"] + u.get("cacheReadInputTokens", 0) + u.get("cacheWriteInputTokens", 0)
    return Final(
        text="".join(b.get("text", "") for b in content),
        calls=[(b["toolUse"]["name"], _arguments(b["toolUse"]["input"])) for b in content if "toolUse" in b],
        stop=stops.get(final["stopReason"], "other"),
        usage=(prompt, u["outputTokens"]),
        reasoning="".join(b["reasoningContent"].get("text", "") for b in content if "reasoningContent" in b),
    )


CONSUMERS: Dict[str, Callable[[Clients], Final]] = {
    "open_ai_chat_completions": _chat,
    "open_ai_responses": _responses,
    "anthropic_messages": _anthropic,
    "gemini_generate_content": _gemini,
    "bedrock_converse": _bedrock,
}


@pytest.fixture(scope="module")
def clients() -> Iterator[Clients]:
    openai = pytest.importorskip("openai")
    anthropic = pytest.importorskip("anthropic")
    genai = pytest.importorskip("google.genai")
    botocore_session = pytest.importorskip("botocore.session")
    from botocore.config import Config
    from google.genai import types

    server = CannedServer("")
    server.start()
    try:
        yield Clients(
            server,
            openai.OpenAI(api_key="x", base_url=server.base_url + "/v1", max_retries=0),
            anthropic.Anthropic(api_key="x", base_url=server.base_url, max_retries=0),
            genai.Client(api_key="x", http_options=types.HttpOptions(base_url=server.base_url)),
            botocore_session.get_session().create_client(
                "bedrock-runtime",
                region_name="us-east-1",
                endpoint_url=server.base_url,
                aws_access_key_id="x",
                aws_secret_access_key="y",
                config=Config(retries={"total_max_attempts": 1}),
            ),
        )
    finally:
        server.stop()


def _targets(source: str) -> List[str]:
    return [t for t in FORMATS if t != source]


MATRIX = [(source, name, target) for source, name in COMPLETE for target in _targets(source)]


def test_every_generation_format_with_a_stream_codec_has_a_corpus_and_a_consumer() -> None:
    """The matrix is generic; this keeps it honest about who takes part today."""
    assert {"open_ai_responses", "open_ai_chat_completions", "anthropic_messages", "gemini_generate_content"} <= set(
        CORPORA
    )
    assert set(CORPORA) <= set(CONSUMERS), "a format with a corpus needs an SDK consumer"


@pytest.mark.parametrize(("source", "name", "target"), MATRIX, ids=lambda v: str(v))
def test_target_sdk_accumulates_what_the_source_streamed(source: str, name: str, target: str, clients: Clients) -> None:
    if target not in CONSUMERS:
        pytest.skip(f"no SDK consumer for {target}")
    body = CORPORA[source].STREAMS[name]
    want = expected(_outcome(source, body)[0])
    losses = LossLog(target)
    encoded = _join(list(transcode_stream([body], source, target, losses=losses)))
    clients.server.body = encoded.encode("utf-8") if isinstance(encoded, str) else encoded
    got = CONSUMERS[target](clients)
    assert got.text == want.text
    assert [n for n, _ in got.calls] == [n for n, _ in want.calls]
    for (_, got_args), (_, want_args) in zip(got.calls, want.calls):
        if not isinstance(want_args, tuple):  # a call cut short by max_tokens is no JSON: names only
            assert got_args == want_args
    if got.stop != want.stop:
        # The category may not exist in the target (a refusal in Responses): then a loss says so.
        assert any(x.code.startswith("L-FINISH-") and x.path == "stop_reason" for x in losses.entries), (got, want)
    if want.usage is not None:
        assert got.usage == want.usage
    assert got.reasoning == want.reasoning


# --------------------------------------------------------------------------- driver properties


def _reference_prefix(source: str, target: str, chunks: List[Body]) -> Body:
    """What a complete, non-incremental run over ``chunks`` alone writes before end of input."""
    module = stream_codec(source)
    parser = getattr(module, "event_parser", SSEParser)()
    decoder = module.StreamDecoder(lean=True)  # as transcode_stream decodes
    encoder = stream_codec(target).StreamEncoder(LossLog(target))
    out: List[Body] = []
    for chunk in chunks:
        for sse in parser.feed(chunk):
            for event in decoder.feed(sse):
                out.extend(encoder.encode(event))
    return _join(out)


@pytest.mark.parametrize(("source", "target"), [(s, t) for s in CORPORA for t in FORMATS], ids=str)
def test_transcoding_is_incremental(source: str, target: str) -> None:
    """Before input chunk k+1 is read, all output that chunks 0..k determine has been yielded."""
    for name, body in CORPORA[source].STREAMS.items():
        chunks = _split(source, body)
        outputs: List[Body] = []
        reads: List[int] = []

        def recorded(chunks: List[Body], outputs: List[Body], reads: List[int], name: str) -> Iterator[Body]:
            for k, chunk in enumerate(chunks):
                if k:
                    assert _join(outputs) == _reference_prefix(source, target, chunks[:k]), (name, k)
                reads.append(k)
                yield chunk

        try:
            for piece in transcode_stream(recorded(chunks, outputs, reads, name), source, target):
                outputs.append(piece)
        except StreamError:
            pass
        assert reads == list(range(len(chunks))), name
        assert any(outputs), name


def _padded_gemini(count: int, pad: int) -> Iterator[str]:
    metadata = {"citationSources": [{"uri": "https://example.com/" + "p" * pad}]}
    for k in range(count):
        chunk: Dict[str, Any] = {
            "candidates": [{"content": {"role": "model", "parts": [{"text": f"w{k} "}]}, "citationMetadata": metadata}],
            "modelVersion": "gemini-2.5-flash",
        }
        if k == count - 1:
            chunk["candidates"][0]["finishReason"] = "STOP"
        yield f"data: {json.dumps(chunk)}\r\n\r\n"


def _padded_chat(count: int, pad: int) -> Iterator[str]:
    head = {"id": "chatcmpl-1", "object": "chat.completion.chunk", "created": 1, "model": "gpt-4o"}
    for k in range(count):
        finish = "stop" if k == count - 1 else None
        choice = {"index": 0, "delta": {"content": f"w{k} "}, "finish_reason": finish}
        yield f"data: {json.dumps({**head, 'choices': [choice], 'obfuscation': 'p' * pad})}\n\n"
    yield "data: [DONE]\n\n"


@pytest.mark.parametrize("source", ["gemini_generate_content", "open_ai_chat_completions"])
@pytest.mark.parametrize("target", FORMATS)
def test_memory_is_bounded_by_the_largest_event(source: str, target: str) -> None:
    """4 MB of input in 20 kB events: the transcoder never holds more than a few events."""
    count, pad = 200, 20_000
    make = _padded_gemini if source == "gemini_generate_content" else _padded_chat
    tracemalloc.start()
    try:
        written = 0
        for piece in transcode_stream(make(count, pad), source, target):
            written += len(piece)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert written > 0
    assert peak < 25 * pad, f"peak {peak} bytes for {count * pad} bytes of input"


def _population() -> List[Tuple[str, bytes]]:
    bodies = [(fmt, body) for fmt, module in CORPORA.items() for body in module.STREAMS.values()]
    for fmt in CORPORA:
        folder = FIXTURES / fmt / "streams"
        if folder.is_dir():
            bodies.extend((fmt, path.read_text(encoding="utf-8")) for path in sorted(folder.glob("*.sse"))[:6])
    return [(fmt, body.encode("utf-8") if isinstance(body, str) else body) for fmt, body in bodies]


POPULATION = _population()


def _decode_all(fmt: str, chunks: List[bytes]) -> Tuple[List[StreamEvent], Optional[str], Optional[LlmResponse]]:
    events: List[StreamEvent] = []
    try:
        for event in decode_stream(chunks, fmt):
            events.append(event)
    except StreamError as exc:
        return events, type(exc).__name__, exc.partial
    return events, None, None


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_rechunking_never_changes_the_events(data: st.DataObject) -> None:
    fmt, body = data.draw(st.sampled_from(POPULATION))
    cuts = sorted(data.draw(st.lists(st.integers(0, len(body)), max_size=12)))
    edges = [0, *cuts, len(body)]
    chunks = [body[a:b] for a, b in zip(edges, edges[1:])]
    assert _decode_all(fmt, chunks) == _decode_all(fmt, [body])


@pytest.mark.parametrize(("source", "name"), FAILING, ids=str)
@pytest.mark.parametrize("target", FORMATS)
def test_errors_surface_after_every_delta_with_the_partial(source: str, name: str, target: str) -> None:
    body = CORPORA[source].STREAMS[name]
    partial, error = _outcome(source, body)
    assert isinstance(error, ProviderStreamError) and error.partial is not None
    assert error.partial.text, "the corpus error streams carry text before the error"
    out: List[Body] = []
    with pytest.raises(ProviderStreamError) as info:
        for piece in transcode_stream([body], source, target):
            out.append(piece)
    assert info.value.partial is not None and info.value.partial.text == partial.text
    assert _target_text(_join(out), target) == partial.text


def _target_text(text: Body, target: str) -> str:
    """The text a target decoder finds in (possibly incomplete) target output."""
    acc = StreamAccumulator()
    try:
        for _ in decode_stream([text] if text else [], target, accumulator=acc):  # "" may stand for b""
            pass
    except TruncatedStreamError:
        pass
    response = acc.response()
    return response.text + (response.refusal or "")


@pytest.mark.parametrize(("source", "name"), COMPLETE, ids=str)
@pytest.mark.parametrize("target", FORMATS)
def test_a_stream_cut_before_its_end_is_truncated_with_the_partial(
    source: str, name: str, target: str, request: pytest.FixtureRequest
) -> None:
    chunks = _split(source, CORPORA[source].STREAMS[name])
    whole = _outcome(source, _join(chunks))[0]
    out: List[Body] = []
    with pytest.raises(TruncatedStreamError) as info:
        for piece in transcode_stream(chunks[:-1], source, target):
            out.append(piece)
    partial = info.value.partial
    assert partial is not None and whole.text.startswith(partial.text)
    assert _target_text(_join(out), target) == partial.text + (partial.refusal or "")


def _large_text_chat(count: int, pad: int, finish: bool = True) -> Iterator[str]:
    """A chat stream of ``count`` text deltas of ``pad`` characters each, then usage."""
    head = {"id": "chatcmpl-big", "object": "chat.completion.chunk", "created": 1, "model": "gpt-4o"}
    yield f"data: {json.dumps({**head, 'choices': [{'index': 0, 'delta': {'role': 'assistant', 'content': ''}}]})}\n\n"
    for k in range(count):
        choice = {"index": 0, "delta": {"content": chr(ord("a") + k % 26) * pad}, "finish_reason": None}
        yield f"data: {json.dumps({**head, 'choices': [choice]})}\n\n"
    if finish:
        yield f"data: {json.dumps({**head, 'choices': [{'index': 0, 'delta': {}, 'finish_reason': 'stop'}]})}\n\n"
        usage = {"prompt_tokens": 5, "completion_tokens": count, "total_tokens": 5 + count}
        yield f"data: {json.dumps({**head, 'choices': [], 'usage': usage})}\n\n"
        yield "data: [DONE]\n\n"


def test_the_transcoder_partial_keeps_a_bounded_prefix_of_large_text() -> None:
    """8 MB of text deltas: the error's partial holds PARTIAL_LIMIT characters, not the stream."""
    from omnillm.streaming import PARTIAL_LIMIT

    count, pad = 400, 20_000
    with pytest.raises(TruncatedStreamError) as info:
        for _ in transcode_stream(
            _large_text_chat(count, pad, finish=False), "open_ai_chat_completions", "anthropic_messages"
        ):
            pass
    partial = info.value.partial
    assert partial is not None and partial.id == "chatcmpl-big" and partial.model == "gpt-4o"
    assert 0 < len(partial.text) <= PARTIAL_LIMIT
    assert partial.text == "".join(chr(ord("a") + k % 26) * pad for k in range(count))[: len(partial.text)]


def test_the_transcoder_accumulator_memory_stays_bounded() -> None:
    """Folding 8 MB of text deltas: `BoundedAccumulator` retains at most its limit."""
    from omnillm.model import Usage
    from omnillm.stream import BoundedAccumulator, OutputItemAdded, ResponseStarted, TextDelta, UsageUpdate

    acc = BoundedAccumulator(1 << 16)
    acc.add(ResponseStarted("r", "m"))
    acc.add(OutputItemAdded(0, "message"))
    tracemalloc.start()
    try:
        base = tracemalloc.get_traced_memory()[0]
        for k in range(400):
            acc.add(TextDelta(0, chr(ord("a") + k % 26) * 20_000))
        acc.add(UsageUpdate(Usage(5, 400)))
        retained = tracemalloc.get_traced_memory()[0] - base
    finally:
        tracemalloc.stop()
    assert retained < 200_000, f"{retained} bytes retained for 8 MB of deltas"
    assert acc.clipped and acc.response().usage == Usage(5, 400)
    assert len(acc.response().text) == 3 * 20_000  # whole deltas up to the limit
