"""Foreign drivers in instrumentkit: PyMeasure and QCoDeS instruments as our Sensors.

    import instrumentkit as ik
    k2000 = ik.adapt(Keithley2000("GPIB::16"), channels=["voltage"], units={"voltage": "V"})
    with ik.Run("run.h5", instruments={"k2000": k2000}) as run:
        run.append("k2000", k2000.read())

Neither framework is imported until one is asked for (`ik.adapt` of its object, or a run
config's `driver: "pymeasure:..."` / `"qcodes:..."`); a missing one says which extra
installs it. docs/adapters.md says what maps to what and what is lost.
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping, Sequence
from typing import Any

from instrumentkit.errors import ConfigError
from instrumentkit.sourcing import SafeLimits

from ._common import FRAMEWORKS, ForeignSensor, require

__all__ = ["ForeignSensor", "adapt", "foreign_driver", "is_foreign", "open_foreign"]

_MODULE_PREFIXES = {
    "pymeasure": ("pymeasure.",),
    "qcodes": ("qcodes.", "qcodes_contrib_drivers."),
}
"""The only modules a run config may name: the foreign frameworks' own driver packages."""


def _framework_of(obj: Any) -> str | None:
    for klass in type(obj).__mro__:
        root = klass.__module__.split(".")[0]
        if root == "pymeasure" and klass.__name__ == "Instrument":
            return "pymeasure"
        if root == "qcodes" and klass.__name__ == "InstrumentBase":
            return "qcodes"
    return None


def adapt(
    obj: Any,
    *,
    name: str | None = None,
    channels: Sequence[str] = (),
    units: Mapping[str, str] | None = None,
    snapshot_update: bool = True,
    source: Mapping[str, str] | None = None,
    safe_limits: SafeLimits | None = None,
    level_units: str = "V",
) -> ForeignSensor:
    """Wrap an open PyMeasure or QCoDeS instrument as our Sensor (for `ik.Run`).

    `channels` are what `read()` returns (PyMeasure properties, QCoDeS parameter paths);
    `units` gives PyMeasure's, which it does not declare. Closing the adapter closes
    the instrument's connection. `snapshot_update` is QCoDeS' `snapshot(update=...)`.
    With `source={"level": ..., "output": ...}` (optionally `"on"`/`"off"` methods) it is
    also a single-output Source with `ramp_to`, `safe_limits` and `make_safe`.
    """
    framework = _framework_of(obj)
    kwargs: dict[str, Any] = {"channels": channels, "units": units}
    if framework == "pymeasure":
        from ._pymeasure import PyMeasureSensor

        cls: type[ForeignSensor] = PyMeasureSensor
        label = name or str(getattr(obj, "name", "") or type(obj).__name__)
        kwargs["name"] = _plain(label)
    elif framework == "qcodes":
        from ._qcodes import QCoDeSSensor

        cls = QCoDeSSensor
        kwargs.update(name=name or obj.name, snapshot_update=snapshot_update)
    else:
        raise TypeError(
            f"ik.adapt takes an open PyMeasure or QCoDeS Instrument, got {type(obj).__name__}"
        )
    if source is None:
        return cls(obj, **kwargs)
    from ._source import source_class

    adapter = source_class(cls)(obj, **kwargs)
    adapter.configure_source(source, safe_limits, level_units)  # type: ignore[attr-defined]
    return adapter


def _plain(label: str) -> str:
    return "_".join(label.split()).lower()


def is_foreign(driver: str | None) -> bool:
    """Whether a run config's `driver:` names a foreign one (`pymeasure:...`, `qcodes:...`)."""
    return driver is not None and driver.split(":", 1)[0] in FRAMEWORKS and ":" in driver


def foreign_driver(driver: str) -> tuple[str, type]:
    """The framework and class a `framework:module.Class` driver names.

    Only modules of the framework's own driver packages are imported (a run config names
    no other code); a missing framework raises ConfigError naming its extra.
    """
    framework, _, path = driver.partition(":")
    module_name, _, class_name = path.rpartition(".")
    prefixes = _MODULE_PREFIXES[framework]
    if not module_name or not module_name.startswith(prefixes):
        raise ConfigError(
            f"{framework} drivers are named as {framework}:<module>.<Class> with the module "
            f"in {' or '.join(p.rstrip('.') for p in prefixes)}, got {path!r}"
        )
    try:
        require(framework)
    except ImportError as error:
        raise ConfigError(str(error)) from None
    try:
        module = importlib.import_module(module_name)
    except ImportError as error:
        raise ConfigError(f"cannot import {module_name}: {error}") from None
    cls = getattr(module, class_name, None)
    if not isinstance(cls, type):
        raise ConfigError(f"{module_name} has no class {class_name!r}")
    return framework, cls


def open_foreign(
    driver: str,
    resource: str,
    *,
    name: str,
    timeout: float | None = None,
    channels: Sequence[str] = (),
    units: Mapping[str, str] | None = None,
) -> ForeignSensor:
    """Open a foreign driver on `resource` and wrap it (run configs; see `foreign_driver`)."""
    framework, cls = foreign_driver(driver)
    if framework == "pymeasure":
        from ._pymeasure import open_pymeasure as opener
    else:
        from ._qcodes import open_qcodes as opener
    return opener(
        cls, resource, name=name, timeout=timeout, channels=list(channels), units=units or {}
    )
