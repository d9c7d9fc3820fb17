"""An instrument left in a mode its driver does not list still gets its run-file header."""

from __future__ import annotations

import json

import h5py
import pytest

from instrumentkit.acquisition import RunWriter
from instrumentkit.drivers.lakeshore import LakeShore335
from instrumentkit.parameters import UnknownChoiceWarning
from instrumentkit.testing import expected_protocol


def test_snapshot_with_unknown_tokens_is_stored_as_the_raw_tokens(tmp_path):
    path = tmp_path / "run.h5"
    pairs = [
        ("KRDG? A", "+4.2E+00"),
        ("SRDG? A", "+1.6E+00"),
        ("RDGST? A", "000"),
        ("INTYPE? A", "9,0,0,0,1"),  # sensor type 9: not in the manual
        ("KRDG? B", "+77.3E+00"),
        ("SRDG? B", "+0.9E+00"),
        ("RDGST? B", "000"),
        ("INTYPE? B", "1,1,0,0,1"),
        ("SETP? 1", "+4.500"),
        ("RANGE? 1", "7"),  # heater range 7: not in the manual
        ("HTR? 1", "+045.2"),
        ("MOUT? 1", "+000.0"),
        ("SETP? 2", "+0.000"),
        ("RANGE? 2", "0"),
        ("HTR? 2", "+000.0"),
        ("MOUT? 2", "+000.0"),
    ]
    with (
        expected_protocol(LakeShore335, pairs) as controller,
        pytest.warns(UnknownChoiceWarning, match="heater_range reads '7'"),
    ):
        snapshot = controller.snapshot()
    with RunWriter(path) as run:
        run.add_instrument("tc", idn="LSCI,MODEL335,1,1", driver="x", settings=snapshot)
        run.start()
        run.close("completed")
    with h5py.File(path, "r") as f:
        stored = json.loads(f["entry/instrument_tc/settings_start"].asstr()[()])
    assert stored["outputs"]["1"]["heater_range"] == {
        "value": "7",
        "units": "",
        "unknown_token": True,
    }
    assert stored["outputs"]["2"]["heater_range"] == {"value": "off", "units": ""}
    assert stored["inputs"]["A"]["input_type"]["value"]["sensor"] == "9"
