"""Memory stays flat however long the run: bounded queues, fixed buffers, nothing kept.

Each run is a fresh process (so one run's leftovers cannot hide another's growth) that
streams readings and 10k-point waveforms from fast in-process sources through the whole
pipeline and reports its peak RSS. A run ten times longer must peak within a few MB.

What the bound allows, and why it cannot hide a leak:
- A backlog. The queue between sources and writer is bounded, but a writer starved of CPU
  (a loaded machine) lets it fill, and a full queue of 64 readings blocks is 10 MB more
  peak in one run than the other: the cause of this test's old failures under load. The
  runs here use a queue of 4 blocks, so a backlog is at most 4 x 160 kB (10k readings of
  value + timestamp) = 0.64 MB, whatever the load.
- The file's own bookkeeping: HDF5 caches chunk-index nodes, ten times as many chunks in
  the long run (~1,000 more for the readings, 1,350 more waveform chunks): well under 1 MB.
- Allocator noise (arenas, fragmentation): a few hundred kB to ~1-2 MB between processes.
A leak of a quarter of a byte per reading, or of one 80 kB waveform in 300, already adds
more than the 6 MB allowed (27M and 1,350 more of them in the long run). Noise differs
between trials and a leak does not, so the best of up to three trials is compared.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

CHILD = textwrap.dedent(
    """
    import sys
    import psutil
    from instrumentkit.acquisition import Pipeline, ScopeSource, SensorSource
    from instrumentkit.acquisition.synthetic import SyntheticScope, SyntheticSensor

    path, blocks, queue_size = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    process = psutil.Process()
    peak = 0

    def sample(progress):
        global peak
        peak = max(peak, process.memory_info().rss)

    sources = [
        SensorSource(SyntheticSensor("dmm"), batch=10_000, count=blocks),
        ScopeSource(SyntheticScope("scope", points=10_000), [1], count=blocks // 2),
    ]
    result = Pipeline(sources, path, queue_size=queue_size).run(sample, progress_interval=0.01)
    sample(None)
    print(result.rows["dmm"], result.rows["scope_ch1"], peak)
    """
)


QUEUE_BLOCKS = 4
GROWTH_LIMIT_MB = 6.0
TRIALS = 3


def peak_rss(path: Path, blocks: int) -> tuple[int, int, int]:
    done = subprocess.run(
        [sys.executable, "-c", CHILD, str(path), str(blocks), str(QUEUE_BLOCKS)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    rows, waveforms, peak = (int(v) for v in done.stdout.split())
    return rows, waveforms, peak


@pytest.mark.slow
def test_a_run_ten_times_longer_peaks_within_a_few_mb(tmp_path: Path) -> None:
    growths = []
    for trial in range(TRIALS):
        short = peak_rss(tmp_path / f"short{trial}.h5", 300)  # 3M readings, 150 waveforms
        long = peak_rss(tmp_path / f"long{trial}.h5", 3000)  # 30M readings, 1,500 waveforms
        assert short[:2] == (3_000_000, 150)
        assert long[:2] == (30_000_000, 1_500)
        long_size = (tmp_path / f"long{trial}.h5").stat().st_size
        assert long_size > 8 * (tmp_path / f"short{trial}.h5").stat().st_size
        growths.append((long[2] - short[2]) / 1e6)
        if growths[-1] < GROWTH_LIMIT_MB:
            return
    listed = ", ".join(f"{g:.1f}" for g in growths)
    pytest.fail(f"peak RSS grew by {listed} MB in {TRIALS} trials for a run 10x longer")
