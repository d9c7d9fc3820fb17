"""The live view in a real browser: headless Chromium on a page that follows a recording run.

Skipped only where Chromium is not installed (`.ci/run` installs Debian's `chromium`).
"""

from __future__ import annotations

import io
import json
import re
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import h5py
import numpy as np
import pytest
from cdp import Browser, find_chromium
from view_api import VIEW_RUN_SECONDS, GateSweep, GridSweep

import instrumentkit as ik
from instrumentkit.acquisition import RunWriter

CHROMIUM = find_chromium()
pytestmark = pytest.mark.skipif(
    CHROMIUM is None,
    reason="headless Chromium is not installed (Debian: apt-get install chromium, as .ci/run does)",
)

PLOTTED = ("dmm", "scope_ch1", "scope_ch2", "spectrometer", "temperature")
ROWS_JS = (
    "Object.fromEntries([...document.querySelectorAll('#streams tbody tr')]"
    ".map(r => [r.dataset.stream, Number(r.cells[2].textContent.replace(/\\D/g, ''))]))"
)
BOX_JS = (
    "(() => { const r = document.querySelector(\".plot[data-stream='%s'] canvas\")"
    ".getBoundingClientRect(); "
    "return {x: r.x + scrollX, y: r.y + scrollY, width: r.width, height: r.height}; })()"
)
WHEEL_JS = (
    "(() => { const over = window.ikView.panels.dmm.plot.over; "
    "const r = over.getBoundingClientRect(); "
    "over.dispatchEvent(new WheelEvent('wheel', {deltaY: -300, bubbles: true, cancelable: true, "
    "clientX: r.x + r.width / 2, clientY: r.y + r.height / 2})); })()"
)
PLOTS_READY_JS = (
    "[" + ",".join(f"'{name}'" for name in PLOTTED) + "].every(n => "
    "document.querySelector(`.plot[data-stream='${n}'] canvas`) && "
    "window.ikView.panels[n].rows > 0)"
)


def colored_pixels(png: bytes) -> int:
    """Pixels of a plotted line: saturated colours (axes, grid and text are grey)."""
    from PIL import Image

    pixels = np.asarray(Image.open(io.BytesIO(png)).convert("RGB"), dtype=np.int16)
    spread = pixels.max(axis=2) - pixels.min(axis=2)
    return int((spread > 60).sum())


def api_rows(url: str) -> dict[str, int]:
    with urllib.request.urlopen(url + "api/status", timeout=10) as response:
        return {name: s["rows"] for name, s in json.load(response)["streams"].items()}


class RecordingBrowser(Browser):
    """The browser, also noting the URL of every request its page sends (CDP Network)."""

    def __init__(self, executable: str) -> None:
        self.requests: list[str] = []
        super().__init__(executable)
        self.send("Network.enable")

    def _note(self, event: dict) -> None:
        if event.get("method") == "Network.requestWillBeSent":
            self.requests.append(event["params"]["request"]["url"])
        super()._note(event)


@pytest.fixture(scope="module")
def browser():
    """One Chromium for the tests of this file: starting it costs more than a page."""
    with RecordingBrowser(CHROMIUM) as started:
        yield started


def test_acquire_view_page_follows_the_run_in_chromium(browser, recording_with_view):
    """`acquire --view` while the example records: the page, the API, then the run's end."""
    recording = recording_with_view
    url = recording.view_url()
    page = browser
    page.goto(url)
    page.wait_for(PLOTS_READY_JS, timeout=40)
    assert page.evaluate("document.querySelector('#errors').hidden")  # no errors logged
    first, first_api = page.evaluate(ROWS_JS), api_rows(url)
    time.sleep(2.0)
    second, second_api = page.evaluate(ROWS_JS), api_rows(url)
    assert page.evaluate("document.getElementById('state').textContent") == "running"
    for name in PLOTTED:
        assert second[name] > first[name] > 0, (name, first, second)
        assert second_api[name] > first_api[name] > 0, (name, first_api, second_api)

    # Nobody zoomed: every plot still follows its whole stream.
    assert page.evaluate("Object.values(window.ikView.panels).every(p => p.zoom === null)")

    # The wheel zooms the dmm plot; the server sends that range, decimated again.
    page.evaluate(WHEEL_JS)
    zoom = page.wait_for("window.ikView.panels.dmm.zoom", 5)
    page.wait_for(
        "(p => p.payload.range[0] === p.zoom[0] && p.payload.range[1] === p.zoom[1])"
        "(window.ikView.panels.dmm)",
        5,
    )
    x = page.evaluate("window.ikView.panels.dmm.payload.x")
    assert zoom[0] <= min(x) <= max(x) <= zoom[1]
    page.evaluate(
        "window.ikView.panels.dmm.plot.over.dispatchEvent("
        "new MouseEvent('dblclick', {bubbles: true}))"
    )
    page.wait_for("window.ikView.panels.dmm.zoom === null", 5)

    # Pause freezes the plots while rows keep arriving; Resume catches up.
    page.evaluate("document.getElementById('pause').click()")
    frozen = page.evaluate("window.ikView.panels.dmm.rows")
    page.wait_for(f"window.ikView.status.streams.dmm.rows > {frozen} + 20", 5)
    assert page.evaluate("window.ikView.panels.dmm.rows") == frozen
    page.evaluate("document.getElementById('pause').click()")
    page.wait_for(f"window.ikView.panels.dmm.rows > {frozen} + 20", 5)

    for name in PLOTTED:  # what the screen shows, not only the DOM: lines were drawn
        box = page.evaluate(BOX_JS % name)
        drawn = 0
        for _ in range(20):  # a plot rebuilt at that moment shows on the next frame
            drawn = colored_pixels(page.screenshot(clip=box))
            if drawn > 300:
                break
            time.sleep(0.1)
        assert drawn > 300, name

    page.wait_for("document.getElementById('state').textContent === 'completed'", 40)
    page.wait_for(  # the last rows, written as the run closed, are drawn too
        "Object.entries(window.ikView.status.streams)"
        ".every(([n, s]) => window.ikView.panels[n].rows === s.rows)",
        10,
    )
    assert f"duration of {VIEW_RUN_SECONDS} s reached" in page.evaluate(
        "document.getElementById('reason').textContent"
    )
    draws = page.evaluate("window.ikView.draws")
    out = recording.finish()  # the server waited for the page's last requests
    assert recording.process.returncode == 0, out
    assert "Run completed" in out
    assert page.console_errors == []

    # Every draw showed rows the file held, and the last one all of them: the page ends
    # on the run's final rows, not on some earlier flush.
    with h5py.File(recording.path, "r") as f:
        for name in PLOTTED:
            rows = f["entry"][name]["time"].shape[0]
            shown = [d["rows"] for d in draws if d["stream"] == name]
            assert shown == sorted(shown), (name, shown)
            assert shown[-1] == rows, (name, shown, rows)


MAP_ROWS, MAP_COLUMNS = 40, 60
MAP_AXES = {"y": (np.arange(MAP_ROWS) * 0.2, "mm"), "x": (np.arange(MAP_COLUMNS) * 0.5, "mm")}
SCAN = "window.ikView.panels.scan"
CANVAS_JS = (  # from the canvas itself: grey (unmeasured) share of the cells, centre colour
    "(() => { const p = window.ikView.panels.scan, g = p.geometry; "
    "const c = p.box.querySelector('canvas.heatmap').getContext('2d'); "
    "const d = c.getImageData(g.left + 2, g.top + 2, g.w - 4, g.h - 4).data; let grey = 0; "
    "for (let i = 0; i < d.length; i += 4) if (d[i] === 230 && d[i + 1] === 230) grey++; "
    "const m = c.getImageData(g.left + g.w / 2, g.top + g.h / 2, 1, 1).data; "
    "return {grey: grey / (d.length / 4), centre: [m[0], m[1], m[2]]}; })()"
)


def scan_record(measured_rows: int) -> ik.AxisArray:
    """The scan's map with its first `measured_rows` rows taken (the rest NaN)."""
    values = np.full((MAP_ROWS, MAP_COLUMNS), np.nan)
    rows, columns = np.indices((measured_rows, MAP_COLUMNS))
    values[:measured_rows] = rows * 100.0 + columns
    return ik.AxisArray(values, MAP_AXES, "V")


def start_view(path: Path) -> tuple[subprocess.Popen, str]:
    view = subprocess.Popen(
        [sys.executable, "-m", "instrumentkit", "view", str(path), "--port", "0"],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    line = view.stdout.readline()
    url = re.search(r"http://127\.0\.0\.1:\d+/", line)
    assert url, line
    return view, url.group(0)


def stop_view(view: subprocess.Popen) -> None:
    view.send_signal(signal.SIGINT)
    view.wait(15)
    view.stdout.close()


def mouse(page: Browser, kind: str, x: float, y: float, clicks: int = 1) -> None:
    page.send("Input.dispatchMouseEvent", type=kind, x=x, y=y, button="left", clickCount=clicks)


def test_a_heat_map_zooms_to_a_dragged_rectangle_and_keeps_it_live(tmp_path, browser):
    """A 2-D scan filling in: drag a rectangle (real mouse events), the page asks for that
    region and draws it; new points appear inside it; pause holds; double-click: whole map."""
    page = browser
    page.console_errors.clear()
    writer = RunWriter(tmp_path / "scan.h5", flush_interval=None)
    scan = writer.add_axis_arrays("scan", scan_record(0))
    writer.start()
    scan.append(scan_record(20))  # the lower half measured
    writer.flush()
    view, url = start_view(writer.path)
    try:
        page.goto(url)
        page.wait_for(f"window.ikView && {SCAN} && {SCAN}.rows === 1 && {SCAN}.geometry", 20)
        whole = page.evaluate(CANVAS_JS)
        assert 0.4 < whole["grey"] < 0.6, whole  # rows 20-39 not measured yet

        # Drag from cell (column 30, row 38) to cell (58, 26): the unmeasured top right.
        geometry = page.evaluate(
            f"(() => {{ const g = {SCAN}.geometry, r = {SCAN}.box"
            ".querySelector('canvas.heatmap').getBoundingClientRect(); "
            "return {...g, x: r.x, y: r.y}; })()"
        )

        def at(column: int, row: int) -> tuple[float, float]:
            g = geometry
            return (
                g["x"] + g["left"] + (column + 0.5) * g["w"] / g["cols"],
                g["y"] + g["top"] + g["h"] - (row + 0.5) * g["h"] / g["rows"],
            )

        asked = len(page.requests)
        mouse(page, "mousePressed", *at(30, 38))
        mouse(page, "mouseMoved", *at(45, 30))
        mouse(page, "mouseMoved", *at(58, 26))
        mouse(page, "mouseReleased", *at(58, 26))
        page.wait_for(f"{SCAN}.payload.xindex[0] === 30", 10)
        sent = [u for u in page.requests[asked:] if "/api/stream/scan?" in u]
        assert sent, page.requests[asked:]
        assert sent[-1].endswith("&xindex=30:59&yindex=26:39"), sent
        payload = page.evaluate(f"{SCAN}.payload")
        assert (payload["xindex"], payload["yindex"]) == ([30, 59], [26, 39])
        assert payload["cell"] == [1, 1]  # 29 x 13 points: every one its own cell
        ticks = page.evaluate(f"{SCAN}.ticks")  # the labels the canvas shows: the region's
        assert (ticks["x"][0], ticks["x"][-1]) == ("15", "29")  # x = 0.5 mm x column
        assert (ticks["y"][0], ticks["y"][-1]) == ("5.2", "7.6")  # y = 0.2 mm x row
        zoomed = page.evaluate(CANVAS_JS)
        assert zoomed["grey"] > 0.99, zoomed  # only unmeasured cells in the region

        # The scan goes on: the region's points arrive and show, still zoomed.
        scan.append(scan_record(MAP_ROWS))
        writer.flush()
        page.wait_for(f"{SCAN}.rows === 2", 10)
        filled = page.evaluate(CANVAS_JS)
        assert filled["grey"] < 0.01, filled
        region = page.evaluate(f"{SCAN}.payload.xindex.concat({SCAN}.payload.yindex)")
        assert region == [30, 59, 26, 39]

        # Pause holds the picture while records arrive; Resume draws the newest, still zoomed.
        page.evaluate("document.getElementById('pause').click()")
        scan.append(scan_record(30))  # a second pass of the scan, up to row 29 so far
        writer.flush()
        page.wait_for("window.ikView.status.streams.scan.rows === 3", 10)
        time.sleep(0.3)  # a draw, were one coming, would have come
        assert page.evaluate(f"{SCAN}.rows") == 2
        assert page.evaluate(CANVAS_JS) == filled
        page.evaluate("document.getElementById('pause').click()")
        page.wait_for(f"{SCAN}.rows === 3", 10)
        second_pass = page.evaluate(CANVAS_JS)
        assert 0.6 < second_pass["grey"] < 0.8, second_pass  # rows 30-38 of 26-38 again grey
        assert page.evaluate(f"{SCAN}.payload.xindex[0]") == 30

        # Double-click: the whole map again, asked without a region.
        asked = len(page.requests)
        mouse(page, "mousePressed", *at(45, 30))
        mouse(page, "mouseReleased", *at(45, 30))
        mouse(page, "mousePressed", *at(45, 30), clicks=2)
        mouse(page, "mouseReleased", *at(45, 30), clicks=2)
        page.wait_for(f"{SCAN}.region === null && {SCAN}.payload.xindex[0] === 0", 10)
        sent = [u for u in page.requests[asked:] if "/api/stream/scan?" in u]
        assert sent, page.requests[asked:]
        assert "xindex" not in sent[-1], sent
        payload = page.evaluate(f"{SCAN}.payload")
        assert (payload["xindex"], payload["yindex"]) == ([0, 60], [0, 40])
        restored = page.evaluate(CANVAS_JS)
        assert 0.2 < restored["grey"] < 0.3, restored  # the whole map: rows 30-39 of 40 grey
        assert page.console_errors == []
    finally:
        writer.close()
        stop_view(view)


GATE = "window.ikView.panels.gate"


def cell_js(panel: str) -> str:
    """JS of a function (row, column): the colour at the centre of the heat map's cell,
    from the canvas of the stream's panel."""
    return (
        f"((row, column) => {{ const p = window.ikView.panels.{panel}, g = p.geometry; "
        "const c = p.box.querySelector('canvas.heatmap').getContext('2d'); "
        "const x = g.left + (column + 0.5) * g.w / g.cols; "
        "const y = g.top + g.h - (row + 0.5) * g.h / g.rows; "
        "return Array.from(c.getImageData(x * devicePixelRatio, y * devicePixelRatio, 1, 1).data)"
        ".slice(0, 3); })"
    )


CELL_JS = cell_js("gate")
GREY = [230, 230, 230]


def test_a_2d_sweep_fills_in_as_a_heat_map_with_a_quantity_selector(tmp_path, browser):
    """A gate sweep, 9 of its 24 points taken: coloured cells where measured, grey where not;
    the next points colour their cells; the selector asks for the other read quantity."""
    page = browser
    page.console_errors.clear()
    sweep = GateSweep(tmp_path / "gate.h5")
    sweep.take(9)  # row 0, and the snake's row 1 from its end: columns 5, 4, 3
    view, url = start_view(sweep.path)
    try:
        page.goto(url)
        page.wait_for(f"window.ikView && {GATE} && {GATE}.rows === 9 && {GATE}.geometry", 20)
        assert page.evaluate(f"{GATE}.payload.mode") == "heatmap"
        cells = page.evaluate(f"[[0, 0], [1, 3], [1, 2], [3, 5]].map(([r, c]) => {CELL_JS}(r, c))")
        assert GREY not in cells[:2], cells  # measured: a colour of the scale
        assert cells[2:] == [GREY, GREY]  # not yet taken
        assert cells[0] != cells[1]  # the smallest and a larger current

        sweep.take(3)  # the rest of row 1
        page.wait_for(f"{GATE}.rows === 12", 10)
        assert page.evaluate(f"{CELL_JS}(1, 2)") != GREY

        asked = len(page.requests)
        page.evaluate(
            f"(() => {{ const s = {GATE}.box.querySelector('select.quantity'); "
            "s.value = 'stage.temperature'; s.dispatchEvent(new Event('change')); })()"
        )
        page.wait_for(f"{GATE}.payload.field === 'stage.temperature'", 10)
        assert any("field=stage.temperature" in u for u in page.requests[asked:])
        row0, row1 = page.evaluate(f"[[0, 0], [1, 0]].map(([r, c]) => {CELL_JS}(r, c))")
        assert GREY not in (row0, row1)
        assert row0 != row1  # 300 K and 301 K: the two ends of the colour scale
        assert "stage.temperature" in page.evaluate(
            f"{GATE}.box.querySelector('.note').textContent"
        )
        assert page.console_errors == []
    finally:
        sweep.close()
        stop_view(view)


CUBE = "window.ikView.panels.sweep"
CUBE_CELL_JS = cell_js("sweep")
RED_JS = (  # pixels of the compliance mark's red around cell (row, column), or the whole map
    "((row, column) => { const p = window.ikView.panels.sweep, g = p.geometry; "
    "const c = p.box.querySelector('canvas.heatmap').getContext('2d'); "
    "const box = row === null ? [g.left, g.top, g.w, g.h] : [g.left + column * g.w / g.cols - 2, "
    "g.top + g.h - (row + 1) * g.h / g.rows - 2, g.w / g.cols + 4, g.h / g.rows + 4]; "
    "const d = c.getImageData(...box.map(v => Math.round(v * devicePixelRatio))).data; "
    "let red = 0; for (let i = 0; i < d.length; i += 4) "
    "if (d[i] > 150 && d[i + 1] < 80 && d[i + 2] < 80) red++; return red; })"
)
SLIDER_JS = (
    f"(() => {{ const s = {CUBE}.box.querySelector('.planes input'); s.value = '0'; "
    "s.dispatchEvent(new Event('input')); })()"
)


def test_a_3d_sweep_s_plane_is_picked_with_its_slider_and_compliance_outlined(tmp_path, browser):
    """A 3 x 4 x 6 sweep in its second plane: the page follows that plane; the slider asks
    for the first (a point of it in compliance): its cells colour, the point's cell gets a
    red outline; the choice holds through a zoom, new points and Pause; "newest" follows
    again."""
    page = browser
    page.console_errors.clear()
    axes = [("field", [0.0, 1.0, 2.0], "T"), ("gate", [0.0, 0.5, 1.0, 1.5], "V"),
            ("bias", [0.0, 10.0, 20.0, 30.0, 40.0, 50.0], "mV")]  # fmt: skip
    with GridSweep(tmp_path / "cube.h5", axes, snake=False) as sweep:
        for count, status in ((15, 0), (1, 1), (8, 0), (9, 0)):  # (0, 2, 3) in compliance
            sweep.take(count, status)
        view, url = start_view(sweep.path)
        try:
            page.goto(url)
            page.wait_for(f"window.ikView && {CUBE} && {CUBE}.rows === 33 && {CUBE}.geometry", 20)
            label = page.evaluate(f"{CUBE}.box.querySelector('.planes').textContent")
            assert label.startswith("field = 1 T"), label
            assert page.evaluate(f"{CUBE}.box.querySelector('.planes input').value") == "1"
            cells = page.evaluate(f"[[2, 3], [3, 5]].map(([r, c]) => {CUBE_CELL_JS}(r, c))")
            assert cells == [GREY, GREY]  # field = 1 T: rows 2 and 3 not reached yet
            assert page.evaluate(f"{RED_JS}(null, null)") == 0  # nothing in compliance here

            asked = len(page.requests)
            page.evaluate(SLIDER_JS)
            page.wait_for(f"{CUBE}.payload.outer[0].index === 0", 10)
            sent = [u for u in page.requests[asked:] if "/api/stream/sweep?" in u]
            assert sent, page.requests[asked:]
            assert sent[-1].endswith("&outer=0"), sent
            cells = page.evaluate(f"[[2, 3], [3, 5]].map(([r, c]) => {CUBE_CELL_JS}(r, c))")
            assert GREY not in cells, cells  # field = 0 T: measured whole
            marked, elsewhere = page.evaluate(f"[{RED_JS}(2, 3), {RED_JS}(null, null)]")
            assert marked > 40, marked
            assert elsewhere == marked  # the one outline, nowhere else
            note = page.evaluate(f"{CUBE}.box.querySelector('.note').textContent")
            assert "field = 0 T (chosen; the newest point is at field = 1 T" in note, note
            assert "red outline: a point in compliance" in note, note

            # Zoom on rows 1-3, columns 2-4: asked with the plane; new points: still it.
            g = page.evaluate(
                f"(() => {{ const g = {CUBE}.geometry, r = {CUBE}.box"
                ".querySelector('canvas.heatmap').getBoundingClientRect(); "
                "return {...g, x: r.x, y: r.y}; })()"
            )

            def at(column: int, row: int) -> tuple[float, float]:
                return (g["x"] + g["left"] + (column + 0.5) * g["w"] / g["cols"],
                        g["y"] + g["top"] + g["h"] - (row + 0.5) * g["h"] / g["rows"])  # fmt: skip

            asked = len(page.requests)
            mouse(page, "mousePressed", *at(2, 1))
            mouse(page, "mouseMoved", *at(4, 3))
            mouse(page, "mouseReleased", *at(4, 3))
            page.wait_for(f"{CUBE}.payload.xindex[0] === 2", 10)
            sent = [u for u in page.requests[asked:] if "/api/stream/sweep?" in u]
            assert sent[-1].endswith("&xindex=2:5&yindex=1:4&outer=0"), sent
            assert page.evaluate(f"{CUBE}.payload.compliance") == [[1, 1]]
            sweep.take(3)
            page.wait_for(f"{CUBE}.rows === 36", 10)
            shown = page.evaluate(f"[{CUBE}.payload.outer[0].index, {CUBE}.payload.xindex[0]]")
            assert shown == [0, 2]
            page.evaluate("document.getElementById('pause').click()")  # and through Pause
            sweep.take(3)
            page.wait_for("window.ikView.status.streams.sweep.rows === 39", 10)
            page.evaluate("document.getElementById('pause').click()")
            page.wait_for(f"{CUBE}.rows === 39", 10)
            shown = page.evaluate(f"[{CUBE}.payload.outer[0].index, {CUBE}.payload.xindex[0]]")
            assert shown == [0, 2]

            asked = len(page.requests)
            page.evaluate(f"{CUBE}.box.querySelector('button.newest').click()")
            page.wait_for(f"{CUBE}.outer === null && {CUBE}.payload.outer[0].index === 1", 10)
            sent = [u for u in page.requests[asked:] if "/api/stream/sweep?" in u]
            assert "outer=" not in sent[-1], sent
            assert page.evaluate(f"{CUBE}.box.querySelector('.planes input').value") == "1"
            assert page.console_errors == []
        finally:
            stop_view(view)
