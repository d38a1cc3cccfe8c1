"""multipart/form-data bodies (RFC 7578), built with the standard library only."""

from __future__ import annotations

import os
from typing import Iterable

from .errors import EncodeError
from .http import MultipartField

_CRLF = b"\r\n"


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
