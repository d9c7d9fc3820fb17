"""pyvisa-sim YAML files shipped beside drivers, found with importlib.resources."""

from __future__ import annotations

import importlib
import importlib.resources
import json
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from instrumentkit.errors import ConfigError

if TYPE_CHECKING:
    from instrumentkit.instrument import Instrument

__all__ = [
    "PlainPyvisa",
    "plain_pyvisa",
    "plain_pyvisa_table",
    "reset_sim_state",
    "shipped_sim_files",
    "sim_backend",
    "sim_path",
]


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


@dataclass(frozen=True)
class PlainPyvisa:
    """How plain pyvisa opens one resource of a shipped pyvisa-sim file.

    The terminators are the file's own `eom` for the resource's interface: pyvisa's
    defaults (no read termination, CR LF written) make every query of an LF-only file
    time out with `VI_ERROR_TMO`, so they must be given::

        import importlib.resources
        import pyvisa

        path = importlib.resources.files("instrumentkit.drivers.keysight") / "sim/34461a.yaml"
        rm = pyvisa.ResourceManager(f"{path}@sim")
        dmm = rm.open_resource(
            "TCPIP0::127.0.0.1::inst0::INSTR", read_termination="\\n", write_termination="\\n"
        )
        print(dmm.query("*IDN?"))

    `plain_pyvisa_table()` lists the call for every file (docs/simulation.md shows it).
    """

    package: str
    file: str
    resource: str
    read_termination: str
    write_termination: str

    @property
    def call(self) -> str:
        """The `open_resource(...)` call, as written in docs/simulation.md."""
        return (
            f"open_resource({json.dumps(self.resource)}, "
            f"read_termination={json.dumps(self.read_termination)}, "
            f"write_termination={json.dumps(self.write_termination)})"
        )

    @property
    def path(self) -> Path:
        return Path(str(importlib.resources.files(self.package).joinpath(self.file)))


def shipped_sim_files() -> list[tuple[str, str]]:
    """(package, file) of every pyvisa-sim YAML shipped beside a driver, sorted."""
    drivers = importlib.resources.files("instrumentkit.drivers")
    found = []
    for vendor in drivers.iterdir():
        sim = vendor.joinpath("sim")
        if vendor.name.startswith("_") or not sim.is_dir():
            continue
        for entry in sim.iterdir():
            if entry.name.endswith(".yaml"):
                found.append((f"instrumentkit.drivers.{vendor.name}", f"sim/{entry.name}"))
    return sorted(found)


def plain_pyvisa(package: str, file: str) -> list[PlainPyvisa]:
    """One `PlainPyvisa` per resource the file declares, with that interface's terminators."""
    import yaml
    from pyvisa import rname

    text = importlib.resources.files(package).joinpath(file).read_text(encoding="utf-8")
    spec = yaml.safe_load(text)
    entries = []
    for resource, attached in spec["resources"].items():
        parsed = rname.parse_resource_name(resource)
        eoms = spec["devices"][attached["device"]].get("eom", {})
        # pyvisa-sim falls back to LF both ways when an interface has no eom.
        eom = eoms.get(f"{parsed.interface_type} {parsed.resource_class}", {"q": "\n", "r": "\n"})
        entries.append(PlainPyvisa(package, file, resource, eom["r"], eom["q"]))
    return entries


def plain_pyvisa_table() -> str:
    """The Markdown table of docs/simulation.md: every shipped file, resource and call."""
    rows = [
        "| package | file | `open_resource` call |",
        "|---|---|---|",
    ]
    for package, file in shipped_sim_files():
        for entry in plain_pyvisa(package, file):
            rows.append(f"| `{package}` | `{file}` | `{entry.call}` |")
    return "\n".join(rows) + "\n"
