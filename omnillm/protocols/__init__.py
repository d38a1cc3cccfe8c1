"""One codec module per wire format, loaded on first use.

Each codec module exposes four pure functions between wire dicts and the canonical
model: ``decode_request``, ``encode_request``, ``decode_response``, ``encode_response``.
Encoders take an optional `LossLog` and record there everything they drop or
approximate. `codec` loads the generation codecs (`LlmRequest` / `LlmResponse`),
`endpoint_codec` those of the other endpoint families (``omnillm.api``), whose bodies
are not always JSON: transcription requests are multipart fields, speech responses bytes.
"""

from __future__ import annotations

import importlib
from types import ModuleType
from typing import Dict, Union

from ..errors import WireFormatError
from ..wire import FAMILY_OF_FORMAT, EndpointFamily, WireFormat, generation_format, wire_format

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


_loaded_endpoint: Dict[WireFormat, ModuleType] = {}


def endpoint_codec(name: Union[str, WireFormat]) -> ModuleType:
    """The codec module for a non-generation wire format (embeddings, images, audio, rerank)."""
    fmt = wire_format(name)
    if FAMILY_OF_FORMAT.get(fmt, EndpointFamily.GENERATION) is EndpointFamily.GENERATION:
        raise WireFormatError(f"{fmt.value} is a generation wire format; use codec() for it")
    module = _loaded_endpoint.get(fmt)
    if module is None:
        module = importlib.import_module(f".{fmt.value}", __name__)
        _loaded_endpoint[fmt] = module
    return module
