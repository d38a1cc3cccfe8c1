"""The command line: demo, live, transcode, providers, --help."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import List, Tuple

import pytest

from omnillm.cli import main
from omnillm.protocols import codec
from omnillm.stream import events_from_response
from omnillm.streaming import encode_stream

ROOT = Path(__file__).resolve().parents[1]
CHAT = {
    "model": "gpt-4o",
    "messages": [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hello"}],
    "max_completion_tokens": 100,
    "seed": 7,
}


def run(argv: List[str], stdin: str = "") -> Tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    old = sys.stdin
    sys.stdin = io.TextIOWrapper(io.BytesIO(stdin.encode()))
    try:
        code = main(argv, out, err)
    finally:
        sys.stdin = old
    return code, out.getvalue(), err.getvalue()


def test_demo_runs_end_to_end_and_exits_0() -> None:
    env = dict(os.environ, PYTHONPATH=str(ROOT), NO_COLOR="1")
    done = subprocess.run(
        [sys.executable, "-m", "omnillm", "demo"], capture_output=True, text=True, timeout=120, env=env
    )
    assert done.returncode == 0, done.stderr
    text = done.stdout
    for part in ("A call", "A stream", "Transcoding", "Failover", "budget refusal", "Pool status"):
        assert part in text, part
    assert "BudgetExceededError" in text and "requests sent for it: 0" in text
    assert "circuit open" in text
    assert "Traceback" not in done.stderr


def test_transcode_request_from_stdin_reports_losses_on_stderr() -> None:
    code, out, err = run(
        ["transcode", "--from", "open_ai_chat_completions", "--to", "anthropic_messages"], json.dumps(CHAT)
    )
    assert code == 0
    body = json.loads(out)
    assert body["system"] == "Be brief." and body["max_tokens"] == 100
    assert "loss: seed" in err


def test_transcode_strict_exits_1_on_loss_and_0_when_lossless(tmp_path: Path) -> None:
    path = tmp_path / "req.json"
    path.write_text(json.dumps(CHAT))
    args = ["transcode", "--from", "open_ai_chat_completions", "--to", "anthropic_messages", "--strict", str(path)]
    assert run(args)[0] == 1
    lossless = {k: v for k, v in CHAT.items() if k != "seed"}
    path.write_text(json.dumps(lossless))
    code, _, err = run(args)
    assert code == 0 and "lossless" in err


def test_transcode_response_and_stream() -> None:
    response = {
        "id": "msg_1",
        "type": "message",
        "role": "assistant",
        "model": "claude-x",
        "content": [{"type": "text", "text": "Hi there"}],
        "stop_reason": "end_turn",
        "stop_sequence": None,
        "usage": {"input_tokens": 3, "output_tokens": 2},
    }
    code, out, _ = run(
        ["transcode", "--kind", "response", "--from", "anthropic_messages", "--to", "open_ai_chat_completions"],
        json.dumps(response),
    )
    assert code == 0 and json.loads(out)["choices"][0]["message"]["content"] == "Hi there"
    decoded = codec("anthropic_messages").decode_response(response)
    stream = "".join(encode_stream(events_from_response(decoded), "anthropic_messages"))
    code, out, _ = run(
        ["transcode", "--kind", "stream", "--from", "anthropic_messages", "--to", "open_ai_chat_completions"], stream
    )
    assert code == 0 and out.rstrip().endswith("data: [DONE]")
    chunks = [json.loads(line[6:]) for line in out.splitlines() if line.startswith("data: {")]
    assert "".join(c["choices"][0]["delta"].get("content") or "" for c in chunks if c["choices"]) == "Hi there"


def test_transcode_errors_exit_2() -> None:
    code, _, err = run(["transcode", "--from", "anthropic_messages", "--to", "open_ai_responses"], "{not json")
    assert code == 2 and err.startswith("error: anthropic_messages")
    code, _, err = run(["transcode", "--from", "anthropic_messages", "--to", "open_ai_responses", "/no/such/file"])
    assert code == 2 and "cannot read" in err


def test_providers_prints_the_matrix() -> None:
    code, out, _ = run(["providers"])
    assert code == 0
    for name in ("openai", "anthropic", "gemini", "vertex_ai", "bedrock", "azure_openai", "groq"):
        assert name in out
    assert "native" in out and "compatible" in out and "planned" in out


def test_help_explains_every_command(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        main(["--help"])
    assert info.value.code == 0
    text = capsys.readouterr().out
    for command in ("demo", "live", "transcode", "providers", "exit codes"):
        assert command in text


def test_live_without_credentials_skips_cleanly(tmp_path: Path) -> None:
    from omnillm.demo import run_live

    out = io.StringIO()
    assert run_live(out, env_file=str(tmp_path / "absent.env"), environ={}) == 0
    text = out.getvalue()
    assert "skipping OpenAI" in text and "no provider had credentials" in text
    assert "Transcoding" in text, "the offline steps still run"
    assert "Failover" not in text and "Pool status" not in text


def _anthropic_stream(text: str) -> str:
    response = {
        "id": "msg_2",
        "type": "message",
        "role": "assistant",
        "model": "claude-x",
        "content": [{"type": "text", "text": text}],
        "stop_reason": "end_turn",
        "stop_sequence": None,
        "usage": {"input_tokens": 3, "output_tokens": 5},
    }
    decoded = codec("anthropic_messages").decode_response(response)
    return "".join(encode_stream(events_from_response(decoded, chunk_chars=4), "anthropic_messages"))


def _texts_of_anthropic_sse(sse: str) -> str:
    events = [json.loads(line[5:]) for line in sse.splitlines() if line.startswith("data:")]
    return "".join(e["delta"].get("text", "") for e in events if e.get("type") == "content_block_delta")


def test_binary_stream_output_round_trips_in_process() -> None:
    """Event-stream bytes go to stdout's byte buffer unchanged (not through a text codec)."""
    from botocore.eventstream import EventStreamBuffer

    text = "Grüße, ☃ and bytes ≥ 0x80"
    sink = io.BytesIO()
    out = io.TextIOWrapper(sink, encoding="utf-8")
    sys_stdin = sys.stdin
    sys.stdin = io.TextIOWrapper(io.BytesIO(_anthropic_stream(text).encode()))
    try:
        code = main(["transcode", "--kind", "stream", "--from", "anthropic_messages", "--to", "bedrock_converse"], out)
    finally:
        sys.stdin = sys_stdin
    assert code == 0
    binary = sink.getvalue()
    buffer = EventStreamBuffer()  # botocore checks both CRCs of every frame
    buffer.add_data(binary)
    deltas = [json.loads(m.payload) for m in buffer if m.headers.get(":event-type") == "contentBlockDelta"]
    assert "".join(d["delta"]["text"] for d in deltas) == text


def test_binary_stream_output_needs_a_byte_stream() -> None:
    code, _, err = run(
        ["transcode", "--kind", "stream", "--from", "anthropic_messages", "--to", "bedrock_converse"],
        _anthropic_stream("hi"),
    )
    assert code == 2 and "byte-capable stdout" in err


def _command() -> List[str]:
    import shutil

    script = shutil.which("omnillm")
    return [script] if script else [sys.executable, "-m", "omnillm"]


def test_installed_command_round_trips_a_bedrock_stream(tmp_path: Path) -> None:
    """The console script (or ``python -m omnillm``) writes event-stream bytes that read back in."""
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    text = "héllo from the round trip"
    source = tmp_path / "events.sse"
    source.write_text(_anthropic_stream(text), encoding="utf-8")
    forward = subprocess.run(
        [
            *_command(),
            "transcode",
            "--kind",
            "stream",
            "--from",
            "anthropic_messages",
            "--to",
            "bedrock_converse",
            str(source),
        ],
        capture_output=True,
        timeout=60,
        env=env,
    )
    assert forward.returncode == 0, forward.stderr.decode()
    assert forward.stdout[:4] != b"data", "binary output, not SSE"
    back = subprocess.run(
        [*_command(), "transcode", "--kind", "stream", "--from", "bedrock_converse", "--to", "anthropic_messages", "-"],
        input=forward.stdout,
        capture_output=True,
        timeout=60,
        env=env,
    )
    assert back.returncode == 0, back.stderr.decode()
    assert _texts_of_anthropic_sse(back.stdout.decode("utf-8")) == text
    providers = subprocess.run([*_command(), "providers"], capture_output=True, text=True, timeout=60, env=env)
    assert providers.returncode == 0 and "bedrock" in providers.stdout


def test_live_walk_runs_every_step_against_the_mock_server(tmp_path: Path) -> None:
    """Base URLs from OMNILLM_LIVE_<PROVIDER>_BASE_URL point the live walk at the mock provider."""
    from omnillm.demo import run_live
    from omnillm.testing import MockProvider, MockReply

    with MockProvider(MockReply(text="hello from the mock"), chunk_chars=4) as mock:
        env = {
            "OPENAI_API_KEY": "sk-live-test-openai",
            "ANTHROPIC_API_KEY": "sk-ant-live-test",
            "GEMINI_API_KEY": "gemini-live-test",
            "OMNILLM_LIVE_OPENAI_BASE_URL": mock.base_url + "/v1",
            "OMNILLM_LIVE_ANTHROPIC_BASE_URL": mock.base_url + "/v1",
            "OMNILLM_LIVE_GEMINI_BASE_URL": mock.base_url + "/v1beta",
        }
        out = io.StringIO()
        assert run_live(out, env_file=str(tmp_path / "absent.env"), environ=env) == 0
        keys = {r.key for r in mock.requests}
    text = out.getvalue()
    assert "skipping Groq" in text and "skipping OpenAI" not in text
    for part in ("a call and a stream", "Transcoding", "Failover across providers", "budget refusal", "Pool status"):
        assert part in text, part
    assert text.count("hello from the mock") >= 6, "three providers, each a call and a stream"
    assert "openai-unreachable x ConnectionError" in text and "openai-unreachable: circuit open" in text
    assert "BudgetExceededError" in text and "requests sent for it: 0" in text
    assert keys == {"sk-live-test-openai", "sk-ant-live-test", "gemini-live-test"}
    assert "sk-live-test-openai" not in text, "secrets never reach the output"
