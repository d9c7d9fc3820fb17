"""The pipeline end to end with in-process synthetic instruments: every value in the file,
in order, stamped; stop conditions; error policies; Ctrl-C; stages on records."""

from __future__ import annotations

import signal
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from instrumentkit.acquisition import (
    CallableSource,
    ErrorPolicy,
    Pipeline,
    RunResult,
    ScopeSource,
    SensorSource,
    Source,
    SpectrumSource,
    Stop,
    SweepSource,
    open_run,
)
from instrumentkit.acquisition._record_stages import Units
from instrumentkit.acquisition.stages import PEAK_DTYPE, BlockAverage, Decimate, FindPeaks, Scale
from instrumentkit.acquisition.synthetic import (
    SyntheticScope,
    SyntheticSensor,
    SyntheticSpectrometer,
)
from instrumentkit.data import Reading
from instrumentkit.errors import ConnectionFailed, Timeout


@pytest.fixture(autouse=True)
def deadline() -> Iterator[None]:
    """Fail a test that runs past 60 s (something hangs) instead of hanging the suite."""

    def too_long(signum: int, frame: object) -> None:
        raise TimeoutError("the test ran for 60 s: something hangs")

    previous = signal.signal(signal.SIGALRM, too_long)
    signal.alarm(60)
    yield
    signal.alarm(0)
    signal.signal(signal.SIGALRM, previous)


def run(tmp_path: Path, sources: list[Source], **options: Any) -> RunResult:
    path = tmp_path / "run.h5"
    return Pipeline(sources, path, **options).run()


class Flaky(SyntheticSensor):
    """Fails `count` reads starting at read number `start` (1-based) with `error`."""

    def __init__(self, start: int, count: int, error: Exception, **options: Any) -> None:
        super().__init__(**options)
        self.calls = 0
        self.start, self.stop, self.error = start, start + count, error

    def read(self) -> Reading:
        self.calls += 1
        if self.start <= self.calls < self.stop:
            raise self.error
        return super().read()


def test_every_reading_arrives_once_in_order_with_both_clocks(tmp_path: Path) -> None:
    sensor = SyntheticSensor("dmm")
    result = run(tmp_path, [SensorSource(sensor)], stop=Stop(max_readings=30_000))
    assert result.status == "completed"
    assert result.reason == "max_readings of 30000 reached"
    assert result.rows == {"dmm": 30_000}
    with open_run(result.path) as f:
        dmm = f["dmm"]
        np.testing.assert_array_equal(dmm["value"], np.arange(30_000))
        assert dmm.units["value"] == "V"
        assert np.all(np.diff(dmm.time) >= 0)
        assert np.all(np.isfinite(dmm.monotonic))
        assert np.all(np.diff(dmm.monotonic) >= 0)
        assert f.status == "completed"


def test_max_readings_cuts_a_buffered_block_exactly(tmp_path: Path) -> None:
    sensor = SyntheticSensor("dmm")
    result = run(tmp_path, [SensorSource(sensor, batch=1000)], stop=Stop(max_readings=2500))
    assert result.rows == {"dmm": 2500}
    with open_run(result.path) as f:
        np.testing.assert_array_equal(f["dmm"]["value"], np.arange(2500))


def test_several_instruments_at_once_each_in_full(tmp_path: Path) -> None:
    sensor = SyntheticSensor("dmm", channels=("v", "i"), units=("V", "A"), delay=0.001)
    scope = SyntheticScope("scope", points=256, delay=0.002)
    spectrometer = SyntheticSpectrometer("spec", pixels=128, delay=0.005)
    instruments = {"dmm": sensor, "scope": scope, "spec": spectrometer}
    result = run(
        tmp_path,
        [
            SensorSource(sensor),
            ScopeSource(scope, [1, 2]),
            SpectrumSource(spectrometer),
        ],
        stop=Stop(duration=0.5),
        instruments=instruments,
    )
    assert result.status == "completed"
    assert set(result.rows) == {"dmm", "scope_ch1", "scope_ch2", "spec"}
    assert all(rows > 0 for rows in result.rows.values())
    with open_run(result.path) as f:
        assert f["dmm"].units == {**f["dmm"].units, "v": "V", "i": "A"}
        np.testing.assert_array_equal(f["dmm"]["v"], np.arange(len(f["dmm"])))
        np.testing.assert_array_equal(f["dmm"]["i"], np.arange(len(f["dmm"])) + 1e6)
        for channel in ("scope_ch1", "scope_ch2"):  # trigger k's first sample is k
            y = f[channel]["y"]
            np.testing.assert_array_equal(y[:, 0], np.arange(len(y)))
            assert y.shape[1] == 256
        spectra = f["spec"]["intensities"]
        np.testing.assert_array_equal(spectra[:, 0], np.arange(len(spectra)))
        assert set(f.instruments) == set(instruments)
        assert f.instruments["scope"].settings_start == {"delay": {"value": 0.002, "units": "s"}}
        assert f.instruments["scope"].settings_end == f.instruments["scope"].settings_start
        assert len(f["errors"]) == 0


def test_sources_with_counts_end_the_run_when_all_are_done(tmp_path: Path) -> None:
    sensor, scope = SyntheticSensor("dmm"), SyntheticScope("scope", points=10)
    result = run(tmp_path, [SensorSource(sensor, count=7), ScopeSource(scope, [1], count=3)])
    assert result.status == "completed"
    assert result.reason == "every source finished"
    assert result.rows == {"dmm": 7, "scope_ch1": 3}


def test_a_rate_paces_the_polls(tmp_path: Path) -> None:
    # Poll k is due 0.05 k s after the first; load only delays polls, so the stamps span
    # at least 10 periods less the first poll's own lateness (unpaced: a few ms).
    result = run(tmp_path, [SensorSource(SyntheticSensor("dmm"), rate=20, count=11)])
    assert result.rows["dmm"] == 11
    with open_run(result.path) as f:
        stamps = np.asarray(f["dmm"]["monotonic"])
    assert stamps[-1] - stamps[0] >= 0.25, np.diff(stamps)


def test_skip_policy_logs_errors_and_keeps_every_good_reading(tmp_path: Path) -> None:
    sensor = Flaky(start=5, count=3, error=Timeout("no reply", instrument="dmm", command="READ?"),
                   name="dmm")  # fmt: skip
    result = run(
        tmp_path,
        [SensorSource(sensor, count=20)],
        on_error=ErrorPolicy("skip", max_errors=5),
    )
    assert result.status == "completed"
    assert result.rows == {"dmm": 20}  # count is of polls that delivered
    assert [e.action for e in result.errors] == ["skipped"] * 3
    with open_run(result.path) as f:
        np.testing.assert_array_equal(f["dmm"]["value"], np.arange(20))
        log = f["errors"].data
        assert len(log) == 3
        assert log["instrument"][0] == b"dmm"
        assert log["error"][0] == b"Timeout"
        assert b"command 'READ?'" in log["message"][0]


def test_skip_policy_stops_the_run_past_its_limit(tmp_path: Path) -> None:
    sensor = Flaky(start=10, count=1000, error=Timeout("no reply", instrument="dmm"), name="dmm")
    result = run(tmp_path, [SensorSource(sensor)], on_error=ErrorPolicy("skip", max_errors=4))
    assert result.status == "aborted"
    assert result.reason.startswith("dmm: more than 4 errors (on_error max_errors); last: Timeout")
    assert [e.action for e in result.errors] == ["skipped"] * 4 + ["stopped the run"]
    with open_run(result.path) as f:
        assert f.status == "aborted"
        assert f.reason == result.reason
        np.testing.assert_array_equal(f["dmm"]["value"], np.arange(9))
        assert len(f["errors"]) == 5


def test_stop_policy_ends_the_run_at_the_first_error_and_keeps_the_data(tmp_path: Path) -> None:
    lost = ConnectionFailed("connection reset by peer", instrument="gauge")
    gauge = Flaky(start=50, count=1000, error=lost, name="gauge")
    other = SyntheticSensor("other", delay=0.001)
    result = run(tmp_path, [SensorSource(gauge), SensorSource(other)])
    assert result.status == "aborted"
    assert result.reason == "gauge: ConnectionFailed: gauge: connection reset by peer"
    with open_run(result.path) as f:
        np.testing.assert_array_equal(f["gauge"]["value"], np.arange(49))
        assert len(f["other"]) >= 1
        assert f["errors"].data["action"].tolist() == [b"stopped the run"]


def test_a_failing_prepare_aborts_the_run(tmp_path: Path) -> None:
    class Broken(SensorSource):
        def prepare(self) -> None:
            raise Timeout("arming failed", instrument="dmm")

    result = run(tmp_path, [Broken(SyntheticSensor("dmm")), SensorSource(SyntheticSensor("b"))])
    assert result.status == "aborted"
    assert "arming failed" in result.reason


def test_ctrl_c_closes_the_file_as_aborted_then_raises(tmp_path: Path) -> None:
    def press_ctrl_c(progress: Any) -> None:
        if progress.total_rows > 100:
            signal.raise_signal(signal.SIGINT)

    before = signal.getsignal(signal.SIGINT)  # SIG_IGN when pytest was started with `&`
    pipeline = Pipeline([SensorSource(SyntheticSensor("dmm"))], tmp_path / "run.h5")
    with pytest.raises(KeyboardInterrupt):
        pipeline.run(press_ctrl_c, progress_interval=0.01)
    assert pipeline.result is not None
    assert pipeline.result.interrupted
    with open_run(tmp_path / "run.h5") as f:
        assert f.status == "aborted"
        assert f.reason == "interrupted by the user (Ctrl-C)"
        np.testing.assert_array_equal(f["dmm"]["value"], np.arange(len(f["dmm"])))
        assert len(f["dmm"]) > 100
    assert signal.getsignal(signal.SIGINT) is before  # restored


def test_ctrl_c_without_raising(tmp_path: Path) -> None:
    def press_ctrl_c(progress: Any) -> None:
        signal.raise_signal(signal.SIGINT)

    pipeline = Pipeline([SensorSource(SyntheticSensor("dmm"), rate=100)], tmp_path / "run.h5")
    result = pipeline.run(press_ctrl_c, progress_interval=0.01, raise_on_interrupt=False)
    assert result.interrupted
    assert result.status == "aborted"


def test_request_stop_from_another_thread(tmp_path: Path) -> None:
    pipeline = Pipeline([SensorSource(SyntheticSensor("dmm"), rate=200)], tmp_path / "run.h5")
    recording = threading.Event()

    def stop_once_recording() -> None:
        recording.wait(30)
        pipeline.request_stop("enough data")

    def progress(progress: Any) -> None:
        if progress.total_rows:
            recording.set()

    stopper = threading.Thread(target=stop_once_recording)
    stopper.start()
    result = pipeline.run(progress, progress_interval=0.01)
    stopper.join()
    assert result.status == "completed"
    assert result.reason == "enough data"
    assert result.rows["dmm"] >= 1


def test_a_source_that_never_delivers_is_reported_not_waited_for(tmp_path: Path) -> None:
    silent = Flaky(start=1, count=10**9, error=Timeout("no reply", instrument="dmm"), name="dmm")
    result = run(
        tmp_path,
        [SensorSource(silent, rate=50), SensorSource(SyntheticSensor("ok"), rate=50)],
        on_error=ErrorPolicy("skip", max_errors=10**6),
        first_record_timeout=0.3,
    )
    assert result.status == "aborted"
    assert result.reason == "no first record from dmm within 0.3 s (first_record_timeout)"
    with open_run(result.path) as f:
        assert "dmm" not in f.streams
        assert len(f["ok"]) >= 1


def test_a_hung_instrument_does_not_hang_the_run(tmp_path: Path) -> None:
    forever = threading.Event()
    calls = []

    def poll() -> float:
        calls.append(1)
        if len(calls) > 1:
            forever.wait()  # an instrument stuck in I/O
        return 1.0

    started = time.monotonic()
    result = run(
        tmp_path,
        [CallableSource(poll, stream="stuck"), SensorSource(SyntheticSensor("ok"), rate=100)],
        stop=Stop(duration=0.3),
        shutdown_timeout=0.3,
    )
    forever.set()
    assert time.monotonic() - started < 10
    assert result.reason == "duration of 0.3 s reached; stuck did not stop within 0.3 s"
    assert result.rows["stuck"] == 1


def test_records_the_file_refuses_go_through_the_error_policy(tmp_path: Path) -> None:
    shapes = iter([3, 3, 4, 3])
    source = CallableSource(lambda: np.zeros(next(shapes)), stream="frames", count=4)
    result = run(tmp_path, [source], on_error=ErrorPolicy("skip"))
    assert result.status == "completed"
    assert result.rows == {"frames": 3}
    assert "holds (3,) arrays" in result.errors[0].message


def test_stages_average_readings_and_stamps_follow(tmp_path: Path) -> None:
    sensor = SyntheticSensor("dmm")
    result = run(
        tmp_path,
        [SensorSource(sensor, batch=100, count=10)],
        stages={"dmm": [BlockAverage(10), Scale(1e3), Units("mV")]},
    )
    with open_run(result.path) as f:
        dmm = f["dmm"]
        np.testing.assert_allclose(dmm["value"], (np.arange(100) * 10 + 4.5) * 1e3)
        assert dmm.units["value"] == "mV"
        assert len(dmm.time) == 100
        assert np.all(np.diff(dmm.time) > 0)


def test_stages_on_waveforms_and_spectra(tmp_path: Path) -> None:
    scope = SyntheticScope("scope", points=1000, dx=1e-6)
    spectrometer = SyntheticSpectrometer("spec", pixels=512)
    result = run(
        tmp_path,
        [ScopeSource(scope, [1, 2], count=8), SpectrumSource(spectrometer, count=3)],
        stages={
            "scope_ch1": [BlockAverage(4)],
            "scope_ch2": [Decimate(10, axis=-1)],
            "spec": [FindPeaks(2, x=spectrometer.wavelengths(), prominence=500)],
        },
    )
    with open_run(result.path) as f:
        averaged = f["scope_ch1"]
        assert len(averaged) == 2
        np.testing.assert_allclose(averaged["y"][:, 0], [1.5, 5.5])  # mean of triggers 0-3, 4-7
        thinned = f["scope_ch2"]
        assert thinned["y"].shape == (8, 100)
        np.testing.assert_allclose(thinned["dx"], 1e-5)
        peaks = f["spec"].data
        assert peaks.dtype == PEAK_DTYPE
        assert peaks.shape == (3, 2)
        np.testing.assert_allclose(peaks["position"][:, 0], 656.3, atol=0.5)
        assert np.all(peaks["index"][:, 1] == -1)  # one line: the second slot is empty


def test_fft_stage_turns_waveforms_into_spectra_on_a_frequency_axis(tmp_path: Path) -> None:
    from instrumentkit.acquisition.stages import FFTMagnitude

    scope = SyntheticScope("scope", points=1000, dx=1e-6)  # a 1 kHz sine
    result = run(tmp_path, [ScopeSource(scope, [1], count=2)],
                 stages={"scope_ch1": [FFTMagnitude()]})  # fmt: skip
    with open_run(result.path) as f:
        fft = f["scope_ch1"]
        assert fft.kind == "spectra"
        assert fft.units["wavelength"] == "Hz"
        frequencies = fft.axes["wavelength"]
        assert frequencies[np.argmax(fft.data[1])] == pytest.approx(1e3)


def _twice() -> list[Source]:
    return [SensorSource(SyntheticSensor("a")), SensorSource(SyntheticSensor("b"), stream="a")]


@pytest.mark.parametrize(
    ("sources", "stages", "message"),
    [
        (_twice, {}, "fed by both"),
        (lambda: [SensorSource(SyntheticSensor("errors"))], {}, "reserved for the error log"),
        (lambda: [SensorSource(SyntheticSensor("a"))], {"b": []}, "unknown streams"),
    ],
)
def test_bad_pipelines_are_refused_before_anything_runs(  # type: ignore[no-untyped-def]
    tmp_path: Path, sources, stages, message
) -> None:
    with pytest.raises(ValueError, match=message):
        Pipeline(sources(), tmp_path / "run.h5", stages=stages)


def test_a_sweep_in_a_pipeline_steps_through_its_values(tmp_path: Path) -> None:
    settings: list[float] = []
    sweep = SweepSource(
        "bias", np.linspace(0, 1, 5), set=settings.append,
        readers={"dmm": SyntheticSensor("dmm")}, stream="iv", units="V",
    )  # fmt: skip
    result = run(tmp_path, [sweep, SensorSource(SyntheticSensor("log"), rate=100, count=10)])
    assert result.reason == "every source finished"
    assert result.rows == {"iv": 5, "log": 10}
    assert settings == [0.0, 0.25, 0.5, 0.75, 1.0]
    with open_run(result.path) as f:
        np.testing.assert_array_equal(f["iv"]["bias"], settings)
        np.testing.assert_array_equal(f["iv"]["dmm.value"], np.arange(5))
