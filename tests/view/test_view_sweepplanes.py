"""Sweeps over three axes or more: any plane chosen with `outer=` (indices along the outer
axes), refused with the reason when it cannot be; and the cells of a sweep's heat map that
hold a point in compliance, marked after zoom and decimation."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from view_api import GridSweep, get

from instrumentkit.acquisition import Pipeline, Stop, SweepAxis, SweepSource
from instrumentkit.acquisition.synthetic import SyntheticSensor
from instrumentkit.view import ViewServer


def plain_axis(name: str, values: list[float], units: str) -> SweepAxis:
    return SweepAxis(name, np.asarray(values), lambda value: None, units)


@pytest.fixture(scope="module")
def cube(tmp_path_factory) -> Path:
    """A 3 x 2 x 3 sweep run by the real pipeline, stopped after 8 of its 18 points: the
    plane field = 0 T whole, field = 1 T begun (the newest), field = 2 T not reached."""
    sweep = SweepSource(
        axes=[plain_axis("field", [0.0, 1.0, 2.0], "T"), plain_axis("gate", [0.0, 1.0], "V"),
              plain_axis("bias", [0.0, 5.0, 10.0], "mV")],
        readers={"dmm": SyntheticSensor("dmm", units=["A"])}, stream="cube",
    )  # fmt: skip
    path = tmp_path_factory.mktemp("cube") / "cube.h5"
    return Pipeline([sweep], path, stop=Stop(max_readings=8)).run().path


def test_outer_picks_a_plane_of_a_3d_sweep_other_than_the_newest(cube):
    with ViewServer(cube) as server:
        newest = get(server, "/api/stream/cube?width=400")[1]
        status, first = get(server, "/api/stream/cube?width=400&outer=0")
        unmeasured = get(server, "/api/stream/cube?width=400&outer=2")[1]
        zoomed = get(server, "/api/stream/cube?width=400&outer=0&xindex=1:3&yindex=1:2")[1]
    assert newest["z"] == [[6.0, 7.0, None], [None, None, None]]
    assert (newest["outer"][0]["index"], newest["newest"]) == (1, [1])
    assert status == 200
    assert first["z"] == [[0.0, 1.0, 2.0], [3.0, 4.0, 5.0]]  # the readings 0-5, field = 0 T
    assert first["outer"] == [
        {"name": "field", "value": 0.0, "index": 0, "units": "T", "values": [0.0, 1.0, 2.0]}
    ]
    assert (first["newest"], first["taken"], first["filled"], first["rows"]) == ([1], 6, 6, 8)
    # Not yet measured: grey cells, not an error.
    assert unmeasured["z"] == [[None] * 3] * 2
    assert (unmeasured["outer"][0]["value"], unmeasured["taken"]) == (2.0, 0)
    assert (unmeasured["filled"], unmeasured["zrange"]) == (0, None)
    assert zoomed["z"] == [[4.0, 5.0]]
    assert (zoomed["outer"][0]["index"], zoomed["xindex"], zoomed["yindex"]) == (0, [1, 3], [1, 2])


REFUSED = {  # outer= asked of the 3-D cube: the start of the reason given
    "outer=3": "outer=3: index 3 is outside axis 'field', which has 3 values (indices 0..2)",
    "outer=-1": "outer=-1: index -1 is outside axis 'field', which has 3 values",
    "outer=0,1": "outer=0,1: sweep 'cube' has 1 outer axis (field); give one index per "
    "outer axis, comma-separated, outermost first",
    "outer=1.0": "outer='1.0': expected one integer index per outer axis, comma-separated",
    "outer=": "outer='': expected one integer index per outer axis",
}


def test_outer_refuses_what_the_sweep_does_not_have(cube):
    with ViewServer(cube) as server:  # one server for all: each costs a few 100 ms
        answers = {query: get(server, f"/api/stream/cube?width=400&{query}") for query in REFUSED}
    for query, reason in REFUSED.items():
        status, refused = answers[query]
        assert status == 400, query
        assert refused["error"].startswith(reason), refused


def test_outer_on_a_sweep_of_two_axes_or_a_line_plot_is_refused(tmp_path):
    sheet = SweepSource(
        axes=[plain_axis("gate", [0.0, 1.0], "V"), plain_axis("bias", [0.0, 5.0], "mV")],
        readers={"dmm": SyntheticSensor("dmm", units=["A"])}, stream="sheet",
    )  # fmt: skip
    line = SweepSource(
        axes=[plain_axis("bias", [0.0, 5.0], "mV")],
        readers={"dmm": SyntheticSensor("dmm2", units=["A"])}, stream="line",
    )  # fmt: skip
    path = Pipeline([sheet, line], tmp_path / "two.h5").run().path
    with ViewServer(path) as server:
        status, sheet_refused = get(server, "/api/stream/sheet?outer=0")
        line_status, line_refused = get(server, "/api/stream/line?outer=0")
        plain_status, plain = get(server, "/api/stream/sheet")
    assert status == 400
    assert sheet_refused["error"] == (
        "outer=0: sweep 'sheet' has two axes (gate, bias), so its whole grid is the map; "
        "outer picks the plane of a sweep over three axes or more"
    )
    assert line_status == 400
    assert line_refused["error"] == (
        "outer selects the plane of a sweep's heat map; stream 'line' is not a sweep over "
        "three axes or more drawn as a heat map"
    )
    assert (plain_status, plain["outer"], plain["newest"]) == (200, [], [])


def written(path: Path, axes: list, steps: list[tuple[int, int]]) -> Iterator[Path]:
    """A sweep over `axes` (plain order) by the sweep writer: per step, `count` points of
    `status`; its file while it is still open."""
    with GridSweep(path, axes, snake=False) as sweep:
        for count, status in steps:
            sweep.take(count, status)
        yield sweep.path


@pytest.fixture
def four_d(tmp_path):
    """A 2 x 3 x 2 x 3 sweep by the sweep writer (plain order): 20 of its 36 points taken,
    the 5th, (0, 0, 1, 1), in compliance; current = 10^4 x i + ... names each point."""
    axes = [("field", [0.0, 1.0], "T"), ("angle", [0.0, 90.0, 180.0], "deg"),
            ("gate", [0.0, 1.0], "V"), ("bias", [0.0, 5.0, 10.0], "mV")]  # fmt: skip
    yield from written(tmp_path / "4d.h5", axes, [(4, 0), (1, 1), (15, 0)])


def test_outer_takes_one_index_per_outer_axis_and_marks_compliance_per_plane(four_d):
    with ViewServer(four_d) as server:
        newest = get(server, "/api/stream/sweep?width=400")[1]
        chosen = get(server, "/api/stream/sweep?width=400&outer=0,2")[1]
        first = get(server, "/api/stream/sweep?width=400&outer=0,0")[1]
        status, refused = get(server, "/api/stream/sweep?width=400&outer=2,0")
    # The 20th point (19) is (1, 0, 0, 1): the newest plane is field = 1 T, angle = 0 deg.
    assert [(a["name"], a["index"]) for a in newest["outer"]] == [("field", 1), ("angle", 0)]
    assert (newest["newest"], newest["compliance"]) == ([1, 0], [])
    assert [(a["value"], a["units"]) for a in chosen["outer"]] == [(0.0, "T"), (180.0, "deg")]
    assert chosen["newest"] == [1, 0]
    assert chosen["z"] == [[20000.0, 20001.0, 20002.0], [20100.0, 20101.0, 20102.0]]
    assert first["compliance"] == [[1, 1]]  # gate 1 V, bias 5 mV: the point in compliance
    assert first["invalid_counts"] == [{"code": 1, "count": 1, "meaning": "in_compliance"}]
    assert status == 400
    assert (
        "index 2 is outside axis 'field', which has 2 values (indices 0..1)" in (refused["error"])
    )


@pytest.fixture
def sheet_with_compliance(tmp_path):
    """A 20 x 40 sweep (plain order) taken to point 599: point (0, 0) skipped in compliance
    (NaN), point (13, 27) in compliance (its value kept)."""
    axes = [("gate", np.linspace(0, 1.9, 20), "V"), ("bias", np.arange(40.0), "mV")]
    yield from written(tmp_path / "sheet.h5", axes, [(1, 2), (13 * 40 + 26, 0), (1, 1), (52, 0)])


def test_compliance_cells_survive_decimation_and_zoom(sheet_with_compliance):
    with ViewServer(sheet_with_compliance) as server:
        full = get(server, "/api/stream/sweep?width=400")[1]
        small = get(server, "/api/stream/sweep?width=16")[1]
        zoomed = get(server, "/api/stream/sweep?width=16&xindex=20:40&yindex=1:20")[1]
        outside = get(server, "/api/stream/sweep?width=400&xindex=0:20&yindex=14:20")[1]
    assert full["cell"] == [1, 1]
    assert full["compliance"] == [[0, 0], [13, 27]]
    assert full["z"][0][0] is None  # skipped: NaN, still marked
    assert full["z"][13][27] == 1327.0  # in compliance: the value kept, marked
    assert {c["meaning"]: c["count"] for c in full["invalid_counts"]} == {
        "in_compliance": 1, "skipped_in_compliance": 1,
    }  # fmt: skip
    # 40 columns on 16 pixels: 3 per cell; 20 rows on 8: 3 per cell.
    assert small["cell"] == [3, 3]
    assert small["compliance"] == [[0, 0], [4, 9]]
    # Rows 1:20 and columns 20:40 on 16 pixels: 3 rows x 2 columns per cell, so (13, 27)
    # is cell (12 // 3, 7 // 2).
    assert (zoomed["cell"], zoomed["compliance"]) == ([3, 2], [[4, 3]])
    assert outside["compliance"] == []
