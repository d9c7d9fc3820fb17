"""The sources as the registry, the CLI and a serial line see them."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from instrumentkit.cli import main
from instrumentkit.drivers.keithley import Keithley2400
from instrumentkit.drivers.keithley.smu2400_sim import Keithley2400Model
from instrumentkit.sim import attach, detach
from instrumentkit.testing import check_driver


def test_instrumentkit_drivers_lists_at_least_four_sources():
    result = CliRunner().invoke(main, ["drivers", "--json"])
    assert result.exit_code == 0, result.output
    sources = {row["driver"] for row in json.loads(result.output) if "Source" in row["interfaces"]}
    assert {"Keithley2400", "Keithley2450", "KeysightE36312A", "RigolDP832"} <= sources


def test_2400_opens_a_serial_line_at_9600_8n1_and_passes_conformance_there():
    model = Keithley2400Model(seed=5)
    attach("smu-serial", model)
    try:
        with Keithley2400.open("iksim://smu-serial") as smu:
            assert smu.idn.model == "MODEL 2400"
            for key, value in Keithley2400.connection_defaults.items():
                assert model.line_settings[key] == value
            check_driver(Keithley2400, smu)
            smu.nplc = 0.01
            smu.output = True
            smu.level = 1.0
            assert smu.measure_current() == pytest.approx(105e-6, rel=1e-3)  # *RST compliance
            assert smu.compliance_tripped() is True
            smu.current_limit = 0.01
            assert smu.measure_current() == pytest.approx(1e-3, rel=1e-3)  # 1 V over 1 kOhm
            assert smu.make_safe() == []
    finally:
        detach("smu-serial")
