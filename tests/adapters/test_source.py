"""A foreign SMU as our Source: PyMeasure's Keithley 2400 on the lab's 2400 model."""

from __future__ import annotations

import pytest
from pymeasure.instruments.keithley import Keithley2400

import instrumentkit as ik
from instrumentkit.acquisition._bench import provides
from instrumentkit.errors import ConfigError, ValidationError
from instrumentkit.interfaces import Source

SOURCE = {"level": "source_voltage", "output": "source_enabled",
          "on": "enable_source", "off": "disable_source"}  # fmt: skip


@pytest.fixture
def smu(lab_smu):
    lab, model = lab_smu
    meter = Keithley2400(
        lab.resource("smu"), timeout=1000, read_termination="\n", write_termination="\n"
    )
    adapter = ik.adapt(
        meter, name="smu", channels=["source_voltage"], units={"source_voltage": "V"},
        source=SOURCE, safe_limits=ik.SafeLimits(max_level=5.0, max_slew=2.0),
    )  # fmt: skip
    adapter.ramp_sleep = lambda seconds: None
    yield adapter, model
    adapter.close()


@pytest.fixture
def lab_smu():
    from instrumentkit.sim import Lab
    from instrumentkit.sim._lab import parse_lab

    devices = [{"name": "smu", "model": "keithley-2400", "transport": "tcp", "seed": 1}]
    with Lab(parse_lab({"host": "127.0.0.1", "devices": devices})) as lab:
        yield lab, lab.device("smu")


def test_ramps_within_the_slew_limit_and_makes_itself_safe(smu):
    adapter, model = smu
    assert provides(adapter, Source)
    assert adapter.source_outputs() == {"": adapter}
    levels = []
    adapter.ramp_sleep = lambda seconds: levels.append(adapter.level)
    adapter.output = True
    adapter.ramp_to(1.0)  # 2 V/s in 0.05 s steps: 0.1 V a step
    assert adapter.level == pytest.approx(1.0)
    assert model.output is True  # on the instrument, not only in the driver
    assert levels == pytest.approx([0.1 * i for i in range(1, 10)])
    assert adapter.output is True
    assert adapter.make_safe() == []
    assert adapter.output is False
    assert model.output is False
    assert adapter.level == 0.0
    assert adapter.read().value == 0.0


def test_levels_beyond_the_safe_limit_or_the_driver_range_are_refused_before_sending(smu):
    adapter, _model = smu
    with pytest.raises(ValidationError, match="max_level 5"):
        adapter.ramp_to(6.0)
    with pytest.raises(ValidationError, match="would widen the limit 5"):
        adapter.safe_limits = ik.SafeLimits(max_level=500.0)
    adapter.safe_limits = ik.SafeLimits(max_level=1.0, max_slew=2.0)  # tightening is fine
    with pytest.raises(ValidationError, match="max_level 1"):
        adapter.ramp_to(2.0)
    assert adapter.level == 0.0


def test_a_source_map_needs_level_and_output_and_real_methods(lab_smu):
    lab, _model = lab_smu
    meter = Keithley2400(lab.resource("smu"), read_termination="\n", write_termination="\n")
    with pytest.raises(ConfigError, match="missing \\['output'\\]"):
        ik.adapt(meter, source={"level": "source_voltage"})
    with pytest.raises(ConfigError, match="no method 'switch_on'"):
        ik.adapt(meter, source={**SOURCE, "on": "switch_on"})
    meter.adapter.close()
