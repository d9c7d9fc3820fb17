"""The live view in a real browser: headless Chromium on a page that follows a recording run.

Skipped only where Chromium is not installed (`.ci/run` installs Debian's `chromium`).
"""

from __future__ import annotations

import io
import json
import time
import urllib.request

import h5py
import numpy as np
import pytest
from cdp import Browser, find_chromium

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


def test_acquire_view_page_follows_the_run_in_chromium(recording_with_view):
    """`acquire --view` while the example records: the page, the API, then the run's end."""
    recording = recording_with_view
    url = recording.view_url()
    with Browser(CHROMIUM) as page:
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
        assert "duration of 10 s reached" in page.evaluate(
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
