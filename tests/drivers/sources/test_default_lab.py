"""The default simulated lab has an SMU and a supply that ik.open identifies as Sources."""

from __future__ import annotations

import pytest

import instrumentkit as ik
from instrumentkit.drivers.keithley import Keithley2400
from instrumentkit.drivers.keysight import KeysightE36312A
from instrumentkit.sim import Lab, default_lab_path, load_lab
from instrumentkit.sim.dut import Diode


def test_default_lab_smu_and_psu_are_sources_that_end_safe():
    with (
        Lab(load_lab(default_lab_path())) as lab,
        ik.open(lab.resource("smu")) as smu,
        ik.open(lab.resource("psu")) as psu,
    ):
        assert isinstance(smu, Keithley2400)
        assert isinstance(psu, KeysightE36312A)
        smu.nplc = 0.01
        smu.current_limit = 0.1
        smu.level = 0.5
        smu.output = True
        # The lab wires the SMU to a diode (instrumentkit.sim.dut.Diode, default parameters).
        assert smu.measure_current() == pytest.approx(Diode().current(0.5), rel=1e-3)
        psu.channels[3].voltage = 2.0
        psu.channels[3].output = True
        for source in (smu, psu):
            assert isinstance(source, ik.Source)
            assert source.make_safe() == []
        assert smu.output is False
        assert [psu.channels[n].output for n in (1, 2, 3)] == [False, False, False]
