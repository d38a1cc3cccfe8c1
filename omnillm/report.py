"""Loss bookkeeping: what a conversion dropped or approximated, and the report users see."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import List


@dataclass(frozen=True)
class Loss:
    """One thing a conversion dropped or approximated.

    ``code`` is a stable id from the mapping tables (``L-TOOL-CUSTOM``), ``path`` the
    JSON path in the source (``tools[1]``), ``detail`` a readable explanation.
    """

    code: str
    path: str
    detail: str

    def __str__(self) -> str:
        where = f"{self.path}: " if self.path else ""
        return f"{where}{self.detail} [{self.code}]"


class LossLog:
    """Collects `Loss` entries while a codec encodes; codecs never raise for loss."""

    __slots__ = ("entries", "target")

    def __init__(self, target: str = "") -> None:
        self.target = target
        self.entries: List[Loss] = []

    def add(self, code: str, path: str, detail: str) -> None:
        """Record that something at ``path`` was dropped or approximated."""
        self.entries.append(Loss(code, path, detail))

    def __bool__(self) -> bool:
        return bool(self.entries)

    def __len__(self) -> int:
        return len(self.entries)


@dataclass
class ConversionReport:
    """The result of a transcode together with an honest account of what was lost.

    ``value`` is the converted JSON text; ``bridged`` is true when source and target
    differ; ``lossy`` is true when anything was dropped or approximated, and then
    ``loss_reasons`` names each item (``losses`` holds the structured form).
    """

    value: str
    source: str
    target: str
    losses: List[Loss] = field(default_factory=list)

    @property
    def bridged(self) -> bool:
        """True when the conversion crossed from one wire format to another."""
        return self.source != self.target

    @property
    def lossy(self) -> bool:
        """True when any information was dropped or approximated."""
        return bool(self.losses)

    @property
    def loss_reasons(self) -> List[str]:
        """Readable strings, one per loss, each naming the path and the reason."""
        return [str(loss) for loss in self.losses]
