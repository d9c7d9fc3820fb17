"""Issue 15's "done when", as a lab script would do it, on the default lab in-process."""

from __future__ import annotations

import pytest
import pyvisa
from click.testing import CliRunner

import instrumentkit as ik
from instrumentkit.cli import main
from instrumentkit.record import ReplayMismatch
from instrumentkit.sim import Lab, default_lab_path, load_lab


def configure_and_read(dmm, nplc: float = 1) -> list[float]:
    dmm.configure("DC_VOLTAGE", range=10, nplc=nplc)
    return [dmm.read().values.item() for _ in range(3)]


def test_record_replay_diverge_and_to_sim_on_the_default_lab(tmp_path):
    path = tmp_path / "dmm.rec.yaml"
    with Lab(load_lab(default_lab_path())) as lab, ik.open(lab.resource("dmm"), record=path) as dmm:
        recorded = configure_and_read(dmm)
        idn = lab.device("dmm").idn  # what the model answers; the script never asked
    # The lab is gone: the recording alone answers.
    with ik.open(f"replay://{path}") as dmm:
        assert configure_and_read(dmm) == recorded
        dmm.session.transport.check_done()
    with ik.open(f"replay://{path}") as dmm, pytest.raises(ReplayMismatch) as caught:
        configure_and_read(dmm, nplc=10)
    assert "expected (recording): b'VOLT:DC:NPLC 1\\n'" in str(caught.value)
    assert "actual   (program):   b'VOLT:DC:NPLC 10\\n'" in str(caught.value)
    sim_file = tmp_path / "dmm.yaml"
    result = CliRunner().invoke(main, ["record", "to-sim", str(path), "-o", str(sim_file)])
    assert result.exit_code == 0, result.output
    manager = pyvisa.ResourceManager(f"{sim_file}@sim")
    try:
        plain = manager.open_resource(
            "TCPIP0::127.0.0.1::inst0::INSTR", read_termination="\n", write_termination="\n"
        )
        assert plain.query("*IDN?") == idn
    finally:
        manager.close()
