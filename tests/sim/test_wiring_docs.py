"""docs/simulation.md, "Wire a lab": the page's model and DUT of your own, run for real,
and its default-lab wiring block is the shipped lab's."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from instrumentkit.sim import default_lab_path, load_lab

PAGE = Path(__file__).resolve().parents[2] / "docs" / "simulation.md"


def section() -> str:
    text = PAGE.read_text(encoding="utf-8")
    return text.split("## Wire a lab")[1].split("\n## ")[0]


def test_the_counter_behind_an_attenuator_counts_the_generator_frequency(capsys):
    (code,) = re.findall(r"```python\n(.*?)```", section(), flags=re.DOTALL)
    exec(code, {})
    assert float(capsys.readouterr().out) == pytest.approx(12_500.0, rel=1e-3)


def test_the_page_shows_the_default_lab_wiring():
    (block,) = re.findall(r"```yaml\n(.*?)```", section(), flags=re.DOTALL)
    shown = yaml.safe_load(block)
    shipped = load_lab(default_lab_path())
    assert shown["wiring"] == [
        w.model_dump(by_alias=True, exclude_none=True) for w in shipped.wiring
    ]
    assert [d["name"] for d in shown["duts"]] == [d.name for d in shipped.duts]
