"""N-D sweeps (issue 12, section 3): grid order, the grid in the run file (NXdata axes,
NaN where no point was taken), slew-limited levels, values from configs, compliance, and
the same sweeps on the simulated SourceMeter and supply of the default lab.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import h5py
import numpy as np
import pytest
import yaml

import instrumentkit as ik
from instrumentkit.acquisition import (
    Pipeline,
    SensorSource,
    Stop,
    SweepAxis,
    SweepSource,
    open_run,
    run_pipeline,
)
from instrumentkit.acquisition._config import parse_run_config
from instrumentkit.acquisition._plan import values_of
from instrumentkit.acquisition._sweep_grid import grid_order
from instrumentkit.acquisition.synthetic import SyntheticScope, SyntheticSensor
from instrumentkit.errors import ConfigError

SMU = {"device": "smu", "settings": {"source_function": "voltage", "nplc": 0.01,
                                     "current_limit": 0.1}}  # fmt: skip
PSU = {"device": "psu"}


def lab_config(tmp_path: Path, streams: dict[str, Any], **instruments: Any) -> Path:
    config = {"lab": "default", "instruments": instruments, "streams": streams,
              "output": {"path": str(tmp_path / "run.h5")}}  # fmt: skip
    path = tmp_path / "run.yaml"
    path.write_text(yaml.safe_dump(config))
    return path


def axis(output: Any, name: str, values: list[float]) -> SweepAxis:
    return SweepAxis(name, np.asarray(values), output.ramp_to, "V", name, output=output)


# -- the order points are taken in --------------------------------------------------------
def test_snake_reverses_the_inner_axis_on_every_other_pass() -> None:
    assert list(grid_order((2, 3))) == [(0, 0), (0, 1), (0, 2), (1, 0), (1, 1), (1, 2)]
    assert list(grid_order((2, 3), snake=True)) == [
        (0, 0), (0, 1), (0, 2), (1, 2), (1, 1), (1, 0)
    ]  # fmt: skip


def test_a_snake_moves_one_axis_by_one_step_between_any_two_points() -> None:
    points = list(grid_order((3, 4, 2), snake=True))
    assert sorted(points) == sorted(np.ndindex(3, 4, 2))  # every point once
    steps = np.abs(np.diff(np.array(points), axis=0))
    assert (steps.sum(axis=1) == 1).all()


# -- the grid in the file -----------------------------------------------------------------
def test_a_2d_sweep_is_stored_as_a_grid_with_named_axes(tmp_path: Path, recording_output):
    gate, bias = recording_output("gate"), recording_output("bias")
    sweep = SweepSource(
        axes=[axis(gate, "gate", [0.0, 1.0, 2.0]), axis(bias, "bias", [0.0, 0.5])],
        readers={"dmm": SyntheticSensor("dmm")}, snake=True, stream="map",
    )  # fmt: skip
    result = Pipeline([sweep], tmp_path / "map.h5").run()
    assert result.status == "completed", result.reason
    with open_run(result.path) as run:
        grid = run.to_xarray("map")
    assert grid["dmm.value"].dims == ("gate", "bias")
    # The synthetic DMM counts its reads: each cell holds the order it was taken in.
    np.testing.assert_array_equal(grid["dmm.value"].values, [[0, 1], [3, 2], [4, 5]])
    np.testing.assert_array_equal(grid["order"].values, [[0, 1], [3, 2], [4, 5]])
    np.testing.assert_array_equal(grid["gate"].values, [0.0, 1.0, 2.0])
    assert grid["gate"].attrs["units"] == "V"
    assert (grid["status"].values == 0).all()
    with h5py.File(result.path, "r") as f:  # NeXus tools find the plot without us
        group = f["entry/map"]
        assert group.attrs["NX_class"] == "NXdata"
        assert list(group.attrs["axes"]) == ["gate", "bias"]
        assert (group.attrs["gate_indices"], group.attrs["bias_indices"]) == (0, 1)
        assert group["dmm.value"].dims[1][0] == group["bias"]  # a dimension scale


def test_a_sweep_stopped_early_keeps_its_grid_with_nan_where_not_taken(
    tmp_path: Path, recording_output
) -> None:
    gate, bias = recording_output("gate"), recording_output("bias")
    sweep = SweepSource(
        axes=[axis(gate, "gate", [0.0, 1.0, 2.0]), axis(bias, "bias", [0.0, 0.5, 1.0])],
        readers={"dmm": SyntheticSensor("dmm")}, stream="map",
    )  # fmt: skip
    result = Pipeline([sweep], tmp_path / "map.h5", stop=Stop(max_readings=4)).run()
    assert result.rows == {"map": 4}
    with open_run(result.path) as run:
        grid = run.to_xarray("map")
    assert grid["dmm.value"].shape == (3, 3)
    values = grid["dmm.value"].values
    np.testing.assert_array_equal(values.ravel()[:4], [0, 1, 2, 3])
    assert np.isnan(values.ravel()[4:]).all()
    np.testing.assert_array_equal(grid["status"].values.ravel(), [0] * 4 + [-1] * 5)
    assert np.isnat(grid["time"].values.ravel()[4:]).all()
    assert not gate.output  # the end of the run made both safe
    assert not bias.output


def test_traces_get_their_own_axis_after_the_grid(tmp_path: Path, recording_output) -> None:
    source = recording_output("gen")
    sweep = SweepSource(
        axes=[axis(source, "amplitude", [0.1, 0.2])],
        readers={"scope": SyntheticScope("scope", points=16)}, stream="traces",
    )  # fmt: skip
    result = Pipeline([sweep], tmp_path / "t.h5").run()
    with open_run(result.path) as run:
        grid = run.to_xarray("traces")
    assert grid["scope.ch1"].dims == ("amplitude", "scope.ch1.time")
    assert grid["scope.ch1"].shape == (2, 16)
    assert grid["scope.ch1.time"].attrs["units"] == "s"


# -- levels between points -----------------------------------------------------------------
def test_levels_move_no_faster_than_the_slew_limit(recording_output) -> None:
    output = recording_output("smu")  # max_slew 2 V/s, steps 0.05 s apart: 0.1 V a step
    sweep = SweepSource(axes=[axis(output, "v", [0.0, 1.0, 0.4])],
                        readers={"dmm": SyntheticSensor()})  # fmt: skip
    sweep.prepare()
    assert output.output  # turned on at the first level
    for _ in range(3):
        sweep.poll()
    steps = np.abs(np.diff(output.history))
    assert steps.max() <= 0.1 + 1e-9
    assert output.history[-1] == 0.4
    assert len(output.history) > 15  # 1 V up and 0.6 V down, in 0.1 V steps
    sweep.finish()
    assert not output.output  # ramped to the safe level, then off
    assert output.level == 0.0


# -- values and configs --------------------------------------------------------------------
@pytest.mark.parametrize(
    ("values", "expected"),
    [
        ({"start": 0, "stop": 1, "num": 3}, [0.0, 0.5, 1.0]),
        ({"start": 0, "stop": 1, "step": 0.25}, [0.0, 0.25, 0.5, 0.75, 1.0]),
        ({"start": 1, "stop": 0, "step": 0.5}, [1.0, 0.5, 0.0]),
        ({"start": 1, "stop": 100, "num": 3, "log": True}, [1.0, 10.0, 100.0]),
        ([3, 1, 2], [3.0, 1.0, 2.0]),
    ],
)
def test_axis_values_from_a_config(values: Any, expected: list[float]) -> None:
    config = parse_run_config({"instruments": {"smu": {"resource": "ASRL1::INSTR"}},
                               "streams": {"iv": {"axes": [{"parameter": "smu.level",
                                                            "values": values}],
                                                  "read": ["smu"]}}})  # fmt: skip
    np.testing.assert_allclose(values_of(config.streams["iv"].sweep_axes()[0].values), expected)


@pytest.mark.parametrize(
    ("stream", "field", "reason"),
    [
        ({"axes": [{"parameter": "smu.level", "values": {"start": 0, "stop": 1, "num": 2,
                                                         "step": 1}}], "read": ["smu"]},
         "streams.iv.axes[0].values", "num (how many points) or step"),
        ({"axes": [{"parameter": "smu.level", "values": {"start": 0, "stop": 1, "step": 1,
                                                         "log": True}}], "read": ["smu"]},
         "streams.iv.axes[0].values", "log: true takes num"),
        ({"axes": [{"parameter": "level", "values": [1]}], "read": ["smu"]},
         "streams.iv.axes[0].parameter", "instrument.setting"),
        ({"axes": [{"parameter": "dmm.level", "values": [1]}], "read": ["smu"]},
         "streams.iv.axes[0].parameter", "no instrument 'dmm'"),
        ({"axes": [{"parameter": "smu.level", "values": [1]}]}, "streams.iv",
         "a sweep needs read"),
        ({"instrument": "smu", "snake": True}, "streams.iv", "snake only apply to kind: sweep"),
    ],
)  # fmt: skip
def test_bad_sweep_configs_name_the_field(stream: Any, field: str, reason: str) -> None:
    with pytest.raises(ConfigError) as caught:
        parse_run_config({"instruments": {"smu": {"resource": "ASRL1::INSTR"}},
                          "streams": {"iv": stream}})  # fmt: skip
    assert caught.value.field == field
    assert reason in str(caught.value)


# -- on the simulated lab: the SourceMeter and the supply ----------------------------------
def test_an_iv_sweep_gives_current_in_amperes_against_volts(tmp_path: Path) -> None:
    streams = {"iv": {"axes": [{"parameter": "smu.level",
                                "values": {"start": 0.0, "stop": 0.6, "step": 0.1}}],
                      "read": ["smu"]}}  # fmt: skip
    result = run_pipeline(lab_config(tmp_path, streams, smu=SMU))
    assert result.status == "completed", result.reason
    with open_run(result.path) as run:
        iv = run.to_xarray("iv")
        end = run.instruments["smu"].settings_end
        signal = run["iv"].signal
    assert signal == "smu.current"
    assert iv["smu.current"].dims == ("smu.level",)
    assert iv["smu.current"].attrs["units"] == "A"
    assert iv["smu.level"].attrs["units"] == "V"
    # The default lab's SMU drives a diode (n 1.752 at 300 K: x9 per 0.1 V), not a resistor.
    current = iv["smu.current"].values
    assert abs(current[0]) < 1e-8
    assert (np.diff(current) > 0).all()
    assert 5 < current[5] / current[4] < 15
    assert 1e-4 < current[5] < 3e-4  # 0.5 V
    assert end["output"]["value"] is False


def test_a_gate_sweep_on_the_supply_and_the_smu_is_a_2d_grid(tmp_path: Path) -> None:
    streams = {"gate": {"axes": [{"parameter": "psu.channels.1.voltage", "values": [0.0, 1.5]},
                                 {"parameter": "smu.level", "values": [0.0, 0.2, 0.4]}],
                        "read": ["smu"], "snake": True}}  # fmt: skip
    result = run_pipeline(lab_config(tmp_path, streams, smu=SMU, psu=PSU))
    assert result.status == "completed", result.reason
    with open_run(result.path) as run:
        grid = run.to_xarray("gate")
        ends = {name: run.instruments[name].settings_end for name in ("smu", "psu")}
    assert grid["smu.current"].dims == ("psu.channels.1.voltage", "smu.level")
    np.testing.assert_array_equal(grid["order"].values, [[0, 1, 2], [5, 4, 3]])
    np.testing.assert_allclose(grid["smu.voltage"].values, [[0, 0.2, 0.4]] * 2, atol=1e-3)
    assert ends["smu"]["output"]["value"] is False
    assert all(ends["psu"]["channels"][ch]["output"]["value"] is False for ch in "123")


@pytest.mark.parametrize(
    ("on_compliance", "status", "run_status"),
    [("continue", [0, 0, 1, 1], "completed"), ("skip", [0, 0, 2, 2], "completed"),
     ("stop", [0, 0, 1, -1], "aborted")],
)  # fmt: skip
def test_compliance_is_recorded_per_point_and_decides(
    tmp_path: Path, on_compliance: str, status: list[int], run_status: str
) -> None:
    smu = {**SMU, "settings": {**SMU["settings"], "current_limit": 1e-4}}  # the diode: ~0.47 V
    streams = {"iv": {"axes": [{"parameter": "smu.level", "values": [0.3, 0.4, 0.5, 0.6]}],
                      "read": ["smu"], "on_compliance": on_compliance}}  # fmt: skip
    result = run_pipeline(lab_config(tmp_path, streams, smu=smu))
    assert result.status == run_status, result.reason
    with open_run(result.path) as run:
        iv = run.to_xarray("iv")
        assert run.instruments["smu"].settings_end["output"]["value"] is False
    np.testing.assert_array_equal(iv["status"].values, status)
    current = iv["smu.current"].values
    assert np.isfinite(current[:2]).all()
    if on_compliance == "skip":
        assert np.isnan(current[2:]).all()
    if on_compliance == "stop":
        assert "in compliance at smu.level = 0.5" in result.reason
        assert np.isnan(current[3])


def test_a_lab_script_sweeps_with_ik_sweep(tmp_path: Path) -> None:
    from instrumentkit.sim import Lab, default_lab_path, load_lab

    with Lab(load_lab(default_lab_path())) as lab:
        smu = ik.open(lab.resource("smu"), name="smu")
        smu.nplc = 0.01
        smu.current_limit = 0.1
        with ik.Run(tmp_path / "s.h5", instruments={"smu": smu}) as run:
            taken = ik.sweep(run, axes=[("smu.level", [0.0, 0.4, 0.5])], read=["smu"],
                             stream="iv")  # fmt: skip
        assert taken == 3
        assert lab.device("smu").output is False
        smu.close()
    with open_run(tmp_path / "s.h5") as f:
        iv = f.to_xarray("iv")
    current = iv["smu.current"].values  # the diode's: about 0, 17 uA, 160 uA
    assert abs(current[0]) < 1e-8
    assert 1e-5 < current[1] < 3e-5
    assert 1e-4 < current[2] < 3e-4


def test_sensor_streams_run_beside_a_sweep(tmp_path: Path, recording_output) -> None:
    output = recording_output("bias")
    sweep = SweepSource(axes=[axis(output, "bias", [0.0, 1.0])],
                        readers={"dmm": SyntheticSensor("dmm")}, stream="iv")  # fmt: skip
    log = SensorSource(SyntheticSensor("log"), rate=100, count=5)
    result = Pipeline([sweep, log], tmp_path / "r.h5").run()
    assert result.rows == {"iv": 2, "log": 5}


def test_the_tutorial_sweeps_run_as_written(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import re

    text = (Path(__file__).resolve().parents[2] / "docs" / "tutorial.md").read_text()
    blocks = re.findall(r"^```python\n(.*?)^```", text, flags=re.DOTALL | re.MULTILINE)
    with_sweep = next(b for b in blocks if "ik.sweep(" in b)
    plain_loop = next(b for b in blocks if "iv_loop.h5" in b)
    monkeypatch.chdir(tmp_path)
    exec(compile(with_sweep, "tutorial: ik.sweep", "exec"), {})
    assert "('psu.channels.1.voltage', 'smu.level') (3, 14)" in capsys.readouterr().out
    exec(compile(plain_loop, "tutorial: plain loop", "exec"), {})
    with open_run(tmp_path / "iv_loop.h5") as run:
        current = np.asarray(run["iv"]["current"])  # a diode's: exponential in the voltage
        assert len(current) == 14
        assert (np.diff(current) > 0).all()
        assert 2e-3 < current[-1] < 8e-3
        assert run.instruments["smu"].settings_end["output"]["value"] is False


def test_inspect_and_plot_show_a_sweep_as_points_over_its_axes(
    tmp_path: Path, recording_output
) -> None:
    from click.testing import CliRunner

    from instrumentkit.cli import main

    gate, bias = recording_output("gate"), recording_output("bias")
    sweep = SweepSource(
        axes=[axis(gate, "gate", [0.0, 1.0]), axis(bias, "bias", [0.0, 0.5, 1.0])],
        readers={"dmm": SyntheticSensor("dmm")}, stream="map",
    )  # fmt: skip
    result = Pipeline([sweep], tmp_path / "map.h5", stop=Stop(max_readings=4)).run()
    inspect = CliRunner().invoke(main, ["inspect", str(result.path)])
    assert "map: sweep, 4 points" in inspect.output
    follow = CliRunner().invoke(main, ["inspect", "--follow", str(result.path)])
    assert follow.exit_code == 0, follow.output
    assert "gate=1, bias=0, dmm.value=3 V" in follow.output  # the 4th point, (1, 0)
    image = tmp_path / "map.png"
    plot = CliRunner().invoke(main, ["plot", str(result.path), "map", "-o", str(image)])
    assert plot.exit_code == 0, plot.output
    assert image.stat().st_size > 1000


def test_a_log_sweep_of_the_lock_in_reference_reads_the_rc_filter(tmp_path: Path) -> None:
    """Any setting, any reader: the lock-in's reference frequency (not a source level) on
    a log axis, its X/Y/R/theta read at each point, through the lab's RC low-pass
    (1.59 kOhm, 100 nF: corner at 1 kHz)."""
    # The lab's SR830 is on TCP; the serial subclass shares its model, so name the driver.
    lockin = {"device": "lockin", "driver": "StanfordSR830",
              "settings": {"time_constant": 0.001}}  # fmt: skip
    axis = {"parameter": "lockin.frequency",
            "values": {"start": 100, "stop": 10_000, "num": 5, "log": True}}  # fmt: skip
    streams = {"bode": {"axes": [axis], "read": ["lockin"], "settle": 0.01}}
    result = run_pipeline(lab_config(tmp_path, streams, lockin=lockin))
    assert result.status == "completed", result.reason
    with open_run(result.path) as run:
        bode = run.to_xarray("bode")
    np.testing.assert_allclose(bode["lockin.frequency"].values, [100, 316.2, 1000, 3162, 10_000],
                               rtol=1e-3)  # fmt: skip
    assert bode["lockin.frequency"].attrs["units"] == "Hz"
    gain = bode["lockin.R"].values / bode["lockin.R"].values[0]
    expected = 1 / np.sqrt(1 + (bode["lockin.frequency"].values / 1000.9) ** 2)
    np.testing.assert_allclose(gain, expected, atol=0.03)
    assert abs(bode["lockin.theta"].values[2] + 45) < 3  # degrees at the corner


def test_a_generator_amplitude_sweep_fetches_the_scope_channel_it_is_wired_to(
    tmp_path: Path,
) -> None:
    """A generator's level (amplitude, Vpp) as an axis: its output is turned on for the
    sweep and off after it; the scope's channel 3 (wired to fgen output 1) is fetched at
    each point and stored with its own time axis."""
    fgen = {"device": "fgen", "settings": {"channels": {1: {"function": "sine",
                                                            "frequency": 2000}}}}  # fmt: skip
    scope = {
        "device": "scope",
        "settings": {"trigger_source": 3, "channels": {3: {"enabled": True, "scale": 0.5}}},
    }
    axis = {"parameter": "fgen.channels.1.amplitude", "values": [0.5, 1.0]}
    streams = {"traces": {"axes": [axis], "read": ["scope:3"], "settle": 0.01}}
    result = run_pipeline(lab_config(tmp_path, streams, fgen=fgen, scope=scope))
    assert result.status == "completed", result.reason
    with open_run(result.path) as run:
        traces = run.to_xarray("traces")
        end = run.instruments["fgen"].settings_end["channels"]["1"]
    assert traces["scope.ch3"].dims == ("fgen.channels.1.amplitude", "scope.ch3.time")
    assert traces["scope.ch3.time"].attrs["units"] == "s"
    swing = np.ptp(traces["scope.ch3"].values, axis=1)
    # Set for a 50 ohm load, seen by the scope's high-impedance input: twice the swing.
    np.testing.assert_allclose(swing, [1.0, 2.0], rtol=0.05)
    assert end["output"]["value"] is False


def test_the_iv_curve_example_gives_a_diode_curve(tmp_path: Path) -> None:
    """`instrumentkit acquire examples/iv_curve.yaml -o iv.h5`, as the issue runs it."""
    from click.testing import CliRunner

    from instrumentkit.cli import main

    example = Path(__file__).resolve().parents[2] / "examples" / "iv_curve.yaml"
    out = tmp_path / "iv.h5"
    result = CliRunner().invoke(main, ["acquire", str(example), "-o", str(out)])
    assert result.exit_code == 0, result.output
    with open_run(out) as run:
        iv = run.to_xarray("iv")
        assert run.instruments["smu"].settings_end["output"]["value"] is False
    assert iv["smu.current"].attrs["units"] == "A"
    assert iv["smu.level"].attrs["units"] == "V"
    volts, amps = iv["smu.level"].values, iv["smu.current"].values
    below = (volts > 0.2) & (amps < 0.01)  # above the noise, below the 10 mA compliance
    slope = np.polyfit(volts[below], np.log(amps[below]), 1)[0]
    assert 18 < slope < 26  # 1/(n Vt) of the lab's diode: n 1.752 at 300 K gives 22 per V
    assert iv["status"].values[-1] == 1  # the top point in compliance, kept and marked


def test_a_scopes_channels_are_read_together_and_unknown_readers_named(recording_output) -> None:
    from instrumentkit.acquisition._sweep_read import ReadSpecError, readers_for

    scope = SyntheticScope("scope", points=8)
    instruments = {"scope": scope, "dmm": SyntheticSensor("dmm")}
    readers = readers_for(["scope:1", "dmm", "scope:2"], instruments)
    assert list(readers) == ["scope", "dmm"]
    output = recording_output("gen")
    sweep = SweepSource(axes=[axis(output, "amplitude", [0.1])], readers=readers)
    [(_, point)] = sweep.poll()
    assert [f.name for f in point.fields] == ["scope.ch1", "scope.ch2", "dmm.value"]
    with pytest.raises(ReadSpecError) as caught:
        readers_for(["dmm", "lockin"], instruments)
    assert caught.value.index == 1
    with pytest.raises(ReadSpecError, match="not an oscilloscope"):
        readers_for(["dmm:1"], instruments)


def test_the_live_view_draws_a_grid_sweep_by_its_axes(tmp_path: Path, recording_output) -> None:
    from instrumentkit.view._follow import RunFollower

    gate, bias = recording_output("gate"), recording_output("bias")
    sweep = SweepSource(
        axes=[axis(gate, "gate", [0.0, 1.0, 2.0]), axis(bias, "bias", [0.0, 0.5, 1.0])],
        readers={"dmm": SyntheticSensor("dmm")}, stream="map", snake=True,
    )  # fmt: skip
    result = Pipeline([sweep], tmp_path / "map.h5", stop=Stop(max_readings=5)).run()
    follower = RunFollower(result.path)
    try:
        assert follower.snapshot()["streams"]["map"]["rows"] == 5  # points taken
        payload = follower.stream("map", width=400)
    finally:
        follower.close()
    assert payload["mode"] == "heatmap"  # the inner axis across, the outer one up
    assert (payload["xlabel"], payload["ylabel"]) == ("bias", "gate")
    assert (payload["x"], payload["y"]) == ([0.0, 0.5, 1.0], [0.0, 1.0, 2.0])
    # The snake's second pass read back to front; points not taken yet are null (grey).
    assert payload["z"] == [[0.0, 1.0, 2.0], [None, 4.0, 3.0], [None, None, None]]
