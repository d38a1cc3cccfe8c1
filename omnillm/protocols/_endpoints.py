"""Helpers shared by the non-generation codecs (embeddings, images, audio, rerank)."""

from __future__ import annotations

from typing import Any, Callable, FrozenSet, List, Optional, Sequence

from ..errors import EncodeError, OmniLLMError
from ..model import Extensions
from ..report import LossLog
from ._common import Obj, Reader, describe, index, join

#: Prefix of extension keys that are shape hints rather than wire fields.
HINT = "~"


def unknown(d: Obj, known: FrozenSet[str]) -> Obj:
    """The fields of ``d`` without a canonical slot, plus known fields given as explicit null.

    Keeping ``"url": null`` lets the same format write the null back, so that a decoded
    body re-encodes to exactly the input.
    """
    return {k: v for k, v in d.items() if k not in known or v is None}


def own(extensions: Extensions, protocol: str) -> Obj:
    """This protocol's extension fields (empty when none)."""
    return extensions.get(protocol) or {}


def restore(out: Obj, extensions: Extensions, protocol: str, losses: LossLog, path: str) -> None:
    """Write back this protocol's extension fields; report other protocols' as lost.

    Fields already in ``out`` win. Keys starting with ``~`` are shape hints, not wire
    fields: the codec that wrote them reads them itself, and they are never reported.
    Another protocol's explicit nulls carry no information and are not reported either.
    """
    for proto, fields in extensions.items():
        if proto == protocol:
            for k, v in fields.items():
                if not k.startswith(HINT):
                    out.setdefault(k, v)
            continue
        names = sorted(k for k, v in fields.items() if v is not None and not k.startswith(HINT))
        if names:
            losses.add("L-EXTENSION", path, f"{proto} field(s) {', '.join(names)} have no equivalent in {protocol}")


def read_model(r: Reader, d: Obj) -> str:
    """The required, non-empty ``model`` of a request body (what `require_model` asks on the way out)."""
    model = r.req_str(d, "model", "")
    if not model:
        raise r.fail("model", "a model is required")
    return model


def require_model(model: str, protocol: str) -> str:
    """``model`` itself; raise `EncodeError` when it is not a string or empty and the format needs one."""
    if not isinstance(model, str):
        raise EncodeError(protocol, "model", f"expected a string, got {describe(model)}")
    if not model:
        raise EncodeError(protocol, "model", "a model is required")
    return model


def req_number(r: Reader, d: Obj, key: str, path: str) -> float:
    """A required JSON number."""
    value = r.opt_num(d, key, path)
    if value is None:
        raise r.fail(join(path, key), "required field is missing")
    return value


def _listed(choices: Sequence[str]) -> str:
    return ", ".join(repr(c) for c in choices)


class Check:
    """Validation of canonical field values for one protocol, raising `EncodeError` with a path.

    The decoders use the same rules with ``error=DecodeError`` (the types are already
    right there; ranges, choices and emptiness are not), so that whatever decodes also
    encodes. ``None`` always passes an ``opt_*`` check: it means "not set".
    """

    __slots__ = ("error", "protocol")

    def __init__(self, protocol: str, error: Callable[[str, str, str], OmniLLMError] = EncodeError) -> None:
        self.protocol = protocol
        self.error = error

    def fail(self, path: str, problem: str) -> OmniLLMError:
        """Build (not raise) the error for ``path``."""
        return self.error(self.protocol, path, problem)

    def req_text(self, value: Any, path: str) -> str:
        """A required, non-empty string."""
        if not isinstance(value, str):
            if value is None:
                raise self.fail(path, "required field is missing")
            raise self.fail(path, f"expected a string, got {describe(value)}")
        if not value:
            raise self.fail(path, "must not be empty")
        return value

    def opt_text(self, value: Any, path: str) -> Optional[str]:
        """A string or None."""
        if value is None or isinstance(value, str):
            return value
        raise self.fail(path, f"expected a string, got {describe(value)}")

    def opt_choice(self, value: Any, path: str, choices: Sequence[str]) -> Optional[str]:
        """None or one of ``choices``."""
        if value is None or (isinstance(value, str) and value in choices):
            return value
        got = repr(value) if isinstance(value, str) else describe(value)
        raise self.fail(path, f"expected one of {_listed(choices)}, got {got}")

    def opt_int(
        self, value: Any, path: str, minimum: Optional[int] = None, maximum: Optional[int] = None
    ) -> Optional[int]:
        """None or an integer (not a boolean, not a float) within the bounds given."""
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, int):
            raise self.fail(path, f"expected an integer, got {describe(value)}")
        if minimum is not None and value < minimum:
            bound = f"between {minimum} and {maximum}" if maximum is not None else f"at least {minimum}"
            raise self.fail(path, f"must be {bound}, got {value}")
        if maximum is not None and value > maximum:
            bound = f"between {minimum} and {maximum}" if minimum is not None else f"at most {maximum}"
            raise self.fail(path, f"must be {bound}, got {value}")
        return value

    def opt_number(self, value: Any, path: str, minimum: float, maximum: float) -> Optional[float]:
        """None or a finite number (not a boolean) from ``minimum`` to ``maximum``."""
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise self.fail(path, f"expected a number, got {describe(value)}")
        if not minimum <= value <= maximum:  # also refuses NaN and the infinities
            raise self.fail(path, f"must be between {minimum:g} and {maximum:g}, got {value!r}")
        return value

    def opt_bool(self, value: Any, path: str) -> Optional[bool]:
        """None or a boolean."""
        if value is None or isinstance(value, bool):
            return value
        raise self.fail(path, f"expected a boolean, got {describe(value)}")

    def opt_texts(self, value: Any, path: str, choices: Optional[Sequence[str]] = None) -> Optional[List[str]]:
        """None or a list of strings (each one of ``choices`` when given); a bare string is refused."""
        if value is None:
            return None
        if not isinstance(value, (list, tuple)):
            raise self.fail(path, f"expected a list of strings, got {describe(value)}")
        for i, item in enumerate(value):
            where = index(path, i)
            self.req_text(item, where)
            if choices is not None:
                self.opt_choice(item, where, choices)
        return list(value)

    def extensions(self, value: Any, path: str = "extensions") -> None:
        """An ``extensions`` dict: wire-format name to a dict of fields."""
        if not isinstance(value, dict):
            raise self.fail(path, f"expected a dict keyed by wire format, got {type(value).__name__}")
        for proto, fields in value.items():
            if not isinstance(fields, dict):
                raise self.fail(f"{path}[{proto!r}]", f"expected a dict of wire fields, got {type(fields).__name__}")


def input_list(value: Any, check: Check, path: str) -> Sequence[Any]:
    """An embeddings request's inputs; a bare string is one input (never a list of its characters)."""
    if isinstance(value, str):
        return [value]
    if not isinstance(value, (list, tuple)):
        raise check.fail(path, f"expected a list of inputs, got {describe(value)}")
    if not value:
        raise check.fail(path, "at least one input is required")
    return value
