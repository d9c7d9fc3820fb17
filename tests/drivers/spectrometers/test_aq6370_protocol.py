"""Yokogawa AQ6370D driver against exact SCPI exchanges (terminators added by the kit)."""

from __future__ import annotations

import numpy as np
import pytest

from instrumentkit.drivers.yokogawa import YokogawaAQ6370D
from instrumentkit.errors import (
    ConnectionFailed,
    InstrumentReportedError,
    ProtocolError,
    ValidationError,
)
from instrumentkit.parameters import UnknownChoiceWarning
from instrumentkit.testing import expected_protocol

NO_ERROR = (":SYSTem:ERRor?", '0,"No error"')
X_METRES = np.linspace(1545e-9, 1555e-9, 101)


def block(values: np.ndarray) -> bytes:
    payload = np.asarray(values, dtype="<f8").tobytes()
    length = str(len(payload)).encode()
    return b"#" + str(len(length)).encode() + length + payload + b"\n"


def sweep_pairs(levels, *, scale: str = "0", x=X_METRES, first: bool = True):
    pairs = [(":FORMat:DATA REAL,64", None)] if first else []
    return [
        *pairs,
        (":INITiate:SMODe SING", None),
        (":INITiate", None),
        ("*OPC?", "1"),
        NO_ERROR,
        (":TRACe:X? TRA", block(x)),
        (":DISPlay:TRACe:Y1:SPACing?", scale),
        (":TRACe:Y? TRA", block(levels)),
    ]


def test_wavelength_settings_go_out_in_metres_and_come_back_in_nm():
    pairs = [
        (":SENSe:WAVelength:STARt 1.540000E-06", None),
        NO_ERROR,
        (":SENSe:WAVelength:STARt?", "+1.54000000E-006"),
        (":SENSe:WAVelength:SPAN 2.000000E-08", None),
        NO_ERROR,
        (":SENSe:BANDwidth:RESolution 2.000000E-11", None),
        NO_ERROR,
        (":SENSe:BANDwidth:RESolution?", "+2.00000000E-011"),
    ]
    with expected_protocol(YokogawaAQ6370D, pairs) as osa:
        osa.wavelength_start = 1540
        assert osa.wavelength_start == 1540.0
        osa.wavelength_span = 20
        osa.resolution = 0.02
        assert osa.resolution == 0.02


def test_enumerations_are_sent_as_mnemonics_and_read_as_indices():
    pairs = [
        (":SENSe:SENSe HIGH1", None),
        NO_ERROR,
        (":SENSe:SENSe?", "3"),
        (":SENSe:SENSe?", "6"),
        (":INITiate:SMODe?", "2"),
        (":SENSe:SWEep:POINts 2001", None),
        NO_ERROR,
        (":SENSe:SWEep:POINts?", "+2001"),
        (":SENSe:AVERage:COUNt 10", None),
        NO_ERROR,
    ]
    with expected_protocol(YokogawaAQ6370D, pairs) as osa:
        osa.sensitivity = "high1"
        assert osa.sensitivity == "high1"
        assert osa.sensitivity == "normal"
        assert osa.sweep_mode == "repeat"
        osa.sweep_points = 2001
        assert osa.sweep_points == 2001
        osa.averages = 10


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("wavelength_start", 2300),
        ("wavelength_span", -1),
        ("resolution", 0.3),
        ("sweep_points", 100),
        ("sweep_points", 1000.5),
        ("averages", 0),
        ("sensitivity", "ultra"),
        ("level_scale", "dB"),
    ],
)
def test_bad_values_are_refused_before_any_byte(name, value):
    with expected_protocol(YokogawaAQ6370D, []) as osa, pytest.raises(ValidationError, match=name):
        setattr(osa, name, value)


def test_a_setting_the_instrument_rejects_raises_its_error():
    pairs = [
        (":SENSe:WAVelength:CENTer 6.000000E-07", None),
        (":SYSTem:ERRor?", '-222,"Data out of range"'),
        NO_ERROR,
    ]
    with (
        expected_protocol(YokogawaAQ6370D, pairs) as osa,
        pytest.raises(InstrumentReportedError, match="Data out of range") as raised,
    ):
        osa.wavelength_center = 600
    assert raised.value.code == -222
    assert raised.value.command == ":SENSe:WAVelength:CENTer 6.000000E-07"


def test_acquire_reads_little_endian_real64_blocks():
    levels = np.full(101, -60.0)
    levels[50] = -5.5
    with expected_protocol(YokogawaAQ6370D, sweep_pairs(levels)) as osa:
        spectrum = osa.acquire()
    np.testing.assert_allclose(spectrum.wavelengths, np.linspace(1545, 1555, 101))
    np.testing.assert_array_equal(spectrum.intensities, levels)
    assert spectrum.units == "dBm"
    assert spectrum.wavelength_units == "nm"
    assert not spectrum.saturated
    assert spectrum.meta["level_scale"] == "log"


def test_linear_traces_in_watts_become_dbm():
    watts = np.full(101, 1e-3)
    watts[0] = 0.0
    with expected_protocol(YokogawaAQ6370D, sweep_pairs(watts, scale="1")) as osa:
        spectrum = osa.acquire()
    assert spectrum.intensities[1] == pytest.approx(0.0)
    assert spectrum.intensities[0] == -210.0


def test_ascii_traces():
    pairs = [
        (":FORMat:DATA ASCii", None),
        (":INITiate:SMODe SING", None),
        (":INITiate", None),
        ("*OPC?", "1"),
        NO_ERROR,
        (":TRACe:X? TRA", "+1.54500000E-006,+1.55000000E-006,+1.55500000E-006"),
        (":DISPlay:TRACe:Y1:SPACing?", "0"),
        (":TRACe:Y? TRA", "-60.000,+21.000,-60.000"),
    ]
    with expected_protocol(YokogawaAQ6370D, pairs) as osa:
        osa.trace_format = "ascii"
        spectrum = osa.acquire()
    np.testing.assert_allclose(spectrum.wavelengths, [1545, 1550, 1555])
    assert spectrum.saturated  # +21 dBm is past the +20 dBm maximum input


def test_trace_length_mismatch_is_a_protocol_error():
    pairs = sweep_pairs(np.zeros(100))
    with (
        expected_protocol(YokogawaAQ6370D, pairs) as osa,
        pytest.raises(ProtocolError, match="X has 101 points, Y 100"),
    ):
        osa.acquire()


def dark_settings_pairs(start="+1.54500000E-006"):
    return [
        (":SENSe:WAVelength:STARt?", start),
        (":SENSe:WAVelength:STOP?", "+1.55500000E-006"),
        (":SENSe:SWEep:POINts?", "101"),
        (":SENSe:BANDwidth:RESolution?", "+1.00000000E-010"),
        (":SENSe:SENSe?", "2"),
        (":SENSe:AVERage:COUNt?", "1"),
    ]


def test_dark_is_subtracted_in_linear_power_for_single_and_batch():
    dark = np.full(101, -60.0)  # 1 nW
    light = np.full(101, -57.0)  # ~2 nW: the difference is ~1 nW = -60 dBm
    pairs = [
        *dark_settings_pairs(),
        *sweep_pairs(dark),
        *dark_settings_pairs(),
        *sweep_pairs(light, first=False),
        *dark_settings_pairs(),
        (":DISPlay:TRACe:Y1:SPACing?", "0"),  # once per batch
        (":INITiate:SMODe SING", None),
        (":INITiate", None),
        ("*OPC?", "1"),
        NO_ERROR,
        (":TRACe:X? TRA", block(X_METRES)),  # the axis once per batch
        (":TRACe:Y? TRA", block(light)),
        (":INITiate:SMODe SING", None),
        (":INITiate", None),
        ("*OPC?", "1"),
        NO_ERROR,
        (":TRACe:Y? TRA", block(light)),
    ]
    with expected_protocol(YokogawaAQ6370D, pairs) as osa:
        osa.capture_dark()
        corrected = osa.acquire(dark_corrected=True)
        assert corrected.dark_corrected
        np.testing.assert_allclose(corrected.intensities, -60.0 + 10 * np.log10(10**0.3 - 1))
        batch = osa.acquire_many(2, dark_corrected=True)
    assert batch.intensities.shape == (2, 101)
    np.testing.assert_allclose(batch.intensities, corrected.intensities[np.newaxis, :].repeat(2, 0))


def test_dark_from_other_settings_is_refused_before_sweeping():
    pairs = [
        *dark_settings_pairs(),
        *sweep_pairs(np.full(101, -60.0)),
        *dark_settings_pairs(start="+1.54000000E-006"),
    ]
    with expected_protocol(YokogawaAQ6370D, pairs) as osa:
        osa.capture_dark()
        with pytest.raises(ValidationError, match=r"wavelength_start_nm was 1545\.0, is 1540\.0"):
            osa.acquire(dark_corrected=True)


def test_login_on_a_lan_socket():
    pairs = [('OPEN "anonymous"', "AUTHENTICATE CRAM-MD5."), (" ", "ready")]
    with expected_protocol(YokogawaAQ6370D, pairs) as osa:
        osa.login("anonymous")


def test_refused_login():
    pairs = [('OPEN "admin"', "AUTHENTICATE CRAM-MD5."), ("secret", "error")]
    with (
        expected_protocol(YokogawaAQ6370D, pairs) as osa,
        pytest.raises(ConnectionFailed, match="login as 'admin' refused"),
    ):
        osa.login("admin", "secret")


def test_an_unknown_level_scale_is_refused_rather_than_guessed():
    pairs = sweep_pairs(np.zeros(101), scale="7")[:-1]  # no Y trace is asked for
    with (
        expected_protocol(YokogawaAQ6370D, pairs) as osa,
        pytest.warns(UnknownChoiceWarning),
        pytest.raises(ProtocolError, match="level scale '7' is neither"),
    ):
        osa.acquire()
