"""Spectra per second of the Ocean Optics serial drivers vs raw pyserial + hand-written NumPy.

    python benchmarks/bench_spectrometer.py [--rounds 21] [--spectra 100]

Both paths read the same frames from the same simulated instrument model over the
simulated serial port (`iksim://`), in short interleaved rounds of the same run (which
path goes first alternates); the ratio is the median of the rounds' ratios, so a load
that comes and goes on the machine weighs on both paths alike:
- raw: `serial.serial_for_url`, write `S`, read STX and the frame, check header, trailer
  and checksum, `np.frombuffer(">u2")` and a float64 copy, by hand;
- instrumentkit: `spectrometer.acquire()` (a `Spectrum` with wavelengths, saturation flag).
The model replays one pre-computed exposure, so the figures are the cost of transport and
parsing, not of the simulated physics. The first table uses a manual clock: no integration
time, no wire time, only software. The second spends each frame's shortest integration
time (1 ms USB2000+, 4 ms USB4000) on a real clock but nothing on the wire: the fastest the
detector itself can go. The third also spends each frame's time on the wire at 115200
baud (the RS-232 maximum of these spectrometers), as a lab does.

Then batch dark correction of 10,000 spectra (3648 pixels): one broadcast subtraction of
the (10000, 3648) stack vs a Python loop subtracting per spectrum.
"""

from __future__ import annotations

import argparse
import statistics
import struct
import time
from collections.abc import Callable

import numpy as np
import serial

from instrumentkit.drivers._spectrometer import subtract_dark
from instrumentkit.drivers.oceaninsight import OceanInsightUSB2000Plus, OceanInsightUSB4000
from instrumentkit.drivers.oceaninsight.usb4000_sim import (
    OceanSerialModel,
    USB2000PlusModel,
    USB4000Model,
)
from instrumentkit.sim import Clock, ManualClock, SystemClock, attach, detach

STX = 0x02
HEADER = 14


def replaying(model: type[OceanSerialModel], clock: Clock) -> OceanSerialModel:
    """A model that serves one exposure again and again (no physics per frame)."""
    device = model(clock=clock, seed=1)
    counts = device.spectrum()
    device.spectrum = lambda: counts  # type: ignore[method-assign]
    return device


class RawReader:
    """What a careful hand-written script does: pyserial and NumPy, nothing else."""

    def __init__(self, url: str, pixels: int, baudrate: int, integration_ms: int) -> None:
        self.port = serial.serial_for_url(url, baudrate=baudrate, timeout=5.0)
        self.pixels = pixels
        setup = (
            b"bB",
            b"k\x00\x01",
            b"G\x00\x00",
            b"A\x00\x01",
            b"I" + struct.pack(">H", integration_ms),
        )
        for command in setup:
            self.port.write(command)
            assert self.port.read(1) == b"\x06"
        self.size = HEADER + 2 * pixels + 4

    def spectrum(self) -> np.ndarray:
        self.port.write(b"S")
        if self.port.read(1)[0] != STX:
            raise RuntimeError("no STX")
        frame = self.port.read(self.size)
        if len(frame) != self.size or frame[:2] != b"\xff\xff":
            raise RuntimeError("bad frame")
        end = HEADER + 2 * self.pixels
        values = np.frombuffer(frame, dtype=">u2", count=self.pixels, offset=HEADER)
        if frame[end : end + 2] != b"\xff\xfd":
            raise RuntimeError("bad trailer")
        if int(values.sum(dtype=np.uint64)) & 0xFFFF != int.from_bytes(frame[end + 2 :], "big"):
            raise RuntimeError("bad checksum")
        return values.astype(np.float64)

    def close(self) -> None:
        self.port.close()


def rate(work: Callable[[], object], count: int) -> float:
    started = time.perf_counter()
    for _ in range(count):
        work()
    return count / (time.perf_counter() - started)


def bench_detector(
    driver: type,
    model: type[OceanSerialModel],
    rounds: int,
    spectra: int,
    baudrate: int,
    exposure: bool = False,
) -> tuple[float, float, float]:
    """Median spectra/s of both paths and the median of the rounds' ratios (instrumentkit
    over raw); with `baudrate` the port spends each byte's wire time, with `exposure` the
    detector its (shortest) integration time."""
    names = [f"bench-{side}-{model.__name__}-{baudrate}-{exposure}" for side in ("raw", "kit")]
    # Wire and exposure time are spent on the device's clock: a real one when they count.
    clock = SystemClock() if baudrate or exposure else ManualClock()
    urls = [attach(name, replaying(model, clock)) for name in names]
    if baudrate:
        urls = [f"{url}?byte_time=1" for url in urls]
    shortest = model.integration_limits[0]
    raw = RawReader(urls[0], model.pixels, baudrate or 9600, shortest)
    spectrometer = driver.open(urls[1], baudrate=baudrate or 9600)
    spectrometer.integration_time = shortest
    # The same frames on both sides?
    np.testing.assert_array_equal(raw.spectrum(), spectrometer.acquire().intensities)
    raw_rates, kit_rates = [], []
    try:
        for round_ in range(rounds):
            if round_ % 2:
                kit_rates.append(rate(spectrometer.acquire, spectra))
                raw_rates.append(rate(raw.spectrum, spectra))
            else:
                raw_rates.append(rate(raw.spectrum, spectra))
                kit_rates.append(rate(spectrometer.acquire, spectra))
    finally:
        raw.close()
        spectrometer.close()
        for name in names:
            detach(name)
    ratios = [kit / raw for raw, kit in zip(raw_rates, kit_rates, strict=True)]
    return statistics.median(raw_rates), statistics.median(kit_rates), statistics.median(ratios)


def bench_dark(count: int, pixels: int, rounds: int) -> tuple[float, float, float]:
    """Median seconds of: a naive per-spectrum loop (a new array per spectrum, then
    stacked), a per-spectrum loop into preallocated rows, and one broadcast subtraction
    into the same preallocated result (as `acquire_many` does, in place)."""
    rng = np.random.default_rng(0)
    stack = rng.integers(900, 60000, (count, pixels)).astype(np.float64)
    dark = rng.normal(1000.0, 5.0, pixels)
    expected = stack - dark
    out = np.empty_like(stack)

    def naive() -> np.ndarray:
        return np.array([spectrum - dark for spectrum in stack])

    def rows() -> None:
        for row in range(count):
            np.subtract(stack[row], dark, out=out[row])

    times: tuple[list[float], list[float], list[float]] = ([], [], [])
    for _ in range(rounds):
        started = time.perf_counter()
        result = naive()
        times[0].append(time.perf_counter() - started)
        np.testing.assert_array_equal(result, expected)
        del result
        out.fill(0.0)
        started = time.perf_counter()
        rows()
        times[1].append(time.perf_counter() - started)
        np.testing.assert_array_equal(out, expected)
        out.fill(0.0)
        started = time.perf_counter()
        subtract_dark(stack, dark, out=out)
        times[2].append(time.perf_counter() - started)
        np.testing.assert_array_equal(out, expected)
    naive_s, rows_s, batch_s = (statistics.median(t) for t in times)
    return naive_s, rows_s, batch_s


DETECTORS = (
    (OceanInsightUSB2000Plus, USB2000PlusModel, "2048 px (USB2000+)"),
    (OceanInsightUSB4000, USB4000Model, "3648 px (USB4000)"),
)


def table(title: str, rounds: int, spectra: int, baudrate: int, exposure: bool = False) -> None:
    print(f"{title} ({rounds} interleaved rounds of {spectra} spectra per path, medians)")
    print(
        "| detector | raw pyserial + NumPy | instrumentkit acquire() | added per spectrum "
        "| ratio | target |"
    )
    print("|---|---|---|---|---|---|")
    for driver, model, label in DETECTORS:
        raw, kit, ratio = bench_detector(driver, model, rounds, spectra, baudrate, exposure)
        print(
            f"| {label} | {raw:,.1f} spectra/s | {kit:,.1f} spectra/s "
            f"| {(1 / kit - 1 / raw) * 1e6:,.1f} us | {ratio:.2f} | >= 0.95 |"
        )
    print()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=21)
    parser.add_argument("--spectra", type=int, default=100, help="spectra per round and path")
    args = parser.parse_args()

    table("acquire() on the simulated serial port, no wire time", args.rounds, args.spectra, 0)
    table(
        "acquire() with no wire time but the detector's shortest exposure on a real clock",
        7,
        50,
        0,
        exposure=True,
    )
    table("acquire() at 115200 baud (the RS-232 maximum), wire time spent", 3, 3, 115200)

    naive, rows, batched = bench_dark(10_000, 3648, 3)
    print("dark correction of 10,000 spectra x 3648 pixels (float64, medians)")
    print("| method | time | vs broadcast |")
    print("|---|---|---|")
    print(
        f"| per-spectrum loop, new array each, stacked | {naive * 1e3:.1f} ms | "
        f"{naive / batched:.1f}x |"
    )
    print(
        f"| per-spectrum loop into preallocated rows | {rows * 1e3:.1f} ms | "
        f"{rows / batched:.1f}x |"
    )
    print(f"| one broadcast subtraction, preallocated | {batched * 1e3:.1f} ms | 1.0x |")


if __name__ == "__main__":
    main()
