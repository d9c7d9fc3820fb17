"""Run configs: every error names the field and the reason, before any instrument is touched.

The resources here are unroutable (TEST-NET-1, 192.0.2.x): a check that tried to reach an
instrument would hang on the connect, so passing quickly proves nothing was touched.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from instrumentkit.acquisition import RunConfig, load_run_config
from instrumentkit.acquisition._bench import Bench, build_pipeline
from instrumentkit.acquisition._config import parse_run_config
from instrumentkit.acquisition._plan import Plan, plan_run
from instrumentkit.errors import ConfigError

NOWHERE = "TCPIP::192.0.2.1::5025::SOCKET"


def write(tmp_path: Path, config: dict[str, Any]) -> Path:
    path = tmp_path / "run.yaml"
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    return path


def plan(tmp_path: Path, config: dict[str, Any]) -> Plan:
    config.setdefault("output", {"path": str(tmp_path / "out.h5")})
    return plan_run(write(tmp_path, config))


def dmm(**extra: Any) -> dict[str, Any]:
    return {"resource": NOWHERE, "driver": "Keysight34461A", **extra}


def scope(**extra: Any) -> dict[str, Any]:
    return {"resource": NOWHERE, "driver": "KeysightInfiniiVision", **extra}


def refused(tmp_path: Path, config: dict[str, Any]) -> ConfigError:
    with pytest.raises(ConfigError) as caught:
        plan(tmp_path, config)
    assert "\n" not in str(caught.value)  # one line for the terminal
    return caught.value


def test_a_full_config_loads_with_defaults(tmp_path: Path) -> None:
    config, text = load_run_config(write(tmp_path, {"instruments": {"dmm": dmm()}}))
    assert isinstance(config, RunConfig)
    assert "Keysight34461A" in text
    assert config.output.path == "run.h5"
    assert config.output.flush_interval == 1.0
    assert config.stop.duration is None
    assert config.instruments["dmm"].on_error.action == "stop"
    assert config.instruments["dmm"].on_error.max_errors == 10


@pytest.mark.parametrize(
    ("data", "field", "reason"),
    [
        ({}, "instruments", "Field required"),
        ({"instruments": {}}, "instruments", "at least 1 item"),
        ({"instruments": {"a": {}}}, "instruments.a", "give either resource"),
        ({"instruments": {"a": {"resource": "x", "device": "y"}}}, "instruments.a", "not both"),
        ({"instruments": {"a": {"device": "x"}}}, "instruments.a.device",
         "needs a top-level 'lab:'"),
        ({"instruments": {"a b": {"resource": "x"}}}, "instruments.a b", "must start with"),
        ({"instruments": {"a": {"resource": "x", "rate": 5}}}, "instruments.a.rate",
         "unknown field"),
        ({"instruments": {"a": {"resource": "x", "options": {"baud": 9600}}}},
         "instruments.a.options.baud", "unknown connection option; options: backend, timeout"),
        ({"instruments": {"a": {"resource": "x", "on_error": {"action": "retry"}}}},
         "instruments.a.on_error.action", "'stop' or 'skip'"),
        ({"instruments": {"a": {"resource": "x"}}, "streams": {"s": {"instrument": "b"}}},
         "streams.s.instrument", "no instrument 'b'; instruments: a"),
        ({"instruments": {"a": {"resource": "x"}}, "streams": {"s": {"instrument": "a",
          "rate": 0}}}, "streams.s.rate", "greater than 0"),
        ({"instruments": {"a": {"resource": "x"}}, "streams": {"s": {"instrument": "a",
          "kind": "sweep"}}}, "streams.s", "a sweep needs parameter, values and read"),
        ({"instruments": {"a": {"resource": "x"}}, "streams": {"s": {"instrument": "a",
          "kind": "sweep", "parameter": "v", "values": {"start": 0, "stop": 1, "num": 0},
          "read": ["a"]}}}, "streams.s.values.num", "greater than or equal to 1"),
        ({"instruments": {"a": {"resource": "x"}}, "streams": {"s": {"instrument": "a",
          "channels": [1], "kind": "readings"}}}, "streams.s", "channels only apply"),
        ({"instruments": {"a": {"resource": "x"}}, "streams": {"s": {"instrument": "a",
          "stages": [{"scale": 2, "units": "V"}]}}}, "streams.s.stages",
         "must be one 'name: parameters' entry"),
        ({"instruments": {"a": {"resource": "x"}}, "streams": {"errors": {"instrument": "a"}}},
         "streams.errors", "reserved for the run's error log"),
        ({"instruments": {"a": {"resource": "x"}}, "stop": {"duration": -1}}, "stop.duration",
         "greater than 0"),
        ({"instruments": {"a": {"resource": "x"}}, "stop": {"first_record_timeout": 0}},
         "stop.first_record_timeout", "greater than 0"),
        ({"instruments": {"a": {"resource": "x"}}, "output": {"compression": "zip"}},
         "output.compression", "'gzip' or 'blosc'"),
    ],
)  # fmt: skip
def test_structure_errors_name_the_field(data: Any, field: str, reason: str) -> None:
    with pytest.raises(ConfigError) as caught:
        parse_run_config(data, source="run.yaml")
    assert caught.value.field == field
    assert str(caught.value).startswith(f"run.yaml field {field!r}: ")
    assert reason in str(caught.value)


def test_file_errors(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read the run config"):
        load_run_config(tmp_path / "missing.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("instruments:\n  dmm: {resource: x\n")
    with pytest.raises(ConfigError, match=r"not valid YAML \(line 3, column 1\)"):
        load_run_config(bad)
    listed = tmp_path / "list.yaml"
    listed.write_text("- 1\n")
    with pytest.raises(ConfigError, match="expected a mapping of sections"):
        load_run_config(listed)


def test_settings_are_checked_against_the_driver(tmp_path: Path) -> None:
    ok = plan(tmp_path, {"instruments": {"dmm": dmm(settings={"nplc": 10, "function":
                                                               "dc_voltage"})}})  # fmt: skip
    assert ok.drivers["dmm"].__name__ == "Keysight34461A"
    error = refused(tmp_path, {"instruments": {"dmm": dmm(settings={"nplcx": 1})}})
    assert error.field == "instruments.dmm.settings.nplcx"
    assert "Keysight34461A has no setting 'nplcx'; settings: " in str(error)
    error = refused(tmp_path, {"instruments": {"dmm": dmm(settings={"nplc": 3})}})
    assert error.field == "instruments.dmm.settings.nplc"
    assert "nplc = 3 refused before sending" in str(error)
    error = refused(tmp_path, {"instruments": {"dmm": dmm(settings={"voltage": 1})}})
    assert "no setting 'voltage'" in str(error)  # a measurement cannot be set


def test_channel_settings_are_checked_too(tmp_path: Path) -> None:
    plan(tmp_path, {"instruments": {"scope": scope(settings={"channels": {1: {"scale": 0.5}}})}})
    error = refused(tmp_path, {"instruments": {"scope": scope(
        settings={"channels": {9: {"scale": 0.5}}})}})  # fmt: skip
    assert error.field == "instruments.scope.settings.channels.9.scale"
    assert "no channels '9'" in str(error)
    error = refused(tmp_path, {"instruments": {"scope": scope(
        settings={"channels": {2: {"zoom": 1}}})}})  # fmt: skip
    assert error.field == "instruments.scope.settings.channels.2.zoom"


def test_driver_names_resolve_in_the_registry_only(tmp_path: Path) -> None:
    error = refused(tmp_path, {"instruments": {"dmm": dmm(driver="Keysight3446")}})
    assert error.field == "instruments.dmm.driver"
    assert "did you mean" in str(error)


def test_streams_are_checked_against_what_the_driver_gives(tmp_path: Path) -> None:
    base = {"instruments": {"dmm": dmm(), "scope": scope()}}
    defaults = plan(tmp_path, dict(base))
    assert set(defaults.streams) == {"dmm", "scope"}
    error = refused(tmp_path, {**base, "streams": {"s": {"instrument": "dmm",
                                                         "kind": "waveforms"}}})  # fmt: skip
    assert error.field == "streams.s.kind"
    assert "gives readings, not waveforms" in str(error)
    error = refused(tmp_path, {**base, "streams": {"a": {"instrument": "dmm"},
                                                   "b": {"instrument": "dmm"}}})  # fmt: skip
    assert error.field == "streams.b.instrument"
    assert "already feeds stream 'a'" in str(error)


def test_stages_are_checked(tmp_path: Path) -> None:
    base: dict[str, Any] = {"instruments": {"dmm": dmm(), "scope": scope()}}
    plan(tmp_path, {**base, "streams": {"scope": {"instrument": "scope", "stages": [
        {"block_average": 4}, {"decimate": {"factor": 10, "along": "record"}}, {"fft": {}},
        {"units": "V"}]}}})  # fmt: skip
    cases = [
        ("dmm", [{"smooth": 3}], "streams.s.stages[0].smooth", "unknown stage; stages:"),
        ("dmm", [{"block_average": 0}], "streams.s.stages[0].block_average", "must be >= 1"),
        ("dmm", [{"fft": {}}], "streams.s.stages[0].fft", "not on readings"),
        ("scope", [{"psd": {"nperseg": "x"}}], "streams.s.stages[0].psd", "bad parameters"),
        ("scope", [{"find_peaks": {"max_peaks": 3, "colour": 1}}],
         "streams.s.stages[0].find_peaks", "unknown find_peaks option"),
    ]  # fmt: skip
    for instrument, stages, field, reason in cases:
        config = {**base, "streams": {"s": {"instrument": instrument, "stages": stages}}}
        error = refused(tmp_path, config)
        assert error.field == field
        assert reason in str(error)


def test_sweep_values_are_checked_before_the_first_step(tmp_path: Path) -> None:
    instruments = {"dmm": dmm(), "meter": dmm()}
    sweep = {"instrument": "dmm", "kind": "sweep", "parameter": "nplc", "read": ["meter"]}
    plan(tmp_path, {"instruments": instruments, "streams": {"s": {**sweep, "values": [1, 10]}}})
    bad = {"s": {**sweep, "values": [1, 3]}}
    error = refused(tmp_path, {"instruments": instruments, "streams": bad})
    assert error.field == "streams.s.values"
    assert "nplc = 3.0 refused" in str(error)
    error = refused(tmp_path, {"instruments": instruments, "streams": {"s": {
        **sweep, "parameter": "wobble", "values": [1]}}})  # fmt: skip
    assert error.field == "streams.s.parameter"


def test_a_misspelt_sweep_read_is_refused_naming_the_field(tmp_path: Path) -> None:
    # Each name of `read:` (an instrument, or instrument:channel) must be an instrument of
    # the config; a typo used to surface mid-plan as a bare KeyError. The resources are
    # unroutable, so being refused at all proves no instrument was opened first.
    instruments = {"dmm": dmm(), "meter": dmm(), "scope": scope()}
    axes = [{"parameter": "dmm.nplc", "values": [1, 10]}]
    for read, field, typo in [
        (["meter", "metre"], "streams.s.read[1]", "metre"),
        (["meter", "scop:1"], "streams.s.read[1]", "scop"),
        (["dmn"], "streams.s.read[0]", "dmn"),
    ]:
        streams = {"s": {"kind": "sweep", "axes": axes, "read": read}}
        error = refused(tmp_path, {"instruments": instruments, "streams": streams})
        assert error.field == field
        assert f"no instrument {typo!r}; instruments: dmm, meter, scope" in str(error)
    short = {
        "kind": "sweep",
        "instrument": "dmm",
        "parameter": "nplc",
        "values": [1],
        "read": ["metre"],
    }
    error = refused(tmp_path, {"instruments": instruments, "streams": {"s": short}})
    assert error.field == "streams.s.read[0]"


def test_output_is_checked_before_anything_opens(tmp_path: Path) -> None:
    (tmp_path / "taken.h5").write_bytes(b"")
    base = {"instruments": {"dmm": dmm()}}
    error = refused(tmp_path, {**base, "output": {"path": str(tmp_path / "taken.h5")}})
    assert error.field == "output.path"
    assert "already exists" in str(error)
    plan(tmp_path, {**base, "output": {"path": str(tmp_path / "taken.h5"), "overwrite": True}})
    assert plan_run(write(tmp_path, base), output=tmp_path / "taken.h5", overwrite=True)
    error = refused(tmp_path, {**base, "output": {"path": str(tmp_path / "no" / "run.h5")}})
    assert "does not exist" in str(error)


def test_simulated_lab_devices_resolve_to_their_drivers(tmp_path: Path) -> None:
    lab = tmp_path / "lab.yaml"
    lab.write_text(yaml.safe_dump({"devices": [
        {"name": "spec", "model": "oceaninsight-usb4000", "transport": "serial"},
        {"name": "gauge", "model": "pfeiffer-tpg362", "transport": "serial"}]}))  # fmt: skip
    checked = plan(tmp_path, {"lab": "lab.yaml", "instruments": {
        "spec": {"device": "spec"}, "gauge": {"device": "gauge"}}})  # fmt: skip
    assert checked.drivers["spec"].__name__ == "OceanInsightUSB4000"
    assert checked.drivers["gauge"].__name__ == "PfeifferTPG362"  # the most specific driver
    assert set(checked.streams) == {"spec", "gauge"}
    error = refused(tmp_path, {"lab": "lab.yaml", "instruments": {"x": {"device": "scope"}}})
    assert error.field == "instruments.x.device"
    assert "no device 'scope' in lab 'lab.yaml'; devices: gauge, spec" in str(error)
    error = refused(tmp_path, {"lab": "defualt", "instruments": {"x": {"device": "a"}}})
    assert error.field == "lab"
    assert str(error).endswith(  # a misspelt 'default' is a path that is not there
        f"no lab file {tmp_path / 'defualt'}; give 'default' (the simulated lab shipped with "
        "instrumentkit) or the path of a lab file, relative to this config"
    )
    assert plan(tmp_path, {"lab": "default", "instruments": {"s": {"device": "spectrometer"}}})


def test_first_record_timeout_reaches_the_pipeline(tmp_path: Path) -> None:
    config = {
        "lab": "default",
        "instruments": {"dmm": {"device": "dmm"}},
        "stop": {"duration": 1, "first_record_timeout": 2.5},
    }
    planned = plan(tmp_path, config)
    assert planned.config.stop.first_record_timeout == 2.5
    with Bench(planned) as bench:
        pipeline = build_pipeline(planned, bench)
        assert pipeline.first_record_timeout == 2.5
        pipeline.writer.close()


@pytest.mark.parametrize(
    ("stage", "message"),
    [
        ({"fft": {"windw": "hann"}}, "unknown parameter 'windw'; fft takes window, scaling"),
        ({"fft": {"window": "nosuch"}}, "unknown window 'nosuch' ("),
        ({"fft": {"window": "hanning"}}, "unknown window 'hanning' ("),  # SciPy dropped it
        ({"fft": {"scaling": "db"}}, "scaling must be one of amplitude, none, not 'db'"),
        ({"psd": {"window": "nosuch"}}, "unknown window 'nosuch' ("),
        ({"psd": {"scaling": "dens"}}, "scaling must be one of density, spectrum, not 'dens'"),
        ({"psd": {"nperseg": 64, "segments": 4}},
         "unknown parameter 'segments'; psd takes fs, nperseg, noverlap, window, scaling"),
        ({"block_average": {"siz": 3}}, "unknown parameter 'siz'; block_average takes size"),
        ({"block_average": {}}, "missing parameter 'size'; block_average takes size"),
        ({"find_peaks": {"max_peak": 3}}, "unknown parameter 'max_peak'; find_peaks takes "
         "max_peaks, interpolate, height, threshold, distance, prominence, width, wlen, "
         "rel_height, plateau_size"),
        ({"find_peaks": {"prominence": 3}}, "missing parameter 'max_peaks'; find_peaks takes"),
    ],
)  # fmt: skip
def test_stage_parameters_are_named_when_refused(
    tmp_path: Path, stage: dict[str, Any], message: str
) -> None:
    """Refused when the config is checked (a bad FFT window used to pass and stop the run
    at the first record), naming the parameter and the ones the stage takes."""
    config = {"instruments": {"scope": scope()},
              "streams": {"s": {"instrument": "scope", "stages": [stage]}}}  # fmt: skip
    error = refused(tmp_path, config)
    assert error.field == f"streams.s.stages[0].{next(iter(stage))}"
    assert f"bad parameters: {message}" in str(error)
    assert "<lambda>" not in str(error)
