"""Fixtures of the acquisition tests: a test double of a source output (no I/O)."""

from __future__ import annotations

from typing import Any

import pytest

from instrumentkit.interfaces import Source
from instrumentkit.sourcing import SafeLimits, SourceOutputMixin


class RecordingOutput(SourceOutputMixin):
    """One output satisfying `Source` and `SourceOutput`: levels and output in memory.

    `history` holds every level set, in order; `broken` makes turning the output off
    fail, as an output whose link is gone would.
    """

    interfaces = (Source,)
    safe_limits = SafeLimits(max_level=10.0, max_slew=2.0)
    level_units = "V"

    def __init__(self, name: str = "src") -> None:
        self.name = name
        self._output = False
        self._level = 0.0
        self.history: list[float] = []
        self.broken = False
        self.ramp_sleep = lambda seconds: None  # type: ignore[method-assign]

    @property
    def output(self) -> bool:
        return self._output

    @output.setter
    def output(self, on: bool) -> None:
        if self.broken and not on:
            raise ConnectionError(f"{self.name}: link lost")
        self._output = bool(on)

    @property
    def level(self) -> float:
        return self._level

    @level.setter
    def level(self, value: float) -> None:
        self._level = float(value)
        self.history.append(self._level)

    def snapshot(self) -> dict[str, Any]:
        return {"output": {"value": self.output, "units": ""},
                "level": {"value": self.level, "units": "V"}}  # fmt: skip


@pytest.fixture
def recording_output() -> type[RecordingOutput]:
    """The RecordingOutput class: call it with a name for each output a test needs."""
    return RecordingOutput
