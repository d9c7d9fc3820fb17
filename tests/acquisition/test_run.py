"""Run: the lab-script context manager, checked in the files it writes."""

from __future__ import annotations

import threading
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import numpy as np
import pytest

from instrumentkit.acquisition import Run, open_run
from instrumentkit.acquisition.synthetic import SyntheticScope, SyntheticSensor
from instrumentkit.data import Reading, Spectrum
from instrumentkit.errors import Timeout, ValidationError

EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)


def test_a_script_appends_every_kind_of_record(tmp_path: Path) -> None:
    dmm, scope = SyntheticSensor("dmm"), SyntheticScope("scope", points=100)
    axis = np.linspace(400, 700, 64)
    path = tmp_path / "sweep.h5"
    with Run(path, instruments={"dmm": dmm}, config={"sweep": {"points": 5}}) as run:
        for step in range(5):
            run.append("dmm", dmm.read())
            run.append("psu", {"voltage": step * 0.5, "current": step * 1e-3},
                       units={"voltage": "V", "current": "A"})  # fmt: skip
            scope.single()
            run.append("scope", scope.fetch(1))
            run.append("spectrum", Spectrum(axis, np.full(64, float(step))))
            run.append("temperature", 20.0 + step, units="degC")
            run.append("frame", np.full((2, 3), step, dtype=np.int16))
        assert run.status == "created"  # still declaring: nothing is live yet
        assert run.rows["dmm"] == 5
    assert run.status == "completed"
    with open_run(path) as f:
        assert f.status == "completed"
        assert f.config_text == "sweep:\n  points: 5\n"
        assert f.instruments["dmm"].driver.endswith("SyntheticSensor")
        np.testing.assert_array_equal(f["dmm"]["value"], np.arange(5))
        np.testing.assert_allclose(f["psu"]["voltage"], np.arange(5) * 0.5)
        assert f["psu"].units["current"] == "A"
        np.testing.assert_array_equal(f["scope"]["y"][:, 0], np.arange(5))
        np.testing.assert_array_equal(f["spectrum"]["intensities"][:, 0], np.arange(5))
        np.testing.assert_array_equal(f["spectrum"].axes["wavelength"], axis)
        np.testing.assert_array_equal(f["temperature"]["temperature"], 20.0 + np.arange(5))
        assert f["temperature"].units["temperature"] == "degC"
        assert f["frame"].data.shape == (5, 2, 3)
        assert f["frame"].data.dtype == np.int16
        assert np.all(np.diff(f["dmm"].monotonic) > 0)


def test_start_goes_live_and_later_streams_are_refused_clearly(tmp_path: Path) -> None:
    with Run(tmp_path / "run.h5") as run:
        run.append("a", 1.0)
        run.start()
        assert run.status == "running"
        run.append("a", 2.0)
        with pytest.raises(
            RuntimeError, match=r"stream 'b' first appended after the run went live"
        ):
            run.append("b", 1.0)
    with open_run(tmp_path / "run.h5") as f:
        assert f.status == "completed"  # the script caught the error and went on
        assert f.streams == ("a",)
        np.testing.assert_array_equal(f["a"]["a"], [1.0, 2.0])


def test_declare_makes_room_for_a_stream_that_comes_later(tmp_path: Path) -> None:
    with Run(tmp_path / "run.h5") as run:
        run.declare("late", {"x": 0.0}, units="m")
        run.append("early", 1.0)
        run.start()
        run.append("late", {"x": 3.0}, units="m")
    with open_run(tmp_path / "run.h5") as f:
        np.testing.assert_array_equal(f["late"]["x"], [3.0])
        assert f["late"].units["x"] == "m"


def test_the_run_goes_live_by_itself_after_declare_for(tmp_path: Path) -> None:
    with Run(tmp_path / "run.h5", declare_for=0.0) as run:
        run.append("a", 1.0)
        assert run.live
        with open_run(tmp_path / "run.h5") as reader:  # readable while written (SWMR)
            assert reader.status == "running"
            assert "a" in reader.streams


def test_an_exception_aborts_with_the_reason_and_keeps_the_data(tmp_path: Path) -> None:
    path = tmp_path / "run.h5"

    def script() -> None:
        with Run(path) as run:
            run.append("a", Reading.single([1.0, 2.0], ("x", "y"), "V"))
            raise Timeout("no reply", instrument="dmm", command="READ?")

    with pytest.raises(Timeout):
        script()
    with open_run(path) as f:
        assert f.status == "aborted"
        assert f.reason == "Timeout: dmm: command 'READ?': no reply"
        np.testing.assert_array_equal(f["a"]["y"], [2.0])


def test_ctrl_c_in_a_script_marks_the_run_interrupted(tmp_path: Path) -> None:
    path = tmp_path / "run.h5"

    def script() -> None:
        with Run(path) as run:
            run.append("a", 1.0)
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        script()
    with open_run(path) as f:
        assert f.status == "aborted"
        assert f.reason == "interrupted by the user (Ctrl-C)"
        assert len(f["a"]) == 1


def test_appends_from_several_threads_all_arrive(tmp_path: Path) -> None:
    path = tmp_path / "run.h5"
    with Run(path) as run:
        run.append("a", 0.0)
        run.append("b", 0.0)
        run.start()

        def writer(stream: str) -> None:
            for value in range(1, 2001):
                run.append(stream, float(value))

        threads = [threading.Thread(target=writer, args=(s,)) for s in ("a", "b")]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    with open_run(path) as f:
        for stream in ("a", "b"):
            np.testing.assert_array_equal(f[stream][stream], np.arange(2001))


def test_refusals(tmp_path: Path) -> None:
    (tmp_path / "exists.h5").write_bytes(b"")
    with pytest.raises(FileExistsError, match="already exists"):
        Run(tmp_path / "exists.h5")
    with Run(tmp_path / "run.h5") as run:
        with pytest.raises(TypeError, match="cannot append a str"):
            run.append("a", "text")
        run.append("a", np.zeros(3))
        run.start()
        with pytest.raises(ValueError, match=r"holds \(3,\) arrays"):
            run.append("a", np.zeros(4))
    with pytest.raises(RuntimeError, match="is closed"):
        run.append("a", np.zeros(3))


def test_start_time_is_the_first_record_not_the_moment_the_run_went_live(
    tmp_path: Path,
) -> None:
    path = tmp_path / "late.h5"
    with Run(path) as run:
        run.append("v", {"v": 1.0})
        time.sleep(0.3)  # the script does other work before the run goes live
        run.append("v", {"v": 2.0})
        run.start()
    with open_run(path) as f:
        assert f.start_time is not None
        start_ns = (f.start_time - EPOCH) // timedelta(microseconds=1) * 1000
        first = int(f["v"].time[0])
        assert 0 <= first - start_ns < 1000  # the same moment, to start_time's microsecond


def test_an_array_appended_to_a_readings_stream_is_refused_in_the_run_apis_words(
    tmp_path: Path,
) -> None:
    path = tmp_path / "mixed.h5"
    with Run(path) as run:
        run.append("dmm", {"voltage": 1.0}, units="V")
        run.start()
        with pytest.raises(ValidationError) as refused:
            run.append("dmm", np.arange(3.0))
        message = str(refused.value)
        assert "stream 'dmm' holds readings of channels ['voltage']" in message
        assert "cannot be appended" in message
        assert "run.append('dmm_2', ...)" in message
        run.append("dmm", {"voltage": 2.0})  # the stream is unharmed, units as declared
    with open_run(path) as f:
        np.testing.assert_array_equal(f["dmm"]["voltage"], [1.0, 2.0])
        assert f["dmm"].units["voltage"] == "V"


def test_rows_of_plain_numbers_land_in_order_with_their_times(tmp_path: Path) -> None:
    path = tmp_path / "rows.h5"
    with Run(path) as run:
        run.append("iv", {"v": 0.0, "i": 0.0}, units={"v": "V", "i": "A"})
        run.append("t", 20.0, units="K")
        run.start()
        before = time.time_ns()
        for step in range(1, 5000):
            run.append("iv", {"v": step * 1e-3, "i": step * 1e-6}, units={"v": "V", "i": "A"})
            run.append("t", 20.0 + step)
        with pytest.raises(ValueError, match="could not convert"):
            run.append("iv", {"v": 7.0, "i": "seven"})  # nothing of it is kept
        run.append("iv", {"i": 1.0, "v": 2.0})  # other order: still stored by name
        after = time.time_ns()
        assert run.rows == {"iv": 5001, "t": 5000}
    with open_run(path) as f:
        iv, t = f["iv"], f["t"]
        np.testing.assert_allclose(iv["v"][:5000], np.arange(5000) * 1e-3)
        np.testing.assert_allclose(iv["i"][:5000], np.arange(5000) * 1e-6)
        assert (iv["v"][-1], iv["i"][-1]) == (2.0, 1.0)
        np.testing.assert_allclose(t["t"], 20.0 + np.arange(5000))
        assert (iv.units["v"], iv.units["i"], t.units["t"]) == ("V", "A", "K")
        stamps = iv.time[1:]
        assert np.all(np.diff(stamps) >= 0)
        assert before <= stamps[0]
        assert stamps[-1] <= after
        assert np.all(np.diff(iv.monotonic[1:]) >= 0)


def test_rows_gathered_before_the_run_is_live_keep_their_order_with_other_records(
    tmp_path: Path,
) -> None:
    path = tmp_path / "held.h5"
    with Run(path, declare_for=60) as run:
        run.append("v", {"v": 0.0}, units="V")
        for value in range(1, 11):
            run.append("v", {"v": float(value)})  # gathered while the run is not live
        run.append("v", {"v": 11.0}, timestamp_ns=time.time_ns())  # the general path
        for value in range(12, 17):
            run.append("v", float(value))
        assert not run.live
        assert run.rows == {"v": 17}
    with open_run(path) as f:
        stream = f["v"]
        np.testing.assert_array_equal(stream["v"], np.arange(17.0))
        assert np.all(np.diff(stream.time) >= 0)
        assert np.all(np.isfinite(stream.monotonic))
        assert stream.units["v"] == "V"


def test_a_run_fed_only_plain_rows_goes_live_by_itself(tmp_path: Path) -> None:
    with Run(tmp_path / "soon.h5", declare_for=0.2) as run:
        run.append("v", 0.0)
        deadline = time.monotonic() + 30
        while not run.live and time.monotonic() < deadline:
            run.append("v", 1.0)
        assert run.live
        assert run.status == "running"
