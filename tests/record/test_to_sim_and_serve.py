"""A recording as a pyvisa-sim file in plain pyvisa, and served to other programs."""

from __future__ import annotations

import signal
import subprocess
import sys
from pathlib import Path

import pytest
import pyvisa
import yaml
from click.testing import CliRunner

import instrumentkit as ik
from instrumentkit.cli import main
from instrumentkit.drivers.keysight import Keysight34461A
from instrumentkit.drivers.pfeiffer import PfeifferTPG362
from instrumentkit.drivers.rigol import RigolDS1000Z
from instrumentkit.record import load_recording, serve_recording

SIM_RESOURCE = "TCPIP0::127.0.0.1::inst0::INSTR"


def dmm_script(dmm: Keysight34461A) -> list[object]:
    dmm.configure("DC_VOLTAGE", range=10, nplc=1)
    values: list[object] = [dmm.voltage_range, dmm.nplc, dmm.function.name]
    dmm.voltage_range = 100
    values += [dmm.voltage_range, dmm.read().values.tolist(), dmm.read_many(5).values.tolist()]
    return values


@pytest.fixture
def dmm_recording(lab, tmp_path) -> tuple[Path, list[object]]:
    path = tmp_path / "dmm.rec.yaml"
    with ik.open(lab["dmm"], record=path) as dmm:
        return path, dmm_script(dmm)


def test_to_sim_writes_a_file_plain_pyvisa_opens_and_that_answers_the_recording(
    dmm_recording, tmp_path
):
    path, recorded = dmm_recording
    sim_file = tmp_path / "dmm.yaml"
    result = CliRunner().invoke(main, ["record", "to-sim", str(path), "-o", str(sim_file)])
    assert result.exit_code == 0, result.output
    recording = load_recording(str(path))
    manager = pyvisa.ResourceManager(f"{sim_file}@sim")
    try:
        plain = manager.open_resource(SIM_RESOURCE, read_termination="\n", write_termination="\n")
        assert plain.query("*IDN?") == recording.header["idn"]
        # Every recorded query, in order, gets its recorded reply (writes replayed too).
        for exchange in recording.exchanges:
            assert exchange.write is not None
            command = exchange.write.decode().removesuffix("\n")
            if exchange.reply:
                assert plain.query(command) == exchange.reply.decode().removesuffix("\n")
            else:
                plain.write(command)
        plain.close()
    finally:
        manager.close()
    # The recorded script, through the driver, gets the same results from the file.
    with Keysight34461A.open(SIM_RESOURCE, backend=f"{sim_file}@sim") as dmm:
        assert dmm_script(dmm) == recorded
    properties = yaml.safe_load(sim_file.read_text())["devices"]["recorded"]["properties"]
    assert properties["volt_dc_rang"]["getter"] == {"q": "VOLT:DC:RANG?", "r": "{:+.8E}"}
    assert properties["volt_dc_rang"]["setter"] == {"q": "VOLT:DC:RANG {}"}
    assert properties["volt_dc_rang"]["specs"] == {"type": "float"}
    assert "#   VOLT:DC:RANG: set 10, 100\n" in sim_file.read_text()


def test_to_sim_lists_binary_replies_and_keeps_the_error_queue(lab, tmp_path):
    path = tmp_path / "scope.rec.yaml"
    with RigolDS1000Z.open(lab["scope"], record=path) as scope:
        scope.fetch(1)
        scope.raise_instrument_errors()
    CliRunner().invoke(main, ["record", "to-sim", str(path), "-o", str(tmp_path / "scope.yaml")])
    text = (tmp_path / "scope.yaml").read_text()
    block = next(e for e in load_recording(str(path)).exchanges if e.reply.startswith(b"#"))
    assert f"answered {len(block.reply)} bytes, not one text" in text
    device = yaml.safe_load(text)["devices"]["recorded"]
    (queue,) = device["error"]["error_queue"]
    assert queue["q"].upper().startswith(":SYST") or queue["q"].upper().startswith("SYST")
    manager = pyvisa.ResourceManager(f"{tmp_path / 'scope.yaml'}@sim")
    try:
        plain = manager.open_resource(SIM_RESOURCE, read_termination="\n", write_termination="\n")
        assert plain.query("*IDN?").startswith("RIGOL TECHNOLOGIES,DS1054Z")
        assert plain.query(queue["q"]) == queue["default"]
    finally:
        manager.close()


def test_a_recording_served_on_tcp_answers_pyvisa_py_and_the_driver(dmm_recording):
    path, recorded = dmm_recording
    with serve_recording(str(path), name="dmm") as server:
        manager = pyvisa.ResourceManager("@py")
        plain = manager.open_resource(
            server.resource("dmm"), read_termination="\n", write_termination="\n"
        )
        plain.write('FUNC "VOLT"')
        plain.write("VOLT:DC:RANG 10")
        plain.write("VOLT:DC:NPLC 1")
        assert plain.query("VOLT:DC:RANG?") == "+1.00000000E+01"
        plain.close()
        # A new connection replays from the start: the driver gets the recorded results,
        # and through the simulated serial URL as well.
        with Keysight34461A.open(server.resource("dmm")) as dmm:
            assert dmm_script(dmm) == recorded
        with Keysight34461A.open("iksim://dmm") as dmm:
            assert dmm_script(dmm) == recorded


def test_a_serial_recording_served_by_the_cli_answers_over_socket_url(tmp_path):
    path = tmp_path / "gauge.rec.yaml"
    with PfeifferTPG362.open("iksim://model/pfeiffer-tpg362?seed=5", record=path) as gauge:
        recorded = gauge.pressure(1)
    with subprocess.Popen(
        [sys.executable, "-m", "instrumentkit", "record", "serve", str(path)],
        stdout=subprocess.PIPE, text=True,
    ) as server:  # fmt: skip
        assert server.stdout is not None
        lines = [server.stdout.readline() for _ in range(3)]
        url = lines[2].split()[-1]
        assert url.startswith("socket://127.0.0.1:")
        try:
            with PfeifferTPG362.open(url) as gauge:
                assert gauge.pressure(1) == recorded
        finally:
            server.send_signal(signal.SIGINT)
            assert server.wait(timeout=30) == 0


def test_a_lenient_server_answers_queries_in_any_order_and_ignores_unknown_ones(dmm_recording):
    path, _ = dmm_recording
    with serve_recording(str(path), name="lenient-dmm", mode="lenient") as server:
        manager = pyvisa.ResourceManager("@py")
        plain = manager.open_resource(
            server.resource("lenient-dmm"), read_termination="\n", write_termination="\n"
        )
        plain.timeout = 300  # ms: the unknown command below gets no reply
        assert plain.query("VOLT:DC:NPLC?") == "+1.00000000E+00"
        # The next RANG? after that point in the recording, then the one left before it.
        assert plain.query("VOLT:DC:RANG?") == "+1.00000000E+02"
        assert plain.query("VOLT:DC:RANG?") == "+1.00000000E+01"
        with pytest.raises(pyvisa.errors.VisaIOError):
            plain.query("NOT:RECORDED?")
        assert plain.query("FUNC?") == '"VOLT"'
        plain.close()
