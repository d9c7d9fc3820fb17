"""A PyMeasure `Instrument` as our Sensor.

Channels are properties (`voltage`); PyMeasure declares no units, so they come from the
`units` mapping given (`{"voltage": "V"}`). The snapshot reads every property PyMeasure's
`control` and `measurement` helpers made (`setting` ones cannot be read), each error
recorded against its property. Settings are checked by the property's own validator
(the `validator` and `values` PyMeasure's `control` was given) before any is written.
"""

from __future__ import annotations

import inspect
import warnings
from collections.abc import Mapping
from typing import Any

from instrumentkit.errors import ConfigError

from ._common import ForeignSensor, foreign_call

__all__ = ["PyMeasureSensor", "open_pymeasure", "readable_properties"]

_HELPERS = ("control", "measurement")


def _helper_of(prop: Any) -> str | None:
    """Which PyMeasure helper made a property (`control`, `measurement`, `setting`)."""
    function = prop.fget or prop.fset
    qualname = getattr(function, "__qualname__", "")
    for helper in (*_HELPERS, "setting"):
        if f".{helper}.<locals>." in qualname:
            return helper
    return None


def readable_properties(cls: type) -> list[str]:
    """Names of the properties `control`/`measurement` made on `cls`, in name order."""
    names = set()
    for klass in cls.__mro__:
        for name, value in vars(klass).items():
            if isinstance(value, property) and _helper_of(value) in _HELPERS:
                names.add(name)
    return sorted(names)


def _validator(prop: property) -> tuple[Any, Any] | None:
    """The (validator, values) PyMeasure's `control` gave its setter, if any: they are
    the setter's default arguments (PyMeasure 0.10 and later)."""
    if prop.fset is None:
        return None
    try:
        parameters = inspect.signature(prop.fset).parameters
    except (TypeError, ValueError):
        return None
    validator, values = parameters.get("validator"), parameters.get("values")
    if validator is None or values is None or not callable(validator.default):
        return None
    return validator.default, values.default


class PyMeasureSensor(ForeignSensor):
    """An open `pymeasure.instruments.Instrument`; see the module doc."""

    framework = "pymeasure"

    def _property(self, name: str) -> property:
        prop = getattr(type(self.obj), name, None)
        if not isinstance(prop, property):
            known = ", ".join(readable_properties(type(self.obj)))
            raise ConfigError(
                f"{self.name}: {type(self.obj).__name__} has no property {name!r}; "
                f"properties: {known}"
            )
        return prop

    def check_channel(self, channel: str) -> None:
        if self._property(channel).fget is None:
            raise ConfigError(f"{self.name}: property {channel!r} cannot be read (a setting)")

    def read_channel(self, channel: str) -> Any:
        return foreign_call(self.name, channel, lambda: getattr(self.obj, channel))

    @property
    def idn(self) -> str:
        return str(foreign_call(self.name, "id", lambda: self.obj.id))

    def snapshot(self) -> dict[str, Any]:
        """Every readable `control`/`measurement` property; a failure is recorded as
        `{"error": ...}` for that property alone."""
        values: dict[str, Any] = {}
        for name in readable_properties(type(self.obj)):
            try:
                values[name] = foreign_call(self.name, name, lambda n=name: getattr(self.obj, n))
            except Exception as error:
                values[name] = {"error": str(error)}
        return {"driver": self.driver, "properties": values}

    def check(self, key: str, value: Any, *, field: str) -> None:
        """Refuse a value the property's own validator refuses (ConfigError at `field`)."""
        check = _validator(self._setting(key, field))
        if check is not None:
            validator, allowed = check
            try:
                validator(value, allowed)
            except (ValueError, TypeError) as error:
                raise ConfigError(str(error), field=field) from None

    def apply_settings(self, settings: Mapping[str, Any], *, field: str) -> None:
        """Check every value with its property's validator, then write them in order."""
        for key, value in settings.items():
            self.check(key, value, field=f"{field}.{key}")
        for key, value in settings.items():
            foreign_call(
                self.name, key, lambda k=key, v=value: setattr(self.obj, k, v), setting=True
            )

    def _setting(self, key: str, field: str) -> property:
        prop = getattr(type(self.obj), key, None)
        if not isinstance(prop, property) or prop.fset is None:
            settable = sorted(
                n for n in dir(type(self.obj))
                if isinstance(getattr(type(self.obj), n, None), property)
                and getattr(type(self.obj), n).fset is not None
            )  # fmt: skip
            raise ConfigError(
                f"{type(self.obj).__name__} has no settable property {key!r}; "
                f"settable: {', '.join(settable)}",
                field=field,
            )
        return prop

    def set(self, key: str, value: Any) -> None:
        """Set one property (a sweep step), its validator first."""
        self.apply_settings({key: value}, field=self.name)

    def close(self) -> None:
        adapter = getattr(self.obj, "adapter", None)
        if adapter is not None:
            adapter.close()


def open_pymeasure(
    cls: type, resource: str, *, name: str, timeout: float | None, channels: list[str],
    units: Mapping[str, str],
) -> PyMeasureSensor:  # fmt: skip
    """Open `cls` on `resource` (LAN sockets terminated by newlines, as SCPI over TCP is)."""
    kwargs: dict[str, Any] = {}
    if resource.upper().endswith("::SOCKET"):
        kwargs.update(read_termination="\n", write_termination="\n")
    if timeout is not None:
        kwargs["timeout"] = int(timeout * 1000)
    with warnings.catch_warnings():
        # PyMeasure asks its users to report whether a model speaks SCPI: noise in a run.
        warnings.filterwarnings("ignore", "It is not known whether", FutureWarning)
        obj = foreign_call(name, "open", lambda: cls(resource, **kwargs))
    try:
        return PyMeasureSensor(
            obj, name=name, channels=channels, units=units, resource=resource, owns=True
        )
    except BaseException:
        obj.adapter.close()
        raise
