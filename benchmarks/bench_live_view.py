"""The live view while the simulated-lab example records: latency to the screen, server CPU.

    python benchmarks/bench_live_view.py [--duration 20] [--screenshot docs/img/live-view.png]

Three processes, as in a lab: `instrumentkit acquire examples/simulated_lab.yaml` writes the
file, `instrumentkit view` serves it, headless Chromium (driven over the DevTools protocol,
tests/support/cdp.py) shows it. Meanwhile this script polls the file itself every 5 ms
(SWMR) to learn when each flush landed.

- flush-to-screen: from the moment a flush is visible in the file to the moment the page
  has drawn those rows (`window.ikView.draws`, wall clock of the same machine);
- sample-to-screen: from the oldest sample a draw added (its timestamp in the file) to the
  draw: what a user waits at most to see a reading; bounded by flush interval + the above;
- server CPU: the `view` process's user+system time over the steady part of the run,
  as % of one core, with four sources (five plotted streams) updating.
"""

from __future__ import annotations

import argparse
import json
import re
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path
from tempfile import TemporaryDirectory

import h5py
import numpy as np
import psutil

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "support"))
from cdp import Browser, find_chromium  # noqa: E402

PLOTTED = ("dmm", "scope_ch1", "scope_ch2", "spectrometer", "temperature")


def poll_flushes(path: Path, seen: dict[str, dict[int, float]], stop: threading.Event) -> None:
    """Record when each row count first appears in the file (ns precision not needed)."""
    while not path.exists() and not stop.is_set():
        time.sleep(0.01)
    f = None
    while f is None and not stop.is_set():
        try:
            f = h5py.File(path, "r", swmr=True)
        except OSError:
            time.sleep(0.01)
    while f is not None and not stop.is_set():
        for name in PLOTTED:
            if name not in f["entry"]:
                continue
            dataset = f["entry"][name]["time"]
            dataset.refresh()
            seen.setdefault(name, {}).setdefault(dataset.shape[0], time.time())
        time.sleep(0.005)
    if f is not None:
        f.close()


def save_small_png(png: bytes, path: Path) -> None:
    """The screenshot in 64 colours (plots are a few flat colours): a third of the bytes."""
    import io

    from PIL import Image

    image = Image.open(io.BytesIO(png)).convert("RGB")
    image.quantize(colors=64).save(path, optimize=True)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--duration", type=float, default=20.0)
    parser.add_argument("--screenshot", type=Path, default=None)
    args = parser.parse_args()
    chromium = find_chromium()
    if chromium is None:
        sys.exit("needs chromium (apt-get install chromium)")
    with TemporaryDirectory() as tmp:
        path = Path(tmp) / "run.h5"
        cli = [sys.executable, "-m", "instrumentkit"]
        acquire = subprocess.Popen(
            [*cli, "acquire", str(ROOT / "examples/simulated_lab.yaml"), "-o", str(path),
             "--overwrite", "--duration", str(args.duration), "-q"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        seen: dict[str, dict[int, float]] = {}
        stop = threading.Event()
        poller = threading.Thread(target=poll_flushes, args=(path, seen, stop), daemon=True)
        poller.start()
        while not path.exists():
            time.sleep(0.02)
        view = subprocess.Popen(
            [*cli, "view", str(path)], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
        )
        assert view.stdout is not None
        url = re.search(r"http://\S+/", view.stdout.readline()).group(0)
        server = psutil.Process(view.pid)
        with Browser(chromium) as page:
            page.goto(url)
            page.wait_for(
                "window.ikView && window.ikView.status && window.ikView.status.state === 'running'",
                60,
            )
            time.sleep(3)  # past the start
            cpu0, wall0 = server.cpu_times(), time.monotonic()
            time.sleep(max(2.0, args.duration - 8))
            cpu1, wall1 = server.cpu_times(), time.monotonic()
            if args.screenshot:
                shot = page.screenshot(clip={"x": 0, "y": 0, "width": 1280, "height": 1130})
                save_small_png(shot, args.screenshot)
            page.wait_for("window.ikView.final", 60)
            draws = page.evaluate("window.ikView.draws")
            errors = page.console_errors
        view.terminate()
        view.wait(10)
        acquire.wait(60)
        stop.set()
        poller.join(5)
        with h5py.File(path, "r") as f:
            times = {n: f["entry"][n]["time"][()] / 1e9 for n in PLOTTED}
    flush_to_screen, sample_to_screen = [], []
    previous: dict[str, int] = {}
    for draw in draws:
        name, rows, at = draw["stream"], draw["rows"], draw["at"] / 1000
        before = previous.get(name, 0)
        previous[name] = rows
        if name not in PLOTTED or rows <= before or rows not in seen.get(name, {}):
            continue
        flush_to_screen.append(at - seen[name][rows])
        sample_to_screen.append(at - float(times[name][before]))
    cpu = (cpu1.user + cpu1.system - cpu0.user - cpu0.system) / (wall1 - wall0) * 100

    def summary(values: list[float]) -> str:
        return (
            f"median {statistics.median(values) * 1000:.0f} ms, "
            f"p95 {np.percentile(values, 95) * 1000:.0f} ms, max {max(values) * 1000:.0f} ms "
            f"({len(values)} draws)"
        )

    print(json.dumps({"console_errors": errors}))
    print(f"flush-to-screen:  {summary(flush_to_screen)}")
    print(f"sample-to-screen: {summary(sample_to_screen)} (flush interval 1.0 s)")
    print(f"view server CPU:  {cpu:.1f}% of one core over {wall1 - wall0:.0f} s, one page open")


if __name__ == "__main__":
    main()
