"""Memory stays flat however long the run: bounded queues, fixed buffers, nothing kept.

Each run is a fresh process (so one run's leftovers cannot hide another's growth) that
streams readings and 10k-point waveforms from fast in-process sources through the whole
pipeline and reports its peak RSS. A run ten times longer must peak within a few MB.
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

    path, blocks = sys.argv[1], int(sys.argv[2])
    process = psutil.Process()
    peak = 0

    def sample(progress):
        global peak
        peak = max(peak, process.memory_info().rss)

    sources = [
        SensorSource(SyntheticSensor("dmm"), batch=10_000, count=blocks),
        ScopeSource(SyntheticScope("scope", points=10_000), [1], count=blocks // 2),
    ]
    result = Pipeline(sources, path).run(sample, progress_interval=0.01)
    sample(None)
    print(result.rows["dmm"], result.rows["scope_ch1"], peak)
    """
)


def peak_rss(path: Path, blocks: int) -> tuple[int, int, int]:
    done = subprocess.run(
        [sys.executable, "-c", CHILD, str(path), str(blocks)],
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
    short = peak_rss(tmp_path / "short.h5", 300)  # 3M readings, 150 waveforms (12 MB)
    long = peak_rss(tmp_path / "long.h5", 3000)  # 30M readings, 1,500 waveforms (120 MB)
    assert short[:2] == (3_000_000, 150)
    assert long[:2] == (30_000_000, 1_500)
    growth = (long[2] - short[2]) / 1e6
    assert growth < 6.0, f"peak RSS grew by {growth:.1f} MB for a run 10x longer"
    assert (tmp_path / "long.h5").stat().st_size > 8 * (tmp_path / "short.h5").stat().st_size
