"""Identification on real connections: other terminators and serial framings, bounded."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

import instrumentkit as ik
from instrumentkit._identify import MAX_ATTEMPTS, _attempts
from instrumentkit.cli import main
from instrumentkit.drivers.lakeshore import LakeShore336
from instrumentkit.drivers.pfeiffer import PfeifferTPG362
from instrumentkit.simfiles import sim_backend

LAKESHORE_IDN = b"LSCI,MODEL336,LSA1234/LSB5678,2.9\r\n"


def crlf_only(line: bytes) -> bytes | None:
    """A Lake Shore-like peer that takes only CR LF-terminated commands (line ends at LF)."""
    return LAKESHORE_IDN if line == b"*IDN?\r" else None


def test_a_crlf_instrument_is_identified_on_the_second_attempt(line_server):
    server = line_server(crlf_only)
    with ik.open(server.resource, timeout=0.3) as controller:
        assert isinstance(controller, LakeShore336)
        assert controller.session.write_termination == "\r\n"
    # LF first, then a lone CR LF that ends the partial command, then the CR LF query.
    assert server.received == [b"*IDN?", b"\r", b"*IDN?\r"]


def test_given_terminators_are_the_only_attempt_and_stay(line_server):
    server = line_server(crlf_only)
    with ik.open(
        server.resource, write_termination="\r\n", read_termination="\r\n", timeout=0.3
    ) as controller:
        assert isinstance(controller, LakeShore336)
        assert controller.session.read_termination == "\r\n"
    assert server.received == [b"*IDN?\r"]


def test_lakeshore_pyvisa_sim_beside_the_driver_is_identified():
    with ik.open(LakeShore336.sim_resource, backend=sim_backend(LakeShore336)) as controller:
        assert isinstance(controller, LakeShore336)
        assert controller.inputs["A"].temperature == pytest.approx(4.21)


def test_lakeshore_serial_model_is_found_at_its_own_framing():
    with ik.open("iksim://model/lakeshore-336?seed=1") as controller:
        assert isinstance(controller, LakeShore336)
        settings = controller.session.transport.settings  # type: ignore[attr-defined]
        assert (settings["baudrate"], settings["bytesize"], settings["parity"]) == (57600, 7, "O")
        assert controller.read().values.shape == (1, 4)


def test_a_silent_instrument_lists_every_attempt(line_server):
    server = line_server(lambda line: None)
    with pytest.raises(ik.DriverNotFound, match="did not answer") as caught:
        ik.open(server.resource, timeout=0.2)
    message = str(caught.value)
    assert "(1) write '\\n', read '\\n': no reply within 0.2 s" in message
    assert "(2) write '\\r\\n', read '\\r\\n': no reply within 0.2 s" in message
    assert "(3)" not in message
    assert isinstance(caught.value.__cause__, ik.Timeout)


def test_a_reply_with_another_terminator_is_shown_in_the_attempt(line_server):
    """An instrument that ends its replies with CR alone: the message shows what came, so
    the wrong read terminator is plain (it used to say "no reply")."""
    server = line_server(lambda line: b"ACME,CR-ONLY,1,1.0\r" if line == b"*IDN?" else None)
    with pytest.raises(ik.DriverNotFound) as caught:
        ik.open(server.resource, timeout=0.2)
    assert (
        "(1) write '\\n', read '\\n': no complete reply within 0.2 s (19 bytes arrived "
        "without the terminator b'\\n': b'ACME,CR-ONLY,1,1.0\\r');"
    ) in str(caught.value)


def test_a_serial_instrument_without_idn_is_tried_at_each_declared_framing():
    with pytest.raises(ik.DriverNotFound) as caught:
        ik.open("iksim://model/pfeiffer-tpg362?seed=1", timeout=0.2)
    message = str(caught.value)
    assert "9600 8N1" in message
    assert "57600 7O1" in message
    assert "driver=" in message


def test_attempts_are_bounded_and_derived_from_the_drivers():
    drivers = ik.registered_drivers()
    serial = _attempts(True, {}, None, drivers)
    assert serial[0].describe() == "write '\\n', read '\\n', 9600 8N1"
    assert {a.describe() for a in serial} >= {"write '\\r\\n', read '\\r\\n', 57600 7O1"}
    assert len(serial) <= MAX_ATTEMPTS
    # A driver with no *IDN? (the Pfeiffer gauge) adds nothing; a framing given is final.
    assert PfeifferTPG362.idn_patterns == ()
    given = _attempts(True, {"baudrate": 19200}, None, drivers)
    assert {dict(a.serial)["baudrate"] for a in given} == {19200}
    assert [a.serial for a in _attempts(False, {}, None, drivers)] == [(), ()]


MUTE_YAML = """
spec: "1.1"
devices:
  mute:
    eom:
      TCPIP INSTR: {q: "\\n", r: "\\n"}
    error:
      response:
        command_error: ""
    dialogues:
      - q: "VOLT?"
        r: "1.0"
resources:
  TCPIP::mute.example::INSTR:
    device: mute
"""


def test_cli_identify_says_when_nothing_answered(tmp_path):
    sim = tmp_path / "mute.yaml"
    sim.write_text(MUTE_YAML)
    result = CliRunner().invoke(
        main,
        ["identify", "TCPIP::mute.example::INSTR", "--backend", f"{sim}@sim", "--timeout", "0.5"],
    )
    assert result.exit_code == 1, result.output
    assert "did not answer *IDN?" in result.output
    assert "empty reply" in result.output
