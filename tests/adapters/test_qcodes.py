"""QCoDeS instruments through ik.adapt, on the simulated lab's models."""

from __future__ import annotations

import numpy as np
import pytest
from qcodes.instrument_drivers.Keysight import Keysight34461A, Keysight34465A
from qcodes.instrument_drivers.Lakeshore import LakeshoreModel336

import instrumentkit as ik
from instrumentkit.errors import ConfigError, Timeout


def test_keysight_34461a_volt_with_its_unit_and_snapshot(lab):
    lab.device("dmm").sources["VOLT"].offset = 3.25
    dmm = Keysight34461A("dmm", lab.resource("dmm"), timeout=2)
    sensor = ik.adapt(dmm, channels=["dmm.volt"])
    reading = sensor.read()
    assert reading.units == ("V",)
    assert reading.value == pytest.approx(3.25, rel=1e-3)
    assert sensor.idn.startswith("Keysight Technologies,34461A,MY57800001")
    snapshot = sensor.snapshot()
    assert snapshot["parameters"]["line_frequency"]["value"] == 50
    assert snapshot["submodules"]["trigger"]["parameters"]["count"]["value"] == 1


def test_settings_checked_by_vals_before_any_is_sent(lab):
    model = lab.device("dmm65")
    dmm = Keysight34465A("dmm65", lab.resource("dmm65"), timeout=2)
    sensor = ik.adapt(dmm, channels=["volt"])
    with pytest.raises(ConfigError) as caught:
        sensor.apply_settings({"NPLC": 1, "trigger.count": 0.5}, field="settings")
    assert caught.value.field == "settings.trigger.count"
    assert dmm.ask("*OPC?") == "1"
    assert model.nplc["VOLT"] == 10.0  # NPLC 1 was valid but not written
    sensor.apply_settings({"NPLC": 0.06, "trigger.count": 3}, field="settings")
    assert dmm.ask("*OPC?") == "1"  # the writes above are handled by now
    assert model.nplc["VOLT"] == 0.06
    assert model.trigger_count == 3


def test_a_parameter_with_setpoints_reads_as_an_axis_array(lab, tmp_path):
    dmm = Keysight34465A("dmm65", lab.resource("dmm65"), timeout=2)
    sensor = ik.adapt(dmm, channels=["timetrace"])
    sensor.apply_settings({"NPLC": 0.02, "timetrace_npts": 12, "timetrace_dt": 0.01}, field="s")
    trace = sensor.read()
    assert isinstance(trace, ik.AxisArray)
    assert trace.shape == (12,)
    assert trace.units == "V"
    (axis,) = trace.axes
    assert (axis.name, axis.units) == ("time_axis", "s")
    np.testing.assert_allclose(axis.values, np.arange(12) * 0.01)
    np.testing.assert_allclose(trace.values, 1.0, rtol=1e-3)
    with ik.Run(tmp_path / "trace.h5", instruments={"dmm65": sensor}) as run:
        run.append("trace", sensor.read())
    data = ik.open_run(tmp_path / "trace.h5")
    import h5py

    with h5py.File(tmp_path / "trace.h5") as f:
        assert f["entry/trace/data"].shape == (1, 12)
        np.testing.assert_allclose(f["entry/trace/time_axis"][()], np.arange(12) * 0.01)
        assert "34465A" in f["entry/instrument_dmm65/idn"][()].decode()
    del data


def test_lake_shore_336_channel_temperature_and_a_timeout_naming_the_parameter(lab):
    ls = LakeshoreModel336("ls", lab.resource("temperature"), timeout=0.3)
    sensor = ik.adapt(ls, channels=["A.temperature", "B.temperature"])
    reading = sensor.read()
    assert reading.units == ("K", "K")
    np.testing.assert_allclose(reading.values[0], [4.2, 77.3], atol=0.5)
    snapshot = sensor.snapshot()  # update=True: asked of the model (INNAME?, PID?, ...)
    channel_a = snapshot["submodules"]["A"]["parameters"]
    assert channel_a["sensor_name"]["value"] == "Input A"
    heater = snapshot["submodules"]["output_1"]["parameters"]
    assert (heater["P"]["value"], heater["I"]["value"]) == (50, 20)
    # QCoDeS reads a voltage output's level with HTR? 3, which the 336 refuses (AOUT? is
    # for outputs 3-4): no reply, so the read times out, naming instrument and parameter.
    with pytest.raises(Timeout) as caught:
        ik.adapt(ls, channels=["output_3.output"]).read()
    assert caught.value.instrument == "ls"
    assert "'output_3.output'" in str(caught.value)


def test_an_array_channel_must_be_alone_and_paths_are_checked(lab):
    dmm = Keysight34461A("dmm", lab.resource("dmm"), timeout=2)
    with pytest.raises(ConfigError, match="only channel"):
        ik.adapt(dmm, channels=["volt", "timetrace"])
    with pytest.raises(ConfigError, match="no submodule 'trig'"):
        ik.adapt(dmm, channels=["trig.count"])
