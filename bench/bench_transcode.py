"""CPU per transcode_request / transcode_response for a typical chat exchange, every pair.

The floor, measured in the same run, is `json.loads` + `json.dumps` of the same payload:
the least any JSON-to-JSON converter must do. Run: ``python bench/bench_transcode.py``.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

# The typical exchange the transport and gateway benchmarks send too: a system prompt,
# three turns and one tool; a three-sentence answer with usage.
from _contenders import CHAT_REQUEST as TYPICAL_CHAT_REQUEST
from _server import CHAT_RESPONSE as TYPICAL_CHAT_RESPONSE
from _timing import best_cpu_per_call

import omnillm
from omnillm.wire import GENERATION_FORMATS


def main() -> None:
    formats = [f.value for f in GENERATION_FORMATS]
    chat = "open_ai_chat_completions"
    # Express the same typical exchange in every source format first.
    requests = {f: omnillm.transcode_request(TYPICAL_CHAT_REQUEST, chat, f) for f in formats}
    responses = {f: omnillm.transcode_response(TYPICAL_CHAT_RESPONSE, chat, f) for f in formats}
    calls = 2000
    print(f"CPU microseconds per call (best of 7 batches of {calls}, contenders alternated)")
    print(f"{'kind':9} {'source':26} {'target':26} {'omnillm':>9} {'floor':>7} {'ratio':>6}")
    for kind, table, fn in (
        ("request", requests, omnillm.transcode_request),
        ("response", responses, omnillm.transcode_response),
    ):
        for source in formats:
            text = table[source]
            for target in formats:
                result = best_cpu_per_call(
                    {
                        "omnillm": lambda: fn(text, source, target),  # noqa: B023
                        "floor": lambda: json.dumps(json.loads(text)),  # noqa: B023
                    },
                    calls,
                )
                ratio = result["omnillm"] / result["floor"]
                print(f"{kind:9} {source:26} {target:26} {result['omnillm']:9.1f} {result['floor']:7.1f} {ratio:6.1f}")


if __name__ == "__main__":
    main()
