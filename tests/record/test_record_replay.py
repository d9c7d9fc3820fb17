"""Record sessions of real drivers on the simulated lab, then replay them without it."""

from __future__ import annotations

import numpy as np
import pytest
import yaml

import instrumentkit as ik
from instrumentkit.drivers.keysight import Keysight34461A
from instrumentkit.drivers.oceaninsight import OceanInsightUSB4000
from instrumentkit.drivers.pfeiffer import PfeifferTPG362
from instrumentkit.drivers.rigol import RigolDS1000Z
from instrumentkit.record import ReplayMismatch, load_recording


def dmm_session(dmm: Keysight34461A, range_: float = 10) -> list[object]:
    """A sweep of settings, a reading and a buffered read."""
    dmm.configure("DC_VOLTAGE", range=range_, nplc=1)
    values: list[object] = [dmm.voltage_range, dmm.nplc]
    dmm.nplc = 10
    values += [dmm.nplc, dmm.read().values.tolist(), dmm.read_many(5).values.tolist()]
    return values


def test_a_dmm_session_replays_strictly_with_the_same_readings(lab, tmp_path):
    path = tmp_path / "dmm.rec.yaml"
    with ik.open(lab["dmm"], record=path) as dmm:
        recorded = dmm_session(dmm)
    with ik.open(f"replay://{path}") as dmm:
        assert isinstance(dmm, Keysight34461A)  # the recording names its driver
        assert dmm_session(dmm) == recorded
        transport = dmm.session.transport
    transport.check_done()
    text = path.read_text()
    assert '- write: "VOLT:DC:RANG?\\n"\n' in text
    assert '  reply: "+1.00000000E+01\\n"\n' in text
    header = yaml.safe_load(text)
    assert header["idn"].startswith("Keysight Technologies,34461A,")
    assert header["driver"] == "instrumentkit.drivers.keysight.dmm344xx.Keysight34461A"
    assert header["connection"]["read_termination"] == "\n"
    assert header["versions"]["instrumentkit"] == ik.__version__


def test_one_changed_command_fails_side_by_side_at_its_place(lab, tmp_path):
    path = tmp_path / "dmm.rec.yaml"
    with Keysight34461A.open(lab["dmm"], record=path) as dmm:
        dmm_session(dmm)
    with Keysight34461A.open(f"replay://{path}") as dmm, pytest.raises(ReplayMismatch) as caught:
        dmm_session(dmm, range_=100)
    error = caught.value
    assert isinstance(error, ik.ProtocolError)
    assert (error.expected, error.actual) == (b"VOLT:DC:RANG 10\n", b"VOLT:DC:RANG 100\n")
    message = str(error)
    entries = load_recording(str(path)).exchanges
    assert f"exchange 2 (line {entries[1].line})" in message
    assert path.read_text().splitlines()[entries[1].line - 1] == '- write: "VOLT:DC:RANG 10\\n"'
    expected_line, actual_line, caret = message.splitlines()[1:4]
    assert expected_line.endswith("b'VOLT:DC:RANG 10\\n'")
    assert actual_line.endswith("b'VOLT:DC:RANG 100\\n'")
    assert caret.index("^") == actual_line.index("100") + 2  # under the byte that differs


def test_lenient_replay_answers_reordered_queries_by_command(lab, tmp_path):
    path = tmp_path / "dmm.rec.yaml"
    with Keysight34461A.open(lab["dmm"], record=path) as dmm:
        dmm.voltage_range = 1
        first = (dmm.voltage_range, dmm.nplc, dmm.sample_count)
    with Keysight34461A.open(f"replay://{path}?mode=lenient") as dmm:
        assert (dmm.sample_count, dmm.nplc, dmm.voltage_range) == first[::-1]
        with pytest.raises(ReplayMismatch, match="never sent in the recording"):
            dmm.trigger_count = 3
    with Keysight34461A.open(f"replay://{path}") as dmm, pytest.raises(ReplayMismatch):
        dmm.sample_count  # noqa: B018  strict: the first write must be VOLT:DC:RANG 1


def test_a_scope_fetch_with_its_binary_block_replays(lab, tmp_path):
    path = tmp_path / "scope.rec.yaml"
    with RigolDS1000Z.open(lab["scope"], record=path) as scope:
        recorded = scope.fetch(1)
    text = path.read_text()
    assert "reply_base64:" in text
    assert max(len(line) for line in text.splitlines()) < 100  # short lines for review
    with RigolDS1000Z.open(f"replay://{path}") as scope:
        replayed = scope.fetch(1)
        scope.session.transport.check_done()
    assert replayed.y.size > 100
    np.testing.assert_array_equal(replayed.y, recorded.y)
    assert (replayed.x0, replayed.dx) == (recorded.x0, recorded.dx)


def test_a_serial_spectrometer_acquire_replays(tmp_path):
    path = tmp_path / "spectrometer.rec.yaml"
    url = "iksim://model/oceaninsight-usb4000?seed=4&clock=manual"
    with OceanInsightUSB4000.open(url, record=path) as spectrometer:
        spectrometer.integration_time = 10
        recorded = spectrometer.acquire()
    header = load_recording(str(path)).header
    assert header["connection"]["baudrate"] == OceanInsightUSB4000.connection_defaults["baudrate"]
    with OceanInsightUSB4000.open(f"replay://{path}") as spectrometer:
        spectrometer.integration_time = 10
        replayed = spectrometer.acquire()
        spectrometer.session.transport.check_done()
    np.testing.assert_array_equal(replayed.intensities, recorded.intensities)
    np.testing.assert_array_equal(replayed.wavelengths, recorded.wavelengths)


def test_a_pfeiffer_enq_ack_read_replays_with_its_control_characters(tmp_path):
    path = tmp_path / "gauge.rec.yaml"
    with PfeifferTPG362.open("iksim://model/pfeiffer-tpg362?seed=5", record=path) as gauge:
        recorded = gauge.pressure(1)
    text = path.read_text()
    assert '- write: "PR1\\r\\n"' in text
    assert '  reply: "\\u0006\\r\\n"' in text  # the ACK, readable in review
    assert '- write: "\\u0005"' in text  # then ENQ asks for the data
    with PfeifferTPG362.open(f"replay://{path}") as gauge:
        assert gauge.pressure(1) == recorded
        gauge.session.transport.check_done()
