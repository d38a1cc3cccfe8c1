"""Command line: ``python -m omnillm demo`` (offline walk-through) and ``transcode``."""

from __future__ import annotations

import argparse
import json
import sys
from typing import List, Optional, TextIO

from . import __version__
from .errors import OmniLLMError
from .report import ConversionReport
from .transcode import transcode_request_report, transcode_response_report
from .wire import GENERATION_FORMATS, WireFormat

_DEMO_REQUEST = {
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
                "parameters": {
                    "type": "object",
                    "properties": {"city": {"type": "string"}},
                    "required": ["city"],
                },
                "strict": True,
            },
        }
    ],
    "max_completion_tokens": 300,
    "temperature": 0.4,
    "seed": 42,
}

_DEMO_RESPONSE = {
    "id": "msg_demo",
    "type": "message",
    "role": "assistant",
    "model": "claude-sonnet-4-5",
    "content": [
        {"type": "text", "text": "Let me look that up."},
        {"type": "tool_use", "id": "toolu_01", "name": "get_weather", "input": {"city": "Paris"}},
    ],
    "stop_reason": "tool_use",
    "stop_sequence": None,
    "usage": {"input_tokens": 210, "output_tokens": 31, "cache_read_input_tokens": 1000},
}


def _print_report(report: ConversionReport, out: TextIO) -> None:
    out.write(json.dumps(json.loads(report.value), indent=2, ensure_ascii=False) + "\n")
    if report.lossy:
        out.write(f"  lossy: {len(report.losses)} item(s)\n")
        for reason in report.loss_reasons:
            out.write(f"   - {reason}\n")
    else:
        out.write("  lossless\n")


def run_demo(out: TextIO) -> int:
    """Walk through transcoding one request and one response, with loss reports."""
    out.write(f"omnillm {__version__}: offline demo (no network, no keys)\n\n")
    chat = WireFormat.OPEN_AI_CHAT_COMPLETIONS.value
    for target in (WireFormat.ANTHROPIC_MESSAGES, WireFormat.GEMINI_GENERATE_CONTENT, WireFormat.OPEN_AI_RESPONSES):
        out.write(f"== request: {chat} -> {target.value}\n")
        _print_report(transcode_request_report(_DEMO_REQUEST, chat, target), out)
        out.write("\n")
    out.write(f"== response: anthropic_messages -> {chat}\n")
    _print_report(transcode_response_report(_DEMO_RESPONSE, "anthropic_messages", chat), out)
    return 0


def run_transcode(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    """Transcode a request or response body read from a file or stdin."""
    source = sys.stdin if args.file == "-" else open(args.file, encoding="utf-8")  # noqa: SIM115
    with source:
        body = source.read()
    convert = transcode_response_report if args.response else transcode_request_report
    try:
        report = convert(body, args.source, args.target)
    except OmniLLMError as exc:
        err.write(f"error: {exc}\n")
        return 2
    out.write(report.value + "\n")
    for reason in report.loss_reasons:
        err.write(f"loss: {reason}\n")
    return 1 if (args.strict and report.lossy) else 0


def main(argv: Optional[List[str]] = None, out: TextIO = sys.stdout, err: TextIO = sys.stderr) -> int:
    """Entry point of ``python -m omnillm``."""
    formats = [f.value for f in GENERATION_FORMATS]
    parser = argparse.ArgumentParser(prog="omnillm", description="Provider-neutral LLM toolkit.")
    parser.add_argument("--version", action="version", version=f"omnillm {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("demo", help="offline walk-through of transcoding with loss reports")
    tr = sub.add_parser("transcode", help="convert a request or response body between wire formats")
    tr.add_argument("--from", dest="source", required=True, choices=formats)
    tr.add_argument("--to", dest="target", required=True, choices=formats)
    tr.add_argument("--response", action="store_true", help="the body is a response (default: a request)")
    tr.add_argument("--strict", action="store_true", help="exit 1 when the conversion is lossy")
    tr.add_argument("file", nargs="?", default="-", help="JSON file, or - for stdin (default)")
    args = parser.parse_args(argv)
    if args.command == "demo":
        return run_demo(out)
    return run_transcode(args, out, err)


if __name__ == "__main__":
    sys.exit(main())
