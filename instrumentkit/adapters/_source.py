"""A foreign instrument with an output as our Source: `level` and `output` map to the
properties/parameters the user names, so `ramp_to`, `safe_limits` and `make_safe` work
as for native sources (instrumentkit/sourcing.py).

Neither framework has a common notion of an output or its safe state, so nothing is
guessed: `ik.adapt(k2400, source={"level": "source_voltage", "output": "source_enabled",
"on": "enable_source", "off": "disable_source"}, safe_limits=ik.SafeLimits(...))`.
`on`/`off` name methods, for drivers whose output state is read-only (PyMeasure's
Keithley2400 has `source_enabled` and `enable_source()`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from instrumentkit.errors import ConfigError, ValidationError
from instrumentkit.interfaces import Sensor, Source
from instrumentkit.sourcing import SafeLimits, SourceOutputMixin

from ._common import ForeignSensor, foreign_call
from ._pymeasure import PyMeasureSensor
from ._qcodes import QCoDeSSensor

__all__ = ["SOURCE_KEYS", "PyMeasureSource", "QCoDeSSource", "source_class"]

SOURCE_KEYS = ("level", "output", "on", "off")


class _ForeignSourcing(SourceOutputMixin):
    """`level` and `output` through the foreign driver; see the module doc."""

    interfaces = (Sensor, Source)
    source_map: dict[str, str]
    name: str
    obj: Any

    def configure_source(
        self, source: Mapping[str, str], safe_limits: SafeLimits | None, level_units: str
    ) -> None:
        unknown = sorted(set(source) - set(SOURCE_KEYS))
        missing = [k for k in ("level", "output") if k not in source]
        if unknown or missing:
            raise ConfigError(
                f"{self.name}: source= takes {', '.join(SOURCE_KEYS)} (level and output "
                f"required); unknown {unknown}, missing {missing}"
            )
        for key in ("on", "off"):
            if key in source and not callable(getattr(self.obj, source[key], None)):
                raise ConfigError(f"{self.name}: {type(self.obj).__name__} has no method "
                                  f"{source[key]!r} (source {key})")  # fmt: skip
        self.source_map = dict(source)
        self.level_units = level_units
        if safe_limits is not None:  # the ceiling: later changes may only tighten it
            self.declare_safe_limits(safe_limits)

    def source_value(self, key: str) -> Any:
        raise NotImplementedError

    @property  # type: ignore[override]
    def level(self) -> float:
        return float(self.source_value(self.source_map["level"]))

    @level.setter
    def level(self, value: float) -> None:
        self.set(self.source_map["level"], value)  # type: ignore[attr-defined]

    @property  # type: ignore[override]
    def output(self) -> bool:
        return bool(self.source_value(self.source_map["output"]))

    @output.setter
    def output(self, on: bool) -> None:
        method = self.source_map.get("on" if on else "off")
        if method is not None:
            foreign_call(self.name, method, getattr(self.obj, method), setting=True)
        else:
            self.set(self.source_map["output"], bool(on))  # type: ignore[attr-defined]

    def validate_level(self, level: float) -> float:
        """The level checked by the foreign driver's own validator, nothing sent."""
        key = self.source_map["level"]
        try:
            self.check(key, level, field=key)  # type: ignore[attr-defined]
        except ConfigError as error:
            raise ValidationError(
                f"level {level!r} refused before sending: {error.detail}", instrument=self.name
            ) from None
        return level


class PyMeasureSource(_ForeignSourcing, PyMeasureSensor):
    """A PyMeasure instrument as our Sensor and single-output Source."""

    def source_value(self, key: str) -> Any:
        return foreign_call(self.name, key, lambda: getattr(self.obj, key))


class QCoDeSSource(_ForeignSourcing, QCoDeSSensor):
    """A QCoDeS instrument as our Sensor and single-output Source."""

    def source_value(self, key: str) -> Any:
        return foreign_call(self.name, key, self.parameter(key).get)


def source_class(sensor_class: type[ForeignSensor]) -> type[ForeignSensor]:
    return PyMeasureSource if issubclass(sensor_class, PyMeasureSensor) else QCoDeSSource
