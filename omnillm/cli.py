"""The command line: ``python -m omnillm`` (also installed as ``omnillm``).

Commands: ``demo`` (the offline walk-through), ``live`` (the same against providers in
``.env``), ``transcode`` (convert a request, response or stream between wire formats;
JSON to stdout, the loss report to stderr) and ``providers`` (the support matrix).
"""

from __future__ import annotations

import argparse
import sys
from typing import List, Optional, TextIO

from . import __version__
from .errors import ConfigurationError, OmniLLMError
from .wire import GENERATION_FORMATS

_EPILOG = """\
examples:
  python -m omnillm demo
  python -m omnillm transcode --from open_ai_chat_completions --to anthropic_messages request.json
  python -m omnillm transcode --kind response --from anthropic_messages --to open_ai_responses - < reply.json
  python -m omnillm transcode --kind stream --from anthropic_messages --to open_ai_chat_completions events.sse
  python -m omnillm providers

exit codes: 0 success; 1 the conversion was lossy and --strict was given; 2 an error.
"""


def _read_input(name: str) -> bytes:
    if name == "-":
        return sys.stdin.buffer.read()
    with open(name, "rb") as fh:
        return fh.read()


def _write_binary(out: TextIO, data: bytes) -> None:
    """Write bytes (an AWS event stream) to the byte stream under ``out``, never through a text codec."""
    buffer = getattr(out, "buffer", None)
    if buffer is None:
        raise ConfigurationError("transcode: binary output (an AWS event stream) needs a byte-capable stdout")
    out.flush()  # keep any text written before in order
    buffer.write(data)
    buffer.flush()


def run_transcode(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    """Convert one body (or stream) between wire formats; see ``--help``."""
    from .report import LossLog
    from .transcode import transcode_request_report, transcode_response_report

    try:
        data = _read_input(args.file)
    except OSError as exc:
        err.write(f"error: cannot read {args.file}: {exc.strerror}\n")
        return 2
    try:
        if args.kind == "stream":
            from .streaming import transcode_stream

            losses = LossLog(args.target)
            for piece in transcode_stream([data], args.source, args.target, losses=losses):
                if isinstance(piece, str):
                    out.write(piece)
                else:
                    _write_binary(out, piece)
            out.flush()
            reasons = [str(x) for x in losses.entries]
        else:
            convert = transcode_response_report if args.kind == "response" else transcode_request_report
            report = convert(data, args.source, args.target)
            out.write(report.value + "\n")
            reasons = report.loss_reasons
    except OmniLLMError as exc:
        err.write(f"error: {exc}\n")
        return 2
    for reason in reasons:
        err.write(f"loss: {reason}\n")
    if not reasons:
        err.write("lossless\n")
    return 1 if (args.strict and reasons) else 0


def run_providers(out: TextIO) -> int:
    """Print the provider support matrix from the embedded registry."""
    from .providers import embedded_provider_registry, format_support_matrix

    out.write(format_support_matrix(embedded_provider_registry()) + "\n")
    return 0


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the ``omnillm`` command."""
    formats = [f.value for f in GENERATION_FORMATS]
    parser = argparse.ArgumentParser(
        prog="omnillm",
        description=(
            "omnillm: provider-neutral LLM access. One canonical model, honest transcoding "
            "between wire protocols, a thread-safe gateway, and test tooling."
        ),
        epilog=_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"omnillm {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="command")
    sub.required = True
    sub.add_parser("demo", help="offline walk-through on an embedded mock provider (no network, no keys)")
    live = sub.add_parser("live", help="the same walk against real providers configured in .env")
    live.add_argument("--env-file", default=".env", help="file with provider credentials (default: .env)")
    tr = sub.add_parser(
        "transcode",
        help="convert a request, response or stream between wire formats",
        description="Convert a body between wire formats. JSON (or SSE) goes to stdout, loss reasons to stderr.",
    )
    tr.add_argument("--from", dest="source", required=True, choices=formats, help="the input's wire format")
    tr.add_argument("--to", dest="target", required=True, choices=formats, help="the output's wire format")
    tr.add_argument(
        "--kind",
        choices=("request", "response", "stream"),
        default="request",
        help=(
            "what the input is (default: request); a stream is SSE text, or AWS event-stream "
            "bytes for bedrock_converse (binary output goes to stdout as raw bytes)"
        ),
    )
    tr.add_argument("--response", dest="kind", action="store_const", const="response", help="same as --kind response")
    tr.add_argument("--strict", action="store_true", help="exit 1 when anything was lost")
    tr.add_argument("file", nargs="?", default="-", help="input file, or - for stdin (default)")
    sub.add_parser("providers", help="print the provider support matrix (providers x endpoint families x level)")
    return parser


def main(argv: Optional[List[str]] = None, out: TextIO = sys.stdout, err: TextIO = sys.stderr) -> int:
    """Entry point of ``python -m omnillm`` and the ``omnillm`` console script."""
    args = build_parser().parse_args(argv)
    if args.command == "demo":
        from .demo import run_demo

        return run_demo(out)
    if args.command == "live":
        from .demo import run_live

        return run_live(out, env_file=args.env_file)
    if args.command == "providers":
        return run_providers(out)
    return run_transcode(args, out, err)
