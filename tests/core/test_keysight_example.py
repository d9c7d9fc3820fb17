"""The foundation's proof: the whole path on the Keysight 34461A pyvisa-sim model."""

from __future__ import annotations

import json

import pytest

import instrumentkit as ik
from instrumentkit.drivers.keysight import Keysight34461A
from instrumentkit.simfiles import sim_backend


@pytest.fixture
def dmm():
    with ik.open(Keysight34461A.sim_resource, backend=sim_backend(Keysight34461A)) as opened:
        yield opened


def test_ik_open_identifies_the_driver(dmm):
    assert type(dmm) is Keysight34461A
    assert dmm.idn.vendor == "Keysight Technologies"
    assert dmm.idn.model == "34461A"


def test_reads_a_voltage(dmm):
    value = dmm.voltage
    assert isinstance(value, float)
    assert 0.0 <= value <= 10.0  # the simulator's RANDOM(0, 10) source
    reading = dmm.read()
    assert reading.units == ("V",)
    assert reading.values.shape == (1, 1)


def test_sets_a_range_and_reads_it_back(dmm):
    dmm.voltage_range = 100
    assert dmm.voltage_range == 100.0
    dmm.voltage_range = 0.1
    assert dmm.voltage_range == 0.1
    assert dmm.drain_errors() == []


def test_refuses_out_of_range_before_sending(dmm):
    before = dmm.voltage_range
    with pytest.raises(ik.ValidationError, match="voltage_range = 7 refused"):
        dmm.voltage_range = 7
    # Nothing reached the instrument: no error queued, setting unchanged.
    assert dmm.drain_errors() == []
    assert dmm.voltage_range == before


def test_the_simulator_itself_rejects_what_the_driver_would_refuse(dmm):
    dmm.session.write("VOLT:DC:RANG 7")
    assert dmm.drain_errors() == [(-113, "Undefined header")]


def test_snapshot_lists_it_all(dmm):
    dmm.voltage_range = 1
    snap = dmm.snapshot()
    expected = {"function", "voltage_range", "voltage_autorange", "nplc", "sample_count"}
    assert expected <= set(snap)
    assert all(set(entry) == {"value", "units"} for entry in snap.values())
    assert snap["voltage_range"] == {"value": 1.0, "units": "V"}
    assert snap["function"]["value"] == "dc_voltage"
    json.dumps(snap)


def test_sim_instrument_fixture_gives_fresh_state(sim_instrument):
    first = sim_instrument(Keysight34461A)
    first.voltage_range = 1000
    second = sim_instrument(Keysight34461A)
    assert second.voltage_range == 10.0


def test_buffered_read_many(dmm):
    reading = dmm.read_many(5)
    assert reading.values[:, 0].tolist() == [1.0, 1.5, 2.0, 2.5, 3.0]
    assert (reading.timestamps_ns[1:] >= reading.timestamps_ns[:-1]).all()
