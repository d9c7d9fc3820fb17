"""Tektronix sims write the preamble's numbers as the programmer manuals' examples do.

TDS1000/2000: the fewest digits, exponent unpadded (`2.0E-6`, `0.0E0`); MSO/DPO4000:
engineering notation with four decimals (`4.0000E-9`, `-20.0000E-6`, `6.4000E+3`, `0.0000`).
"""

from __future__ import annotations

import re

import pytest

from instrumentkit.drivers.tektronix import TektronixMSO4000
from instrumentkit.drivers.tektronix._scope_sim import compact_nr3, engineering_nr3
from instrumentkit.drivers.tektronix.mso4000_sim import MSO4104Model
from instrumentkit.drivers.tektronix.tds2000_sim import TDS2024CModel
from instrumentkit.sim import ManualClock

TDS_NUMBER = re.compile(r"-?\d\.(?:\d*[1-9]|0)E(?:0|-?[1-9]\d*)")  # no padding zeros
MSO_NUMBER = re.compile(r"-?\d{1,3}\.\d{4}(?:E[+-][1-9]\d*)?")
REAL_FIELDS = ("XINcr", "XZEro", "YMUlt", "YOFf", "YZEro")


@pytest.mark.parametrize(
    ("value", "tds", "mso"),
    [
        (2e-6, "2.0E-6", "2.0000E-6"),
        (-5e-3, "-5.0E-3", "-5.0000E-3"),
        (0.0, "0.0E0", "0.0000"),
        (6400.0, "6.4E3", "6.4000E+3"),
        (-22528.0, "-2.2528E4", "-22.5280E+3"),
        (2.5, "2.5E0", "2.5000"),
        (8e-2, "8.0E-2", "80.0000E-3"),
        (15.625e-6, "1.5625E-5", "15.6250E-6"),
        (4e-10, "4.0E-10", "400.0000E-12"),
        (999.99996e-9, "1.0E-6", "1.0000E-6"),  # rounding into the next group
    ],
)
def test_number_writers(value: float, tds: str, mso: str) -> None:
    assert (compact_nr3(value), engineering_nr3(value)) == (tds, mso)
    assert float(compact_nr3(value)) == pytest.approx(value, rel=1e-6)


@pytest.mark.parametrize(
    ("model", "header", "number"),
    [(TDS2024CModel, "WFMPre", TDS_NUMBER), (MSO4104Model, "WFMOutpre", MSO_NUMBER)],
)
def test_lab_preamble_numbers(wire, model, header, number) -> None:
    scope = model(clock=ManualClock(), seed=1)
    query = ";".join(f"{header}:{name}?" for name in REAL_FIELDS)
    reply = wire(scope, f"HEADer OFF;{query}", b"\n")[:-1].decode()
    fields = reply.split(";")
    assert len(fields) == len(REAL_FIELDS)
    assert all(number.fullmatch(f) for f in fields), fields


def test_mso_yaml_preamble_numbers(plain_sim) -> None:
    scope = plain_sim(TektronixMSO4000)
    fields = scope.query(
        "WFMOutpre:ENCdg?;BYT_Nr?;BYT_Or?;BN_Fmt?;NR_Pt?;XINcr?;XZEro?;PT_Off?;YMUlt?;YOFf?;YZEro?"
    ).split(";")
    reals = [fields[i] for i in (5, 6, 8, 9, 10)]
    assert all(MSO_NUMBER.fullmatch(f) for f in reals), reals
