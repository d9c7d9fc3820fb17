"""pyvisa-sim YAML files shipped beside drivers, found with importlib.resources."""

from __future__ import annotations

import importlib
import importlib.resources
from pathlib import Path
from typing import TYPE_CHECKING

from instrumentkit.errors import ConfigError

if TYPE_CHECKING:
    from instrumentkit.instrument import Instrument

__all__ = ["reset_sim_state", "sim_backend", "sim_path"]


def sim_path(driver: type[Instrument]) -> Path:
    """The filesystem path of the driver's sim YAML (package data beside its module)."""
    if not driver.sim_file:
        raise ConfigError(f"{driver.__name__} has no pyvisa-sim file (sim_file is not set)")
    package = driver.__module__.rpartition(".")[0] or driver.__module__
    resource = importlib.resources.files(package).joinpath(driver.sim_file)
    path = Path(str(resource))
    if not path.is_file():
        raise ConfigError(f"{driver.__name__}: sim file {driver.sim_file!r} not found at {path}")
    return path


def reset_sim_state(backend: str) -> None:
    """Give every device of a pyvisa-sim backend its initial state again.

    pyvisa-sim caches one library object per YAML path for the whole process, so a
    second ResourceManager would see the first one's settings and unread replies.
    Re-parsing the devices keeps sessions already open on their old device objects.
    """
    from pyvisa_sim import parser

    from instrumentkit.visa_transport import resource_manager

    library = resource_manager(backend).visalib
    path = backend.rpartition("@")[0]
    library.devices = parser.get_devices(path, False)  # type: ignore[attr-defined]


def sim_backend(driver: type[Instrument], *, fresh: bool = True) -> str:
    """The pyvisa backend string for the driver's sim file, reset if `fresh`."""
    backend = f"{sim_path(driver)}@sim"
    if fresh:
        reset_sim_state(backend)
    return backend
