"""A config sweep against a hand-written loop of the same driver calls, same lab, same run.

    python benchmarks/bench_sweep.py [--rounds 5] [--points 1000]

One default simulated lab and one set of open instruments serve both sides:

1. The config sweep: a 1-D I-V stream (`axes: [{parameter: smu.level, ...}]`,
   `read: [smu]`) run by the pipeline (`build_pipeline` + `Pipeline.run`): the sweep's
   thread sets each level with `ramp_to`, reads the SMU, the writer puts the point in
   the grid; at the end the SMU is made safe and its end snapshot taken.
2. The hand-written loop: `ik.Run` with the same instruments, `smu.ramp_to(level)`,
   `smu.read()` and `run.append("iv", {"voltage": v, "current": i})` per point; closing
   the run makes the SMU safe and snapshots it too.

Both count from creating the run file to closing it. The SMU integrates 0.01 PLC (0.2 ms
on the simulated device's real-time clock), so the figures are mostly the software's
cost. A third figure is the machinery's own cost per point, without I/O: the same 1-D
sweep of an in-memory source read by a synthetic sensor, through the pipeline against a
plain loop (`ramp_to`, `read`, `run.append`). Rounds are interleaved so machine drift
hits both sides alike; the ratio is the median of the per-round ratios (points/s of the
config sweep over the loop's, same round).
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np

import instrumentkit as ik
from instrumentkit.acquisition import Pipeline, SweepAxis, SweepSource
from instrumentkit.acquisition._bench import Bench, build_pipeline
from instrumentkit.acquisition._config import parse_run_config
from instrumentkit.acquisition._plan import plan_run
from instrumentkit.acquisition.synthetic import SyntheticSensor
from instrumentkit.sourcing import SafeLimits, SourceOutputMixin


class MemoryOutput(SourceOutputMixin):
    """A source output in memory: what the machinery costs without an instrument."""

    safe_limits = SafeLimits(max_level=10.0)
    level_units = "V"

    def __init__(self) -> None:
        self.name, self.output, self.level = "memory", False, 0.0


def config(points: int, folder: Path) -> dict[str, object]:
    return {
        "lab": "default",
        "instruments": {"smu": {"device": "smu", "settings": {
            "source_function": "voltage", "nplc": 0.01, "current_limit": 0.1}}},
        "streams": {"iv": {"axes": [{"parameter": "smu.level",
                                     "values": {"start": 0.0, "stop": 1.0, "num": points}}],
                           "read": ["smu"]}},
        "output": {"path": str(folder / "config.h5"), "overwrite": True},
    }  # fmt: skip


def config_sweep(plan: object, bench: Bench, path: Path) -> float:
    plan.output = path  # type: ignore[attr-defined]
    pipeline = build_pipeline(plan, bench)  # type: ignore[arg-type]
    start = time.perf_counter()
    result = pipeline.run()
    elapsed = time.perf_counter() - start
    assert result.status == "completed", result.reason
    return elapsed


def hand_loop(bench: Bench, values: np.ndarray, path: Path) -> float:
    smu = bench.instruments["smu"]
    start = time.perf_counter()
    with ik.Run(path, instruments=bench.instruments, overwrite=True) as run:
        smu.ramp_to(float(values[0]))
        smu.output = True
        for level in values:
            smu.ramp_to(float(level))
            reading = smu.read()
            voltage, current = reading.values[0]
            run.append("iv", {"voltage": voltage, "current": current})
    return time.perf_counter() - start


def machinery(points: int, folder: Path) -> tuple[float, float]:
    """Points/s without I/O: (pipeline, plain loop)."""
    values = np.linspace(0.0, 1.0, points)
    output, sensor = MemoryOutput(), SyntheticSensor("dmm")
    sweep = SweepSource(axes=[SweepAxis("v", values, output.ramp_to, output=output)],
                        readers={"dmm": sensor}, stream="iv")  # fmt: skip
    start = time.perf_counter()
    Pipeline([sweep], folder / "machinery-pipeline.h5").run()
    pipeline = points / (time.perf_counter() - start)
    start = time.perf_counter()
    with ik.Run(folder / "machinery-loop.h5") as run:
        for level in values:
            output.ramp_to(float(level))
            run.append("iv", {"value": float(sensor.read().values[0, 0])})
    return pipeline, points / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--points", type=int, default=1000)
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="bench-sweep-"))
    plan = plan_run(parse_run_config(config(args.points, folder)))
    values = np.linspace(0.0, 1.0, args.points)
    configs, loops = [], []
    with Bench(plan) as bench:
        for index in range(args.rounds):
            configs.append(config_sweep(plan, bench, folder / f"config-{index}.h5"))
            loops.append(hand_loop(bench, values, folder / f"loop-{index}.h5"))
    ratios = [loop / config for config, loop in zip(configs, loops, strict=True)]
    config_rate = args.points / statistics.median(configs)
    loop_rate = args.points / statistics.median(loops)
    print(f"points per round       {args.points}  (rounds: {args.rounds}, medians)")
    print(f"config sweep           {config_rate:8.0f} points/s")
    print(f"hand-written loop      {loop_rate:8.0f} points/s")
    print(
        f"config / hand loop     {statistics.median(ratios):8.2f}x  (per-round range "
        f"{min(ratios):.2f}-{max(ratios):.2f}; target >= 0.9x)"
    )
    pipeline, loop = machinery(20_000, folder)
    print(f"without I/O: pipeline {pipeline:8.0f} points/s, plain loop {loop:8.0f} points/s "
          f"({1e6 / pipeline - 1e6 / loop:.0f} us more a point)")  # fmt: skip


if __name__ == "__main__":
    main()
