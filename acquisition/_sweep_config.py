"""The sweep parts of a run config: an axis and its values (docs/run-config.md, "sweeps")."""

from __future__ import annotations

from pydantic import Field, field_validator, model_validator

from ._config_base import Strict as _Strict

__all__ = ["SweepAxisConfig", "SweepValues"]


class SweepValues(_Strict):
    """Sweep values from `start` to `stop` (both included): `num` points, or one every
    `step`; evenly spaced, or with `log: true` evenly spaced in log (`num` only)."""

    start: float
    stop: float
    num: int | None = Field(default=None, ge=1, le=10_000_000)
    step: float | None = Field(default=None, gt=0)
    log: bool = False

    @model_validator(mode="after")
    def _num_or_step(self) -> SweepValues:
        if (self.num is None) == (self.step is None):
            raise ValueError("give num (how many points) or step (their spacing), not both")
        if self.log and self.step is not None:
            raise ValueError("log: true takes num (points from start to stop), not step")
        if self.log and (self.start <= 0 or self.stop <= 0):
            raise ValueError("log: true needs start and stop greater than 0")
        if self.step is not None and (abs(self.stop - self.start) / self.step) > 10_000_000:
            raise ValueError("step gives more than 10 000 000 points")
        return self


_PARAMETER_PATH = r"^[A-Za-z0-9][A-Za-z0-9_.-]*$"


class SweepAxisConfig(_Strict):
    """One axis of a sweep: the parameter it sets (`instrument.setting`, `instrument.level`,
    `instrument.channels.1.voltage`) and the values it steps through."""

    parameter: str = Field(pattern=_PARAMETER_PATH, min_length=3)
    values: list[float] | SweepValues
    name: str | None = Field(default=None, pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
    units: str | None = None
    settle: float = Field(default=0.0, ge=0, description="seconds after this axis moves")

    @field_validator("parameter")
    @classmethod
    def _instrument_and_setting(cls, path: str) -> str:
        if "." not in path:
            raise ValueError(
                f"{path!r} must name an instrument and what to set: instrument.setting "
                "(smu.level, psu.channels.1.voltage)"
            )
        return path

    @field_validator("values")
    @classmethod
    def _some_values(cls, values: list[float] | SweepValues) -> list[float] | SweepValues:
        if isinstance(values, list) and not values:
            raise ValueError("a sweep axis needs at least one value")
        return values
