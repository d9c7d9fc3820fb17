"""Where simulated devices are found: devices attached in-process, and the model registry.

Model classes come from the same entry-point group as the drivers,
`instrumentkit.drivers`: a vendor module may expose `SIM_MODELS`, a dict from model name
("keysight-34461a") to device model class. Names in a lab file resolve only here, so a
file can never make Python import a module it names.
"""

from __future__ import annotations

import re
import threading
import warnings
from importlib.metadata import entry_points
from types import ModuleType
from typing import Any

from instrumentkit.errors import ConfigError
from instrumentkit.sim._device import Device

__all__ = ["attach", "attached", "create", "detach", "models", "register_model"]

GROUP = "instrumentkit.drivers"

_attached: dict[str, Device] = {}
_registered: dict[str, type[Device]] = {}
_lock = threading.Lock()


def attach(name: str, device: Device) -> str:
    """Make `device` reachable as `iksim://<name>`; returns that URL."""
    if not name or "/" in name or "?" in name:
        raise ValueError(f"device name {name!r} must be non-empty, without '/' or '?'")
    with _lock:
        if name in _attached and _attached[name] is not device:
            raise ValueError(f"another device is already attached as {name!r}")
        _attached[name] = device
    return f"iksim://{name}"


def detach(name: str) -> None:
    """Forget the device attached as `name` (ports already open on it keep working)."""
    with _lock:
        _attached.pop(name, None)


def attached(name: str) -> Device:
    with _lock:
        try:
            return _attached[name]
        except KeyError:
            known = ", ".join(sorted(_attached)) or "none"
            raise LookupError(
                f"no simulated device attached as {name!r} (attached: {known})"
            ) from None


def register_model(name: str, model: type[Device]) -> None:
    """Add a model in-process (tests, notebooks); entry points are the packaged way."""
    if not (isinstance(model, type) and issubclass(model, Device)):
        raise TypeError(f"{model!r} is not a Device subclass")
    with _lock:
        _registered[name] = model


def models() -> dict[str, type[Device]]:
    """Every known device model by name: `SIM_MODELS` of each entry point, then registered ones."""
    found: dict[str, type[Device]] = {}
    for entry in sorted(entry_points(group=GROUP), key=lambda e: e.name):
        try:
            loaded = entry.load()
        except Exception as error:  # a broken plug-in must not hide the others
            warnings.warn(f"entry point {entry.name!r} failed to load: {error}", stacklevel=2)
            continue
        table: Any = getattr(loaded, "SIM_MODELS", None) if isinstance(loaded, ModuleType) else None
        if table is None:
            continue
        if not isinstance(table, dict):
            warnings.warn(f"{entry.value}.SIM_MODELS is not a dict; skipped", stacklevel=2)
            continue
        for name, model in table.items():
            if isinstance(model, type) and issubclass(model, Device):
                found.setdefault(str(name), model)
            else:
                warnings.warn(f"{entry.value}.SIM_MODELS[{name!r}] is not a Device", stacklevel=2)
    with _lock:
        found.update(_registered)
    return found


def create(model_name: str, **params: Any) -> Device:
    """A fresh instance of a registered model, with `params` (seed, clock, latency, ...)."""
    known = models()
    try:
        model = known[model_name]
    except KeyError:
        names = ", ".join(sorted(known)) or "none"
        raise ConfigError(
            f"no simulated model named {model_name!r}; known: {names}", field="model"
        ) from None
    try:
        return model(**params)
    except TypeError as error:
        unknown = re.search(r"unexpected keyword argument '(\w+)'", str(error))
        if unknown:  # not Python's "Device.__init__() got ...": the lab file's words
            raise ConfigError(
                f"model {model_name!r} has no parameter {unknown.group(1)!r}", field="params"
            ) from error
        raise ConfigError(f"model {model_name!r}: {error}", field="params") from error
