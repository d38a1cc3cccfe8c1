"""The mapping tables of ``docs/mapping.rst``, checked row by row against the four codecs.

The document is the specification and this module its interpreter: every ``list-table``
has a ``:name:`` whose prefix says how its rows are checked (see "How to read the tables"
in the document). Rows need no test-side data, so a row added to the document is checked
as soon as it is written; a table of an unknown kind, a header naming an unknown protocol,
a cell holding anything but checkable literals and loss codes, or a loss code missing from
the catalogue fails the test. docutils is not needed: a small reader of the list-table
syntax below parses the document (when docutils is installed, a separate test confirms that
it reads the same tables and renders the document without warnings).
"""

from __future__ import annotations

import ast
import copy
import importlib.util
import json
import re
from dataclasses import dataclass, is_dataclass
from pathlib import Path
from typing import Any, Callable, Dict, Iterator, List, Optional, Set, Tuple

import pytest

import omnillm
from omnillm import model
from omnillm.model import STOP_REASONS, LlmRequest, LlmResponse, Message
from omnillm.protocols import codec
from omnillm.protocols._common import PLAIN_STOP_VALUES
from omnillm.report import LossLog
from omnillm.stream import events_from_response
from omnillm.streaming import decode_stream, encode_stream

ROOT = Path(__file__).resolve().parents[1]
DOC = ROOT / "docs" / "mapping.rst"
PROTOCOLS_DIR = ROOT / "omnillm" / "protocols"

COLUMNS = {
    "Chat": "open_ai_chat_completions",
    "Responses": "open_ai_responses",
    "Anthropic": "anthropic_messages",
    "Gemini": "gemini_generate_content",
}
"""Header of a protocol column -> the wire format it stands for."""

NOTES = "notes"
"""A last column with this header holds free prose and is not checked."""

KINDS = ("req-encode-", "req-decode-", "resp-encode-", "resp-decode-")
STOP_DECODE = "stop-decode"
STOP_ENCODE = "stop-encode"
CATALOGUE = "loss-catalogue"

REQUIRED_TABLES = frozenset(
    {
        "req-decode-roles",
        "req-encode-roles",
        "req-decode-alternation",
        "req-encode-alternation",
        STOP_DECODE,
        STOP_ENCODE,
        "req-decode-content",
        "req-encode-content",
        "resp-decode-content",
        "resp-encode-content",
        "req-decode-tools",
        "req-encode-tools",
        "req-decode-tool-choice",
        "req-encode-tool-choice",
        "resp-decode-tool-calls",
        "req-encode-tool-calls",
        "resp-encode-tool-calls",
        "req-decode-tool-results",
        "req-encode-tool-results",
        "req-decode-output-format",
        "req-encode-output-format",
        "req-decode-reasoning",
        "req-encode-reasoning",
        "resp-decode-reasoning",
        "req-encode-reasoning-history",
        "resp-encode-reasoning",
        "req-decode-sampling",
        "req-encode-sampling",
        "resp-decode-usage",
        "resp-encode-usage",
        "req-decode-options",
        "req-encode-options",
        "resp-encode-options",
        CATALOGUE,
    }
)

# --------------------------------------------------------------------------- base values

BASE_REQUESTS: Dict[str, Dict[str, Any]] = {
    "open_ai_chat_completions": {"model": "m", "messages": [{"role": "user", "content": "hi"}]},
    "open_ai_responses": {"model": "m", "input": [{"role": "user", "content": "hi"}]},
    "anthropic_messages": {"model": "m", "max_tokens": 1000, "messages": [{"role": "user", "content": "hi"}]},
    "gemini_generate_content": {"model": "m", "contents": [{"role": "user", "parts": [{"text": "hi"}]}]},
}
"""The wire body each decode cell's assignments are applied to (quoted in the document)."""

BASE_RESPONSES: Dict[str, Dict[str, Any]] = {
    "open_ai_chat_completions": {
        "id": "r",
        "object": "chat.completion",
        "created": 1,
        "model": "m",
        "choices": [
            {"index": 0, "message": {"role": "assistant", "content": "ok", "refusal": None}, "finish_reason": "stop"}
        ],
    },
    "open_ai_responses": {
        "id": "r",
        "object": "response",
        "created_at": 1,
        "status": "completed",
        "model": "m",
        "output": [
            {
                "type": "message",
                "id": "msg_1",
                "role": "assistant",
                "status": "completed",
                "content": [{"type": "output_text", "text": "ok", "annotations": []}],
            }
        ],
    },
    "anthropic_messages": {
        "id": "r",
        "type": "message",
        "role": "assistant",
        "model": "m",
        "content": [{"type": "text", "text": "ok"}],
        "stop_reason": "end_turn",
        "stop_sequence": None,
        "usage": {"input_tokens": 1, "output_tokens": 1},
    },
    "gemini_generate_content": {
        "candidates": [{"content": {"role": "model", "parts": [{"text": "ok"}]}, "finishReason": "STOP", "index": 0}],
        "responseId": "r",
        "modelVersion": "m",
    },
}


def base_request() -> LlmRequest:
    """The canonical request each encode row's assignments are applied to."""
    return LlmRequest(model="m", messages=[Message.user("hi")], max_output_tokens=20000)


def base_response() -> LlmResponse:
    """The canonical response each encode row's assignments are applied to."""
    return LlmResponse(id="r", model="m", output=[Message.assistant("ok")])


# Names an encode row's Python expressions may use: the classes of the canonical model.
NAMESPACE: Dict[str, Any] = {
    name: value
    for name, value in vars(model).items()
    if isinstance(value, type) and value.__module__ == model.__name__ and not name.startswith("_")
}

# --------------------------------------------------------------------------- the list-table reader


@dataclass
class Table:
    """One ``list-table``: its name, header row and body rows of cell texts."""

    name: str
    line: int
    header: List[str]
    rows: List[List[str]]

    def where(self, row: int) -> str:
        """Where a row is, for failure messages."""
        return f"{DOC.name}:{self.line} table {self.name!r} row {row + 1}"


_DIRECTIVE = re.compile(r"^(\s*)\.\. list-table::")
_OPTION = re.compile(r"^:([\w-]+):\s*(.*)$")


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip(" "))


def read_tables(text: str) -> List[Table]:
    """Every ``list-table`` of an reStructuredText document (a subset of the syntax).

    Supported: ``:name:`` and ``:header-rows:`` options, rows as ``* - cell`` followed by
    ``  - cell`` lines, and cell continuation lines indented under the cell text.
    """
    lines = text.splitlines()
    tables: List[Table] = []
    i = 0
    while i < len(lines):
        match = _DIRECTIVE.match(lines[i])
        if match is None:
            i += 1
            continue
        start, base = i + 1, len(match.group(1))
        options: Dict[str, str] = {}
        i += 1
        while i < len(lines) and lines[i].strip() and _indent(lines[i]) > base:
            option = _OPTION.match(lines[i].strip())
            if option is None:
                raise AssertionError(f"{DOC.name}:{i + 1}: expected a directive option, got {lines[i]!r}")
            options[option.group(1)] = option.group(2).strip()
            i += 1
        rows: List[List[List[str]]] = []
        cell: Optional[List[str]] = None
        body = -1
        while i < len(lines) and (not lines[i].strip() or _indent(lines[i]) > base):
            line = lines[i]
            i += 1
            if not line.strip():
                continue
            if body < 0:
                body = _indent(line)
            rest = line[body:]
            if rest.startswith("* -"):
                rows.append([])
                text_ = rest[3:]
            elif rest.startswith("  -") and rows:
                text_ = rest[3:]
            elif _indent(line) >= body + 4 and cell is not None:
                cell.append(line.strip())
                continue
            else:
                raise AssertionError(f"{DOC.name}:{i}: unexpected line in list-table: {line!r}")
            if text_ and not text_.startswith(" "):
                raise AssertionError(f"{DOC.name}:{i}: a list item needs a space after '-': {line!r}")
            cell = [text_.strip()]
            rows[-1].append(cell)
        cells = [[" ".join(part for part in c if part) for c in row] for row in rows]
        name = options.get("name")
        if not name:
            raise AssertionError(f"{DOC.name}:{start}: every list-table needs a :name: (its kind)")
        if options.get("header-rows") != "1":
            raise AssertionError(f"{DOC.name}:{start}: table {name!r} needs ':header-rows: 1'")
        if not cells or any(len(r) != len(cells[0]) for r in cells):
            raise AssertionError(f"{DOC.name}:{start}: table {name!r} has rows of different lengths")
        tables.append(Table(name, start, cells[0], cells[1:]))
    return tables


# --------------------------------------------------------------------------- cells

_LITERAL = re.compile(r"``(.+?)``")
_CODE = re.compile(r"^L-[A-Z0-9]+(?:-[A-Z0-9]+)*$")
NOTHING = "—"
"""A cell holding only this dash: the protocol has no such wire form (decode tables)."""


@dataclass
class Cell:
    """A checked cell: its inline literals, its loss codes, and whether it is a dash."""

    literals: List[str]
    codes: Set[str]
    nothing: bool


def parse_cell(text: str, where: str) -> Cell:
    """Split a checked cell into literals and loss codes; anything else is an error."""
    literals = [m.strip() for m in _LITERAL.findall(text)]
    rest = _LITERAL.sub(" ", text)
    codes: Set[str] = set()
    nothing = False
    for token in re.split(r"[\s,;+]+", rest):
        if not token:
            continue
        if _CODE.match(token):
            codes.add(token)
        elif token == NOTHING:
            nothing = True
        else:
            raise AssertionError(f"{where}: stray text {token!r} in a checked cell (prose goes in a notes column)")
    if nothing and (literals or codes):
        raise AssertionError(f"{where}: a {NOTHING} cell must hold nothing else")
    return Cell(literals, codes, nothing)


# --------------------------------------------------------------------------- paths

_STEP = re.compile(r"\.?([A-Za-z_][A-Za-z0-9_]*)|\[(-?\d+)\]")
MISSING = object()


def parse_path(path: str, where: str) -> List[Any]:
    """``a.b[0].c`` as ``["a", "b", 0, "c"]``."""
    steps: List[Any] = []
    pos = 0
    while pos < len(path):
        match = _STEP.match(path, pos)
        if match is None or (pos == 0 and path.startswith(".")):
            raise AssertionError(f"{where}: cannot read path {path!r}")
        steps.append(match.group(1) if match.group(1) is not None else int(match.group(2)))
        pos = match.end()
    if not steps:
        raise AssertionError(f"{where}: empty path")
    return steps


def _step(value: Any, step: Any) -> Any:
    if isinstance(step, int):
        if isinstance(value, list) and -len(value) <= step < len(value):
            return value[step]
        return MISSING
    if isinstance(value, dict):
        return value.get(step, MISSING)
    if is_dataclass(value) and not isinstance(value, type):
        return getattr(value, step, MISSING)
    return MISSING


def resolve(root: Any, steps: List[Any]) -> Any:
    """The value at ``steps`` in a wire dict or canonical object, or `MISSING`."""
    value = root
    for step in steps:
        value = _step(value, step)
        if value is MISSING:
            return MISSING
    return value


def assign(root: Any, steps: List[Any], value: Any, where: str) -> None:
    """Set the value at ``steps``, creating objects on the way (``[len]`` appends)."""
    target = root
    for step, following in zip(steps, steps[1:]):
        nxt = _step(target, step)
        if nxt is MISSING or nxt is None:
            if not isinstance(target, dict):
                raise AssertionError(f"{where}: cannot create {step!r} in {type(target).__name__}")
            nxt = [] if isinstance(following, int) else {}
            target[step] = nxt
        target = nxt
    last = steps[-1]
    if isinstance(target, list) and isinstance(last, int):
        if last == len(target):
            target.append(value)
        elif -len(target) <= last < len(target):
            target[last] = value
        else:
            raise AssertionError(f"{where}: index {last} out of range")
    elif isinstance(target, dict) and isinstance(last, str):
        target[last] = value
    elif is_dataclass(target) and isinstance(last, str) and hasattr(target, last):
        setattr(target, last, value)
    else:
        raise AssertionError(f"{where}: cannot set {last!r} on {type(target).__name__}")


def delete(root: Any, steps: List[Any], where: str) -> None:
    """Remove the key at ``steps`` from a wire dict."""
    parent = resolve(root, steps[:-1]) if len(steps) > 1 else root
    if not isinstance(parent, dict) or steps[-1] not in parent:
        raise AssertionError(f"{where}: nothing to delete at {steps!r}")
    del parent[steps[-1]]


def same(actual: Any, expected: Any) -> bool:
    """JSON equality that tells booleans from numbers and integers from floats."""
    if type(actual) is not type(expected):
        return False
    if isinstance(expected, dict):
        return actual.keys() == expected.keys() and all(same(actual[k], v) for k, v in expected.items())
    if isinstance(expected, list):
        return len(actual) == len(expected) and all(same(a, e) for a, e in zip(actual, expected))
    return bool(actual == expected)


# --------------------------------------------------------------------------- statements


def _split(statement: str, where: str) -> Tuple[str, str, str]:
    """(path, operator, operand) of ``path = value``, ``path is Type`` or ``path absent``."""
    if statement.endswith(" absent"):
        return statement[: -len(" absent")].strip(), "absent", ""
    for op in (" = ", " is "):
        if op in statement:
            path, _, operand = statement.partition(op)
            return path.strip(), op.strip(), operand.strip()
    raise AssertionError(f"{where}: expected 'path = value', 'path is Type' or 'path absent', got {statement!r}")


def _json(text: str, where: str) -> Any:
    try:
        return json.loads(text)
    except ValueError as exc:
        raise AssertionError(f"{where}: {text!r} is not JSON ({exc})") from None


def check_statement(root: Any, statement: str, where: str) -> None:
    """Assert one ``path = json`` / ``path is Type`` / ``path absent`` statement about ``root``."""
    path, op, operand = _split(statement, where)
    actual = resolve(root, parse_path(path, where))
    if op == "absent":
        assert actual is MISSING or actual is None, f"{where}: expected {path} absent, got {actual!r}"
        return
    assert actual is not MISSING, f"{where}: {path} is absent ({statement!r})"
    if op == "is":
        kind = NAMESPACE.get(operand)
        assert kind is not None, f"{where}: unknown canonical type {operand!r}"
        assert isinstance(actual, kind), f"{where}: {path} is a {type(actual).__name__}, not {operand}"
        return
    expected = _json(operand, where)
    assert same(actual, expected), f"{where}: {path} is {json.dumps(actual)}, expected {operand}"


def apply_wire(body: Dict[str, Any], statement: str, where: str) -> None:
    """Apply one ``path = json`` / ``path absent`` assignment to a wire body."""
    path, op, operand = _split(statement, where)
    steps = parse_path(path, where)
    if op == "absent":
        delete(body, steps, where)
    elif op == "=":
        assign(body, steps, _json(operand, where), where)
    else:
        raise AssertionError(f"{where}: 'is' does not assign")


def apply_canonical(obj: Any, statement: str, where: str) -> None:
    """Apply one ``path = <Python expression over the model classes>`` to a canonical object."""
    path, op, operand = _split(statement, where)
    if op != "=":
        raise AssertionError(f"{where}: canonical inputs are assignments, got {statement!r}")
    try:
        # Our own document, evaluated without builtins: only the model classes are in scope.
        value = eval(operand, {"__builtins__": {}}, dict(NAMESPACE))
    except Exception as exc:  # any mistake in the document is a test failure
        raise AssertionError(f"{where}: cannot evaluate {operand!r}: {exc!r}") from None
    assign(obj, parse_path(path, where), value, where)


# --------------------------------------------------------------------------- losses


def _codes(losses: LossLog) -> Set[str]:
    return {loss.code for loss in losses.entries}


def _loss_text(losses: LossLog) -> str:
    return "; ".join(str(loss) for loss in losses.entries) or "none"


def check_losses(losses: LossLog, expected: Set[str], where: str) -> None:
    """The reported loss codes must be exactly those the cell names (none: a lossless cell)."""
    got = _codes(losses)
    assert got == expected, (
        f"{where}: losses {sorted(got)} but the table says {sorted(expected)} ({_loss_text(losses)})"
    )


# --------------------------------------------------------------------------- table checkers


def _protocol_columns(table: Table) -> List[Tuple[int, str]]:
    header = table.header
    last = len(header) - 1 if header[-1] == NOTES else len(header)
    columns = []
    for i in range(1, last):
        fmt = COLUMNS.get(header[i])
        assert fmt is not None, f"{DOC.name} table {table.name!r}: unknown protocol column {header[i]!r}"
        columns.append((i, fmt))
    assert {fmt for _, fmt in columns} == set(COLUMNS.values()), (
        f"{DOC.name} table {table.name!r}: needs one column per protocol {sorted(COLUMNS)}"
    )
    return columns


def _key_cell(table: Table, row: int) -> Cell:
    where = table.where(row) + " (first column)"
    cell = parse_cell(table.rows[row][0], where)
    assert cell.literals and not cell.codes and not cell.nothing, f"{where}: needs literals only"
    return cell


def check_encode_row(table: Table, row: int, response: bool) -> None:
    """Encode the canonical value of column one into each protocol; check the cells."""
    key = _key_cell(table, row)
    for col, fmt in _protocol_columns(table):
        where = f"{table.where(row)} column {table.header[col]}"
        cell = parse_cell(table.rows[row][col], where)
        assert not cell.nothing, f"{where}: every canonical value encodes to something; say what"
        value: Any = base_response() if response else base_request()
        for statement in key.literals:
            apply_canonical(value, statement, where)
        losses = LossLog(fmt)
        module = codec(fmt)
        out = module.encode_response(value, losses) if response else module.encode_request(value, losses)
        for statement in cell.literals:
            check_statement(out, statement, where)
        check_losses(losses, cell.codes, where)


def check_decode_row(table: Table, row: int, response: bool) -> None:
    """Decode each protocol's wire form and check column one; the round trip must be exact."""
    key = _key_cell(table, row)
    checked = 0
    for col, fmt in _protocol_columns(table):
        where = f"{table.where(row)} column {table.header[col]}"
        cell = parse_cell(table.rows[row][col], where)
        if cell.nothing:
            continue
        checked += 1
        body = copy.deepcopy((BASE_RESPONSES if response else BASE_REQUESTS)[fmt])
        for statement in cell.literals:
            apply_wire(body, statement, where)
        wire = copy.deepcopy(body)
        module = codec(fmt)
        value = module.decode_response(wire) if response else module.decode_request(wire)
        for statement in key.literals:
            check_statement(value, statement, where)
        losses = LossLog(fmt)
        back = module.encode_response(value, losses) if response else module.encode_request(value, losses)
        assert back == body, f"{where}: decode then encode changed the body:\n{back}\n!=\n{body}"
        check_losses(losses, cell.codes, where + " (round trip)")
    assert checked, f"{table.where(row)}: a decode row needs at least one wire form"


# ----------------------------------------------------------------- stop reasons

# Where each protocol keeps its stop reason, and how a stop-decode cell's value is written
# into a response body ("completed:reason" is Responses' status plus incomplete reason).


def _stop_body(fmt: str, value: Optional[str], context: Optional[str], where: str) -> Dict[str, Any]:
    body = copy.deepcopy(BASE_RESPONSES[fmt])
    call = {"id": "call_1", "name": "f"}
    if fmt == "open_ai_chat_completions":
        choice = body["choices"][0]
        choice["finish_reason"] = value
        if context == "refusal":
            choice["message"]["refusal"] = "no"
        elif context is not None:
            raise AssertionError(f"{where}: unknown Chat context {context!r}")
    elif fmt == "open_ai_responses":
        status, _, reason = (value or "").partition(":")
        if value is None:
            del body["status"]
        else:
            body["status"] = status
        if reason:
            body["incomplete_details"] = {"reason": reason}
        if context == "function_call":
            body["output"].append({"type": "function_call", "call_id": "call_1", "name": "f", "arguments": "{}"})
        elif context == "custom_tool_call":
            body["output"].append({"type": "custom_tool_call", "call_id": "call_1", "name": "c", "input": "x"})
        elif context == "refusal":
            body["output"][0]["content"] = [{"type": "refusal", "refusal": "no"}]
        elif context is not None:
            raise AssertionError(f"{where}: unknown Responses context {context!r}")
    elif fmt == "anthropic_messages":
        body["stop_reason"] = value
        if context is not None:
            raise AssertionError(f"{where}: unknown Anthropic context {context!r}")
    else:
        if context == "blocked prompt":
            del body["candidates"]
            body["promptFeedback"] = {"blockReason": value}
            return body
        candidate = body["candidates"][0]
        if value is None:
            del candidate["finishReason"]
        else:
            candidate["finishReason"] = value
        if context == "functionCall":
            candidate["content"]["parts"].append({"functionCall": {**call, "args": {}}})
        elif context is not None:
            raise AssertionError(f"{where}: unknown Gemini context {context!r}")
    return body


UNLISTED = "unlisted_value"
"""What a ``*`` cell value (any value the codec does not know) is tested with."""


def _stop_value(literal: str) -> Tuple[Optional[str], Optional[str]]:
    """(wire value, context) of ``value`` or ``value + context``; ``null`` is None, ``*`` `UNLISTED`."""
    value, _, context = literal.partition(" + ")
    value = value.strip()
    wire = None if value == "null" else UNLISTED if value == "*" else value
    return wire, context.strip() or None


def _decoded_stop_values(table: Table) -> Dict[str, Set[str]]:
    seen: Dict[str, Set[str]] = {fmt: set() for fmt in COLUMNS.values()}
    for row in range(len(table.rows)):
        for col, fmt in _protocol_columns(table):
            cell = parse_cell(table.rows[row][col], table.where(row))
            for literal in cell.literals:
                seen[fmt].add(literal.partition(" + ")[0].strip())
    return seen


def check_stop_decode_row(table: Table, row: int) -> None:
    """Each listed wire value decodes to the row's reason and (but ``null``, ``*``) encodes back as itself."""
    key = _key_cell(table, row)
    assert len(key.literals) == 1 and key.literals[0] in STOP_REASONS, (
        f"{table.where(row)}: the first column names one canonical stop reason"
    )
    canonical = key.literals[0]
    for col, fmt in _protocol_columns(table):
        where = f"{table.where(row)} column {table.header[col]}"
        cell = parse_cell(table.rows[row][col], where)
        assert not cell.codes, f"{where}: no loss codes in a decode table"
        for literal in cell.literals:
            wire, context = _stop_value(literal)
            body = _stop_body(fmt, wire, context, f"{where} {literal!r}")
            response = codec(fmt).decode_response(copy.deepcopy(body))
            assert response.stop_reason == canonical, (
                f"{where}: {literal!r} decodes to {response.stop_reason!r}, not {canonical!r}"
            )
            assert response.raw_stop_reason == wire, f"{where}: raw_stop_reason {response.raw_stop_reason!r}"
            if wire is None or wire == UNLISTED:
                continue  # read leniently; the document says how they are written back
            losses = LossLog(fmt)
            back = codec(fmt).encode_response(response, losses)
            assert back == body, f"{where}: {literal!r} does not survive decode then encode:\n{back}\n!=\n{body}"
            check_losses(losses, set(), f"{where} {literal!r} (round trip)")


_STOP_FIELDS: Dict[str, Callable[[Dict[str, Any]], Any]] = {
    "open_ai_chat_completions": lambda out: out["choices"][0]["finish_reason"],
    "open_ai_responses": lambda out: (
        out["status"] + (":" + out["incomplete_details"]["reason"] if out.get("incomplete_details") else "")
    ),
    "anthropic_messages": lambda out: out["stop_reason"],
    "gemini_generate_content": lambda out: out["candidates"][0]["finishReason"],
}


def check_stop_encode_row(table: Table, row: int) -> None:
    """The canonical response of column one encodes to each cell's stop value and losses."""
    key = _key_cell(table, row)
    for col, fmt in _protocol_columns(table):
        where = f"{table.where(row)} column {table.header[col]}"
        cell = parse_cell(table.rows[row][col], where)
        assert len(cell.literals) == 1, f"{where}: name exactly one wire value"
        response = base_response()
        for statement in key.literals:
            apply_canonical(response, statement, where)
        losses = LossLog(fmt)
        out = codec(fmt).encode_response(response, losses)
        got = _STOP_FIELDS[fmt](out)
        assert got == cell.literals[0], f"{where}: encodes to {got!r}, not {cell.literals[0]!r}"
        check_losses(losses, cell.codes, where)


# ----------------------------------------------------------------- loss catalogue

_EMITTED = re.compile(r'"(L-[A-Z0-9]+(?:-[A-Z0-9]+)*)"')


def emitted_codes() -> Dict[str, Set[str]]:
    """Every loss-code string literal in ``omnillm/protocols/*.py``: code -> module names."""
    found: Dict[str, Set[str]] = {}
    for path in sorted(PROTOCOLS_DIR.glob("*.py")):
        for code in _EMITTED.findall(path.read_text(encoding="utf-8")):
            found.setdefault(code, set()).add(path.stem)
    return found


def check_catalogue(table: Table) -> None:
    """The catalogue lists exactly the codes the codecs emit, each with the modules emitting it."""
    assert table.header == ["code", "meaning", "emitted by"], f"{DOC.name} table {CATALOGUE!r}: bad header"
    emitted = emitted_codes()
    listed: Dict[str, Set[str]] = {}
    for row, cells in enumerate(table.rows):
        where = table.where(row)
        code = cells[0].strip()
        assert _CODE.match(code), f"{where}: {code!r} is not a loss code"
        assert code not in listed, f"{where}: {code} is listed twice"
        assert cells[1].strip(), f"{where}: {code} needs a meaning"
        emitters = parse_cell(cells[2], where)
        assert not emitters.codes and not emitters.nothing, f"{where}: name modules as literals"
        listed[code] = set(emitters.literals)
    missing = sorted(set(emitted) - set(listed))
    assert not missing, f"codes emitted by omnillm/protocols but missing from the catalogue: {missing}"
    stale = sorted(set(listed) - set(emitted))
    assert not stale, f"catalogue codes that no module in omnillm/protocols emits: {stale}"
    for code, modules in listed.items():
        assert modules == emitted[code], (
            f"catalogue row {code}: emitted by {sorted(emitted[code])}, the table says {sorted(modules)}"
        )


# --------------------------------------------------------------------------- collection


def _load() -> Tuple[List[Table], Optional[str]]:
    """The document's tables, or the reason they cannot be read (reported by a test, not at collection)."""
    try:
        return read_tables(DOC.read_text(encoding="utf-8")), None
    except (OSError, AssertionError) as exc:
        return [], str(exc)


TABLES, READ_ERROR = _load()


def _kind(name: str) -> str:
    if name in (STOP_DECODE, STOP_ENCODE, CATALOGUE):
        return name
    for kind in KINDS:
        if name.startswith(kind):
            return kind
    raise AssertionError(f"{DOC.name}: table {name!r} is of no known kind ({', '.join(KINDS)}, ...)")


def _row_cases() -> Iterator[Any]:
    for table in TABLES:
        try:
            kind = _kind(table.name)
        except AssertionError:
            continue  # test_every_table_is_known_and_named_once reports it
        if kind == CATALOGUE:
            continue
        for row in range(len(table.rows)):
            yield pytest.param(table, row, id=f"{table.name}:{row + 1}")


def test_the_document_can_be_read() -> None:
    assert READ_ERROR is None, READ_ERROR


def test_every_table_is_known_and_named_once() -> None:
    names = [t.name for t in TABLES]
    assert len(names) == len(set(names)), f"duplicate table names: {sorted(n for n in names if names.count(n) > 1)}"
    for name in names:
        _kind(name)
    missing = sorted(REQUIRED_TABLES - set(names))
    assert not missing, f"tables missing from {DOC.name}: {missing}"


@pytest.mark.parametrize("table, row", list(_row_cases()))
def test_row(table: Table, row: int) -> None:
    kind = _kind(table.name)
    if kind == STOP_DECODE:
        check_stop_decode_row(table, row)
    elif kind == STOP_ENCODE:
        check_stop_encode_row(table, row)
    elif kind.endswith("-encode-"):
        check_encode_row(table, row, response=kind.startswith("resp"))
    else:
        check_decode_row(table, row, response=kind.startswith("resp"))


def _table(name: str) -> Table:
    for table in TABLES:
        if table.name == name:
            return table
    raise AssertionError(f"{DOC.name} has no table {name!r}")


def test_loss_catalogue_matches_the_codecs() -> None:
    check_catalogue(_table(CATALOGUE))


def test_every_loss_code_in_the_tables_is_catalogued() -> None:
    catalogued = {row[0].strip() for row in _table(CATALOGUE).rows}
    for table in TABLES:
        if table.name == CATALOGUE:
            continue
        for row, cells in enumerate(table.rows):
            checked = cells[:-1] if table.header[-1] == NOTES else cells
            for text in checked:
                unknown = parse_cell(text, table.where(row)).codes - catalogued
                assert not unknown, f"{table.where(row)}: codes {sorted(unknown)} are not in the catalogue"


def test_stop_decode_rows_are_the_canonical_reasons() -> None:
    table = _table(STOP_DECODE)
    keys = [_key_cell(table, row).literals[0] for row in range(len(table.rows))]
    assert sorted(keys) == sorted(STOP_REASONS), f"stop-decode rows {keys} != canonical reasons {STOP_REASONS}"


def test_stop_encode_rows_cover_every_canonical_reason() -> None:
    table = _table(STOP_ENCODE)
    covered = set()
    for row in range(len(table.rows)):
        response = base_response()
        for statement in _key_cell(table, row).literals:
            apply_canonical(response, statement, table.where(row))
        covered.add(response.stop_reason)
    assert covered == set(STOP_REASONS), f"stop-encode misses {sorted(set(STOP_REASONS) - covered)}"


def _sdk_file(package: str, relative: str) -> Path:
    """A source file of an installed SDK, found without importing the SDK (that takes seconds)."""
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        pytest.skip(f"{package} is not installed")
    path = Path(next(iter(spec.submodule_search_locations))) / relative
    if not path.is_file():
        pytest.skip(f"{package} has no {relative} (the SDK layout changed)")
    return path


def _declared(path: Path, owner: Optional[str], name: Optional[str]) -> Set[str]:
    """The strings an SDK file declares: ``Literal[...]`` of ``owner.name``, or the enum ``owner``."""
    body: List[ast.stmt] = ast.parse(path.read_text(encoding="utf-8")).body
    if owner is not None:
        body = next(n.body for n in body if isinstance(n, ast.ClassDef) and n.name == owner)
    found: Set[str] = set()
    for node in body:
        if name is None and isinstance(node, ast.Assign) and isinstance(node.value, ast.Constant):
            found.add(str(node.value.value))
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name) and node.target.id == name:
            for part in (node.annotation, node.value):
                if part is not None:
                    found |= {
                        c.value for c in ast.walk(part) if isinstance(c, ast.Constant) and isinstance(c.value, str)
                    }
    assert found, f"{path}: no values declared for {owner}.{name}"
    return found


def _sdk_stop_values() -> Dict[str, Set[str]]:
    """Every stop value the official SDKs declare (Responses as ``status`` / ``incomplete:reason``)."""
    chat = _sdk_file("openai", "types/chat/chat_completion.py")
    statuses = _declared(_sdk_file("openai", "types/responses/response_status.py"), None, "ResponseStatus")
    reasons = _declared(_sdk_file("openai", "types/responses/response.py"), "IncompleteDetails", "reason")
    return {
        "open_ai_chat_completions": _declared(chat, "Choice", "finish_reason"),
        "open_ai_responses": (statuses - {"incomplete"}) | {f"incomplete:{r}" for r in reasons},
        "anthropic_messages": _declared(_sdk_file("anthropic", "types/stop_reason.py"), None, "StopReason"),
        "gemini_generate_content": _declared(_sdk_file("google.genai", "types.py"), "FinishReason", None),
    }


def test_stop_decode_lists_every_value_the_sdks_declare() -> None:
    seen = _decoded_stop_values(_table(STOP_DECODE))
    for fmt, values in _sdk_stop_values().items():
        missing = sorted(values - seen[fmt])
        assert not missing, f"stop-decode does not say what {fmt} values {missing} decode to"


_BASE_BULLET = re.compile(r"^\* (\w+) (request|response) ``(.+)``$")
_BASE_EXPRESSION = re.compile(r"^    ((?:LlmRequest|LlmResponse)\(.*\))$")


def test_the_documented_base_values_are_the_ones_used() -> None:
    lines = DOC.read_text(encoding="utf-8").splitlines()
    bullets: List[List[str]] = []
    for line in lines:
        if line.startswith("* "):
            bullets.append([line])
        elif bullets and line.startswith("  ") and line.strip() and not line.startswith("   "):
            bullets[-1].append(line.strip())
    wire: Dict[Tuple[str, str], Any] = {}
    for bullet in bullets:
        match = _BASE_BULLET.match(" ".join(bullet))
        if match is not None and match.group(1) in COLUMNS:
            wire[(COLUMNS[match.group(1)], match.group(2))] = json.loads(match.group(3))
    expected = {(fmt, "request"): body for fmt, body in BASE_REQUESTS.items()}
    expected.update({(fmt, "response"): body for fmt, body in BASE_RESPONSES.items()})
    assert wire == expected
    canonical = [
        eval(m.group(1), {"__builtins__": {}}, dict(NAMESPACE)) for m in map(_BASE_EXPRESSION.match, lines) if m
    ]
    assert canonical == [base_request(), base_response()]


def test_reader_rejects_what_it_cannot_check() -> None:
    with pytest.raises(AssertionError, match="stray text"):
        parse_cell("``a = 1`` sent as", "here")
    with pytest.raises(AssertionError, match="needs a :name:"):
        read_tables(".. list-table::\n   :header-rows: 1\n\n   * - a\n")
    with pytest.raises(AssertionError, match="no known kind"):
        _kind("roles-table")
    table = read_tables(
        ".. list-table::\n   :name: req-encode-x\n   :header-rows: 1\n\n"
        "   * - canonical\n     - Chatty\n   * - ``x = 1``\n     - ``y\n       = 2``\n"
    )[0]
    assert table.header == ["canonical", "Chatty"] and table.rows == [["``x = 1``", "``y = 2``"]]
    with pytest.raises(AssertionError, match="unknown protocol column"):
        _protocol_columns(table)


def test_the_checks_can_fail() -> None:
    with pytest.raises(AssertionError, match="expected"):
        check_statement({"a": [1]}, "a[0] = true", "here")
    with pytest.raises(AssertionError, match="absent"):
        check_statement({"a": 1}, "b = 1", "here")
    losses = LossLog("x")
    losses.add("L-SEED", "seed", "dropped")
    with pytest.raises(AssertionError, match="losses"):
        check_losses(losses, set(), "here")


def test_docutils_reads_the_same_tables() -> None:
    core = pytest.importorskip("docutils.core")
    from docutils import nodes  # type: ignore[import-untyped]

    settings = {"halt_level": 2, "report_level": 2, "warning_stream": False}
    tree = core.publish_doctree(DOC.read_text(encoding="utf-8"), settings_overrides=settings)
    seen: Dict[str, List[List[str]]] = {}
    for node in tree.findall(nodes.table):
        name = node["names"][0]
        rows = [[" ".join(entry.astext().split()) for entry in r.findall(nodes.entry)] for r in node.findall(nodes.row)]
        seen[name] = rows
    for table in TABLES:
        mine = [[" ".join(_LITERAL.sub(r"\1", c).split()) for c in r] for r in [table.header, *table.rows]]
        assert seen.get(table.name) == mine, f"docutils reads table {table.name!r} differently"


# --------------------------------------------------------------------------- finer stop reasons


def _stop_response(stop: str, raw: Optional[str] = None) -> Any:
    from omnillm.model import RefusalPart, TextPart, ToolCallPart, Usage

    output: List[Any] = [Message("assistant", [TextPart("hi")])]
    if stop == "tool_use":
        output.append(ToolCallPart(id="call_1", name="f", arguments="{}"))
    if stop == "refusal":
        output = [Message("assistant", [RefusalPart("no")])]
    return LlmResponse(id="r1", model="m", output=output, stop_reason=stop, raw_stop_reason=raw, usage=Usage(1, 1))


_GENERATION = [
    "open_ai_chat_completions",
    "open_ai_responses",
    "anthropic_messages",
    "gemini_generate_content",
    "bedrock_converse",
]


@pytest.mark.parametrize("stop", list(STOP_REASONS))
@pytest.mark.parametrize("fmt", _GENERATION)
def test_what_each_codec_writes_for_a_stop_reason_is_a_plain_value(fmt: str, stop: str) -> None:
    # The decoder keeps the wire value as raw_stop_reason: that is what the encoder wrote.
    written = codec(fmt).decode_response(codec(fmt).encode_response(_stop_response(stop))).raw_stop_reason
    assert written in PLAIN_STOP_VALUES[stop]


# Raw values that say more than their canonical stop reason, with the protocol they come from.
FINER = [
    ("gemini_generate_content", "content_filter", "SPII"),
    ("gemini_generate_content", "content_filter", "RECITATION"),
    ("gemini_generate_content", "error", "MALFORMED_FUNCTION_CALL"),
    ("bedrock_converse", "content_filter", "guardrail_intervened"),
    ("bedrock_converse", "max_tokens", "model_context_window_exceeded"),
    ("bedrock_converse", "error", "malformed_tool_use"),
    ("anthropic_messages", "max_tokens", "model_context_window_exceeded"),
    ("open_ai_responses", "other", "incomplete:max_messages"),
]


def _granularity(entries: Any) -> List[str]:
    return [str(e) for e in entries if "L-FINISH-GRANULARITY" in str(e) or "L-FINISH-PAUSE" in str(e)]


@pytest.mark.parametrize("target", _GENERATION)
@pytest.mark.parametrize("source, stop, raw", FINER)
def test_a_finer_stop_reason_that_a_target_drops_is_reported(source: str, stop: str, raw: str, target: str) -> None:
    response = _stop_response(stop, raw)
    losses = LossLog(target)
    wire = codec(target).encode_response(response, losses)
    kept = codec(target).decode_response(wire).raw_stop_reason == raw
    assert kept or _granularity(losses.entries), f"{raw!r} dropped by {target} without a loss"
    if target == source:
        assert kept, f"{target} keeps its own value {raw!r}"
    stream_losses = LossLog(target)
    frames = list(encode_stream(events_from_response(response), target, losses=stream_losses))
    chunks = [f if isinstance(f, bytes) else f.encode() for f in frames]
    acc_raw = None
    try:
        for event in decode_stream(chunks, target):
            acc_raw = getattr(event, "raw_stop_reason", acc_raw)
    except omnillm.ProviderStreamError:
        assert stop == "error"  # a Responses stream says "error" with response.failed
    assert acc_raw == raw or _granularity(stream_losses.entries), f"{raw!r} dropped by the {target} stream silently"


@pytest.mark.parametrize("target", _GENERATION)
@pytest.mark.parametrize("stop", ["end_turn", "max_tokens", "content_filter"])
def test_a_plain_stop_reason_from_another_protocol_is_no_loss(stop: str, target: str) -> None:
    for raw in sorted(PLAIN_STOP_VALUES[stop]):
        losses = LossLog(target)
        codec(target).encode_response(_stop_response(stop, raw), losses)
        if stop == "content_filter" and target == "anthropic_messages":
            continue  # no content_filter there at all: reported whatever the raw value
        assert not _granularity(losses.entries), (raw, losses.entries)
