"""What a pipeline run is told (when to stop) and what it tells (progress, result)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ._runner import ErrorEvent, SourceState

__all__ = ["Progress", "RunResult", "Stop"]


@dataclass(frozen=True, slots=True)
class Stop:
    """When a run ends by itself: after `duration` seconds, or `max_readings` rows in all.

    A sensor sample, a waveform and a spectrum each count as one reading. With neither
    set, the run ends when every source is done (counts, sweeps) or on Ctrl-C.
    """

    duration: float | None = None
    max_readings: int | None = None

    def __post_init__(self) -> None:
        if self.duration is not None and not self.duration > 0:
            raise ValueError(f"stop duration must be > 0 s, got {self.duration}")
        if self.max_readings is not None and self.max_readings < 1:
            raise ValueError(f"stop max_readings must be >= 1, got {self.max_readings}")


@dataclass(frozen=True, slots=True)
class Progress:
    """A snapshot of a running pipeline, for progress displays."""

    elapsed: float
    rows: dict[str, int]
    total_rows: int
    rate: float
    file_size: int
    sources: dict[str, SourceState]
    phase: str  # "starting", "running", "stopping"


@dataclass(frozen=True, slots=True)
class RunResult:
    """How a run ended and what it wrote."""

    path: Path
    status: str
    reason: str
    rows: dict[str, int]
    errors: tuple[ErrorEvent, ...]
    elapsed: float
    interrupted: bool

    @property
    def total_rows(self) -> int:
        return sum(self.rows.values())
