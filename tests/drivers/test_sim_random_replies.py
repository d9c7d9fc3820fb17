"""Every `{RANDOM(...)}` reply of the shipped pyvisa-sim files arrives as numbers.

pyvisa-sim expands `{RANDOM(min, max, n):fmt}` from 0.7.0 on; 0.6.0 sends the directive's
text itself, so the dependency floor follows what these files need (pyproject.toml).
"""

from __future__ import annotations

import re

import pytest
import yaml

import instrumentkit as ik
from instrumentkit.simfiles import sim_path

_RANDOM = re.compile(r"\{RANDOM\(\s*([-+.\deE]+)\s*,\s*([-+.\deE]+)\s*,\s*(\d+)\s*\)")


def random_dialogues() -> list[tuple[type[ik.Instrument], str, float, float, int]]:
    found = []
    for driver in ik.registered_drivers():
        if not driver.sim_file:
            continue
        spec = yaml.safe_load(sim_path(driver).read_text(encoding="utf-8"))
        for device in spec["devices"].values():
            for dialogue in device.get("dialogues", []):
                match = _RANDOM.search(str(dialogue.get("r", "")))
                if match:
                    low, high, count = match.groups()
                    found.append((driver, dialogue["q"], float(low), float(high), int(count)))
    return found


DIALOGUES = random_dialogues()


def test_the_shipped_files_use_random_replies():
    assert {driver.__name__ for driver, *_ in DIALOGUES} >= {"Keysight34461A", "Keithley2000"}


@pytest.mark.parametrize(
    ("driver", "query", "low", "high", "count"),
    DIALOGUES,
    ids=[f"{d.__name__}-{q}" for d, q, *_ in DIALOGUES],
)
def test_random_replies_are_fresh_numbers_in_range(driver, query, low, high, count):
    with driver.open_sim() as instrument:
        replies = [instrument.session.query(query) for _ in range(3)]
    values = [[float(field) for field in reply.split(",")] for reply in replies]
    assert all(len(v) == count for v in values), replies
    assert all(low <= x <= high for v in values for x in v), replies
    assert len({tuple(v) for v in values}) > 1, f"the same value three times: {replies}"
