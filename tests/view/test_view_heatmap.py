"""Heat maps zoomed through the API: `xindex=A:B&yindex=C:D` sends that region of the newest
map at full detail up to the pixel budget; bad regions are refused with 400 and a reason."""

from __future__ import annotations

import numpy as np
import pytest
from view_api import get

import instrumentkit as ik
from instrumentkit.acquisition import RunWriter
from instrumentkit.view import ViewServer

T0 = 1_790_000_000_000_000_000
ROWS, COLUMNS = 300, 2000
MEASURED_ROWS = 280
"""Rows of the scan taken so far: the last 20 are NaN (not measured yet)."""
X_AXIS = np.arange(COLUMNS) * 0.1  # mm
Y_AXIS = 50.0 - np.arange(ROWS) * 0.25  # mm, descending: the stage scans downwards


def cell_value(row: int | np.ndarray, column: int | np.ndarray) -> np.ndarray:
    """Every point names its place: 10000 x row + column."""
    return np.asarray(row) * 10_000.0 + np.asarray(column)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory):
    path = tmp_path_factory.mktemp("heatmap") / "scan.h5"
    values = cell_value(*np.indices((ROWS, COLUMNS)))
    values[MEASURED_ROWS:] = np.nan
    axes = {"y": (Y_AXIS, "mm"), "x": (X_AXIS, "mm")}
    with RunWriter(path, flush_interval=None) as writer:
        scan = writer.add_axis_arrays("scan", ik.AxisArray(values, axes, "V"))
        level = writer.add_readings("level", ["v"], ["V"])
        writer.start(T0)
        scan.append(ik.AxisArray(np.zeros_like(values), axes, "V", timestamp_ns=T0))
        scan.append(ik.AxisArray(values, axes, "V", timestamp_ns=T0 + 1))  # the newest
        level.append_block(np.array([T0]), np.array([[1.0]]))
    with ViewServer(path) as running:
        yield running


def test_a_region_comes_at_full_detail(server):
    whole = get(server, "/api/stream/scan?width=100")[1]
    assert (whole["decimated"], whole["cell"], len(whole["z"]), len(whole["z"][0])) == (
        True, [6, 20], 50, 100,
    )  # fmt: skip
    status, zoomed = get(server, "/api/stream/scan?width=100&xindex=100:150&yindex=40:60")
    assert status == 200
    assert (zoomed["xindex"], zoomed["yindex"], zoomed["shape"]) == (
        [100, 150],
        [40, 60],
        [300, 2000],
    )
    assert zoomed["decimated"] is False
    assert zoomed["cell"] == [1, 1]
    z = np.array(zoomed["z"], dtype=float)
    np.testing.assert_array_equal(z, cell_value(*np.indices((20, 50))) + cell_value(40, 100))
    assert zoomed["x"] == pytest.approx(X_AXIS[100:150])
    assert zoomed["y"] == pytest.approx(Y_AXIS[40:60])
    assert zoomed["xrange"] == pytest.approx([10.0, 14.9])
    assert zoomed["yrange"] == pytest.approx([40.0, 35.25])
    assert zoomed["zrange"] == [cell_value(40, 100), cell_value(59, 149)]
    assert (zoomed["filled"], zoomed["points"]) == (1000, 1000)


def test_a_region_larger_than_the_plot_is_cut_to_cells_within_the_region_only(server):
    payload = get(server, "/api/stream/scan?width=100&xindex=1000:2000&yindex=200:300")[1]
    assert payload["cell"] == [2, 10]  # 1000 columns on 100 pixels, 100 rows on 50
    z = payload["z"]
    assert (len(z), len(z[0])) == (50, 100)
    assert z[0][0] == cell_value(201, 1009)  # the largest of rows 200-201, columns 1000-1009
    assert z[39][99] == cell_value(279, 1999)  # the last measured rows
    assert z[40] == [None] * 100  # rows 280-299 not measured yet: grey, not zero
    assert payload["x"] == pytest.approx(X_AXIS[1000:2000:10])
    assert payload["zrange"] == [cell_value(200, 1000), cell_value(279, 1999)]
    assert (payload["filled"], payload["points"]) == (80 * 1000, 100 * 1000)


def test_an_open_ended_range_runs_to_the_edge(server):
    payload = get(server, "/api/stream/scan?width=64&xindex=1990:&yindex=:3")[1]
    assert (payload["xindex"], payload["yindex"]) == ([1990, 2000], [0, 3])
    assert payload["z"][2] == [cell_value(2, c) for c in range(1990, 2000)]
    only_x = get(server, "/api/stream/scan?width=64&xindex=5:7")[1]
    assert (only_x["xindex"], only_x["yindex"], only_x["cell"]) == ([5, 7], [0, 300], [10, 1])


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("xindex=abc", "xindex='abc': expected START:STOP"),
        ("xindex=5", "xindex='5': expected START:STOP"),
        ("yindex=1.5:3", "yindex='1.5:3': expected START:STOP"),
        ("xindex=10:5", "xindex=10:5: the map has 2000 columns along x (indices 0:2000)"),
        ("xindex=7:7", "xindex=7:7: the map has 2000 columns"),
        ("xindex=0:2001", "xindex=0:2001: the map has 2000 columns"),
        ("yindex=-1:3", "yindex=-1:3: the map has 300 rows along y (indices 0:300)"),
        ("x0=1&x1=2", "stream 'scan' is a heat map: zoom it with xindex=A:B and yindex=C:D"),
        ("x0=1", "x0 and x1 go together"),
    ],
)
def test_a_bad_region_is_refused_with_the_reason(server, query, message):
    status, payload = get(server, f"/api/stream/scan?width=100&{query}")
    assert status == 400
    assert message in payload["error"]


def test_a_region_on_a_line_plot_is_refused(server):
    status, payload = get(server, "/api/stream/level?xindex=0:1")
    assert status == 400
    assert "stream 'level' is drawn as a line plot: zoom it with x0 and x1" in payload["error"]
    assert get(server, "/api/stream/level?x0=1&x1=2")[0] == 200


def test_a_map_declared_without_a_record_yet_is_all_unmeasured(tmp_path):
    """The page asks as soon as the file exists: a grey map of the declared shape."""
    path = tmp_path / "declared.h5"
    axes = {"y": (Y_AXIS[:4], "mm"), "x": (X_AXIS[:6], "mm")}
    writer = RunWriter(path, flush_interval=None)
    writer.add_axis_arrays("scan", ik.AxisArray(np.zeros((4, 6)), axes, "V"))
    writer.start(T0)
    writer.flush()
    try:
        with ViewServer(path) as server:
            status, payload = get(server, "/api/stream/scan?width=64&xindex=2:5")
    finally:
        writer.close()
    assert status == 200
    assert (payload["rows"], payload["filled"], payload["points"]) == (0, 0, 12)
    assert payload["z"] == [[None] * 3] * 4
    assert payload["zrange"] is None
    assert payload["x"] == pytest.approx(X_AXIS[2:5])
