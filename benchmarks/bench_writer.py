"""Run-writer throughput and live-reader latency, against hand-written h5py in the same run.

    python benchmarks/bench_writer.py [--quick]

(a) scalar readings (timestamp + value): RunWriter stream appends vs buffered raw h5py,
    one sample per append and 1000-sample blocks;
(b) 10k-point float64 waveforms: RunWriter vs buffered raw h5py and per-record raw h5py;
(c) how long after `flush()` a SWMR reader in another process sees new rows;
(d) a lab script's rows: `run.append(name, {"t": t, "v": v})` and `run.append(name, v)`
    per row on a live Run vs the same loop into buffered raw h5py.
Every file has SWMR on, is flushed every second, on the local disk; the raw baselines are
`libver="latest"`, the writer uses its ("v110", "v114") bounds (docs/decisions/0204).
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from collections.abc import Callable
from pathlib import Path

import h5py
import numpy as np

from instrumentkit.acquisition import Run, RunWriter
from instrumentkit.data import Reading, Waveform

POINTS = 10_000


def best_of(repeats: int, variants: list[Callable[[Path], float]], folder: Path) -> list[float]:
    """Best items/s of each variant over `repeats` rounds, interleaved so that load from
    other processes and the kernel's write-back hit every variant alike."""
    best = [0.0] * len(variants)
    for round_number in range(repeats):
        order = list(range(len(variants)))
        if round_number % 2:
            order.reverse()
        for index in order:
            path = folder / f"bench-{index}.h5"
            best[index] = max(best[index], variants[index](path))
            path.unlink()
    return best


# -- (a) scalar readings ----------------------------------------------------------------------
def readings_ours(readings: list[Reading]) -> Callable[[Path], float]:
    def run(path: Path) -> float:
        rows = sum(len(r) for r in readings)
        with RunWriter(path) as writer:
            stream = writer.add_stream("dmm", readings[0])
            writer.start()
            start = time.perf_counter()
            for reading in readings:
                stream.append(reading)
            writer.flush()
            elapsed = time.perf_counter() - start
        return rows / elapsed

    return run


def readings_raw(readings: list[Reading]) -> Callable[[Path], float]:
    """What a careful script does by hand: NumPy buffers, one slice write per full buffer."""

    def run(path: Path) -> float:
        rows = sum(len(r) for r in readings)
        size = 65536
        with h5py.File(path, "w", libver="latest") as f:
            times = f.create_dataset("t", (0,), maxshape=(None,), chunks=(32768,), dtype="i8")
            values = f.create_dataset("v", (0,), maxshape=(None,), chunks=(32768,), dtype="f8")
            f.swmr_mode = True
            buffer_t, buffer_v = np.empty(size, "i8"), np.empty(size, "f8")
            fill = written = 0
            next_flush = time.monotonic() + 1.0

            def write(n: int) -> None:
                nonlocal written
                for dataset, buffer in ((times, buffer_t), (values, buffer_v)):
                    dataset.resize(written + n, axis=0)
                    dataset[written : written + n] = buffer[:n]
                written += n

            start = time.perf_counter()
            for reading in readings:
                n = len(reading)
                if fill + n > size:
                    write(fill)
                    fill = 0
                if n == 1:
                    buffer_t[fill] = reading.timestamps_ns[0]
                    buffer_v[fill] = reading.values[0, 0]
                else:
                    buffer_t[fill : fill + n] = reading.timestamps_ns
                    buffer_v[fill : fill + n] = reading.values[:, 0]
                fill += n
                if time.monotonic() >= next_flush:
                    write(fill)
                    fill = 0
                    f.flush()
                    next_flush = time.monotonic() + 1.0
            write(fill)
            f.flush()
            elapsed = time.perf_counter() - start
        return rows / elapsed

    return run


# -- (b) waveforms ----------------------------------------------------------------------------
def waveforms_ours(waveforms: list[Waveform], count: int) -> Callable[[Path], float]:
    def run(path: Path) -> float:
        with RunWriter(path) as writer:
            stream = writer.add_stream("scope", waveforms[0])
            writer.start()
            start = time.perf_counter()
            for i in range(count):
                stream.append(waveforms[i % len(waveforms)])
            writer.flush()
            elapsed = time.perf_counter() - start
        return count / elapsed

    return run


def waveforms_raw(waveforms: list[Waveform], count: int, buffered: bool) -> Callable[[Path], float]:
    def run(path: Path) -> float:
        rows = 52 if buffered else 1  # ~4 MiB buffers, as RunWriter uses
        with h5py.File(path, "w", libver="latest") as f:
            ys = f.create_dataset("y", (0, POINTS), maxshape=(None, POINTS), chunks=(3, POINTS),
                                  dtype="f8")  # fmt: skip
            ts = f.create_dataset("t", (0,), maxshape=(None,), chunks=(32768,), dtype="i8")
            f.swmr_mode = True
            buffer_y, buffer_t = np.empty((rows, POINTS)), np.empty(rows, "i8")
            fill = written = 0
            next_flush = time.monotonic() + 1.0
            start = time.perf_counter()
            for i in range(count):
                waveform = waveforms[i % len(waveforms)]
                buffer_y[fill] = waveform.y
                buffer_t[fill] = waveform.timestamp_ns
                fill += 1
                if fill == rows or i == count - 1:
                    ys.resize(written + fill, axis=0)
                    ys[written : written + fill] = buffer_y[:fill]
                    ts.resize(written + fill, axis=0)
                    ts[written : written + fill] = buffer_t[:fill]
                    written += fill
                    fill = 0
                if time.monotonic() >= next_flush:
                    f.flush()
                    next_flush = time.monotonic() + 1.0
            f.flush()
            elapsed = time.perf_counter() - start
        return count / elapsed

    return run


# -- (c) flush latency seen by a SWMR reader --------------------------------------------------
READER = textwrap.dedent(
    """
    import sys, time
    import h5py, numpy as np
    expected = int(sys.argv[2])
    with h5py.File(sys.argv[1], "r", swmr=True) as f:
        stamps = f["entry/probe/time"]
        seen, delays = 0, []
        print("ready", flush=True)
        deadline = time.monotonic() + 60
        while seen < expected and time.monotonic() < deadline:
            stamps.refresh()
            n = stamps.shape[0]
            if n > seen:
                now = time.time_ns()
                delays.append((now - int(stamps[n - 1])) / 1e6)
                seen = n
            else:
                time.sleep(0.0001)
    print(" ".join(f"{d:.3f}" for d in delays), flush=True)
    """
)


def flush_latency(folder: Path, flushes: int) -> list[float]:
    """ms from the moment a row is appended and flushed until a reader process sees it."""
    path = folder / "latency.h5"
    with RunWriter(path, flush_interval=None) as writer:
        probe = writer.add_readings("probe", "n", "1")
        writer.start()
        probe.append_block([time.time_ns()], [[0.0]])
        writer.flush()
        reader = subprocess.Popen(
            [sys.executable, "-c", READER, str(path), str(flushes + 1)],
            stdout=subprocess.PIPE, text=True,
        )  # fmt: skip
        assert reader.stdout is not None
        reader.stdout.readline()
        time.sleep(0.2)
        for i in range(flushes):
            probe.append_block([time.time_ns()], [[float(i)]])
            writer.flush()
            time.sleep(0.02)
        output, _ = reader.communicate(timeout=60)
    path.unlink()
    return [float(d) for d in output.split()][1:]


# -- (d) a lab script's rows -----------------------------------------------------------------
def script_ours(rows: int, as_dict: bool) -> Callable[[Path], float]:
    """`run.append` per row, a dict of two numbers or one number, on a live Run."""

    def run(path: Path) -> float:
        with Run(path) as script:
            script.append("v", {"t": 0.0, "v": 0.0} if as_dict else 0.0)
            script.start()  # live: the steady state of a long script
            start = time.perf_counter()
            if as_dict:
                for i in range(1, rows):
                    script.append("v", {"t": i * 1e-3, "v": 0.5 * i})
            else:
                for i in range(1, rows):
                    script.append("v", 0.5 * i)
            script.flush()
            elapsed = time.perf_counter() - start
        return rows / elapsed

    return run


def script_raw(rows: int, as_dict: bool) -> Callable[[Path], float]:
    """The same loop by hand: a wall-clock stamp per row into NumPy buffers, one slice write
    per full buffer, flushed every second."""

    def run(path: Path) -> float:
        size = 65536
        names = ("t", "v") if as_dict else ("v",)
        with h5py.File(path, "w", libver="latest") as f:
            stamps = f.create_dataset("time", (0,), maxshape=(None,), chunks=(32768,), dtype="i8")
            columns = [
                f.create_dataset(n, (0,), maxshape=(None,), chunks=(32768,), dtype="f8")
                for n in names
            ]
            f.swmr_mode = True
            buffer_time, buffer = np.empty(size, "i8"), np.empty((size, len(names)))
            fill = written = 0
            next_flush = time.monotonic() + 1.0

            def write(n: int) -> None:
                nonlocal written
                stamps.resize(written + n, axis=0)
                stamps[written : written + n] = buffer_time[:n]
                for index, column in enumerate(columns):
                    column.resize(written + n, axis=0)
                    column[written : written + n] = buffer[:n, index]
                written += n

            start = time.perf_counter()
            for i in range(1, rows):
                if as_dict:
                    row = {"t": i * 1e-3, "v": 0.5 * i}
                    buffer[fill] = (row["t"], row["v"])
                else:
                    buffer[fill] = 0.5 * i
                buffer_time[fill] = time.time_ns()
                fill += 1
                if fill == size or time.monotonic() >= next_flush:
                    write(fill)
                    fill = 0
                    if time.monotonic() >= next_flush:
                        f.flush()
                        next_flush = time.monotonic() + 1.0
            write(fill)
            f.flush()
            elapsed = time.perf_counter() - start
        return rows / elapsed

    return run


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smaller runs, one repeat")
    args = parser.parse_args()
    repeats = 1 if args.quick else 3
    single_rows = 100_000 if args.quick else 300_000
    block_rows = 2_000_000 if args.quick else 10_000_000
    waveform_count = 1000 if args.quick else 3000
    rng = np.random.default_rng(0)

    singles = [Reading.single(float(i), "v", "V", timestamp_ns=i) for i in range(single_rows)]
    values = rng.normal(size=(block_rows, 1))
    blocks = [
        Reading(values[i : i + 1000], np.arange(i, i + 1000, dtype=np.int64), ("v",), ("V",))
        for i in range(0, block_rows, 1000)
    ]
    waveforms = [Waveform(rng.normal(size=POINTS), 0.0, 1e-9, "CH1") for _ in range(16)]

    results = []
    with tempfile.TemporaryDirectory(dir=".") as folder_name:
        folder = Path(folder_name)
        for label, data in (("1 sample per append", singles), ("1000-sample blocks", blocks)):
            ours, raw = best_of(repeats, [readings_ours(data), readings_raw(data)], folder)
            results.append((f"(a) readings, {label}", "rows/s", ours, raw))
        ours, raw_buffered, raw_single = best_of(
            repeats + 2,
            [
                waveforms_ours(waveforms, waveform_count),
                waveforms_raw(waveforms, waveform_count, buffered=True),
                waveforms_raw(waveforms, waveform_count, buffered=False),
            ],
            folder,
        )
        results.append(("(b) 10k-point waveforms vs buffered raw", "wf/s", ours, raw_buffered))
        results.append(("(b) 10k-point waveforms vs per-record raw", "wf/s", ours, raw_single))
        for label, as_dict in (("a dict per row", True), ("a number per row", False)):
            ours, raw = best_of(
                repeats, [script_ours(single_rows, as_dict), script_raw(single_rows, as_dict)],
                folder,
            )  # fmt: skip
            results.append((f"(d) lab script run.append, {label}", "rows/s", ours, raw))
        delays = flush_latency(folder, 50 if args.quick else 150)

    print(f"{'benchmark':44} {'unit':7} {'instrumentkit':>14} {'raw h5py':>12} {'ratio':>6}")
    for label, unit, ours, raw in results:
        print(f"{label:44} {unit:7} {ours:14,.0f} {raw:12,.0f} {ours / raw:6.2f}")
    ordered = sorted(delays)
    p95 = ordered[int(0.95 * (len(ordered) - 1))]
    print(
        f"(c) SWMR reader sees a flushed row after: median {statistics.median(delays):.2f} ms, "
        f"p95 {p95:.2f} ms ({len(delays)} flushes)"
    )
    print("peers on this machine (FIELD-NOTES, not this run): QCoDeS 12.4k rows/s, 97 wf/s; "
          "PyMeasure CSV 125k rows/s")  # fmt: skip


if __name__ == "__main__":
    main()
