"""`instrumentkit acquire CONFIG --view`: the run's live view, served while it records."""

from __future__ import annotations

import json
import re
import time
import urllib.request


def status(url: str) -> dict:
    with urllib.request.urlopen(url + "api/status", timeout=10) as response:
        return json.load(response)


def test_acquire_view_serves_the_run_it_records(recording_with_view):
    run = recording_with_view
    line = run.process.stdout.readline()
    while line and "Live view:" not in line:
        line = run.process.stdout.readline()
    url = re.search(r"http://127\.0\.0\.1:\d+/", line).group(0)
    first = status(url)
    deadline = time.monotonic() + 30
    while len(first["streams"]) < 6 or not all(
        s["rows"] for n, s in first["streams"].items() if n != "errors"
    ):
        assert time.monotonic() < deadline, first  # the file is created before it runs
        time.sleep(0.1)
        first = status(url)
    time.sleep(2.0)
    second = status(url)
    assert second["state"] == "running"
    for name in ("dmm", "scope_ch1", "scope_ch2", "spectrometer", "temperature"):
        assert second["streams"][name]["rows"] > first["streams"][name]["rows"], name
    out = run.finish()
    assert run.process.returncode == 0, out
    assert "Run completed" in out
