"""A source never stays where an abort left it (issue 12, section 4): every way a run can
end (an instrument error under `on_error: stop`, a link to the DMM dropped mid-sweep,
Ctrl-C and SIGTERM to `instrumentkit acquire`, an exception in a script) leaves every
source output off, in the simulated instruments and in the file's `settings_end`; a source
that cannot be made safe makes the run say so; values beyond the safe limits are refused
before anything is opened.
"""

from __future__ import annotations

import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import yaml

import instrumentkit as ik
from instrumentkit.acquisition import Pipeline, Run, SweepAxis, SweepSource, open_run, run_pipeline
from instrumentkit.acquisition.synthetic import SyntheticSensor
from instrumentkit.errors import ConfigError, InstrumentError

ROOT = Path(__file__).resolve().parents[2]
SMU = {"device": "smu", "settings": {"source_function": "voltage", "nplc": 0.01,
                                     "current_limit": 0.1}}  # fmt: skip
GATE = {  # psu channel 1 outer, smu inner, the DMM read at each point: a few seconds long
    "axes": [{"parameter": "psu.channels.1.voltage", "values": [0.5, 1.0, 1.5, 2.0, 2.5]},
             {"parameter": "smu.level", "values": {"start": 0.1, "stop": 1.0, "num": 40}}],
    "read": ["smu", "dmm"], "settle": 0.01, "snake": True,
}  # fmt: skip


def write_config(tmp_path: Path, streams: dict[str, Any], **instruments: Any) -> Path:
    config = {"lab": "default", "instruments": instruments, "streams": streams,
              "output": {"path": str(tmp_path / "run.h5")}}  # fmt: skip
    path = tmp_path / "run.yaml"
    path.write_text(yaml.safe_dump(config))
    return path


def gate_config(tmp_path: Path, on_error: dict[str, Any] | None = None) -> Path:
    """The gate sweep; `on_error` for every instrument (default: the DMM stops the run)."""
    policy = {"on_error": on_error} if on_error else {}
    dmm = {"device": "dmm", "settings": {"nplc": 0.02},
           "on_error": on_error or {"action": "stop", "check_interval": 0.1}}  # fmt: skip
    return write_config(tmp_path, {"gate": GATE}, smu={**SMU, **policy},
                        psu={"device": "psu", **policy}, dmm=dmm)  # fmt: skip


def assert_every_output_off(path: Path) -> None:
    """settings_end of the run file shows the SMU's and each supply channel's output off."""
    with open_run(path) as run:
        smu = run.instruments["smu"].settings_end
        psu = run.instruments["psu"].settings_end
    assert smu is not None
    assert psu is not None
    assert smu["output"]["value"] is False
    assert [psu["channels"][ch]["output"]["value"] for ch in "123"] == [False] * 3


def run_with_fault(
    tmp_path: Path, inject: Any, on_error: dict[str, Any] | None = None
) -> tuple[Any, dict[str, Any]]:
    """Run the gate sweep, call `inject(lab)` once a few points are in; returns the result
    and the simulated devices (to look at their outputs after the run)."""
    devices: dict[str, Any] = {}
    injected: list[bool] = []

    def on_start(pipeline: Any, bench: Any) -> None:
        devices.update({name: bench.lab.device(name) for name in ("smu", "psu", "dmm")})

    def progress(state: Any) -> None:
        if devices and not injected and state.total_rows >= 3:
            inject(devices)
            injected.append(True)

    result = run_pipeline(gate_config(tmp_path, on_error), progress=progress,
                          progress_interval=0.02, on_start=on_start)  # fmt: skip
    assert injected, "the sweep ended before the fault was injected"
    return result, devices


def assert_devices_off(devices: dict[str, Any]) -> None:
    assert devices["smu"].output is False
    assert [out.on for out in devices["psu"].outputs.values()] == [False] * 3


@pytest.mark.parametrize(
    ("fault", "error"),
    [("error", "InstrumentReportedError"), ("drop", "ConnectionFailed")],
    ids=["on_error stop", "dropped link to the DMM"],
)
def test_an_instrument_failing_mid_sweep_leaves_every_source_off(
    tmp_path: Path, fault: str, error: str
) -> None:
    def inject(devices: dict[str, Any]) -> None:
        devices["dmm"].faults.inject(fault, on="READ?", code=-222)

    result, devices = run_with_fault(tmp_path, inject)
    assert result.status == "aborted"
    assert error in result.reason
    assert_devices_off(devices)
    assert_every_output_off(result.path)
    with open_run(result.path) as run:
        grid = run.to_xarray("gate")
    assert grid["smu.current"].shape == (5, 40)
    assert np.isnan(grid["smu.current"].values[-1, :]).all()  # never reached


def test_a_point_that_fails_is_skipped_when_every_instrument_says_skip(tmp_path: Path) -> None:
    def inject(devices: dict[str, Any]) -> None:
        devices["dmm"].faults.inject("garble", on="READ?")

    skip = {"action": "skip", "max_errors": 3}
    result, devices = run_with_fault(tmp_path, inject, skip)
    assert result.status == "completed", result.reason
    assert [e.action for e in result.errors] == ["skipped"]
    with open_run(result.path) as run:
        grid = run.to_xarray("gate")
    status = grid["status"].values
    assert (status == -1).sum() == 1  # the garbled point, and only it, is missing
    assert np.isnan(grid["dmm.reading"].values[status == -1]).all()
    assert_devices_off(devices)


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["Ctrl-C", "SIGTERM"])
def test_a_signal_to_acquire_exits_130_with_every_source_off(tmp_path: Path, signum: int) -> None:
    """The issue's own check: Ctrl-C during examples/gate_sweep.yaml."""
    config = ROOT / "examples" / "gate_sweep.yaml"
    out = tmp_path / "signal.h5"
    process = subprocess.Popen(
        [sys.executable, "-m", "instrumentkit", "acquire", str(config), "-o", str(out)],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    try:
        assert process.stdout is not None
        for line in process.stdout:  # the sweep runs once the file is being recorded
            if line.startswith("Recording"):
                break
        time.sleep(0.5)
        process.send_signal(signum)
        output, _ = process.communicate(timeout=60)
    finally:
        process.kill()
    assert process.returncode == 130, output
    assert_every_output_off(out)
    with open_run(out) as run:
        assert run.status == "aborted"
        status = run.to_xarray("gate")["status"].values
    assert (status == 0).any()
    assert (status == -1).any()  # stopped early: points never taken


def test_an_exception_in_a_script_leaves_every_source_off(tmp_path: Path) -> None:
    from instrumentkit.sim import Lab, default_lab_path, load_lab

    with Lab(load_lab(default_lab_path())) as lab:
        smu = ik.open(lab.resource("smu"), name="smu")
        psu = ik.open(lab.resource("psu"), name="psu")

        def lab_script() -> None:
            with Run(tmp_path / "s.h5", instruments={"smu": smu, "psu": psu}) as run:
                psu.channels[2].voltage = 3.0
                psu.channels[2].output = True
                smu.level = 0.5
                smu.output = True
                run.append("v", smu.read())
                raise RuntimeError("the script failed")

        with pytest.raises(RuntimeError, match="the script failed"):
            lab_script()
        devices = {"smu": lab.device("smu"), "psu": lab.device("psu")}
        assert_devices_off(devices)
        assert smu.level == 0.0  # ramped to the safe level before turning off
        smu.close()
        psu.close()
    assert_every_output_off(tmp_path / "s.h5")
    with open_run(tmp_path / "s.h5") as f:
        assert f.status == "aborted"
        assert "the script failed" in f.reason


def test_an_exception_inside_ik_sweep_leaves_the_swept_source_off(recording_output) -> None:
    output = recording_output("bias")

    class FailsOnThirdRead(SyntheticSensor):
        def read(self) -> Any:
            if self.count == 2:
                raise TimeoutError("no reply")
            return super().read()

    run = Run.__new__(Run)  # only `instruments` and `append` are used by ik.sweep
    run.instruments = {"bias": output, "dmm": FailsOnThirdRead("dmm")}
    appended: list[Any] = []
    run.append = lambda stream, point: appended.append(point)  # type: ignore[method-assign]
    with pytest.raises(TimeoutError):
        ik.sweep(run, axes=[("bias.level", [0.1, 0.2, 0.3, 0.4])], read=["dmm"])
    assert len(appended) == 2
    assert output.output is False
    assert output.level == 0.0


def test_compliance_stop_in_ik_sweep_raises_after_the_point_with_the_source_off(
    tmp_path: Path, recording_output
) -> None:
    from instrumentkit.acquisition import ComplianceStop
    from instrumentkit.data import Reading
    from instrumentkit.interfaces import Sensor, Source

    class SourceMeter(SyntheticSensor):  # reads as a Source does: status 1 in compliance
        interfaces = (Sensor, Source)

        def read(self) -> Reading:
            reading = super().read()
            tripped = 1 if reading.values[0, 0] >= 2 else 0
            return Reading(reading.values, reading.timestamps_ns, reading.channels,
                           reading.units, np.full(reading.values.shape, tripped))  # fmt: skip

        def make_safe(self) -> list[str]:
            return []

        def source_outputs(self) -> dict[str, Any]:
            return {}

    output = recording_output("bias")
    with Run(tmp_path / "c.h5", instruments={"bias": output, "smu": SourceMeter("smu")}) as run:
        with pytest.raises(ComplianceStop, match=r"in compliance at bias\.level = 0\.3"):
            ik.sweep(run, axes=[("bias.level", [0.1, 0.2, 0.3, 0.4, 0.5])], read=["smu"],
                     on_compliance="stop", stream="iv")  # fmt: skip
        assert output.output is False
    with open_run(tmp_path / "c.h5") as f:
        np.testing.assert_array_equal(f.to_xarray("iv")["status"].values, [0, 0, 1, -1, -1])


def test_a_source_that_cannot_be_made_safe_makes_the_run_say_so(
    tmp_path: Path, recording_output
) -> None:
    output = recording_output("bias")
    output.broken = True  # turning it off fails, as over a lost link
    sweep = SweepSource(axes=[SweepAxis("bias", np.array([0.1, 0.2]), output.ramp_to,
                                        output=output)],
                        readers={"dmm": SyntheticSensor("dmm")}, stream="iv")  # fmt: skip
    result = Pipeline([sweep], tmp_path / "r.h5", instruments={"bias": output}).run()
    assert result.status == "aborted"
    assert "SOURCE NOT MADE SAFE" in result.reason
    assert "bias: output off failed" in result.reason
    with open_run(result.path) as run:
        assert run.status == "aborted"
        assert "SOURCE NOT MADE SAFE" in run.reason
        log = run["errors"].data
    assert b"NotMadeSafe" in log["error"]


def test_a_source_whose_link_dropped_is_reported_not_safe(tmp_path: Path) -> None:
    """The SMU hangs up mid-sweep and on every command after: it cannot be reached to turn
    it off, and the run says so; the supply, still reachable, is off."""

    def inject(devices: dict[str, Any]) -> None:
        devices["smu"].faults.inject("drop", on=None, count=None)

    result, devices = run_with_fault(tmp_path, inject)
    assert result.status == "aborted"
    assert "SOURCE NOT MADE SAFE" in result.reason
    assert "smu:" in result.reason.split("SOURCE NOT MADE SAFE")[1]
    assert [out.on for out in devices["psu"].outputs.values()] == [False] * 3
    with open_run(result.path) as run:
        assert "SOURCE NOT MADE SAFE" in run.reason
        psu = run.instruments["psu"].settings_end
    assert psu is not None
    assert [psu["channels"][ch]["output"]["value"] for ch in "123"] == [False] * 3


def test_a_source_whose_link_dropped_once_is_reached_again_and_made_safe(
    tmp_path: Path,
) -> None:
    """The SMU hangs up once mid-sweep (decision 0010): the sweep stops on the error, and
    making the sources safe opens the SMU's connection again and turns it off."""

    def inject(devices: dict[str, Any]) -> None:
        devices["smu"].faults.inject("drop", on="READ?")

    result, devices = run_with_fault(tmp_path, inject)
    assert result.status == "aborted"
    assert "ConnectionFailed" in result.reason
    assert "NOT MADE SAFE" not in result.reason
    assert_devices_off(devices)


def test_a_script_run_whose_source_cannot_be_made_safe_raises(
    tmp_path: Path, recording_output
) -> None:
    output = recording_output("bias")
    output.broken = True
    output.output = True
    with (
        pytest.raises(InstrumentError, match="SOURCE NOT MADE SAFE"),
        Run(tmp_path / "s.h5", instruments={"bias": output}) as run,
    ):
        run.append("x", 1.0)
    with open_run(tmp_path / "s.h5") as f:
        assert f.status == "aborted"
        assert "bias: output off failed" in f.reason


@pytest.mark.parametrize(
    ("instruments", "axes", "field", "reason"),
    [
        ({"smu": {**SMU, "safe_limits": {"max_level": 1.0}}},
         [{"parameter": "smu.level", "values": [0.5, 1.5]}],
         "streams.iv.axes[0].values", "beyond the safe limit max_level 1"),
        ({"smu": {**SMU, "safe_limits": {"max_level": 500.0}}},
         [{"parameter": "smu.level", "values": [0.5]}],
         "instruments.smu.safe_limits", "would widen the limit 210"),
        ({"smu": SMU, "psu": {"device": "psu", "safe_limits": {"1": {"max_level": 2.0}}}},
         [{"parameter": "psu.channels.1.voltage", "values": [1.0, 2.5]},
          {"parameter": "smu.level", "values": [0.1]}],
         "streams.iv.axes[0].values", "max_level 2"),
        ({"smu": SMU, "psu": {"device": "psu", "safe_limits": {"4": {"max_level": 2.0}}}},
         [{"parameter": "smu.level", "values": [0.1]}],
         "instruments.psu.safe_limits", "no output '4'"),
    ],
    ids=["beyond max_level", "widened", "beyond a channel's", "no such output"],
)  # fmt: skip
def test_values_beyond_the_safe_limits_are_refused_before_anything_is_opened(
    tmp_path: Path, instruments: Any, axes: Any, field: str, reason: str
) -> None:
    config = write_config(tmp_path, {"iv": {"axes": axes, "read": ["smu"]}}, **instruments)
    started: list[Any] = []
    with pytest.raises(ConfigError) as caught:
        run_pipeline(config, on_start=lambda *a: started.append(a))
    assert caught.value.field == field
    assert reason in str(caught.value)
    assert not started
    assert not (tmp_path / "run.h5").exists()


def test_a_level_beyond_a_channel_rating_is_refused_before_it_is_set(tmp_path: Path) -> None:
    """Channel 1 of the E36312A is rated 6 V: known to the open driver, still checked
    before the sweep sets anything."""
    axes = [{"parameter": "psu.channels.1.voltage", "values": [5.0, 7.0]}]
    config = write_config(tmp_path, {"iv": {"axes": axes, "read": ["smu"]}},
                          smu=SMU, psu={"device": "psu"})  # fmt: skip
    with pytest.raises(ConfigError) as caught:
        run_pipeline(config)
    assert caught.value.field == "streams.iv.axes[0].values"
    assert "max_level 6" in str(caught.value)
    assert not (tmp_path / "run.h5").exists()


def test_a_supply_without_a_stream_is_still_made_safe_at_the_end(tmp_path: Path) -> None:
    """No streams: every instrument that can stream gets one, a supply (a Source only) does
    not, and is still made safe when the run ends."""
    config = write_config(tmp_path, {}, psu={"device": "psu", "settings": {"channels": {
        2: {"voltage": 3.0, "output": True}}}}, dmm={"device": "dmm"})  # fmt: skip
    text = yaml.safe_load(config.read_text())
    del text["streams"]
    text["stop"] = {"duration": 0.3}
    config.write_text(yaml.safe_dump(text))
    result = run_pipeline(config)
    assert result.status == "completed", result.reason
    assert set(result.rows) == {"dmm"}
    with open_run(result.path) as run:
        psu = run.instruments["psu"].settings_end
        start = run.instruments["psu"].settings_start
    assert start["channels"]["2"]["output"]["value"] is True
    assert psu is not None
    assert psu["channels"]["2"]["output"]["value"] is False


def test_a_level_the_source_refuses_after_the_last_check_still_aborts_the_run(
    tmp_path: Path,
) -> None:
    """The SMU queues -222 for every level from a few points in; its error queue is due
    only every 60 s, so the check at the end of the sweep is what must find it: the run
    says why it is not complete, and the output is off."""
    smu = {**SMU, "on_error": {"action": "stop", "check_interval": 60}}
    iv = {"axes": [{"parameter": "smu.level", "values": {"start": 0.1, "stop": 0.6, "num": 12}}],
          "read": ["smu"]}  # fmt: skip
    config = write_config(tmp_path, {"iv": iv}, smu=smu)
    devices: dict[str, Any] = {}

    def progress(state: Any) -> None:
        if devices and "fault" not in devices and state.total_rows >= 2:
            devices["fault"] = devices["smu"].faults.inject(
                "error", on=":SOUR:VOLT", code=-222, message="Data out of range", count=None
            )

    result = run_pipeline(
        config, progress=progress, progress_interval=0.01,
        on_start=lambda pipeline, bench: devices.update(smu=bench.lab.device("smu")),
    )  # fmt: skip
    assert devices["fault"].fired >= 1
    assert result.status == "aborted"
    # The sweep's stream, then the instrument of the sweep that refused.
    assert result.reason.startswith("iv: InstrumentReportedError: smu: reported -222")
    assert devices["smu"].output is False
    with open_run(result.path) as run:
        assert (run.status, run.reason) == ("aborted", result.reason)
        log = run["errors"].data
        assert run.instruments["smu"].settings_end["output"]["value"] is False
    assert log["code"].tolist()[0] == -222
    assert log["action"].tolist()[0] == b"stopped the run"


def test_a_run_stopped_mid_ramp_ramps_down_from_there_never_faster_than_the_slew(
    tmp_path: Path,
) -> None:
    """psu channel 1 ramps 0 -> 3 V at 0.5 V/s (6 s); the run stops after 0.5 s. The ramp
    up used to go on to 3 V, while the run's make-safe ramped down from where it had read
    the level, in another thread: the two interleaved, jumping by up to 1.6 V at once."""
    ramp = {"axes": [{"parameter": "psu.channels.1.voltage", "values": [0.0, 3.0]}],
            "read": ["dmm"]}  # fmt: skip
    psu = {"device": "psu", "safe_limits": {"1": {"max_level": 5.0, "max_slew": 0.5}}}
    config = write_config(tmp_path, {"ramp": ramp}, psu=psu, dmm={"device": "dmm"})
    text = yaml.safe_load(config.read_text())
    config.write_text(yaml.safe_dump({**text, "stop": {"duration": 0.5}}))
    written: list[bytes] = []

    def spy(pipeline: Any, bench: Any) -> None:
        session = pipeline.instruments["psu"].session
        write = session.write_raw

        def recorded(data: bytes, **options: Any) -> None:
            written.append(data)
            write(data, **options)

        session.write_raw = recorded

    started = time.monotonic()
    result = run_pipeline(config, on_start=spy)
    took = time.monotonic() - started
    levels = [float(w.split()[1].split(b",")[0]) for w in written
              if w.startswith(b"VOLT ") and w.endswith(b"(@1)\n")]  # fmt: skip
    assert max(levels) < 1.0, max(levels)  # stopped near 0.25 V, not 3 V
    assert levels[-1] == 0.0
    assert np.abs(np.diff([0.0, *levels])).max() <= 0.025 + 1e-9  # 0.5 V/s in 50 ms steps
    assert written.index(b"OUTP OFF,(@1)\n") > written.index(b"VOLT 0.0,(@1)\n")
    assert took < 20.0  # the ramp up is not finished first (6 s up, 6 s down before)
    assert result.status == "completed", result.reason
    with open_run(result.path) as run:
        channel = run.instruments["psu"].settings_end["channels"]["1"]
    assert (channel["output"]["value"], channel["voltage"]["value"]) == (False, 0.0)


def test_make_safe_from_another_thread_waits_for_a_ramp_and_starts_where_it_ended(
    recording_output: Any,
) -> None:
    """A run making its sources safe while a sweep still ramped interleaved two ramps:
    levels jumped back and forth, and by more than the slew limit allows."""
    output = recording_output("out")  # 2 V/s in 50 ms steps: 0.1 V a step
    output.output = True
    other: list[threading.Thread] = []
    problems: list[list[str]] = []

    def wait(seconds: float) -> None:
        if len(output.history) == 5 and not other:  # mid-ramp: make it safe elsewhere
            other.append(threading.Thread(target=lambda: problems.append(output.make_safe())))
            other[0].start()
        time.sleep(0.01)

    output.ramp_sleep = wait
    output.ramp_to(2.0)
    other[0].join(timeout=10)
    assert problems == [[]]
    steps = np.diff([0.0, *output.history])
    top = output.history.index(2.0)
    assert output.history[-1] == 0.0
    assert output.output is False
    assert np.all(steps[: top + 1] > 0)  # up to the top, whole
    assert np.all(steps[top + 1 :] < 0)  # then down, from there
    assert np.abs(steps).max() <= 0.1 + 1e-9  # never faster than the slew limit
