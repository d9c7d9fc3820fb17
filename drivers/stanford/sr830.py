"""Stanford Research Systems SR830 DSP lock-in amplifier (GPIB and RS-232).

Commands per the SR830 manual, chapter "Remote Programming": reference `PHAS`, `FMOD`,
`FREQ`, `RSLP`, `HARM`, `SLVL`; input `ISRC`, `IGND`, `ICPL`, `ILIN`; gain and filters
`SENS` (index 0-26), `RMOD`, `OFLT` (index 0-19), `OFSL`, `SYNC`; data `OUTP? i` and
`SNAP? i,j,...` (1 X, 2 Y, 3 R, 4 theta, 9 reference frequency); `AGAN`, `APHS`; status
`LIAS?` (read and cleared: bit 0 input overload, 1 filter overload, 2 output overload,
3 reference unlock) and `*ESR?` (bit 4 execution error: a parameter out of range;
bit 5 command error). No SCPI error queue.

Replies go only to the interface `OUTX` names (0 RS-232, 1 GPIB), so the driver's
first message is always `OUTX`, sent when it is constructed: the manual asks for it
before any query. Replies end with LF (GPIB, with EOI) or CR (RS-232); commands may end
with either. `StanfordSR830` is the GPIB driver (also for GPIB-LAN adapters);
`StanfordSR830Serial` is RS-232: CR, 9600 baud 8N1 by default (the baud rate and parity
are front-panel settings; 9600 8N1 as recalled, not confirmed from the manual here).

A `Sensor`: channels X, Y, R (V, or A with a current input) and theta (deg), read with
one `SNAP? 1,2,3,4`; `LIAS?` after each sample gives its status (the overload bits
0-2; the values are kept, decision 0500). Every setting is checked before sending:
`FREQ` 1 mHz-102 kHz with harmonic x frequency at most 102 kHz, settable only with
the internal reference; `HARM` 1-19999 under the same product; `SLVL` 4 mV-5 V rms;
`PHAS` -360 to 729.99 deg; sensitivities and time constants from their tables
(a value within 1 ppm of a table entry is that entry). Not confirmed from the manual
here: the sine-out amplitude's 2 mV resolution (values are sent as given) and the
*RST defaults the simulated model uses.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any, ClassVar

import numpy as np

from instrumentkit.data import Reading, now_ns
from instrumentkit.errors import ProtocolError
from instrumentkit.interfaces import Sensor
from instrumentkit.parameters import Measurement, Setting
from instrumentkit.scpi import EventStatusErrors
from instrumentkit.session import Session
from instrumentkit.transport import Transport
from instrumentkit.validators import Range

from .._readings import reading_count

__all__ = ["SENSITIVITIES", "TIME_CONSTANTS", "StanfordSR830", "StanfordSR830Serial"]

SENSITIVITIES = tuple(float(f"{m}e{e}") for e in range(-9, 0) for m in (2, 5, 10))
"""`SENS` 0-26: 2 nV to 1 V full scale (with a current input: 2 fA to 1 uA, 1e-6 times)."""
TIME_CONSTANTS = tuple(float(f"{m}e{e}") for e in range(-5, 5) for m in (1, 3))
"""`OFLT` 0-19: 10 us to 30 ks."""
MAX_DETECTION_FREQUENCY = 102_000.0
"""Harmonic x reference frequency may not exceed 102 kHz."""
CHANNELS = ("X", "Y", "R", "theta")
_OVERLOAD_BITS = 0b111
_CURRENT_INPUTS = frozenset({"i_1meg", "i_100meg"})


class TableValue:
    """A value from a table of numbers: one within 1 ppm is that entry, exactly."""

    def __init__(self, table: tuple[float, ...], units: str) -> None:
        self.table = table
        self.units = units

    def __call__(self, value: Any) -> float:
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            for entry in self.table:
                if math.isclose(value, entry, rel_tol=1e-6):
                    return entry
        raise ValueError(
            f"not one of the table's values ({self.table[0]:g} to {self.table[-1]:g} {self.units} "
            f"in 1-2-5 or 1-3 steps)"
        )

    def __repr__(self) -> str:
        return f"TableValue({len(self.table)} values, {self.units})"


def _indexed(table: tuple[float, ...]) -> Mapping[float, str]:
    return {value: str(index) for index, value in enumerate(table)}


def _codes(*names: str) -> Mapping[str, str]:
    return {name: str(index) for index, name in enumerate(names)}


class StanfordSR830(EventStatusErrors):
    """Stanford Research Systems SR830 lock-in amplifier over GPIB."""

    esr_errors: ClassVar[Mapping[int, str]] = {
        32: "command error",
        16: "execution error (parameter out of range)",
    }

    idn_patterns = (r"^Stanford_Research_Systems,SR830,",)
    interfaces = (Sensor,)
    sim_file = "sim/sr830.yaml"
    sim_resource = "GPIB0::8::INSTR"
    sim_model = "stanford-sr830"
    default_timeout = 3.0
    reply_interface: ClassVar[int] = 1
    """`OUTX` argument: where replies go (1 GPIB, 0 RS-232)."""

    def __init__(
        self, connection: Transport | Session, *, name: str | None = None, log_io: bool = False
    ) -> None:
        super().__init__(connection, name=name, log_io=log_io)
        self.session.write(f"OUTX {self.reply_interface}")

    # -- reference
    reference_source = Setting(
        "FMOD?", "FMOD {value}", values=_codes("external", "internal"), doc="Set the reference "
        "source: internal oscillator or external reference input."
    )  # fmt: skip
    frequency = Setting(
        "FREQ?",
        "FREQ {value}",
        validate=Range(1e-3, MAX_DETECTION_FREQUENCY),
        limits=lambda lockin: lockin.frequency_limits(),
        units="Hz",
        doc="Set the internal reference frequency (1 mHz-102 kHz, harmonic x frequency at "
        "most 102 kHz); reads the measured one with an external reference.",
    )
    harmonic = Setting(
        "HARM?",
        "HARM {value}",
        parse=int,
        validate=Range(1, 19_999, integer=True),
        limits=lambda lockin: lockin.harmonic_limits(),
        units="",
        doc="Set the detection harmonic (1-19999, harmonic x frequency at most 102 kHz).",
    )
    amplitude = Setting(
        "SLVL?",
        "SLVL {value}",
        validate=Range(0.004, 5.0),
        units="Vrms",
        doc="Set the sine output amplitude in V rms (4 mV to 5 V).",
    )
    phase = Setting(
        "PHAS?",
        "PHAS {value}",
        validate=Range(-360.0, 729.99),
        units="deg",
        doc="Set the reference phase shift in degrees (-360 to 729.99).",
    )
    reference_trigger = Setting(
        "RSLP?",
        "RSLP {value}",
        values=_codes("sine", "ttl_rising", "ttl_falling"),
        doc="Set what the external reference locks to: sine zero crossing or a TTL edge.",
    )
    # -- input
    input_config = Setting(
        "ISRC?",
        "ISRC {value}",
        values=_codes("a", "a-b", "i_1meg", "i_100meg"),
        doc="Set the input: voltage A or A-B, or current at 1 Mohm or 100 Mohm gain.",
    )
    input_ground = Setting(
        "IGND?", "IGND {value}", values=_codes("float", "ground"),
        doc="Set the input shield grounding: float or ground."
    )  # fmt: skip
    input_coupling = Setting(
        "ICPL?", "ICPL {value}", values=_codes("ac", "dc"), doc="Set the input coupling."
    )
    line_filter = Setting(
        "ILIN?",
        "ILIN {value}",
        values=_codes("none", "line", "2x_line", "both"),
        doc="Set the input line notch filters: none, line, 2x line or both.",
    )
    # -- gain and filters
    sensitivity = Setting(
        "SENS?",
        "SENS {value}",
        validate=TableValue(SENSITIVITIES, "V"),
        values=_indexed(SENSITIVITIES),
        units="V",
        doc="Set the full-scale sensitivity in volts (2 nV to 1 V; with a current input "
        "the same index is 1e-6 times that, in A).",
    )
    reserve = Setting(
        "RMOD?",
        "RMOD {value}",
        values=_codes("high", "normal", "low_noise"),
        doc="Set the dynamic reserve: high, normal or low noise.",
    )
    time_constant = Setting(
        "OFLT?",
        "OFLT {value}",
        validate=TableValue(TIME_CONSTANTS, "s"),
        values=_indexed(TIME_CONSTANTS),
        units="s",
        doc="Set the output time constant in seconds (10 us to 30 ks in 1-3 steps).",
    )
    filter_slope = Setting(
        "OFSL?",
        "OFSL {value}",
        values={6: "0", 12: "1", 18: "2", 24: "3"},
        units="dB/oct",
        doc="Set the low-pass filter slope in dB/octave (6, 12, 18 or 24).",
    )
    sync_filter = Setting(
        "SYNC?",
        "SYNC {value}",
        values={False: "0", True: "1"},
        doc="Enable the synchronous filter (below 200 Hz).",
    )
    # -- outputs, one at a time (read() takes all four at once)
    x = Measurement("OUTP? 1", units="V", in_snapshot=False, doc="Measure X (V or A).")
    y = Measurement("OUTP? 2", units="V", in_snapshot=False, doc="Measure Y (V or A).")
    r = Measurement("OUTP? 3", units="V", in_snapshot=False, doc="Measure R (V or A).")
    theta = Measurement("OUTP? 4", units="deg", in_snapshot=False, doc="Measure theta.")

    # -- limits that depend on the present state
    def frequency_limits(self) -> Range:
        """Frequencies settable now: only with the internal reference, harmonic x f <= 102 kHz."""
        if self.reference_source != "internal":
            raise ValueError("the reference is external: set reference_source = 'internal'")
        return Range(1e-3, MAX_DETECTION_FREQUENCY / self.harmonic)

    def harmonic_limits(self) -> Range:
        """Harmonics allowed at the present reference frequency."""
        top = math.floor(MAX_DETECTION_FREQUENCY / self.frequency * (1 + 1e-9))
        return Range(1, max(1, min(19_999, top)), integer=True)

    # -- actions
    def auto_gain(self) -> None:
        """Run the auto-gain function (`AGAN`); wait for it with `wait()`."""
        self.session.write("AGAN")

    def auto_phase(self) -> None:
        """Set the phase so that Y is zero (`APHS`)."""
        self.session.write("APHS")

    def lockin_status(self) -> int:
        """Read and clear the lock-in status bits (`LIAS?`): 1 input, 2 filter, 4 output
        overload, 8 reference unlock, 16 detection range switched, ..."""
        return self._integer("LIAS?")

    # -- Sensor
    @property
    def channel_names(self) -> tuple[str, ...]:
        return CHANNELS

    @property
    def units(self) -> tuple[str, ...]:
        """X, Y, R in V (A with a current input), theta in degrees (asks `ISRC?`)."""
        amplitude = "A" if self.input_config in _CURRENT_INPUTS else "V"
        return (amplitude, amplitude, amplitude, "deg")

    def read(self) -> Reading:
        """X, Y, R and theta at one instant (`SNAP? 1,2,3,4`), with the overload bits."""
        return self.read_many(1)

    def read_many(self, n: int) -> Reading:
        """`n` snapshots in a row, each followed by `LIAS?` for its overload status."""
        n = reading_count(n, instrument=self.name)
        units = self.units
        values = np.empty((n, len(CHANNELS)))
        stamps = np.empty(n, dtype=np.int64)
        status = np.empty((n, len(CHANNELS)), dtype=np.int16)
        for index in range(n):
            values[index] = self._snapshot_values()
            stamps[index] = now_ns()
            status[index] = self.lockin_status() & _OVERLOAD_BITS
        return Reading(values, stamps, CHANNELS, units, status)

    def _snapshot_values(self) -> list[float]:
        command = "SNAP? 1,2,3,4"
        reply = self.session.query(command)
        try:
            values = [float(field) for field in reply.split(",")]
        except ValueError as error:
            raise ProtocolError(
                f"expected 4 comma-separated numbers, got {reply!r}",
                instrument=self.name,
                command=command,
            ) from error
        if len(values) != len(CHANNELS) or not all(math.isfinite(v) for v in values):
            raise ProtocolError(
                f"expected 4 finite numbers (X, Y, R, theta), got {reply!r}",
                instrument=self.name,
                command=command,
            )
        return values

    def _integer(self, command: str) -> int:
        reply = self.session.query(command)
        try:
            return int(reply.strip())
        except ValueError as error:
            raise ProtocolError(
                f"expected an integer, got {reply!r}", instrument=self.name, command=command
            ) from error


class StanfordSR830Serial(StanfordSR830):
    """Stanford Research Systems SR830 lock-in amplifier over RS-232 (CR, 9600 8N1).

    Not picked by `ik.open` from `*IDN?`: over RS-232 the SR830 answers nothing until
    `OUTX 0` routes its replies there, so name the driver:
    `ik.open("/dev/ttyUSB0", driver="StanfordSR830Serial")`.
    """

    idn_patterns = ()
    write_termination = "\r"
    read_termination = "\r"
    connection_defaults = {"baudrate": 9600, "bytesize": 8, "parity": "N", "stopbits": 1}
    sim_resource = "ASRL1::INSTR"
    reply_interface = 0
