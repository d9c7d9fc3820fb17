"""For the live view's tests: its HTTP API as a test asks it, and a sweep filling in."""

from __future__ import annotations

import http.client
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from instrumentkit.acquisition import RunWriter
from instrumentkit.acquisition._sweep_grid import FieldSpec, SweepGrid, SweepPoint, grid_order

VIEW_RUN_SECONDS = 15
"""How long the browser test's `acquire --view` run records: long enough that, on two
loaded cores, rows still arrive through the page's live checks."""


def get(server: Any, query: str) -> tuple[int, dict]:
    """GET `query` from a running ViewServer on 127.0.0.1: (status, the decoded JSON)."""
    connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
    try:
        connection.request("GET", query)
        response = connection.getresponse()
        return response.status, json.loads(response.read())
    finally:
        connection.close()


class GridSweep:
    """A sweep over `axes` (name, values, units; outermost first) written point by point by
    the sweep writer; `take(n)` writes the next n points and flushes them.

    Every point names its place: current = sum of index[k] x 100^(inner axes after k) (row
    x 100 + column on two axes), temperature 300 + its row (the second-last index). A point
    skipped in compliance (status 2) holds NaN, as the sweep stores it.
    """

    FIELDS = (FieldSpec("smu.current", "A", "current"), FieldSpec("stage.temperature", "K", "T"))
    T0 = 1_790_000_000_000_000_000

    def __init__(
        self,
        path: Path,
        axes: Sequence[tuple[str, Sequence[float], str]],
        snake: bool,
        parameters: Sequence[str] = (),
    ) -> None:
        names = tuple(a[0] for a in axes)
        self.grid = SweepGrid(names, tuple(np.asarray(a[1], dtype=float) for a in axes),
                              tuple(a[2] for a in axes), tuple(parameters) or names,
                              snake)  # fmt: skip
        self.writer = RunWriter(path, flush_interval=None)
        self.path = self.writer.path
        self.stream = self.writer.add_sweep(self.name, self.point((0,) * len(axes), 0))
        self.writer.start(self.T0)
        self.writer.flush()
        self._points = iter(enumerate(grid_order(self.grid.shape, snake=snake)))

    name = "sweep"

    def point(self, index: tuple[int, ...], order: int, status: int = 0) -> SweepPoint:
        current = float(sum(i * 100 ** (len(index) - 1 - k) for k, i in enumerate(index)))
        values = (current, 300.0 + index[-2]) if status != 2 else (np.nan, np.nan)
        return SweepPoint(self.grid, index, self.FIELDS, values, status, order, self.T0 + order)

    def take(self, count: int, status: int = 0) -> None:
        for _ in range(count):
            order, index = next(self._points)
            self.stream.append(self.point(index, order, status))
        self.writer.flush()

    def close(self) -> None:
        self.writer.close()

    def __enter__(self) -> GridSweep:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class GateSweep(GridSweep):
    """A 4 x 6 gate sweep (gate outer in V, bias inner in mV, snake order): current =
    100 x row + column, temperature 300 + row."""

    GATE = np.array([0.0, 0.5, 1.0, 1.5])
    BIAS = np.array([0.0, 10.0, 20.0, 30.0, 40.0, 50.0])
    name = "gate"

    def __init__(self, path: Path) -> None:
        axes = [("gate", self.GATE, "V"), ("bias", self.BIAS, "mV")]
        super().__init__(path, axes, snake=True, parameters=("psu.1", "smu.level"))
