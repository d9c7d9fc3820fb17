"""`instrumentkit share` as a user runs it: a real process, pyvisa-py and our drivers as clients."""

from __future__ import annotations

import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import pyvisa
from click.testing import CliRunner
from pyvisa_py.protocols import hislip

import instrumentkit as ik
from instrumentkit.cli import main
from instrumentkit.errors import Timeout


def _port_served(lines: list[str]) -> int:
    """The port the share printed: started with `--port 0`, it took a free one itself (a
    port probed free and handed over can be taken meanwhile by a test running beside)."""
    found = re.search(r"hislip_\w+,(\d+)::INSTR", "".join(lines))
    assert found, "".join(lines)
    return int(found.group(1))


def _start(*args: str, cwd: Path) -> tuple[subprocess.Popen[str], list[str]]:
    process = subprocess.Popen(
        [sys.executable, "-m", "instrumentkit", "share", *args],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, cwd=cwd,
    )  # fmt: skip
    assert process.stdout is not None
    lines = []
    for line in process.stdout:
        lines.append(line)
        if "Sharing" in line:
            return process, lines
    process.wait(10)
    raise AssertionError("".join(lines))


@pytest.fixture(scope="module")
def default_share(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[int, list[str]]]:
    process, lines = _start("--lab", "default", "--port", "0",
                            cwd=tmp_path_factory.mktemp("share"))  # fmt: skip
    port = _port_served(lines)
    yield port, lines
    if process.poll() is None:
        process.send_signal(signal.SIGINT)
        process.wait(10)


def test_the_table_names_every_resource(default_share: tuple[int, list[str]]) -> None:
    port, lines = default_share
    text = "".join(lines)
    assert f"TCPIP::127.0.0.1::hislip_dmm,{port}::INSTR" in text
    assert "iksim://gauge" in text


def test_pyvisa_reaches_the_default_labs_dmm(default_share: tuple[int, list[str]]) -> None:
    port, _ = default_share
    rm = pyvisa.ResourceManager("@py")
    try:
        dmm = rm.open_resource(f"TCPIP::127.0.0.1::hislip_dmm,{port}::INSTR")
        assert dmm.query("*IDN?").startswith("Keysight Technologies,34461A,")
    finally:
        rm.close()


def test_our_drivers_open_shared_instruments(default_share: tuple[int, list[str]]) -> None:
    port, _ = default_share
    with ik.open(f"TCPIP::127.0.0.1::hislip_dmm,{port}::INSTR") as dmm:
        assert type(dmm).__name__ == "Keysight34461A"
        assert dmm.idn.model == "34461A"
        reading = dmm.read()  # a measurement through the share, units from the driver
        assert reading.values.shape == (1, 1)
        assert reading.values[0, 0] == reading.values[0, 0]  # not NaN
        assert reading.units == ("V",)
    with ik.open(f"TCPIP::127.0.0.1::hislip_scope,{port}::INSTR") as scope:
        assert type(scope).__name__ == "RigolDS1000Z"


def test_session_lock_instrument_holds_the_share(default_share: tuple[int, list[str]]) -> None:
    port, _ = default_share
    resource = f"TCPIP::127.0.0.1::hislip_dmm,{port}::INSTR"
    other = hislip.Instrument("127.0.0.1", port=port, sub_address="hislip_dmm")
    try:
        with ik.open(resource) as dmm:
            with dmm.session.lock_instrument(timeout=1.0):
                assert other.async_lock_request(0.3) == "failure"
                assert dmm.session.query("*IDN?").startswith("Keysight")
            assert other.async_lock_request(0.3) == "success"
            with (
                pytest.raises(Timeout, match=r"not granted within 0\.3 s"),
                dmm.session.lock_instrument(timeout=0.3),
            ):
                pass
            other.async_lock_release()
    finally:
        other.close()


def test_sigint_stops_within_a_second(tmp_path: Path) -> None:
    """The share polls for the signal every 0.1 s and closes without waiting on its clients'
    timeouts (seconds each): it says "Stopped." well within a second on an idle machine.
    The bound here leaves room for two loaded cores and still fails on any such wait."""
    process, _ = _start("--lab", "default", "--port", "0", cwd=tmp_path)
    assert process.stdout is not None
    started = time.monotonic()
    process.send_signal(signal.SIGINT)
    assert process.stdout.readline().strip() == "Stopped."
    assert time.monotonic() - started < 3.0
    assert process.wait(10) == 0


def test_a_public_host_needs_allow(tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["share", "--lab", "default", "--host", "0.0.0.0"])
    assert result.exit_code == 2
    assert "--allow" in result.output


def test_share_file_errors_name_the_field(tmp_path: Path) -> None:
    path = tmp_path / "share.yaml"
    path.write_text("instruments:\n  dmm:\n    resource: COM3\n    operators: [10.0.0.0/33]\n")
    result = CliRunner().invoke(main, ["share", str(path)])
    assert result.exit_code == 2
    assert "instruments.dmm.operators" in result.output
    assert "10.0.0.0/33" in result.output


def test_serial_instruments_through_the_share(default_share: tuple[int, list[str]]) -> None:
    """Non-SCPI serial protocols pass as raw bytes: ENQ/ACK gauge, binary spectrometer frames."""
    port, _ = default_share
    with ik.open(f"TCPIP::127.0.0.1::hislip_gauge,{port}::INSTR", driver="PfeifferTPG362") as gauge:
        reading = gauge.read()
        assert reading.units == ("mbar", "mbar")
        assert (reading.values > 0).all()
    resource = f"TCPIP::127.0.0.1::hislip_spectrometer,{port}::INSTR"
    with ik.open(resource, driver="OceanInsightUSB4000") as spectrometer:
        spectrum = spectrometer.acquire()
        assert spectrum.intensities.shape == (3648,)
        assert spectrum.wavelengths[0] == pytest.approx(200.0)
        assert spectrum.intensities.min() > 0


def test_a_public_host_with_allow_warns_and_serves(tmp_path: Path) -> None:
    """Listening on every interface, open to this machine only: the table warns who can reach."""
    process, lines = _start(
        "--lab", "default", "--host", "0.0.0.0", "--allow", "127.0.0.1/32", "--port", "0",
        cwd=tmp_path,
    )  # fmt: skip
    port = _port_served(lines)
    try:
        text = "".join(lines)
        assert "Warning" in text
        assert "127.0.0.1/32" in text
        assert f"0.0.0.0:{port}" in text
        assert f"::{socket.gethostname()}::hislip_dmm,{port}::INSTR" in text  # not 0.0.0.0
        with ik.open(f"TCPIP::127.0.0.1::hislip_dmm,{port}::INSTR") as dmm:
            assert dmm.idn.model == "34461A"
    finally:
        process.send_signal(signal.SIGINT)
        assert process.wait(10) == 0
    assert (tmp_path / "share-usage.sqlite").exists()  # the record, where it was started
