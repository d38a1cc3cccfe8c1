"""Helpers shared by the non-generation codecs (embeddings, images, audio, rerank)."""

from __future__ import annotations

from typing import FrozenSet

from ..errors import EncodeError
from ..model import Extensions
from ..report import LossLog
from ._common import Obj, Reader, join

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


def require_model(model: str, protocol: str) -> str:
    """``model`` itself; raise `EncodeError` when it is empty and the format needs one."""
    if not model:
        raise EncodeError(protocol, "model", "a model is required")
    return model


def req_number(r: Reader, d: Obj, key: str, path: str) -> float:
    """A required JSON number."""
    value = r.opt_num(d, key, path)
    if value is None:
        raise r.fail(join(path, key), "required field is missing")
    return value
