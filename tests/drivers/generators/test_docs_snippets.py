"""The generator and lock-in examples of docs/drivers/sources.md and lockins.md, run as
written on the simulated lab: each real address is swapped for a lab one, and said so."""

from __future__ import annotations

import math
import re
from pathlib import Path

import numpy as np
import pytest

from instrumentkit.drivers.keysight.trueform33500_sim import Keysight33522BModel
from instrumentkit.drivers.rigol.dg1000z_sim import DG1062ZModel
from instrumentkit.drivers.stanford.sr830_sim import SR830Model
from instrumentkit.sim import attach, detach, serve

DOCS = Path(__file__).resolve().parents[3] / "docs" / "drivers"


def python_blocks(page: str) -> list[str]:
    text = (DOCS / page).read_text(encoding="utf-8")
    return re.findall(r"^```python\n(.*?)^```", text, flags=re.DOTALL | re.MULTILINE)


def swapped(code: str, old: str, new: str) -> str:
    assert old in code, f"the snippet no longer contains {old!r}: update this test"
    return code.replace(old, new)


def test_function_generator_example_runs_on_the_lab():
    (snippet,) = [b for b in python_blocks("sources.md") if "fgen = ik.open" in b]
    keysight, rigol = Keysight33522BModel(seed=1), DG1062ZModel(seed=2)
    with serve({"fgen": keysight, "dg": rigol}) as lab:
        # Real addresses in the page; the lab's models here.
        code = swapped(snippet, '"TCPIP::192.168.1.30::INSTR"', repr(lab.resource("fgen")))
        code = swapped(
            code, '"USB0::0x1AB1::0x0642::DG1ZA0000001::INSTR"', repr(lab.resource("dg"))
        )
        namespace: dict[str, object] = {}
        exec(code, namespace)
        for name in ("fgen", "dg"):  # *OPC?: every write handled before looking at the models
            namespace[name].wait()  # type: ignore[attr-defined]
            namespace[name].close()  # type: ignore[attr-defined]
    state = keysight.channel_state[1]
    assert (state["function"], state["frequency"], state["load"]) == ("SIN", 2e3, math.inf)
    assert (state["offset"], state["amplitude"], state["on"]) == (0.5, 3.0, False)
    assert keysight.burst_cycles[1] == 5
    square = rigol.channel_state[2]
    assert (square["function"], square["frequency"], square["amplitude"]) == ("SQU", 1e6, 2.0)


def test_lockin_example_runs_on_the_lab():
    (snippet,) = python_blocks("lockins.md")[:1]
    gpib, rs232 = SR830Model(seed=3), SR830Model(seed=4)
    url = attach("docs-sr830", rs232)
    try:
        with serve({"lockin": gpib}) as lab:
            # A GPIB address and a serial port in the page; the lab's TCP and iksim:// here.
            code = swapped(snippet, '"GPIB0::8::INSTR"', repr(lab.resource("lockin")))
            code = swapped(code, '"/dev/ttyUSB0"', repr(url))
            namespace: dict[str, object] = {}
            exec(code, namespace)
            namespace["lockin"].close()  # type: ignore[attr-defined]
            namespace["serial_one"].close()  # type: ignore[attr-defined]
    finally:
        detach("docs-sr830")
    reading = namespace["reading"]
    assert reading.units == ("V", "V", "V", "deg")  # type: ignore[attr-defined]
    assert reading.values.shape == (1, 4)  # type: ignore[attr-defined]
    assert gpib.internal_frequency == 1234.5
    assert (gpib.sens, gpib.tau, gpib.slope) == (17, 9, 3)
    assert rs232.reply_interface == 0  # the serial one was told to answer on RS-232
    assert np.isfinite(reading.values).all()  # type: ignore[attr-defined]


@pytest.mark.parametrize("page", ["sources.md", "lockins.md"])
def test_pages_link_their_decisions(page):
    text = (DOCS / page).read_text(encoding="utf-8")
    decisions = set(re.findall(r"[Dd]ecision (07\d\d)", text))
    for number in decisions:
        assert list((DOCS.parent / "decisions").glob(f"{number}-*.md")), number
