"""A run of the simulated lab read back as a user does: start time, `inspect`, `plot`."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from instrumentkit.acquisition import open_run
from instrumentkit.cli import main

EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)


def invoke(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, list(args))
    return result.exit_code, result.output


@pytest.fixture(scope="module")
def lab_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Half a second of the default lab: a DMM and the temperature controller, whose input
    D has no sensor (every reading NaN, status 1), as in examples/simulated_lab.yaml."""
    folder = tmp_path_factory.mktemp("lab")
    config = {
        "lab": "default",
        "instruments": {"dmm": {"device": "dmm"}, "temperature": {"device": "temperature"}},
        "streams": {
            "dmm": {"instrument": "dmm", "rate": 50},
            "temperature": {"instrument": "temperature", "rate": 10},
        },
        "stop": {"duration": 0.5},
        "output": {"path": str(folder / "run.h5")},
    }
    (folder / "run.yaml").write_text(yaml.safe_dump(config))
    code, output = invoke("acquire", str(folder / "run.yaml"), "-q")
    assert code == 0, output
    return folder / "run.h5"


def test_start_time_is_no_later_than_the_first_row_of_any_stream(lab_run: Path) -> None:
    with open_run(lab_run) as run:
        assert run.start_time is not None
        start_ns = (run.start_time - EPOCH) // timedelta(microseconds=1) * 1000
        for name in ("dmm", "temperature"):
            first = int(run[name].time[0])
            # The first rows come after the run started, not before: a row stamped before
            # start_time would claim data from before the run.
            assert first >= start_ns, f"{name}: first row {(first - start_ns) / 1e6:.1f} ms"
            # and soon after it: connecting is done before the start, the first poll is fast
            assert first - start_ns < 2e9, f"{name}: first row {(first - start_ns) / 1e9:.2f} s"


def test_inspect_on_a_run_config_says_it_is_not_a_run_file_and_what_to_do(
    tmp_path: Path,
) -> None:
    config = tmp_path / "lab.yaml"
    config.write_text("lab: default\n")
    code, output = invoke("inspect", str(config))
    assert code == 1
    assert f"{config} is not an HDF5 file, so not a run file" in output
    assert f"`instrumentkit acquire {config}`" in output
    assert "signature" not in output
    assert "Traceback" not in output
