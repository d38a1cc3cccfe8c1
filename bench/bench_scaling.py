"""Transcoding time against body size: multi-megabyte bodies must cost time linear in their size.

For each source -> target pair, a chat conversation of N turns (about 1 KiB each) is
expressed in the source format and transcoded with `transcode_request`, at sizes from
256 KiB to 4 MiB; the same for a response whose one message holds the text. The table
gives CPU milliseconds per transcode (best of 5, contenders alternated) and the cost per
MiB at each size: a linear transcode keeps that figure flat as the size grows (a
quadratic one would double it at every doubling). The floor is `json.loads` +
`json.dumps` of the same text. Run: ``python bench/bench_scaling.py``.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any, Dict, List

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from _timing import best_cpu_per_call

import omnillm
from omnillm.wire import GENERATION_FORMATS

CHAT = "open_ai_chat_completions"
TURN = "The quick brown fox jumps over the lazy dog; " * 22  # about 1 KiB of text per turn
SIZES_KIB = (256, 1024, 4096)


def chat_request(kib: int) -> Dict[str, Any]:
    messages: List[Dict[str, Any]] = [{"role": "system", "content": "Be brief."}]
    for n in range(kib):
        messages.append({"role": "user" if n % 2 == 0 else "assistant", "content": f"{n}: {TURN}"})
    if messages[-1]["role"] != "user":
        messages.append({"role": "user", "content": "And?"})
    return {"model": "gpt-4o", "messages": messages, "max_completion_tokens": 512}


def chat_response(kib: int) -> Dict[str, Any]:
    text = TURN * kib
    return {
        "id": "chatcmpl-scale",
        "object": "chat.completion",
        "created": 1741476542,
        "model": "gpt-4o",
        "choices": [{"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": "stop"}],
        "usage": {"prompt_tokens": 10, "completion_tokens": 10, "total_tokens": 20},
    }


def main() -> None:
    formats = [f.value for f in GENERATION_FORMATS]
    print("CPU ms per transcode (best of 5, alternated); ms per MiB in brackets")
    header = " ".join(f"{str(k) + ' KiB':>22}" for k in SIZES_KIB)
    for kind, build, fn in (
        ("request", chat_request, omnillm.transcode_request),
        ("response", chat_response, omnillm.transcode_response),
    ):
        bodies = {kib: build(kib) for kib in SIZES_KIB}
        print(f"\n{kind:9} {'source -> target':58} {header}")
        for source in formats:
            texts = {
                kib: omnillm.transcode_request(bodies[kib], CHAT, source)
                if kind == "request"
                else omnillm.transcode_response(bodies[kib], CHAT, source)
                for kib in SIZES_KIB
            }
            for target in [*formats, "floor"]:
                cells = []
                for kib in SIZES_KIB:
                    text = texts[kib]
                    mib = len(text.encode("utf-8")) / 2**20
                    if target == "floor":
                        contender = {"x": lambda: json.dumps(json.loads(text))}  # noqa: B023
                    else:
                        contender = {"x": lambda: fn(text, source, target)}  # noqa: B023
                    ms = best_cpu_per_call(contender, 1, batches=5)["x"] / 1000
                    cells.append(f"{ms:9.1f} ({ms / mib:7.1f}/MiB)")
                print(f"{kind:9} {source + ' -> ' + target:58} {' '.join(cells)}")


if __name__ == "__main__":
    main()
