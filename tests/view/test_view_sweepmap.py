"""Sweeps over two axes (or more) as heat maps: one read quantity over the last two axes,
grey (null) where no point was taken yet, zoomed like any heat map, a quantity picked with
`field=`; 1-D sweeps stay line plots."""

from __future__ import annotations

from pathlib import Path

import h5py
import numpy as np
import pytest
from view_api import GateSweep, get

from instrumentkit.acquisition import Pipeline, Stop, SweepAxis, SweepSource
from instrumentkit.acquisition.synthetic import SyntheticScope, SyntheticSensor
from instrumentkit.view import ViewServer

GATE, BIAS = GateSweep.GATE, GateSweep.BIAS


@pytest.fixture
def gate_sweep(tmp_path: Path):
    """A 4 x 6 gate sweep written point by point by the sweep writer (snake order)."""
    sweep = GateSweep(tmp_path / "gate.h5")
    try:
        yield sweep.path, sweep.take
    finally:
        sweep.close()


def test_a_2d_sweep_is_a_heat_map_over_its_axes_filling_in_as_points_arrive(gate_sweep):
    path, take = gate_sweep
    with ViewServer(path) as server:
        empty = get(server, "/api/stream/gate?width=400")[1]
        assert empty["mode"] == "heatmap"
        assert (empty["xlabel"], empty["xunits"], empty["ylabel"], empty["yunits"]) == (
            "bias", "mV", "gate", "V",
        )  # fmt: skip
        assert (empty["x"], empty["y"]) == (BIAS.tolist(), GATE.tolist())
        assert (empty["field"], empty["units"]) == ("smu.current", "A")
        assert [(f["name"], f["units"]) for f in empty["fields"]] == [
            ("smu.current", "A"), ("stage.temperature", "K"),
        ]  # fmt: skip
        assert empty["z"] == [[None] * 6] * 4
        assert (empty["filled"], empty["points"], empty["zrange"]) == (0, 24, None)

        take(9)  # the first row, then the second back to front from its end: 3 of it
        status, heat = get(server, "/api/stream/gate?width=400")
        assert status == 200
        assert heat["rows"] == 9  # points taken
        assert heat["z"][0] == [0.0, 1.0, 2.0, 3.0, 4.0, 5.0]
        assert heat["z"][1] == [None, None, None, 103.0, 104.0, 105.0]
        assert heat["z"][2:] == [[None] * 6] * 2
        assert (heat["filled"], heat["taken"], heat["zrange"]) == (9, 9, [0.0, 105.0])
        assert heat["outer"] == []  # two axes: the whole grid is the map

        take(3, status=1)  # the rest of the second row, in compliance
        heat = get(server, "/api/stream/gate?width=400")[1]
        assert heat["z"][1] == [100.0, 101.0, 102.0, 103.0, 104.0, 105.0]
        assert heat["invalid_counts"] == [{"code": 1, "count": 3, "meaning": "in_compliance"}]

        other = get(server, "/api/stream/gate?width=400&field=stage.temperature")[1]
        assert (other["field"], other["units"]) == ("stage.temperature", "K")
        assert other["z"][:2] == [[300.0] * 6, [301.0] * 6]
        assert other["zrange"] == [300.0, 301.0]


def test_a_sweep_map_zooms_to_a_region_and_refuses_an_unknown_quantity(gate_sweep):
    path, take = gate_sweep
    take(24)
    with ViewServer(path) as server:
        status, zoomed = get(server, "/api/stream/gate?width=400&xindex=2:5&yindex=1:3")
        assert status == 200
        assert (zoomed["xindex"], zoomed["yindex"], zoomed["shape"]) == ([2, 5], [1, 3], [4, 6])
        assert zoomed["z"] == [[102.0, 103.0, 104.0], [202.0, 203.0, 204.0]]
        assert (zoomed["x"], zoomed["y"]) == ([20.0, 30.0, 40.0], [0.5, 1.0])
        assert (zoomed["xrange"], zoomed["yrange"]) == ([20.0, 40.0], [0.5, 1.0])
        assert zoomed["cell"] == [1, 1]
        small = get(server, "/api/stream/gate?width=16&field=smu.current")[1]
        assert small["cell"] == [1, 1]  # 6 columns on 16 pixels, 4 rows on 8

        status, refused = get(server, "/api/stream/gate?width=400&field=time")
        assert status == 400
        assert refused["error"] == (
            "field='time': sweep 'gate' has no such read quantity; it has smu.current, "
            "stage.temperature"
        )
        status, refused = get(server, "/api/stream/gate?xindex=0:7")
        assert status == 400
        assert "xindex=0:7: the map has 6 columns along x" in refused["error"]
        status, refused = get(server, "/api/stream/gate?x0=0&x1=1")
        assert status == 400
        assert "heat map: zoom it with xindex=A:B" in refused["error"]


def plain_axis(name: str, values: list[float], units: str) -> SweepAxis:
    return SweepAxis(name, np.asarray(values), lambda value: None, units)


def test_the_pipeline_s_sweeps_1d_a_line_3d_the_newest_plane(tmp_path):
    """Written by the real pipeline: a 1-D sweep stays a line plot; a 3-D sweep stopped in
    its second outer pass shows that pass's plane, and says which it is."""
    dmm = {"dmm": SyntheticSensor("dmm", units=["A"])}
    line = SweepSource(axes=[plain_axis("bias", [0.0, 0.1, 0.2], "V")], readers=dmm, stream="iv")
    cube = SweepSource(
        axes=[plain_axis("field", [0.0, 1.0, 2.0], "T"), plain_axis("gate", [0.0, 1.0], "V"),
              plain_axis("bias", [0.0, 5.0, 10.0], "mV")],
        readers={"dmm": SyntheticSensor("dmm", units=["A"])}, stream="cube",
    )  # fmt: skip
    lines = Pipeline([line], tmp_path / "iv.h5").run()
    cubes = Pipeline([cube], tmp_path / "cube.h5", stop=Stop(max_readings=8)).run()
    with ViewServer(lines.path) as server:
        status, iv = get(server, "/api/stream/iv?width=400")
        assert (status, iv["mode"], iv["x"], iv["xunits"]) == (200, "sweep", [0.0, 0.1, 0.2], "V")
        assert iv["series"][0]["y"] == [0.0, 1.0, 2.0]
        assert get(server, "/api/stream/iv?field=dmm.value")[0] == 400
    with ViewServer(cubes.path) as server:
        heat = get(server, "/api/stream/cube?width=400")[1]
    assert heat["mode"] == "heatmap"
    assert (heat["ylabel"], heat["xlabel"], heat["xunits"]) == ("gate", "bias", "mV")
    assert heat["outer"] == [
        {"name": "field", "value": 1.0, "index": 1, "units": "T", "values": [0.0, 1.0, 2.0]}
    ]
    assert heat["z"] == [[6.0, 7.0, None], [None, None, None]]  # points 6 and 7 of field=1 T
    assert (heat["units"], heat["taken"], heat["rows"]) == ("A", 2, 8)


def test_a_sweep_of_traces_shows_the_newest_point_s_trace(tmp_path):
    """A scope read at every point of a 2-D sweep: no number to colour, so the trace of the
    newest point, on its time axis, min/max per pixel column, full detail when zoomed."""
    scope = SyntheticScope("scope", points=1000)
    sweep = SweepSource(
        axes=[plain_axis("gate", [0.0, 1.0], "V"), plain_axis("bias", [0.0, 5.0, 10.0], "mV")],
        readers={"scope": scope}, stream="traces",
    )  # fmt: skip
    result = Pipeline([sweep], tmp_path / "t.h5", stop=Stop(max_readings=4)).run()
    with h5py.File(result.path, "r") as f:
        newest = f["entry/traces/scope.ch1"][1, 0]  # the 4th point: gate 1 V, bias 0 mV
        times = f["entry/traces/scope.ch1.time"][()]
    with ViewServer(result.path) as server:
        whole = get(server, "/api/stream/traces?width=100")[1]
        zoomed = get(server, f"/api/stream/traces?width=100&x0=0&x1={times[49]}")[1]
    assert (whole["mode"], whole["xlabel"], whole["xunits"]) == ("traces", "scope.ch1.time", "s")
    assert whole["point"] == {"gate": 1.0, "bias": 0.0}
    assert (whole["series"][0]["label"], whole["series"][0]["units"]) == ("scope.ch1", "V")
    y = np.array(whole["series"][0]["y"], dtype=float)
    assert len(y) == 200  # 1000 samples on 100 pixel columns: min and max of each
    np.testing.assert_array_equal(y[0::2], newest.reshape(100, 10).min(axis=1))
    np.testing.assert_array_equal(y[1::2], newest.reshape(100, 10).max(axis=1))
    assert zoomed["decimated"] is False
    assert zoomed["x"] == pytest.approx(times[:50])
    np.testing.assert_array_equal(zoomed["series"][0]["y"], newest[:50])
