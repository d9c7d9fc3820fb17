"""The whole pipeline (source thread -> bounded queue -> writer) against hand-written h5py.

    python benchmarks/bench_pipeline.py [--quick]

Both sides take their data from the same in-process synthetic instruments
(`instrumentkit.acquisition.synthetic`), so the instrument costs the same on both and the
ratio is the price of the pipeline: threads, queue, batching, stamping, the run-file layout.
The raw side is what a careful script does by hand: NumPy buffers of 64k rows (or 50
waveforms) written to chunked, resizable `libver="latest"` datasets with one slice per full
buffer, SWMR on, flushed every second. Variants interleave over `--rounds` rounds; a ratio
is the median of the per-round ratios (each pipeline run against the raw run of its round),
which the machine's drift affects least.

1. scalar readings, one `read()` per reading (timestamp + value rows)
2. scalar readings, `read_many(1000)` and `read_many(10000)` blocks (buffered reads)
3. 10k-point float64 waveforms, one `single()` + `fetch_all()` per trigger
4. flat memory: peak RSS of a pipeline run and of one ten times longer (fresh processes)

The raw side stores time + value; so does the head-to-head pipeline row
(`monotonic=False`). The pipeline's default also stores a monotonic-clock column, 50% more
data for scalar readings: its row shows what that costs.
"""

from __future__ import annotations

import argparse
import os
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

from instrumentkit.acquisition import Pipeline, RunWriter, ScopeSource, SensorSource, Stop
from instrumentkit.acquisition.synthetic import SyntheticScope, SyntheticSensor

ROWS = 64 * 1024
WAVEFORMS = 50
POINTS = 10_000


def _raw_file(path: Path) -> h5py.File:
    return h5py.File(path, "w", libver="latest")


def _grow(dataset: h5py.Dataset, block: np.ndarray) -> None:
    start = dataset.shape[0]
    dataset.resize(start + block.shape[0], axis=0)
    dataset[start:] = block


def raw_readings(path: Path, total: int, batch: int | None) -> float:
    """Hand-written: timestamps and values buffered in NumPy, one slice per full buffer."""
    sensor = SyntheticSensor("dmm")
    started = time.perf_counter()
    with _raw_file(path) as f:
        chunk = (ROWS,)
        stamps = f.create_dataset("time", (0,), maxshape=(None,), dtype="i8", chunks=chunk)
        values = f.create_dataset("value", (0,), maxshape=(None,), dtype="f8", chunks=chunk)
        f.swmr_mode = True
        stamp_buffer, value_buffer = np.empty(ROWS, np.int64), np.empty(ROWS, np.float64)
        fill, done, next_flush = 0, 0, time.monotonic() + 1.0
        while done < total:
            if batch is None:
                reading = sensor.read()
                stamp_buffer[fill] = reading.timestamps_ns[0]
                value_buffer[fill] = reading.values[0, 0]
                fill, done = fill + 1, done + 1
            else:
                reading = sensor.read_many(batch)
                n = len(reading)
                stamp_buffer[fill : fill + n] = reading.timestamps_ns
                value_buffer[fill : fill + n] = reading.values[:, 0]
                fill, done = fill + n, done + n
            if fill > ROWS - (batch or 1) or done >= total:
                _grow(stamps, stamp_buffer[:fill])
                _grow(values, value_buffer[:fill])
                fill = 0
                if time.monotonic() >= next_flush:
                    f.flush()
                    next_flush = time.monotonic() + 1.0
        f.flush()
    return total / (time.perf_counter() - started)


def pipeline_readings(path: Path, total: int, batch: int | None, monotonic: bool) -> float:
    sensor = SyntheticSensor("dmm")
    started = time.perf_counter()
    result = Pipeline(
        [SensorSource(sensor, batch=batch)],
        RunWriter(path),
        stop=Stop(max_readings=total),
        monotonic=monotonic,
    ).run()
    elapsed = time.perf_counter() - started
    assert result.rows["dmm"] == total, result
    return total / elapsed


def raw_waveforms(path: Path, total: int) -> float:
    scope = SyntheticScope("scope", points=POINTS)
    started = time.perf_counter()
    with _raw_file(path) as f:
        ys = f.create_dataset("y", (0, POINTS), maxshape=(None, POINTS), dtype="f8",
                              chunks=(3, POINTS))  # fmt: skip
        stamps = f.create_dataset("time", (0,), maxshape=(None,), dtype="i8", chunks=(4096,))
        f.swmr_mode = True
        buffer = np.empty((WAVEFORMS, POINTS))
        stamp_buffer = np.empty(WAVEFORMS, np.int64)
        fill, next_flush = 0, time.monotonic() + 1.0
        for done in range(1, total + 1):
            scope.single()
            scope.wait_for_acquisition()
            [waveform] = scope.fetch_all([1])
            buffer[fill] = waveform.y
            stamp_buffer[fill] = waveform.timestamp_ns
            fill += 1
            if fill == WAVEFORMS or done == total:
                _grow(ys, buffer[:fill])
                _grow(stamps, stamp_buffer[:fill])
                fill = 0
                if time.monotonic() >= next_flush:
                    f.flush()
                    next_flush = time.monotonic() + 1.0
        f.flush()
    return total / (time.perf_counter() - started)


def pipeline_waveforms(path: Path, total: int, monotonic: bool) -> float:
    scope = SyntheticScope("scope", points=POINTS)
    started = time.perf_counter()
    sources = [ScopeSource(scope, [1], count=total)]
    result = Pipeline(sources, RunWriter(path), monotonic=monotonic).run()
    elapsed = time.perf_counter() - started
    assert result.rows["scope_ch1"] == total, result
    return total / elapsed


def measure(rounds: int, folder: Path, variants: dict[str, Callable[[Path], float]]) -> dict:
    """Each variant once per round, interleaved so drift hits all alike; all results kept."""
    results: dict[str, list[float]] = {name: [] for name in variants}
    for _ in range(rounds):
        for name, run in variants.items():
            path = folder / f"{name}.h5"
            results[name].append(run(path))
            path.unlink()
    return results


def ratio(ours: list[float], raw: list[float]) -> tuple[float, float, float]:
    """Median, min and max of the per-round ratios (each against the raw run beside it)."""
    ratios = sorted(o / r for o, r in zip(ours, raw, strict=True))
    return ratios[len(ratios) // 2], ratios[0], ratios[-1]


MEMORY_CHILD = textwrap.dedent(
    """
    import sys, psutil
    from instrumentkit.acquisition import Pipeline, ScopeSource, SensorSource
    from instrumentkit.acquisition.synthetic import SyntheticScope, SyntheticSensor
    path, blocks = sys.argv[1], int(sys.argv[2])
    process, peak = psutil.Process(), 0
    def sample(progress):
        global peak
        peak = max(peak, process.memory_info().rss)
    sources = [SensorSource(SyntheticSensor("dmm"), batch=10_000, count=blocks),
               ScopeSource(SyntheticScope("scope", points=10_000), [1], count=blocks // 2)]
    result = Pipeline(sources, path).run(sample, progress_interval=0.01)
    sample(None)
    print(result.rows["dmm"], result.rows["scope_ch1"], peak)
    """
)


def peak_rss(folder: Path, blocks: int) -> tuple[int, int, float]:
    path = folder / "memory.h5"
    done = subprocess.run([sys.executable, "-c", MEMORY_CHILD, str(path), str(blocks)],
                          capture_output=True, text=True, check=True)  # fmt: skip
    path.unlink()
    rows, waveforms, peak = done.stdout.split()
    return int(rows), int(waveforms), int(peak) / 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smaller runs (a smoke test)")
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    scale = 0.1 if args.quick else 1.0
    singles, blocks, traces = int(200_000 * scale), int(10_000_000 * scale), int(1500 * scale)
    with tempfile.TemporaryDirectory(dir=os.getcwd()) as tmp:
        folder = Path(tmp)
        print(f"rounds: {args.rounds}, interleaved; {singles:,} single readings, "
              f"{blocks:,} block readings, {traces:,} waveforms of {POINTS:,} points")  # fmt: skip
        scalar = measure(args.rounds, folder, {
            "raw 1": lambda p: raw_readings(p, singles, None),
            "pipeline 1": lambda p: pipeline_readings(p, singles, None, False),
            "pipeline+mono 1": lambda p: pipeline_readings(p, singles, None, True),
            "raw 1000": lambda p: raw_readings(p, blocks, 1000),
            "pipeline 1000": lambda p: pipeline_readings(p, blocks, 1000, False),
            "pipeline+mono 1000": lambda p: pipeline_readings(p, blocks, 1000, True),
            "raw 10000": lambda p: raw_readings(p, blocks, 10_000),
            "pipeline 10000": lambda p: pipeline_readings(p, blocks, 10_000, False),
            "pipeline+mono 10000": lambda p: pipeline_readings(p, blocks, 10_000, True),
        })  # fmt: skip
        waves = measure(args.rounds, folder, {
            "raw": lambda p: raw_waveforms(p, traces),
            "pipeline": lambda p: pipeline_waveforms(p, traces, False),
            "pipeline+mono": lambda p: pipeline_waveforms(p, traces, True),
        })  # fmt: skip
        short = peak_rss(folder, int(300 * max(scale, 0.5)))
        long = peak_rss(folder, int(3000 * max(scale, 0.5)))
    rows = []
    for label, key in (("one read() each", "1"), ("read_many(1000)", "1000"),
                       ("read_many(10000)", "10000")):  # fmt: skip
        raw = scalar[f"raw {key}"]
        rows.append((f"readings, {label}: time + value (rows/s)", scalar[f"pipeline {key}"], raw))
        rows.append(
            ("  the same + monotonic column (default)", scalar[f"pipeline+mono {key}"], raw)
        )
    rows.append((f"{POINTS:,}-point float64 waveforms (wf/s)", waves["pipeline"], waves["raw"]))
    rows.append(("  the same + monotonic column (default)", waves["pipeline+mono"], waves["raw"]))
    print(f"\n{'work (medians of the rounds)':<50} {'pipeline':>11} {'raw h5py':>11} "
          f"{'ratio':>6}  {'range':>11}")  # fmt: skip
    for name, ours, raw in rows:
        middle, low, high = ratio(ours, raw)
        print(f"{name:<50} {statistics.median(ours):>11,.0f} {statistics.median(raw):>11,.0f} "
              f"{middle:>6.2f}  {low:.2f}-{high:.2f}")  # fmt: skip
    print("ratio: median over rounds of pipeline / raw in the same round")
    print("targets: readings >= 0.7, waveforms >= 0.9 (time + value rows, like the raw side)")
    print(f"\npeak RSS, {short[0]:,} readings + {short[1]:,} waveforms: {short[2]:.1f} MB")
    print(f"peak RSS, {long[0]:,} readings + {long[1]:,} waveforms: {long[2]:.1f} MB "
          f"({long[2] - short[2]:+.1f} MB for a run 10x longer)")  # fmt: skip


if __name__ == "__main__":
    main()
