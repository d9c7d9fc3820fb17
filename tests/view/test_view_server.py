"""The live view's server without a browser: /api/status, stream payloads, decimation, and
that nothing but the one run file can be reached (traversal, odd URLs, other hosts)."""

from __future__ import annotations

import hashlib
import http.client
import json
import re
import signal
import subprocess
import sys
import urllib.request
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from instrumentkit.acquisition import RunWriter
from instrumentkit.cli import main
from instrumentkit.errors import ConfigError
from instrumentkit.view import ViewServer, require_view_extra
from instrumentkit.view._decimate import column_minmax

T0 = 1_790_000_000_000_000_000  # ns since 1970
SWEEP_CONFIG = "streams:\n  iv: {kind: sweep, instrument: psu, parameter: voltage}\n"


def get(server: ViewServer, path: str, *, method: str = "GET", host: str | None = None):
    """One raw HTTP request (the path sent exactly as given): status, headers, body."""
    connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
    try:
        connection.putrequest(method, path, skip_host=host is not None)
        if host is not None:
            connection.putheader("Host", host)
        connection.endheaders()
        response = connection.getresponse()
        return response.status, {k.lower(): v for k, v in response.getheaders()}, response.read()
    finally:
        connection.close()


def get_json(server: ViewServer, path: str) -> dict:
    status, _, body = get(server, path)
    assert status == 200, body
    return json.loads(body)


def write_run(path: Path, *, close: bool = True, trace_points: int = 1000) -> None:
    """A finished run: a readings stream with invalid samples, waveforms, a sweep, errors."""
    writer = RunWriter(path, flush_interval=None, config_text=SWEEP_CONFIG,
                       metadata={"description": "bench test"})  # fmt: skip
    sensor = writer.add_readings("sensor", ["A", "B"], ["K", "K"], status=True)
    scope = writer.add_waveforms("scope", trace_points, units="V")
    sweep = writer.add_readings("iv", ["voltage", "dmm.reading"], ["V", "A"])
    log = writer.add_arrays("errors", (), np.dtype([("instrument", "S16"), ("message", "S64")]))
    writer.start(T0)
    times = T0 + np.arange(100, dtype=np.int64) * 10_000_000
    values = np.column_stack([np.linspace(1, 2, 100), np.full(100, 300.0)])
    status = np.zeros((100, 2), np.int16)
    values[[10, 50], 1] = np.nan
    status[[10, 50], 1] = 4
    sensor.append_block(times, values, status=status)
    trace = np.zeros((3, trace_points))
    trace[-1, trace_points // 3] = 7.5  # one spike in the newest record
    scope.append_block(trace, timestamps_ns=times[:3], x0=np.zeros(3), dx=np.full(3, 1e-6))
    sweep.append_block(times[:5], np.column_stack([np.arange(5.0), np.arange(5.0) ** 2]))
    log.append_block(np.array([(b"dmm", b"timeout after 2 s")], log.dtype), timestamps_ns=times[:1])
    writer.flush()
    if close:
        writer.close("completed")


@pytest.fixture(scope="module")
def finished_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("view") / "run.h5"
    write_run(path)
    return path


@pytest.fixture(scope="module")
def server(finished_run: Path):
    with ViewServer(finished_run) as running:
        yield running


def test_status_reports_the_run_and_every_stream(server):
    status = get_json(server, "/api/status")
    assert (status["status"], status["state"], status["final"]) == ("completed", "completed", True)
    assert status["description"] == "bench test"
    assert status["elapsed"] >= 0
    streams = status["streams"]
    assert {n: s["rows"] for n, s in streams.items()} == {
        "sensor": 100, "scope": 3, "iv": 5, "errors": 1,
    }  # fmt: skip
    assert streams["iv"]["kind"] == "sweep"  # as the run config declared it
    assert streams["sensor"]["last_time"] == pytest.approx((T0 + 99 * 10_000_000) / 1e9)
    assert streams["sensor"]["rate"] == pytest.approx(100.0)


def test_readings_mark_invalid_samples_and_decimate_by_min_max(server):
    raw = get_json(server, "/api/stream/sensor?width=200")
    assert raw["decimated"] is False
    assert len(raw["x"]) == 100
    b = raw["series"][1]
    assert (b["label"], b["units"], b["y"][10], b["y"][11]) == ("B", "K", None, 300.0)
    assert raw["invalid"][1] == pytest.approx([raw["x"][10], raw["x"][50]])
    assert raw["invalid"][0] == []
    assert [(c["code"], c["count"]) for c in raw["invalid_counts"]] == [(4, 2)]

    small = get_json(server, "/api/stream/sensor?width=20")
    assert small["decimated"] is True
    assert len(small["x"]) == 40  # min and max of each of 20 columns
    a = small["series"][0]["y"]
    assert min(a) == pytest.approx(1.0)
    assert max(a) == pytest.approx(2.0)
    assert len(small["invalid"][1]) == 2  # the columns holding samples 10 and 50


def test_a_trace_reaches_the_page_as_min_max_per_pixel_column(tmp_path):
    path = tmp_path / "big.h5"
    write_run(path, trace_points=2_000_000)
    with ViewServer(path) as server:
        status, _, body = get(server, "/api/stream/scope?width=500")
        payload = json.loads(body)
    assert status == 200
    latest = payload["series"][-1]
    assert not latest["faded"]
    assert len(payload["x"]) == len(latest["y"]) == 1000
    assert max(latest["y"]) == 7.5  # the one-sample spike survives
    assert payload["x"][0] >= 0
    assert payload["x"][-1] <= 2_000_000 * 1e-6
    assert [s["faded"] for s in payload["series"]] == [True, True, True, False]
    assert len(body) < 60_000  # 16 MB of trace, a few tens of KB of page data


def test_streams_declared_with_no_record_yet_are_answered(tmp_path):
    """The page asks as soon as the file exists: before the first flush of records."""
    path = tmp_path / "empty.h5"
    writer = RunWriter(path)
    writer.add_waveforms("scope", 100)
    writer.add_spectra("spec", np.linspace(400.0, 800.0, 50))
    writer.add_readings("dmm", ["v"], ["V"])
    writer.start()
    writer.flush()
    try:
        with ViewServer(path) as server:
            for stream in ("scope", "spec", "dmm"):
                payload = get_json(server, f"/api/stream/{stream}?width=300")
                assert payload["rows"] == 0
                series = payload.get("series", [])
                assert all(v is None for s in series for v in s["y"]), stream
    finally:
        writer.close()


def test_a_zoomed_range_is_fetched_again_at_full_detail(server):
    payload = get_json(server, "/api/stream/scope?width=100&x0=0.000330&x1=0.000336")
    ys = payload["series"][-1]["y"]
    assert payload["range"] == [0.00033, 0.000336]
    assert payload["decimated"] is False  # 7 samples: sent as they are
    assert payload["x"] == pytest.approx(np.arange(330, 337) * 1e-6)
    assert max(v for v in ys if v is not None) == 7.5  # sample 333 at 333 us


def test_sweeps_plot_readers_against_the_parameter(server):
    payload = get_json(server, "/api/stream/iv?width=300")
    assert payload["mode"] == "sweep"
    assert payload["x"] == [0.0, 1.0, 2.0, 3.0, 4.0]
    assert payload["series"][0]["y"] == [0.0, 1.0, 4.0, 9.0, 16.0]
    assert payload["series"][0]["units"] == "A"


def test_the_errors_stream_comes_as_a_table(server):
    payload = get_json(server, "/api/stream/errors")
    assert payload["columns"] == ["time", "instrument", "message"]
    assert payload["cells"][0][1:] == ["dmm", "timeout after 2 s"]


@pytest.mark.parametrize(
    "path",
    [
        "/static/../../../etc/passwd",
        "/static/..%2F_app.py",
        "/static/%2e%2e/_app.py",
        "/static/_app.py",
        "/static/",
        "/static/index.html/..",
        "/api/stream/..%2F..%2Fetc%2Fpasswd",
        "/api/stream/%2Fetc%2Fpasswd",
        "/api/stream/entry",
        "/api/stream/sensor%00",
        "/etc/passwd",
        "//etc/passwd",
        "/run.h5",
        "/api/file",
        "/api",
        "/%00",
    ],
)
def test_nothing_else_can_be_reached(server, finished_run, path):
    before = hashlib.sha256(finished_run.read_bytes()).hexdigest()
    status, _, body = get(server, path)
    assert status == 404, (path, body[:200])
    assert b"root:" not in body
    assert b"import" not in body
    assert hashlib.sha256(finished_run.read_bytes()).hexdigest() == before


@pytest.mark.parametrize("method", ["POST", "PUT", "DELETE", "PATCH"])
def test_no_endpoint_accepts_writes(server, method):
    for path in ("/", "/api/status", "/api/stream/sensor", "/static/view.js"):
        status, _, _ = get(server, path, method=method)
        assert status == 405, (method, path)


def test_odd_queries_get_a_clear_error(server):
    assert get(server, "/api/stream/sensor?width=abc")[0] == 400
    assert get(server, "/api/stream/sensor?x0=nan&x1=1")[0] == 400
    assert get_json(server, "/api/stream/sensor?width=999999999")["x"]  # clamped, served
    reversed_range = get_json(server, "/api/stream/sensor?x0=5&x1=1")
    assert len(reversed_range["x"]) == 100  # ignored: the whole stream


def test_only_loopback_host_names_are_answered(server):
    """A page on another site cannot read the view through DNS rebinding."""
    assert get(server, "/api/status", host="evil.example")[0] == 400
    assert get(server, "/api/status", host=f"evil.example:{server.port}")[0] == 400
    for host in (f"127.0.0.1:{server.port}", f"localhost:{server.port}", f"[::1]:{server.port}"):
        assert get(server, "/api/status", host=host)[0] == 200


def test_the_page_and_its_files_come_from_the_package(server):
    status, headers, page = get(server, "/")
    assert status == 200
    assert b'src="static/uPlot.iife.min.js"' in page
    assert b"http" not in page.replace(b'charset="utf-8"', b"")  # no CDN, nothing remote
    status, headers, script = get(server, "/static/uPlot.iife.min.js")
    assert status == 200
    assert headers["content-type"].startswith("text/javascript")
    assert script.startswith(b"/*! https://github.com/leeoniya/uPlot")
    assert "default-src 'self'" in headers["content-security-policy"]


def test_a_killed_writers_file_is_shown_stopped_not_closed(tmp_path):
    path = tmp_path / "killed.h5"
    here, target = str(Path(__file__).parent), str(path)
    script = (
        "import os, signal, sys\n"
        f"sys.path[:0] = [{here!r}]\n"
        "from test_view_server import write_run\n"
        "from pathlib import Path\n"
        f"write_run(Path({target!r}), close=False)\n"
        "os.kill(os.getpid(), signal.SIGKILL)\n"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, timeout=60)
    assert done.returncode == -9, done.stderr
    view = subprocess.Popen(
        [sys.executable, "-m", "instrumentkit", "view", str(path), "--port", "0"],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    try:
        line = view.stdout.readline()
        url = re.search(r"http://127\.0\.0\.1:(\d+)/", line)
        assert url, line
        with urllib.request.urlopen(url.group(0) + "api/status", timeout=10) as response:
            status = json.load(response)
        view.send_signal(signal.SIGINT)  # Ctrl-C: the server stops, exit code 0
        assert view.wait(15) == 0
        assert view.stdout.read().strip() == "Stopped."
    finally:
        if view.poll() is None:
            view.kill()
            view.wait()
        view.stdout.close()
    assert status["status"] == "running"  # what the file says; nobody closed it
    assert status["state"] == "stopped"
    assert status["final"] is False
    assert "killed" in status["reason"]
    assert status["streams"]["sensor"]["rows"] == 100


def test_a_non_loopback_address_needs_the_explicit_flag(finished_run):
    with pytest.raises(ConfigError, match="--allow-remote"):
        ViewServer(finished_run, host="0.0.0.0")


def test_the_command_refuses_what_is_not_a_run_file(tmp_path):
    config = tmp_path / "lab.yaml"
    config.write_text("instruments: {}\n")
    result = CliRunner().invoke(main, ["view", str(config)])
    assert result.exit_code == 1
    assert "not an HDF5 file" in result.output


def test_a_missing_extra_is_named_in_one_line(finished_run, monkeypatch):
    monkeypatch.setitem(sys.modules, "uvicorn", None)
    with pytest.raises(ImportError, match=r"pip install 'instrumentkit\[view\]'"):
        require_view_extra()
    result = CliRunner().invoke(main, ["view", str(finished_run)])
    assert result.exit_code == 1
    assert result.output.strip().splitlines() == [
        "Error: the live view needs the optional packages starlette and uvicorn: "
        "pip install 'instrumentkit[view]'"
    ]


def test_column_minmax_skips_empty_columns_and_nans():
    values = np.array([1.0, np.nan, 5.0, -2.0, 3.0])
    low, high = column_minmax(values, np.array([0, 2, 2, 5]))
    assert low.tolist()[0] == 1.0
    assert np.isnan(low[1])
    assert (low[2], high[2]) == (-2.0, 5.0)
    assert high[0] == 1.0


def write_map(path: Path, *, measured: int, shape: tuple[int, int] = (6, 8)) -> None:
    """A 2-D scan over stage positions, the first `measured` points taken (rest NaN)."""
    import instrumentkit as ik

    values = np.full(shape, np.nan)
    values.flat[:measured] = np.arange(measured, dtype=float)
    axes = {"y": (np.arange(shape[0]) * 0.5, "mm"), "x": (np.arange(shape[1]) * 0.1, "mm")}
    spectrum_axis = {"frequency": (np.linspace(0, 100, 50), "Hz")}
    with RunWriter(path, flush_interval=None) as writer:
        scan = writer.add_axis_arrays("scan", ik.AxisArray(values, axes, "V"))
        psd = writer.add_axis_arrays("psd", ik.AxisArray(np.ones(50), spectrum_axis, "V^2/Hz"))
        writer.start(T0)
        scan.append(ik.AxisArray(values, axes, "V", timestamp_ns=T0))
        psd.append(ik.AxisArray(np.linspace(1, 2, 50), spectrum_axis, "V^2/Hz", timestamp_ns=T0))


def test_a_two_d_scan_is_a_heat_map_with_its_gaps(tmp_path):
    path = tmp_path / "map.h5"
    write_map(path, measured=20)
    with ViewServer(path) as server:
        heat = get_json(server, "/api/stream/scan?width=400")
        curve = get_json(server, "/api/stream/psd?width=100")
    assert heat["mode"] == "heatmap"
    assert (heat["xlabel"], heat["ylabel"], heat["xunits"], heat["units"]) == ("x", "y", "mm", "V")
    assert heat["x"] == pytest.approx(np.arange(8) * 0.1)
    assert heat["y"] == [0.0, 0.5, 1.0, 1.5, 2.0, 2.5]
    assert heat["z"][0] == [0.0, 1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0]
    assert heat["z"][2][:4] == [16.0, 17.0, 18.0, 19.0]
    assert heat["z"][2][4:] == [None] * 4  # not measured yet
    assert (heat["filled"], heat["points"], heat["zrange"]) == (20, 48, [0.0, 19.0])
    assert curve["mode"] == "traces"
    assert curve["decimated"] is False  # 50 points on a 100-pixel plot: as they are
    assert curve["x"] == pytest.approx(np.linspace(0, 100, 50))
    assert (curve["xlabel"], curve["xunits"]) == ("frequency", "Hz")
    assert max(v for v in curve["series"][-1]["y"] if v is not None) == 2.0


def test_a_large_map_is_cut_to_cells_keeping_the_largest_value(tmp_path):
    path = tmp_path / "big-map.h5"
    write_map(path, measured=300 * 2000, shape=(300, 2000))
    with ViewServer(path) as server:
        heat = get_json(server, "/api/stream/scan?width=100")
    assert len(heat["x"]) == 100  # 2000 columns in blocks of 20
    assert len(heat["y"]) == 50  # 300 rows in blocks of 6: at most half the width down
    assert len(heat["z"]) == 50
    assert len(heat["z"][0]) == 100
    assert heat["z"][-1][-1] == 300 * 2000 - 1  # the largest of the last block
    assert heat["decimated"] is True


def test_readings_are_read_incrementally_and_kept_in_order():
    """The server reads only new rows of a readings stream; what it keeps is every row."""
    from instrumentkit.acquisition import StreamData
    from instrumentkit.view._streams import Columns

    rng = np.random.default_rng(7)
    time_ns = T0 + np.arange(5000, dtype=np.int64) * 1000
    a, b = rng.normal(size=5000), rng.normal(size=5000)
    status = rng.integers(0, 3, size=(5000, 2)).astype(np.int16)
    data = StreamData(
        name="s", kind="readings", signal="a", signals=("a", "b"),
        fields={"time": time_ns, "a": a, "b": b, "status": status},
        axes={}, units={}, long_names={}, attrs={},
    )  # fmt: skip
    columns = Columns()
    for rows in (3, 4, 1000, 1001, 4999, 5000):  # small and large steps, past each doubling
        columns.update(data, rows)
        assert columns.rows == rows
        np.testing.assert_array_equal(columns.time, time_ns[:rows] / 1e9)
        np.testing.assert_array_equal(columns.values, np.column_stack([a, b])[:rows])
        np.testing.assert_array_equal(columns.status, status[:rows])
    columns.update(data, 10)  # fewer rows: another file under the same name, read afresh
    np.testing.assert_array_equal(columns.values, np.column_stack([a, b])[:10])
