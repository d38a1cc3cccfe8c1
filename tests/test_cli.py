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
