"""Foreign drivers in run configs and lab scripts: the example config, settings, extras."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import h5py
import numpy as np
import pytest

import instrumentkit as ik
from instrumentkit.acquisition import run_pipeline
from instrumentkit.acquisition._plan import plan_run
from instrumentkit.errors import ConfigError

EXAMPLE = Path(__file__).parents[2] / "examples" / "foreign_drivers.yaml"


def test_the_example_records_both_foreign_instruments_with_idn_and_snapshots(tmp_path):
    output = tmp_path / "foreign.h5"
    result = run_pipeline(EXAMPLE, output=output, duration=2.0)
    assert result.status == "completed"
    with h5py.File(output) as f:
        assert len(f["entry/k2000/voltage"]) >= 10
        assert len(f["entry/dmm/volt"]) >= 10
        assert f["entry/dmm/volt"].attrs["units"] == "V"
        assert f["entry/k2000/voltage"].attrs["units"] == "V"
        k2000 = f["entry/instrument_k2000"]
        assert k2000["idn"][()].decode().startswith("KEITHLEY INSTRUMENTS INC.,MODEL 2000")
        start = json.loads(k2000["settings_start"][()])
        assert start["properties"]["mode"] == "voltage"
        dmm = f["entry/instrument_dmm"]
        assert "34461A" in dmm["idn"][()].decode()
        assert json.loads(dmm["settings_start"][()])["parameters"]["NPLC"]["value"] == 0.2


def _config(tmp_path: Path, instrument: str) -> Path:
    path = tmp_path / "run.yaml"
    path.write_text(f"lab: default\ninstruments:\n  dmm: {instrument}\n", encoding="utf-8")
    return path


def test_a_bad_setting_names_its_field_before_any_is_written(tmp_path):
    config = _config(
        tmp_path,
        '{device: dmm, driver: "qcodes:qcodes.instrument_drivers.Keysight.Keysight34461A", '
        "channels: [volt], settings: {NPLC: 0.5}}",
    )
    with pytest.raises(ConfigError) as caught:
        run_pipeline(config, output=tmp_path / "out.h5", duration=1)
    assert caught.value.field == "instruments.dmm.settings.NPLC"


def test_driver_modules_outside_the_framework_and_native_channels_are_refused(tmp_path):
    config = _config(tmp_path, '{device: dmm, driver: "qcodes:os.path.Thing"}')
    with pytest.raises(ConfigError, match="qcodes or qcodes_contrib_drivers") as caught:
        plan_run(config, output=tmp_path / "out.h5")
    assert caught.value.field == "instruments.dmm.driver"
    with pytest.raises(ConfigError) as caught:
        plan_run(_config(tmp_path, "{device: dmm, channels: [volt]}"), output=tmp_path / "o.h5")
    assert caught.value.field == "instruments.dmm.channels"


def test_a_missing_extra_is_one_line_naming_it(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "pymeasure", None)  # as if not installed
    config = _config(
        tmp_path, '{device: keithley, driver: "pymeasure:pymeasure.instruments.keithley.K"}'
    )
    with pytest.raises(ConfigError) as caught:
        plan_run(config, output=tmp_path / "out.h5")
    assert "pip install 'instrumentkit[pymeasure]'" in str(caught.value)
    assert caught.value.field == "instruments.dmm.driver"


def test_importing_instrumentkit_imports_neither_framework():
    code = (
        "import sys, instrumentkit as ik, instrumentkit.adapters, instrumentkit.acquisition\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('pymeasure', 'qcodes')))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          check=True, timeout=120)  # fmt: skip
    assert done.stdout.strip() == "[]"


def test_adapt_in_a_lab_script_with_run(lab, tmp_path):
    from pymeasure.instruments.keithley import Keithley2000

    meter = Keithley2000(lab.resource("keithley"), timeout=1000, read_termination="\n",
                         write_termination="\n")  # fmt: skip
    meter.mode = "voltage"
    k2000 = ik.adapt(meter, name="k2000", channels=["voltage"], units={"voltage": "V"})
    with ik.Run(tmp_path / "script.h5", instruments={"k2000": k2000}) as run:
        for _ in range(3):
            run.append("k2000", k2000.read())
    with h5py.File(tmp_path / "script.h5") as f:
        assert len(f["entry/k2000/voltage"]) == 3
        assert f["entry/instrument_k2000/idn"][()].decode().startswith("KEITHLEY")
        assert (
            "voltage_nplc" in json.loads(f["entry/instrument_k2000/settings_end"][()])["properties"]
        )
    k2000.close()


def test_a_sweep_steps_a_foreign_parameter_through_its_validator(tmp_path):
    config = tmp_path / "sweep.yaml"
    config.write_text(
        "lab: default\n"
        "instruments:\n"
        "  dmm: {device: dmm, driver: 'qcodes:qcodes.instrument_drivers.Keysight.Keysight34461A',"
        " channels: [volt]}\n"
        "streams:\n"
        "  nplc: {instrument: dmm, kind: sweep, parameter: NPLC, values: [0.2, 1, 10],"
        " read: [dmm], units: PLC}\n",
        encoding="utf-8",
    )
    run_pipeline(config, output=tmp_path / "sweep.h5", duration=20)
    with h5py.File(tmp_path / "sweep.h5") as f:
        stream = f["entry/nplc"]
        assert list(stream["NPLC"][()]) == [0.2, 1, 10]
        assert stream["NPLC"].attrs["units"] == "PLC"
        np.testing.assert_allclose(stream["dmm.volt"][()], 1.0, rtol=1e-3)
        end = json.loads(f["entry/instrument_dmm/settings_end"][()])
        assert end["parameters"]["NPLC"]["value"] == 10
    bad = config.read_text(encoding="utf-8").replace("[0.2, 1, 10]", "[0.2, 0.5]")
    config.write_text(bad, encoding="utf-8")
    with pytest.raises(ConfigError, match="NPLC"):
        run_pipeline(config, output=tmp_path / "bad.h5", duration=20)


def test_a_class_the_module_lacks_is_named(tmp_path):
    config = _config(
        tmp_path, '{device: dmm, driver: "qcodes:qcodes.instrument_drivers.Keysight.K9"}'
    )
    with pytest.raises(ConfigError, match="has no class 'K9'") as caught:
        plan_run(config, output=tmp_path / "out.h5")
    assert caught.value.field == "instruments.dmm.driver"


def test_a_batched_stream_reads_one_after_the_other(tmp_path):
    config = _config(
        tmp_path,
        '{device: dmm, driver: "qcodes:qcodes.instrument_drivers.Keysight.Keysight34461A", '
        "channels: [volt, NPLC], units: {NPLC: ignored}}",
    )
    text = config.read_text(encoding="utf-8") + "streams:\n  dmm: {instrument: dmm, batch: 4}\n"
    config.write_text(text + "stop: {max_readings: 8}\n", encoding="utf-8")
    run_pipeline(config, output=tmp_path / "batch.h5", duration=20)
    with h5py.File(tmp_path / "batch.h5") as f:
        assert len(f["entry/dmm/volt"]) == 8
        np.testing.assert_allclose(f["entry/dmm/NPLC"][()], 10.0)
        assert f["entry/dmm/NPLC"].attrs["units"] == "NPLC"  # the parameter's own unit wins
        times = f["entry/dmm/time"][()]
        assert np.all(np.diff(times) > 0)


def test_acquire_check_says_who_checks_foreign_settings():
    from click.testing import CliRunner

    from instrumentkit.cli import main

    result = CliRunner().invoke(main, ["acquire", "--check", str(EXAMPLE)])
    assert result.exit_code == 0, result.output
    assert "Nothing was opened" in result.output
    output = " ".join(result.output.split())
    assert "Settings of k2000, dmm are checked by their foreign drivers' own validators" in output
    assert "*IDN?" not in output
