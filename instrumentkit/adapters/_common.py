"""What both adapters share: the extras check, error translation and the Sensor shape.

A foreign driver raises its own exceptions (pyvisa's VisaIOError, QCoDeS' and PyMeasure's
ValueErrors, plain RuntimeErrors): `foreign_call` turns each into our hierarchy, naming
the instrument and the property or parameter, so a run's `on_error` policy treats them
like any driver's errors.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping, Sequence
from types import ModuleType
from typing import Any, TypeVar

import numpy as np

from instrumentkit._axis_array import AxisArray
from instrumentkit.data import Reading, now_ns
from instrumentkit.errors import ConfigError, InstrumentError, Timeout, ValidationError
from instrumentkit.interfaces import Sensor

__all__ = ["FRAMEWORKS", "ForeignSensor", "foreign_call", "require"]

T = TypeVar("T")

FRAMEWORKS = {"pymeasure": "pymeasure", "qcodes": "qcodes"}
"""Framework name -> the import name whose absence means its extra is missing."""

_VISA_TIMEOUT = -1073807339  # VI_ERROR_TMO


def require(framework: str) -> ModuleType:
    """Import a framework, or say in one line which extra installs it."""
    try:
        return importlib.import_module(FRAMEWORKS[framework])
    except ImportError:
        raise ImportError(
            f"{framework} is not installed: pip install 'instrumentkit[{framework}]'"
        ) from None


def foreign_call(instrument: str, what: str, call: Callable[[], T], *, setting: bool = False) -> T:
    """Run one call into a foreign driver; its errors become ours, naming `what`."""
    try:
        return call()
    except InstrumentError:
        raise
    except Exception as error:
        raise translate(error, instrument, what, setting=setting) from error


def translate(
    error: Exception, instrument: str, what: str, *, setting: bool = False
) -> InstrumentError:
    """Our error for a foreign driver's exception while reading or setting `what`."""
    action = "setting" if setting else "reading"
    text = f"{action} {what!r} failed: {type(error).__name__}: {error}"
    if getattr(error, "error_code", None) == _VISA_TIMEOUT or isinstance(error, TimeoutError):
        return Timeout(
            f"{text}; is the instrument on and answering, and are the terminators right?",
            instrument=instrument,
        )
    if setting and isinstance(error, (ValueError, TypeError)):
        return ValidationError(text, instrument=instrument)
    return InstrumentError(text, instrument=instrument)


class ForeignSensor:
    """A foreign driver's instrument as our Sensor: `channels` are read as one Reading.

    One array-valued channel (a QCoDeS ParameterWithSetpoints) reads as an AxisArray
    instead, its setpoints as the axes; it must then be the only channel.
    """

    interfaces = (Sensor,)
    framework = ""

    def __init__(
        self,
        obj: Any,
        *,
        name: str,
        channels: Sequence[str] = (),
        units: Mapping[str, str] | None = None,
        resource: str = "",
        owns: bool = False,
    ) -> None:
        self.obj = obj
        self.name = name
        self.resource = resource
        self.owns = owns
        self.driver = f"{self.framework}:{type(obj).__module__}.{type(obj).__qualname__}"
        self._channels = tuple(str(c) for c in channels)
        self._given_units = dict(units or {})
        for channel in self._channels:
            self.check_channel(channel)
        self._arrays = [c for c in self._channels if self.is_array(c)]
        if self._arrays and len(self._channels) > 1:
            raise ConfigError(
                f"{name}: array-valued {self._arrays[0]!r} must be the only channel "
                f"(got {list(self._channels)}); read the others through another instrument entry"
            )

    # -- framework specifics
    def check_channel(self, channel: str) -> None:
        raise NotImplementedError

    def is_array(self, channel: str) -> bool:
        return False

    def read_channel(self, channel: str) -> Any:
        raise NotImplementedError

    def read_array(self, channel: str) -> AxisArray:
        raise NotImplementedError

    def channel_unit(self, channel: str) -> str:
        return self._given_units.get(channel, "")

    def snapshot(self) -> dict[str, Any]:
        raise NotImplementedError

    def check(self, key: str, value: Any, *, field: str) -> Any:
        """Refuse `value` for `key` as the foreign driver's validator does, with no I/O."""
        raise NotImplementedError

    def apply_settings(self, settings: Mapping[str, Any], *, field: str) -> None:
        raise NotImplementedError

    def close(self) -> None:
        raise NotImplementedError

    # -- the Sensor
    @property
    def channel_names(self) -> tuple[str, ...]:
        return self._channels

    @property
    def units(self) -> tuple[str, ...]:
        return tuple(self.channel_unit(c) for c in self._channels)

    def read(self) -> Any:
        """A one-row Reading of every channel (an AxisArray for an array channel)."""
        if not self._channels:
            raise ConfigError(
                f"{self.name}: no channels to read; name them, e.g. "
                f"ik.adapt(instrument, channels=['voltage']) or channels: in the run config"
            )
        if self._arrays:
            return self.read_array(self._arrays[0])
        values = [self._number(c, self.read_channel(c)) for c in self._channels]
        return Reading.single(values, self._channels, self.units, timestamp_ns=now_ns())

    def read_many(self, n: int) -> Reading:
        """`n` reads one after the other (foreign drivers have no common buffered read)."""
        if self._arrays:
            raise ConfigError(f"{self.name}: an array channel cannot be batched")
        rows = [self.read() for _ in range(n)]
        return Reading(
            np.vstack([r.values for r in rows]),
            np.concatenate([r.timestamps_ns for r in rows]),
            self._channels,
            self.units,
        )

    def _number(self, channel: str, value: Any) -> float:
        try:
            return float(value)
        except (TypeError, ValueError):
            raise InstrumentError(
                f"reading {channel!r} gave {value!r}, not a number; channels must be "
                "numeric properties or parameters",
                instrument=self.name,
            ) from None

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.name!r} {self.driver} {list(self._channels)}>"

    def __enter__(self) -> ForeignSensor:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
