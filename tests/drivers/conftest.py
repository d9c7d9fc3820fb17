"""Fixtures shared by the driver tests."""

from __future__ import annotations

import shutil
import socket
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import pyvisa

from instrumentkit.instrument import Instrument
from instrumentkit.sim import Device, serve
from instrumentkit.simfiles import plain_pyvisa, sim_path


@pytest.fixture
def wire() -> Iterator[object]:
    """ask(model, message, end) -> the reply's bytes, terminator included.

    Each model is served on its own loopback port; every message goes over a new client.
    """
    servers: dict[int, Any] = {}

    def ask(model: Device, message: str, end: bytes) -> bytes:
        if id(model) not in servers:
            servers[id(model)] = serve({"device": model})
        port = int(servers[id(model)].resource("device").split("::")[2])
        with socket.create_connection(("127.0.0.1", port), timeout=5) as link:
            link.sendall(message.encode() + end)
            reply = b""
            while not reply.endswith(end):
                chunk = link.recv(65536)
                assert chunk, reply
                reply += chunk
        return reply

    yield ask
    for server in servers.values():
        server.close()


@pytest.fixture
def plain_sim(tmp_path: Path) -> Iterator[Callable[[type[Instrument]], Any]]:
    """open(driver) -> plain pyvisa on a fresh copy of the driver's pyvisa-sim file.

    Opened with the terminators docs/simulation.md gives for it; a copy at a new path,
    since pyvisa-sim keeps device state per path for the whole process.
    """
    managers: list[pyvisa.ResourceManager] = []

    def open_(driver: type[Instrument]) -> Any:
        path = tmp_path / f"{len(managers)}-{sim_path(driver).name}"
        shutil.copyfile(sim_path(driver), path)
        package = driver.__module__.rpartition(".")[0]
        assert driver.sim_file is not None
        (entry,) = [
            e for e in plain_pyvisa(package, driver.sim_file) if e.resource == driver.sim_resource
        ]
        managers.append(pyvisa.ResourceManager(f"{path}@sim"))
        resource = managers[-1].open_resource(
            entry.resource,
            read_termination=entry.read_termination,
            write_termination=entry.write_termination,
        )
        resource.timeout = 2000
        return resource

    yield open_
    for manager in managers:
        manager.close()


@pytest.fixture
def over_tcp() -> Iterator[Callable[..., Any]]:
    """`over_tcp(Driver, model, **options)`: the model served on a loopback port, the driver
    opened on `TCPIP::127.0.0.1::<port>::SOCKET`; everything closed after the test."""
    labs = []
    opened: list[Instrument] = []

    def open_on(driver: type[Instrument], model: Device, **options: Any) -> Any:
        lab = serve({"device": model})
        labs.append(lab)
        instrument = driver.open(lab.resource("device"), **options)
        opened.append(instrument)
        return instrument

    yield open_on
    for instrument in opened:
        instrument.close()
    for lab in labs:
        lab.close()
