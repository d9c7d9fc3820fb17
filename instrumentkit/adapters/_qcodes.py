"""A QCoDeS `Instrument` as our Sensor.

Channels are parameters, found by their path from the instrument: `volt`, a submodule's
`trigger.count`, a channel's `A.temperature` (a leading instrument name, `dmm.volt`, is
allowed). Units are each parameter's `unit`. A `ParameterWithSetpoints` reads as an
AxisArray whose axes are its setpoint parameters (name, values, unit). The snapshot is
QCoDeS' own `snapshot(update=...)`. Settings are checked by each parameter's `vals`
validator before any is written.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

import numpy as np

from instrumentkit._axis_array import Axis, AxisArray
from instrumentkit.data import now_ns
from instrumentkit.errors import ConfigError

from ._common import ForeignSensor, foreign_call

__all__ = ["QCoDeSSensor", "open_qcodes"]


class QCoDeSSensor(ForeignSensor):
    """An open `qcodes.instrument.Instrument`; see the module doc.

    `snapshot_update` is passed to QCoDeS' `snapshot(update=...)`: True reads every
    parameter from the instrument, False records the values QCoDeS last saw.
    """

    framework = "qcodes"

    def __init__(self, obj: Any, *, snapshot_update: bool = True, **kwargs: Any) -> None:
        self.snapshot_update = snapshot_update
        super().__init__(obj, **kwargs)

    def parameter(self, path: str) -> Any:
        """The parameter at `path` (`volt`, `trigger.count`, `dmm.volt`)."""
        parts = path.split(".")
        if len(parts) > 1 and parts[0] == self.obj.name and parts[0] not in self.obj.submodules:
            parts = parts[1:]
        node = self.obj
        for index, part in enumerate(parts):
            last = index == len(parts) - 1
            found = node.parameters.get(part) if last else node.submodules.get(part)
            if found is None:
                known = sorted(node.parameters if last else node.submodules)
                what = "parameter" if last else "submodule"
                raise ConfigError(
                    f"{self.name}: {type(node).__name__} has no {what} {part!r} (in {path!r}); "
                    f"{what}s: {', '.join(known)}"
                )
            node = found
        return node

    def check_channel(self, channel: str) -> None:
        if not getattr(self.parameter(channel), "gettable", True):
            raise ConfigError(f"{self.name}: parameter {channel!r} cannot be read")

    def is_array(self, channel: str) -> bool:
        return bool(getattr(self.parameter(channel), "setpoints", None))

    def channel_unit(self, channel: str) -> str:
        return str(self.parameter(channel).unit or self._given_units.get(channel, ""))

    def read_channel(self, channel: str) -> Any:
        return foreign_call(self.name, channel, self.parameter(channel).get)

    def read_array(self, channel: str) -> AxisArray:
        param = self.parameter(channel)
        values = np.asarray(foreign_call(self.name, channel, param.get), dtype=np.float64)
        stamp = now_ns()
        axes = []
        for setpoint in param.setpoints:
            coordinates = foreign_call(self.name, setpoint.name, setpoint.get)
            axes.append(Axis(setpoint.name, np.asarray(coordinates), str(setpoint.unit or "")))
        return AxisArray(
            values, tuple(axes), str(param.unit or ""), long_name=str(param.label or ""),
            timestamp_ns=stamp,
        )  # fmt: skip

    @property
    def idn(self) -> str:
        identity = foreign_call(self.name, "IDN", self.obj.IDN.get)
        keys = ("vendor", "model", "serial", "firmware")
        return ",".join(str(identity.get(k) or "") for k in keys)

    def snapshot(self) -> dict[str, Any]:
        update = self.snapshot_update
        return dict(foreign_call(self.name, "snapshot", lambda: self.obj.snapshot(update=update)))

    def check(self, key: str, value: Any, *, field: str) -> Any:
        """The settable parameter at `key`, `value` checked by its `vals` (ConfigError
        naming `field` when refused)."""
        try:
            param = self.parameter(str(key))
        except ConfigError as error:
            raise ConfigError(error.detail, field=field) from None
        if not getattr(param, "settable", True):
            raise ConfigError(f"parameter {key!r} cannot be set", field=field)
        try:
            param.validate(value)
        except (ValueError, TypeError) as error:
            raise ConfigError(_one_line(error), field=field) from None
        return param

    def apply_settings(self, settings: Mapping[str, Any], *, field: str) -> None:
        """Check every value with its parameter's `vals`, then set them in order."""
        params = {
            key: self.check(key, value, field=f"{field}.{key}") for key, value in settings.items()
        }
        for key, value in settings.items():
            foreign_call(self.name, key, lambda p=params[key], v=value: p.set(v), setting=True)

    def set(self, key: str, value: Any) -> None:
        """Set one parameter (a sweep step), its validator first."""
        self.apply_settings({key: value}, field=self.name)

    def close(self) -> None:
        self.obj.close()


def _one_line(error: Exception) -> str:
    return " ".join(str(error).split())


def qcodes_name(name: str) -> str:
    """QCoDeS instrument names are identifiers: `power-meter` -> `power_meter`."""
    text = re.sub(r"\W", "_", name)
    return text if text.isidentifier() else f"ik_{text}"


def open_qcodes(
    cls: type, resource: str, *, name: str, timeout: float | None, channels: list[str],
    units: Mapping[str, str],
) -> QCoDeSSensor:  # fmt: skip
    """Open `cls` on `resource` under our instrument name (made an identifier)."""
    kwargs: dict[str, Any] = {}
    if timeout is not None:
        kwargs["timeout"] = timeout
    obj = foreign_call(name, "open", lambda: cls(qcodes_name(name), resource, **kwargs))
    try:
        return QCoDeSSensor(
            obj, name=name, channels=channels, units=units, resource=resource, owns=True
        )
    except BaseException:
        obj.close()
        raise
