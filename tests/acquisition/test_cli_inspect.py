"""A run of the simulated lab read back as a user does: start time, `inspect`, `plot`."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import h5py
import numpy as np
import pytest
import yaml
from click.testing import CliRunner

from instrumentkit.acquisition import Run, open_run
from instrumentkit.cli import main
from instrumentkit.data import Reading

EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)


def invoke(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, list(args))
    return result.exit_code, result.output


@pytest.fixture(scope="module")
def lab_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Half a second of the default lab: a DMM and the temperature controller, whose input
    D has no sensor (every reading NaN, status 1), as in examples/simulated_lab.yaml."""
    folder = tmp_path_factory.mktemp("lab")
    config = {
        "lab": "default",
        "instruments": {"dmm": {"device": "dmm"}, "temperature": {"device": "temperature"}},
        "streams": {
            "dmm": {"instrument": "dmm", "rate": 50},
            "temperature": {"instrument": "temperature", "rate": 10},
        },
        "stop": {"duration": 0.5},
        "output": {"path": str(folder / "run.h5")},
    }
    (folder / "run.yaml").write_text(yaml.safe_dump(config))
    code, output = invoke("acquire", str(folder / "run.yaml"), "-q")
    assert code == 0, output
    return folder / "run.h5"


def test_start_time_is_no_later_than_the_first_row_of_any_stream(lab_run: Path) -> None:
    with open_run(lab_run) as run:
        assert run.start_time is not None
        start_ns = (run.start_time - EPOCH) // timedelta(microseconds=1) * 1000
        for name in ("dmm", "temperature"):
            first = int(run[name].time[0])
            # The first rows come after the run started, not before: a row stamped before
            # start_time would claim data from before the run.
            assert first >= start_ns, f"{name}: first row {(first - start_ns) / 1e6:.1f} ms"
            # and soon after it: connecting is done before the start, the first poll is fast
            assert first - start_ns < 2e9, f"{name}: first row {(first - start_ns) / 1e9:.2f} s"


def test_inspect_on_a_run_config_says_it_is_not_a_run_file_and_what_to_do(
    tmp_path: Path,
) -> None:
    config = tmp_path / "lab.yaml"
    config.write_text("lab: default\n")
    code, output = invoke("inspect", str(config))
    assert code == 1
    assert f"{config} is not an HDF5 file, so not a run file" in output
    assert f"`instrumentkit acquire {config}`" in output
    assert "signature" not in output
    assert "Traceback" not in output


def drawn_panes(path: Path, stream: str) -> list[Any]:
    """The panels `plot` draws for a readings stream, one per channel, as matplotlib made
    them (so the test reads the marks and notes, not pixels)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from instrumentkit.cli._plot import _draw, _meanings

    with open_run(path) as run:
        data = run[stream]
        channels = [c for c in data.signals if c != "status"]
        figure, grid = plt.subplots(len(channels), 1, squeeze=False, sharex=True)
        panes = list(grid[:, 0])
        _draw(panes, data, -1, _meanings(run, data))
    plt.close(figure)
    return panes


def flag_marks(pane: Any) -> int:
    return sum(len(line.get_xdata()) for line in pane.lines if line.get_marker() == "|")


def test_plot_marks_invalid_readings_and_says_what_their_status_means(
    lab_run: Path, tmp_path: Path
) -> None:
    with open_run(lab_run) as run:
        rows = len(run["temperature"])
        assert (run["temperature"]["status"][:, 3] == 1).all()  # input D: no sensor
    panes = drawn_panes(lab_run, "temperature")
    (note,) = [text.get_text() for text in panes[3].texts]
    # the meaning as the file states it (flag_meanings), or as the driver's manual does
    assert note.startswith(f"no valid reading to plot\n{rows} of {rows} readings flagged: "
                           "status 1 = ")  # fmt: skip
    assert "invalid" in note
    assert flag_marks(panes[3]) == rows
    assert all(not pane.texts and flag_marks(pane) == 0 for pane in panes[:3])
    older = tmp_path / "older.h5"  # a file from before the meanings were stored
    shutil.copy(lab_run, older)
    with h5py.File(older, "r+") as f:
        for name, dataset in _datasets(f):
            if name.endswith("temperature/status"):
                for key in ("flag_values", "flag_meanings"):
                    dataset.attrs.pop(key, None)
    (note,) = [text.get_text() for text in drawn_panes(older, "temperature")[3].texts]
    assert note.endswith(f"{rows} of {rows} readings flagged: status 1 = invalid reading")
    target = tmp_path / "temperature.png"
    code, output = invoke("plot", str(lab_run), "temperature", "-o", str(target))
    assert code == 0, output
    assert target.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_plot_takes_status_meanings_from_the_files_cf_flag_attributes(tmp_path: Path) -> None:
    path = tmp_path / "gauge.h5"
    with Run(path) as run:
        for code in (0, 4, 4, 0, 5):
            value = float("nan") if code else 1e-3
            run.append("gauge", Reading.single([value], "p1", "mbar", status=[code]))
    with h5py.File(path, "r+") as f:  # as the writer stores them (CF conventions)
        status = next(ds for name, ds in _datasets(f) if name.endswith("gauge/status"))
        status.attrs["flag_values"] = np.array([0, 4, 5], dtype=np.int16)
        status.attrs["flag_meanings"] = "valid sensor_off no_sensor"
    (pane,) = drawn_panes(path, "gauge")
    assert [t.get_text() for t in pane.texts] == [
        "2 of 5 readings flagged: status 4 = sensor off\n"
        "1 of 5 readings flagged: status 5 = no sensor"
    ]
    assert flag_marks(pane) == 3


def _datasets(f: h5py.File) -> list[tuple[str, h5py.Dataset]]:
    found: list[tuple[str, h5py.Dataset]] = []
    f.visititems(
        lambda name, obj: found.append((name, obj)) if isinstance(obj, h5py.Dataset) else None
    )
    return found


WRITER = """
import os, sys, time
from instrumentkit.acquisition import Run
path, rows, how = sys.argv[1], int(sys.argv[2]), sys.argv[3]
run = Run(path, flush_interval=0.1)
run.append("v", {"v": 0.0}, units="V")
run.start()
print("live", flush=True)
for i in range(1, rows):
    run.append("v", {"v": float(i)})
    time.sleep(0.01)
if how == "die":  # flushed, then gone without closing: as after kill -9 or a power cut
    run.flush()
    os._exit(0)
run.close()
"""


def start_writer(path: Path, rows: int, how: str) -> subprocess.Popen[str]:
    """A lab script writing `rows` rows in another process; returns once the file is live."""
    writer = subprocess.Popen(
        [sys.executable, "-c", WRITER, str(path), str(rows), how],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    assert writer.stdout is not None
    assert writer.stdout.readline() == "live\n", writer.stderr.read() if writer.stderr else ""
    return writer


def test_follow_shows_a_run_being_written_and_ends_with_it(tmp_path: Path) -> None:
    path = tmp_path / "live.h5"
    writer = start_writer(path, 150, "close")
    try:
        code, output = invoke("inspect", str(path), "--follow", "--interval", "0.1")
    finally:
        writer.wait(timeout=60)
    assert code == 0, output
    assert output.rstrip().endswith("run ended: completed")
    assert "status completed" in output
    final = output.split("status completed")[-1]
    assert "v       readings   150" in final  # the last frame: every row, its kind
    assert "v=149 V" in final  # and the last value with its units
    assert "errors: none" in final


def test_follow_stops_on_a_file_whose_writer_died_and_inspect_says_so(tmp_path: Path) -> None:
    path = tmp_path / "dead.h5"
    writer = start_writer(path, 40, "die")
    assert writer.wait(timeout=60) == 0
    started = time.monotonic()
    code, output = invoke("inspect", str(path), "--follow", "--interval", "0.1",
                          "--stale-after", "0.5")  # fmt: skip
    assert time.monotonic() - started < 30  # ended by itself (bound generous for load)
    assert code == 1
    assert "status running" in output
    assert "s while its status says running" in output
    assert "stopped without closing it (killed, crashed or power loss)" in output
    an_hour_ago = time.time() - 3600
    os.utime(path, (an_hour_ago, an_hour_ago))
    code, output = invoke("inspect", str(path))
    assert code == 0, output
    assert "status   running, but the file has not changed for 60 min" in output
    assert "stopped without closing it (killed, crashed or power loss)" in output
    assert "the file holds what was flushed before: v 40 rows" in output
    assert f"read it with open_run('{path}')" in output


def test_inspect_lists_the_errors_a_run_logged_with_their_codes(tmp_path: Path) -> None:
    """The errors stream has an int32 `code` column beside its text: inspect used to crash
    on it (AttributeError: 'numpy.int32' object has no attribute 'decode')."""
    from instrumentkit.acquisition import CallableSource, ErrorPolicy, Pipeline
    from instrumentkit.errors import InstrumentReportedError

    calls = iter(range(100))

    def meter() -> float:
        n = next(calls)
        if n == 2:
            raise InstrumentReportedError("reported -222, 'Data out of range'", code=-222,
                                          instrument="meter")  # fmt: skip
        return float(n)

    path = tmp_path / "run.h5"
    result = Pipeline([CallableSource(meter, stream="meter", count=5)], path,
                      on_error=ErrorPolicy("skip")).run()  # fmt: skip
    assert result.status == "completed", result.reason
    code, output = invoke("inspect", str(path))
    assert code == 0, output
    assert "errors: 1\n  meter: InstrumentReportedError: meter: reported -222, 'Data out of " \
        "range'\n" in output  # fmt: skip
    code, output = invoke("inspect", "--json", str(path))
    assert code == 0, output
    [logged] = json.loads(output)["errors"]
    message = "meter: reported -222, 'Data out of range'"
    assert logged == {"instrument": "meter", "error": "InstrumentReportedError", "code": -222,
                      "action": "skipped", "message": message}  # fmt: skip


def test_plot_refuses_an_image_format_matplotlib_cannot_write_before_drawing(
    lab_run: Path, tmp_path: Path
) -> None:
    """`-o dmm.txt` ended in a matplotlib traceback after the figure was drawn."""
    code, output = invoke("plot", str(lab_run), "dmm", "-o", str(tmp_path / "dmm.txt"))
    assert code == 1
    assert output.startswith(f"Error: cannot write {tmp_path / 'dmm.txt'}: matplotlib writes ")
    assert ".pdf, .pgf, .png, .ps" in output
    assert "Traceback" not in output
    assert list(tmp_path.iterdir()) == []
    code, output = invoke("plot", str(lab_run), "dmm", "-o", str(tmp_path / "dmm"))
    assert (code, output) == (0, f"wrote {tmp_path / 'dmm.png'}\n")  # the name it wrote
    assert (tmp_path / "dmm.png").read_bytes().startswith(b"\x89PNG")
