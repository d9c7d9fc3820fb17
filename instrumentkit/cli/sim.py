"""`instrumentkit sim`: run the simulated lab from the command line."""

from __future__ import annotations

import signal
import threading
from pathlib import Path
from types import FrameType

import click
from rich.console import Console
from rich.table import Table

from instrumentkit.sim import Lab, LabSpec, default_lab_path, load_lab, models
from instrumentkit.sim._server import advertised_host, is_loopback

__all__ = ["sim"]


def _console() -> Console:
    return Console(highlight=False, soft_wrap=True)


@click.group("sim")
def sim() -> None:
    """Run the simulated lab: device models reached over TCP and serial URLs."""


def remote_warning(host: str) -> str:
    """The warning printed before the lab listens beyond this computer."""
    reachable = advertised_host(host)
    where = (
        f"every network interface of this computer ({host}; others reach it as {reachable})"
        if reachable != host
        else host
    )
    return (
        f"warning: serving the simulated lab on {where}. Anyone who can reach that address "
        "can drive every simulated device: there is no authentication. Stop it when done."
    )


def wiring_tables(spec: LabSpec) -> list[Table]:
    """The lab's DUTs and wires, as `serve` shows them (nothing for an unwired lab)."""
    tables = []
    if spec.duts:
        duts = Table("DUT", "model", "parameters", title="Devices under test")
        for dut in spec.duts:
            params = ", ".join(f"{key}={value}" for key, value in dut.params.items())
            duts.add_row(dut.name, dut.model, params or "defaults")
        tables.append(duts)
    if spec.wiring:
        wires = Table("from", "to", "then", "slew /s", title="Wiring")
        for wire in spec.wiring:
            slew = f"{wire.slew:g}" if wire.slew else "-"
            wires.add_row(wire.source, wire.to, wire.then or "-", slew)
        tables.append(wires)
    return tables


@sim.command("serve")
@click.argument("lab_file", required=False, type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "--host",
    default=None,
    help="Listen address for TCP devices (default: the file's, else 127.0.0.1).",
)
@click.option(
    "--allow-remote",
    is_flag=True,
    help="Allow a --host other than loopback (0.0.0.0: every interface). Anyone who "
    "reaches it can drive the devices; there is no authentication.",
)
@click.option(
    "--port",
    "base_port",
    type=click.IntRange(1, 65535),
    default=None,
    help="First TCP port: devices get BASE, BASE+1, ... in file order (ports the file "
    "pins stay), the same on every run. Default: ephemeral ports.",
)
def serve_command(
    lab_file: Path | None, host: str | None, allow_remote: bool, base_port: int | None
) -> None:
    """Serve the devices of LAB_FILE (default: the lab shipped with instrumentkit) until Ctrl-C.

    Also shows the lab's DUTs and wiring (which source drives which DUT, which signal
    reaches which input). Serial devices are served over TCP as well, as
    socket://host:port, so scripts in other processes reach them through pyserial. Only
    this computer reaches them unless --allow-remote (or `allow_remote: true` in the lab
    file) allows another --host.
    """
    spec = load_lab(lab_file or default_lab_path())
    lab = Lab(
        spec,
        host=host,
        serial_over_tcp=True,
        allow_remote=allow_remote,
        base_port=base_port,
    )  # refuses a non-loopback host without --allow-remote before anything listens
    if not is_loopback(lab.host):
        click.echo(remote_warning(lab.host), err=True)
    stop = threading.Event()

    def request_stop(signum: int, frame: FrameType | None) -> None:
        stop.set()

    previous = {sig: signal.signal(sig, request_stop) for sig in (signal.SIGINT, signal.SIGTERM)}
    console = _console()
    try:
        with lab:
            table = Table("name", "model", "resource", title=spec.description or "Simulated lab")
            for name, resource in lab.remote_resources.items():
                table.add_row(name, lab.model(name), resource)
            console.print(table)
            for extra in wiring_tables(spec):
                console.print(extra)
            console.print("Serving; press Ctrl-C to stop.")
            while not stop.wait(0.2):
                pass
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    console.print("Stopped.")


@sim.command("models")
def models_command() -> None:
    """List the device models that lab files can name."""
    table = Table("model", "class", title="Simulated device models")
    for name, model in sorted(models().items()):
        table.add_row(name, f"{model.__module__}.{model.__qualname__}")
    _console().print(table)
