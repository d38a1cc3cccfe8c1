"""One codec module per wire format, loaded on first use.

Each codec module exposes four pure functions between wire dicts and the canonical
model: ``decode_request``, ``encode_request``, ``decode_response``, ``encode_response``.
Encoders take an optional `LossLog` and record there everything they drop or
approximate.
"""

from __future__ import annotations

import importlib
from types import ModuleType
from typing import Dict, Union

from ..wire import WireFormat, generation_format

_loaded: Dict[WireFormat, ModuleType] = {}


def codec(name: Union[str, WireFormat]) -> ModuleType:
    """The codec module for a generation wire format (imported on first use)."""
    fmt = generation_format(name)
    module = _loaded.get(fmt)
    if module is None:
        # Relative import so that a vendored copy (myapp._vendor.omnillm) works unchanged.
        module = importlib.import_module(f".{fmt.value}", __name__)
        _loaded[fmt] = module
    return module


_loaded_stream: Dict[WireFormat, ModuleType] = {}


def stream_codec(name: Union[str, WireFormat]) -> ModuleType:
    """The streaming codec module (``StreamDecoder``, ``StreamEncoder``) for a wire format."""
    fmt = generation_format(name)
    module = _loaded_stream.get(fmt)
    if module is None:
        module = importlib.import_module(f".{fmt.value}_stream", __name__)
        _loaded_stream[fmt] = module
    return module
