"""A small ``.env`` reader: ``KEY=VALUE`` lines into a dict, and optionally into the environment.

Syntax: blank lines and ``#`` comments are skipped; ``export KEY=VALUE`` is accepted;
whitespace around the key and value is dropped; an unquoted value ends at `` #``;
``'single quotes'`` are literal; ``"double quotes"`` understand ``\\n \\t \\r \\" \\\\``
and may span lines. No variable expansion. Errors give the file and line number, never
the line itself (it may hold a secret). Nothing is logged.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Dict, List, MutableMapping, Optional, Tuple, Union

from ..errors import ConfigurationError

__all__ = ["load_dotenv", "parse_dotenv"]

_KEY = re.compile(r"[A-Za-z_][A-Za-z0-9_.]*")
_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", '"': '"', "\\": "\\", "$": "$"}


def _fail(source: str, line: int, problem: str) -> ConfigurationError:
    return ConfigurationError(f"{source}:{line}: {problem}")


def _double_quoted(text: str, start: int, source: str, line: int) -> Tuple[str, int]:
    out: List[str] = []
    i = start
    while i < len(text):
        ch = text[i]
        if ch == '"':
            return "".join(out), i + 1
        if ch == "\\" and i + 1 < len(text):
            nxt = text[i + 1]
            out.append(_ESCAPES.get(nxt, "\\" + nxt))
            i += 2
            continue
        out.append(ch)
        i += 1
    raise _fail(source, line, "unterminated double-quoted value")


def parse_dotenv(text: str, source: str = "<string>") -> Dict[str, str]:
    """The variables ``text`` defines, in order (a repeated key keeps its last value)."""
    if text.startswith("\ufeff"):
        text = text[1:]
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    values: Dict[str, str] = {}
    pos = 0
    line = 1
    while pos < len(text):
        end = text.find("\n", pos)
        end = len(text) if end < 0 else end
        raw = text[pos:end]
        start_line = line
        stripped = raw.strip()
        if not stripped or stripped.startswith("#"):
            pos, line = end + 1, line + 1
            continue
        body = stripped[len("export ") :].lstrip() if stripped.startswith("export ") else stripped
        match = _KEY.match(body)
        rest = body[match.end() :].lstrip() if match else ""
        if match is None or not rest.startswith("="):
            raise _fail(source, start_line, "expected KEY=VALUE")
        key = match.group(0)
        rest = rest[1:].lstrip()
        if rest.startswith('"'):
            # A double-quoted value may run over several lines: parse from the file text.
            # ``rest`` is a suffix of the right-stripped line, so its offset is exact.
            offset = pos + len(raw.rstrip()) - len(rest) + 1
            value, after = _double_quoted(text, offset, source, start_line)
            end = text.find("\n", after)
            end = len(text) if end < 0 else end
            trailing = text[after:end].strip()
            if trailing and not trailing.startswith("#"):
                raise _fail(source, start_line, "unexpected text after the closing quote")
            line = start_line + text.count("\n", pos, end)
        elif rest.startswith("'"):
            close = rest.find("'", 1)
            if close < 0:
                raise _fail(source, start_line, "unterminated single-quoted value")
            value = rest[1:close]
            trailing = rest[close + 1 :].strip()
            if trailing and not trailing.startswith("#"):
                raise _fail(source, start_line, "unexpected text after the closing quote")
        else:
            comment = re.search(r"\s#", rest)
            value = (rest[: comment.start()] if comment else rest).strip()
        values[key] = value
        pos, line = end + 1, line + 1
    return values


def load_dotenv(
    path: Union[str, os.PathLike[str]] = ".env",
    *,
    override: bool = False,
    missing_ok: bool = True,
    environ: Optional[MutableMapping[str, str]] = None,
) -> Dict[str, str]:
    """Read ``path`` and set its variables in ``environ`` (``os.environ`` by default).

    A variable already set in the environment keeps its value unless ``override``.
    Returns everything the file defines. A missing file gives ``{}`` when
    ``missing_ok``, else a `ConfigurationError`.
    """
    file = Path(path)
    try:
        text = file.read_text(encoding="utf-8")
    except FileNotFoundError:
        if missing_ok:
            return {}
        raise ConfigurationError(f"{file}: no such .env file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigurationError(f"{file}: cannot read ({type(exc).__name__})") from None
    values = parse_dotenv(text, str(file))
    target = os.environ if environ is None else environ
    for key, value in values.items():
        if override or key not in target:
            target[key] = value
    return values
