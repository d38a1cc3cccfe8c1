"""HTTP/1.1 messages for the urllib3 transport's direct calls, without I/O (RFC 9112).

`format_request` writes a request head; `parse_head` reads a response head; `framing`
says how its body is delimited and whether the connection can carry another request.
The transport uses them for calls and streams without a proxy, on a connection taken
from urllib3's pool, which still opens it, verifies TLS and keeps it: ``http.client``
parses response headers through the ``email`` package, which is about a fifth of a
small call's client CPU, and none of its generality is needed here.

Whatever these functions do not handle plainly makes `format_request` return None, and
the transport then sends through ``http.client`` as before (its errors included).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import List, Mapping, Optional, Tuple

#: Bound on the whole response head (status line and headers).
MAX_HEAD_BYTES = 256 * 1024
#: Bound on the number of header lines (http.client's bound as well).
MAX_HEADERS = 100
#: A request body up to this size goes out in the same write as the head.
JOIN_BODY_BYTES = 64 * 1024

_TOKEN = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
_TARGET_SAFE = re.compile(r"[^\x00-\x20\x7f]+")
_CTL = re.compile(r"[\x00\r\n]")
_STATUS_LINE = re.compile(rb"HTTP/(\d)\.(\d) ([1-9]\d\d)(?: ([^\r\n]*))?\r?\n")


class HeadError(ValueError):
    """A response head that is not HTTP/1.x (a bad status line, too long, too many headers)."""


def format_request(
    method: str, target: str, host: str, headers: Mapping[str, str], body: Optional[bytes]
) -> Optional[bytes]:
    """The request to write: the head, and a small body joined to it; None when ``http.client`` must write it.

    A body up to `JOIN_BODY_BYTES` is joined to the head so that one write sends both; a
    larger one (an audio upload) is left out, for the caller to send after the head
    without a copy of it.

    ``host`` is the ``Host`` header value (the URL's authority). ``Content-Length`` is
    added for a body (and as 0 for a POST, PUT or PATCH without one), ``Accept-Encoding:
    identity`` unless the caller chose an encoding, as ``http.client`` does. None for a
    method or target with characters a request line cannot carry, a header name that is
    not a token, a value with CR, LF or NUL, or text outside Latin-1.
    """
    if not _TOKEN.fullmatch(method) or not _TARGET_SAFE.fullmatch(target) or not host.isascii():
        return None
    lines = [f"{method} {target} HTTP/1.1"]
    seen = set()
    for name, value in headers.items():
        if not _TOKEN.fullmatch(name) or _CTL.search(value):
            return None
        seen.add(name.lower())
        lines.append(f"{name}: {value}")
    if "host" not in seen:
        lines.insert(1, f"Host: {host}")
    if "accept-encoding" not in seen:
        lines.append("Accept-Encoding: identity")
    if "content-length" not in seen and "transfer-encoding" not in seen:
        if body is not None:
            lines.append(f"Content-Length: {len(body)}")
        elif method in ("POST", "PUT", "PATCH"):
            lines.append("Content-Length: 0")
    lines.append("\r\n")
    try:
        head = "\r\n".join(lines).encode("latin-1")
    except UnicodeEncodeError:
        return None
    return head + body if body and len(body) <= JOIN_BODY_BYTES else head


@dataclass
class ResponseHead:
    """A parsed response head: status, reason, HTTP minor version and header pairs in order."""

    status: int
    reason: str
    minor: int
    headers: List[Tuple[str, str]]

    def values(self, name: str) -> List[str]:
        """Every value of header ``name`` (lower case)."""
        return [v for k, v in self.headers if k.lower() == name]


def parse_head(data: bytes) -> ResponseHead:
    """The head in ``data``: the bytes up to and including the blank line that ends it.

    Header values lose surrounding whitespace; an obsolete line folding joins its
    continuation with one space (RFC 9112, section 5.2); a line without a colon is
    skipped, as lenient clients do. Raises `HeadError` for a status line that is not
    HTTP/1.x with a three-digit status, and past `MAX_HEADERS`.
    """
    line = _STATUS_LINE.match(data)
    if line is None or line.group(1) != b"1":
        raise HeadError(f"not an HTTP/1.x status line: {data[:60]!r}")
    text = data[line.end() :].decode("latin-1")
    headers: List[Tuple[str, str]] = []
    for raw in text.split("\n"):
        raw = raw.rstrip("\r")
        if not raw:
            continue
        if raw[0] in " \t":
            if headers:  # obs-fold: the value goes on
                name, value = headers[-1]
                headers[-1] = (name, f"{value} {raw.strip()}".strip())
            continue
        name, colon, value = raw.partition(":")
        if colon and name and name == name.rstrip():
            headers.append((name, value.strip(" \t")))
    if len(headers) > MAX_HEADERS:
        raise HeadError(f"more than {MAX_HEADERS} response headers")
    reason = (line.group(4) or b"").decode("latin-1").strip()
    return ResponseHead(int(line.group(3)), reason, int(line.group(2)), headers)


@dataclass(frozen=True)
class Framing:
    """How a response body is delimited: ``none``, ``length`` (``length`` bytes), ``chunked`` or ``close``."""

    kind: str
    length: int = 0
    reusable: bool = True
    """Whether the connection can carry another request once the body was read whole."""


def framing(head: ResponseHead, method: str) -> Framing:
    """The body framing of ``head`` for a request of ``method`` (RFC 9112, section 6.3).

    Raises `HeadError` for a transfer coding other than chunked, and for a
    ``Content-Length`` that is not one non-negative number.
    """
    tokens = ",".join(head.values("connection")).lower()
    close = "close" in {t.strip() for t in tokens.split(",")}
    reusable = head.minor >= 1 and not close
    if method == "HEAD" or head.status in (204, 304) or head.status < 200:
        return Framing("none", reusable=reusable)
    codings = ",".join(head.values("transfer-encoding")).lower()
    if codings:
        if [c.strip() for c in codings.split(",")] != ["chunked"]:
            raise HeadError(f"unsupported transfer coding {codings!r}")
        return Framing("chunked", reusable=reusable)
    lengths = {v.strip() for value in head.values("content-length") for v in value.split(",")}
    if not lengths:
        return Framing("close", reusable=False)
    if len(lengths) > 1 or not all(v.isascii() and v.isdigit() for v in lengths):
        raise HeadError(f"invalid Content-Length {sorted(lengths)!r}")
    return Framing("length", int(lengths.pop()), reusable=reusable)
