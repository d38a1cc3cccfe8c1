"""multipart/form-data bodies (RFC 7578), built and parsed with the standard library only.

Names and filenames follow the HTML form convention that RFC 7578 section 4.2 points to:
written as quoted strings with ``"`` percent-encoded as ``%22`` and a backslash escaped as
``\\\\``. The parser reverses that, reads any other backslash literally (browsers and
urllib3 do not escape it), and understands ``filename*`` (RFC 5987).
"""

from __future__ import annotations

import os
import re
from typing import Dict, Iterable, List, Optional, Tuple
from urllib.parse import unquote

from .errors import DecodeError, EncodeError
from .http import MultipartField

_CRLF = b"\r\n"
_PROTOCOL = "multipart"
# RFC 2046 section 5.1.1: 1 to 70 characters from a restricted set.
_BOUNDARY = re.compile(r"^[0-9A-Za-z'()+_,\-./:=? ]{0,69}[0-9A-Za-z'()+_,\-./:=?]$")


def new_boundary() -> str:
    """A random boundary: 32 hex digits that cannot plausibly occur in a part."""
    return "omnillm-" + os.urandom(16).hex()


def _quote(value: str, what: str) -> str:
    # RFC 7578 section 4.2: names go in a quoted-string; CR, LF and '"' cannot appear raw.
    if "\r" in value or "\n" in value:
        raise EncodeError("multipart", what, "field names and filenames cannot contain line breaks")
    return value.replace("\\", "\\\\").replace('"', "%22")


def encode_multipart(fields: Iterable[MultipartField], boundary: str) -> bytes:
    """Serialise ``fields`` in order, each part framed by ``boundary``."""
    delimiter = b"--" + boundary.encode("ascii")
    out = bytearray()
    for f in fields:
        value = f.value.encode("utf-8") if isinstance(f.value, str) else f.value
        if delimiter in value:
            raise EncodeError("multipart", f.name, "the boundary occurs inside the part's content")
        disposition = f'form-data; name="{_quote(f.name, f.name)}"'
        if f.filename is not None:
            disposition += f'; filename="{_quote(f.filename, f.name)}"'
        out += delimiter + _CRLF
        out += b"Content-Disposition: " + disposition.encode("utf-8") + _CRLF
        if f.content_type is not None:
            out += b"Content-Type: " + f.content_type.encode("ascii") + _CRLF
        elif f.filename is not None:
            out += b"Content-Type: application/octet-stream" + _CRLF
        out += _CRLF + value + _CRLF
    out += delimiter + b"--" + _CRLF
    return bytes(out)


# --------------------------------------------------------------------------- parsing


def boundary_of(content_type: str) -> Optional[str]:
    """The ``boundary`` parameter of a ``multipart/form-data`` content type (None if absent)."""
    media, _, rest = content_type.partition(";")
    if media.strip().lower() != "multipart/form-data":
        return None
    params = _parameters(rest, "content-type")
    return params.get("boundary")


def sniff_boundary(body: bytes) -> Optional[str]:
    """The boundary of a body that starts with its first delimiter line (no preamble)."""
    if not body.startswith(b"--"):
        return None
    line, sep, _ = body[2:].partition(_CRLF)
    if not sep:
        return None
    try:
        candidate = line.decode("ascii").rstrip(" \t")
    except UnicodeDecodeError:
        return None
    return candidate if _BOUNDARY.match(candidate) else None


def _fail(path: str, problem: str) -> DecodeError:
    return DecodeError(_PROTOCOL, path, problem)


def _unescape(value: str) -> str:
    # The inverse of `_quote` (the backslash escapes are undone by the quoted-string reader).
    return value.replace("%22", '"')


def _parameters(text: str, path: str) -> Dict[str, str]:
    """``; key=value; key="quoted"`` parameters, keys lower-cased (RFC 2045 / RFC 7578)."""
    params: Dict[str, str] = {}
    i, n = 0, len(text)
    while i < n:
        while i < n and text[i] in " \t;":
            i += 1
        if i >= n:
            break
        eq = text.find("=", i)
        if eq < 0:
            raise _fail(path, f"parameter {text[i:].strip()!r} has no value")
        key = text[i:eq].strip().lower()
        i = eq + 1
        while i < n and text[i] in " \t":
            i += 1
        if i < n and text[i] == '"':
            i += 1
            chars: List[str] = []
            while True:
                if i >= n:
                    raise _fail(path, f"unterminated quoted value for {key!r}")
                c = text[i]
                # RFC 2045 quoted-pairs for '\\' and '"' only: HTML forms (and urllib3) send
                # other backslashes raw, as in a Windows path.
                if c == "\\" and i + 1 < n and text[i + 1] in '\\"':
                    chars.append(text[i + 1])
                    i += 2
                    continue
                if c == '"':
                    i += 1
                    break
                chars.append(c)
                i += 1
            value = _unescape("".join(chars))
        else:
            end = text.find(";", i)
            end = n if end < 0 else end
            value = text[i:end].strip()
            i = end
        if not key:
            raise _fail(path, "parameter without a name")
        params[key] = value
    return params


def _ext_value(value: str, path: str) -> str:
    """An RFC 5987 ``charset'lang'pct-encoded`` value (``filename*``)."""
    charset, sep, rest = value.partition("'")
    _lang, sep2, encoded = rest.partition("'")
    if not sep or not sep2:
        raise _fail(path, "filename* is not in charset'language'value form")
    try:
        return unquote(encoded, encoding=charset or "utf-8", errors="strict")
    except (LookupError, UnicodeDecodeError):
        raise _fail(path, f"filename* is not valid {charset or 'utf-8'}") from None


def _headers(block: bytes, path: str) -> Dict[str, str]:
    headers: Dict[str, str] = {}
    if not block:
        return headers
    for raw in block.split(_CRLF):
        try:
            line = raw.decode("utf-8")
        except UnicodeDecodeError:
            raise _fail(path, "a part header is not valid UTF-8") from None
        name, sep, value = line.partition(":")
        if not sep or not name.strip():
            raise _fail(path, f"malformed part header {line[:60]!r}")
        headers[name.strip().lower()] = value.strip()
    return headers


def _part(chunk: bytes, path: str) -> MultipartField:
    if chunk.startswith(_CRLF):
        block, body = b"", chunk[2:]
    else:
        block, sep, body = chunk.partition(_CRLF + _CRLF)
        if not sep:
            raise _fail(path, "part headers are not followed by a blank line")
    headers = _headers(block, path)
    disposition = headers.get("content-disposition")
    if disposition is None:
        raise _fail(path, "part has no Content-Disposition header")
    kind, _, rest = disposition.partition(";")
    if kind.strip().lower() != "form-data":
        raise _fail(path, f"Content-Disposition is {kind.strip()!r}, not form-data")
    params = _parameters(rest, path)
    name = params.get("name")
    if name is None:
        raise _fail(path, "Content-Disposition has no name")
    filename = params.get("filename")
    if "filename*" in params:
        filename = _ext_value(params["filename*"], path)
    content_type = headers.get("content-type")
    if filename is not None:
        return MultipartField(name, body, filename=filename, content_type=content_type)
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        return MultipartField(name, body, content_type=content_type)
    return MultipartField(name, text, content_type=content_type)


def decode_multipart(body: bytes, boundary: str) -> List[MultipartField]:
    """Parse a multipart/form-data ``body`` framed by ``boundary`` into its fields, in order.

    Text parts (no filename) become ``str`` values when they are valid UTF-8; file parts
    keep their bytes. Malformed framing raises `DecodeError` naming the part.
    """
    if not isinstance(body, (bytes, bytearray)):
        raise _fail("", f"expected bytes, got {type(body).__name__}")
    if not _BOUNDARY.match(boundary):
        raise _fail("", "invalid boundary (RFC 2046 allows 1 to 70 characters from a restricted set)")
    data = bytes(body)
    delimiter = b"--" + boundary.encode("ascii")
    if data.startswith(delimiter):
        pos = len(delimiter)
    else:
        # Anything before the first delimiter line is a preamble (RFC 2046) and ignored.
        found = data.find(_CRLF + delimiter)
        if found < 0:
            raise _fail("", "the boundary does not occur in the body")
        pos = found + 2 + len(delimiter)
    fields: List[MultipartField] = []
    separator = _CRLF + delimiter
    while True:
        path = f"part[{len(fields)}]"
        if data.startswith(b"--", pos):
            return fields
        line_end = data.find(_CRLF, pos)
        if line_end < 0 or data[pos:line_end].strip(b" \t"):
            raise _fail(path, "a delimiter line must end right after the boundary")
        start = line_end + 2
        end = data.find(separator, start)
        if end < 0:
            raise _fail(path, "the body ends before the closing boundary")
        fields.append(_part(data[start:end], path))
        pos = end + len(separator)


def multipart_fields_of(body: bytes, content_type: Optional[str]) -> Tuple[List[MultipartField], str]:
    """Parse ``body`` with the boundary from ``content_type`` (or sniffed from the first line).

    Returns the fields and the boundary, so that a re-encoding can reuse it.
    """
    boundary = boundary_of(content_type) if content_type else None
    if boundary is None:
        boundary = sniff_boundary(body)
    if boundary is None:
        raise _fail("", "no boundary: give a multipart/form-data content type with a boundary parameter")
    return decode_multipart(body, boundary), boundary
