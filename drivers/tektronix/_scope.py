"""What Tektronix TDS, MSO and DPO oscilloscopes share: the waveform transfer and acquisition.

Commands follow the Tektronix programmer manuals (TDS1000/TDS2000 series and MSO/DPO
4000/5000 series): `DATa:SOUrce`, `DATa:ENCdg`, `DATa:WIDth`, `DATa:STARt`/`STOP`, the
waveform preamble (`WFMPre` on the TDS2000, `WFMOutpre` on the MSO/DPO), `CURVe?`,
`ACQuire:STATE`, `ACQuire:STOPAfter` and `BUSY?`. The driver turns response headers off
and verbose keywords on when it opens, so every reply is the bare value in its long form.

Enumerations reviewed against the manuals (2026-12-06), shared part: `DATa:ENCdg`
ASCIi/RIBinary/RPBinary/SRIbinary/SRPbinary (settable: the binary ones `fetch`
converts), `ACQuire:STOPAfter` RUNSTop/SEQuence, `ACQuire:STATE` RUN/STOP (or 1/0),
`BUSY?` 0/1. The MSO/DPO's FAStest and (S)FPBinary encodings read back as
`UnknownChoice` (decision 0008); a preamble with a BYT_Nr other than 1 or 2 (floating
point) is refused as not binary. Preambles are checked before use: points a whole
number in [1, `max_record_length`], XINcr and YMUlt > 0.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from typing import Any, ClassVar

from instrumentkit.data import Waveform, now_ns
from instrumentkit.errors import ProtocolError
from instrumentkit.instrument import Channel
from instrumentkit.interfaces import Oscilloscope
from instrumentkit.parameters import ON_OFF, Measurement, Setting
from instrumentkit.scpi import SCPIInstrument
from instrumentkit.session import Session
from instrumentkit.transport import Transport
from instrumentkit.validators import OneOf, Range

from .._oscilloscope import (
    channel_number,
    checked_preamble,
    poll_until,
    probe_scaled_scale,
    record_dtype,
)

__all__ = ["TektronixChannel", "TektronixScope"]

# Preamble fields fetched in one compound query, in this order: the order of a bare
# `WFMOutpre?` differs between series, so asking by name keeps parsing series-independent.
# `ENCdg` first: it says whether a block follows, so the rest is read in one go.
PREAMBLE_FIELDS = ("ENCdg", "BYT_Nr", "BYT_Or", "BN_Fmt", "NR_Pt", "XINcr", "XZEro", "PT_Off")
PREAMBLE_FIELDS += ("YMUlt", "YOFf", "YZEro")
_UP_TO_ENCODING = PREAMBLE_FIELDS.index("ENCdg") + 1
"""Fields to read before knowing whether a block or an ASCII curve follows."""

_ENCODINGS = {
    "ribinary": "RIBinary",
    "sribinary": "SRIbinary",
    "rpbinary": "RPBinary",
    "srpbinary": "SRPbinary",
}
"""The encodings `fetch` converts, and so the only ones `data_encoding` sets."""
_READABLE_ENCODINGS = _ENCODINGS | {"ascii": "ASCIi"}
"""What `DATa:ENCdg?` can answer on every series (the MSO/DPO adds its own)."""


class TektronixChannel(Channel):
    """One analog input; settings every Tektronix series has under the same command."""

    scale_at_1x: ClassVar[tuple[float, float]] = (1e-3, 10.0)
    """Volts per division at a 1x probe; each series sets its manual's span."""

    enabled = Setting(
        "SELect:CH{ch}?",
        "SELect:CH{ch} {value}",
        values=ON_OFF,
        doc="Control whether the channel is displayed and acquired.",
    )
    scale = Setting(
        "CH{ch}:SCAle?",
        "CH{ch}:SCAle {value}",
        validate=Range(1e-5, 1e4),
        limits=probe_scaled_scale,
        units="V",
        doc="Set the vertical scale in volts per division (probe attenuation included).",
    )
    position = Setting(
        "CH{ch}:POSition?",
        "CH{ch}:POSition {value}",
        validate=Range(-50.0, 50.0),
        units="div",
        doc="Set the vertical position of the trace in divisions.",
    )


class TektronixScope(SCPIInstrument):
    """Base of the Tektronix oscilloscope drivers (not a driver itself)."""

    interfaces = (Oscilloscope,)
    default_timeout = 10.0
    preamble_header: ClassVar[str] = "WFMOutpre"
    """The waveform preamble's command header (`WFMPre` on the TDS1000/2000)."""
    analog_channels: ClassVar[tuple[int, ...]] = (1, 2, 3, 4)
    max_record_length: ClassVar[int] = 1_000_000_000
    """The longest record the model has (its manual's figure; drivers set their own)."""
    poll_interval: ClassVar[float] = 0.01
    """Seconds between two `BUSY?` polls while waiting for an acquisition."""
    error_query = "EVMsg?"

    data_encoding = Setting(
        "DATa:ENCdg?",
        "DATa:ENCdg {value}",
        validate=OneOf(*_ENCODINGS),
        values=_READABLE_ENCODINGS,
        doc="Set the binary waveform encoding: RIBinary/SRIbinary (signed, MSB/LSB first) or "
        "RPBinary/SRPbinary (unsigned); reads ascii too, left by another program.",
    )
    data_width = Setting(
        "DATa:WIDth?",
        "DATa:WIDth {value}",
        parse=lambda reply: int(float(reply)),
        validate=OneOf(1, 2),
        units="bytes",
        doc="Set the bytes per sample of the waveform transfer (1 or 2).",
    )
    data_start = Setting(
        "DATa:STARt?",
        "DATa:STARt {value}",
        parse=lambda reply: int(float(reply)),
        validate=Range(1, 1_000_000_000, integer=True),
        units="",
        doc="Set the first record point the waveform transfer sends (1-based).",
    )
    data_stop = Setting(
        "DATa:STOP?",
        "DATa:STOP {value}",
        parse=lambda reply: int(float(reply)),
        validate=Range(1, 1_000_000_000, integer=True),
        units="",
        doc="Set the last record point the waveform transfer sends (1-based, inclusive).",
    )
    stop_after = Setting(
        "ACQuire:STOPAfter?",
        "ACQuire:STOPAfter {value}",
        values={"run_stop": "RUNSTop", "sequence": "SEQuence"},
        doc="Control whether acquisition runs until stopped or stops after one sequence.",
    )
    acquiring = Setting(
        "ACQuire:STATE?",
        "ACQuire:STATE {value}",
        values={True: "RUN", False: "STOP"},
        doc="Control the acquisition state (running or stopped).",
    )
    busy = Measurement(
        "BUSY?",
        values=ON_OFF,
        in_snapshot=False,
        doc="Get whether a single-sequence acquisition is still in progress.",
    )

    def __init__(self, connection: Transport | Session, **options: Any) -> None:
        super().__init__(connection, **options)
        # Bare values in their long form: settings parse replies without a header.
        self.session.write("HEADer OFF;VERBose ON")

    def _after_resync(self) -> None:
        # The reply form every parser here relies on, in case the scope was reset.
        self.session.write("HEADer OFF;VERBose ON")

    # -- the status and error queue: Tektronix reports events, not SYSTem:ERRor?
    def next_error(self) -> tuple[int, str]:
        """Pop one event of the event queue: (code, message); code 0 means empty."""
        code, message = super().next_error()
        return (0, message) if code in (0, 1) else (code, message)

    def drain_errors(self) -> list[tuple[int, str]]:
        """Every queued event, oldest first (`*ESR?` first moves them into the queue)."""
        self.event_status()
        return super().drain_errors()

    # -- acquisition control
    def run(self) -> None:
        """Acquire continuously until stopped."""
        self.stop_after = "run_stop"
        self.acquiring = True

    def stop(self) -> None:
        """Stop acquiring; the last record stays available to `fetch`."""
        self.acquiring = False

    def single(self) -> None:
        """Arm one acquisition sequence; it stops by itself once the record is full."""
        self.stop_after = "sequence"
        self.acquiring = True

    def wait_for_acquisition(self, timeout: float | None = None) -> None:
        """Poll `BUSY?` until the sequence armed by `single()` has completed."""
        poll_until(
            lambda: not self.busy,
            timeout=self.default_timeout if timeout is None else timeout,
            interval=self.poll_interval,
            instrument=self.name,
            command="BUSY?",
            waiting_for="the single-sequence acquisition to complete (BUSY? stayed 1)",
        )

    # -- waveforms
    def _preamble_query(self) -> str:
        return _preamble_query(self.preamble_header)

    def preamble(self) -> dict[str, Any]:
        """Get the preamble of the waveform `DATa:SOUrce` selects, as a dict by field name."""
        command = self._preamble_query()
        return self._parsed_preamble(self.session.query(command).split(";"), command)

    def _parsed_preamble(self, fields: list[str], command: str) -> dict[str, Any]:
        # float() and int() ignore surrounding blanks; only the keywords need stripping.
        if len(fields) != len(PREAMBLE_FIELDS):
            raise ProtocolError(
                f"expected {len(PREAMBLE_FIELDS)} ';'-separated preamble fields, got "
                f"{';'.join(fields)!r}",
                instrument=self.name,
                command=command,
            )
        try:
            pre = {
                "encoding": fields[0].strip().upper(),
                "byte_count": float(fields[1]),
                "byte_order": fields[2].strip().upper(),
                "format": fields[3].strip().upper(),
                "points": float(fields[4]),
                "x_increment": float(fields[5]),
                "x_zero": float(fields[6]),
                "point_offset": float(fields[7]),
                "y_multiplier": float(fields[8]),
                "y_offset": float(fields[9]),
                "y_zero": float(fields[10]),
            }
        except ValueError as error:
            raise ProtocolError(
                f"preamble field is not a number: {';'.join(fields)!r}",
                instrument=self.name,
                command=command,
            ) from error
        pre = checked_preamble(
            pre,
            max_points=self.max_record_length,
            steps=("x_increment", "y_multiplier"),
            reply=";".join(fields),
            instrument=self.name,
            command=command,
        )
        if pre["byte_count"].is_integer():  # finite, checked above
            pre["byte_count"] = int(pre["byte_count"])
        return pre

    def _sample_type(self, pre: dict[str, Any]) -> tuple[Any, str] | None:
        """(dtype, byte order) of a binary transfer, or None if the transfer is not binary."""
        if not _binary_transfer(pre["encoding"], pre["format"], pre["byte_order"]):
            return None
        if pre["byte_count"] not in (1, 2):  # codes come in 1 or 2 bytes; FP has 4
            return None
        kind = record_dtype(int(pre["byte_count"]), pre["format"] == "RI", ">")
        return kind, ">" if pre["byte_order"] == "MSB" else "<"

    def _not_binary(self, pre: dict[str, Any]) -> ProtocolError:
        return ProtocolError(
            f"waveform transfer is {pre['encoding']} {pre['format']} {pre['byte_order']}, "
            "not binary; set data_encoding to 'ribinary' (or another binary encoding)",
            instrument=self.name,
            command=f"{self.preamble_header}:ENCdg?",
        )

    def fetch(self, channel: int | str) -> Waveform:
        """Read the channel's record (points `data_start`..`data_stop`) in volts.

        One message and one reply: source, preamble and `CURVe?` together, as `WAVFrm?`
        would, so the scaling always belongs to the block it came with.
        The volts are computed from the codes when first read (`Waveform.y`).
        """
        number = channel_number(channel, self.analog_channels, self.name)
        stamp = now_ns()
        source = f"DATa:SOUrce CH{number}"
        session = self.session
        command = f"{source};:{self._preamble_query()};:CURVe?"
        with session.lock:
            session.write(command)
            pre, sample = self._read_preamble_reply(command)
            codes = session.read_block(
                dtype=sample[0], byte_order=sample[1], command=command, header_begun=True
            )
        if codes.shape[0] != pre["points"]:
            raise ProtocolError(
                f"CURVe? sent {codes.shape[0]} points, the preamble announced {pre['points']}",
                instrument=self.name,
                command="CURVe?",
            )
        # Waveform.from_codes's work, inline: this runs once per fetch.
        gain, dx = pre["y_multiplier"], pre["x_increment"]
        return Waveform(
            None,
            pre["x_zero"] - pre["point_offset"] * dx,
            dx,
            f"CH{number}",
            stamp,
            "V",
            "s",
            codes,
            {"preamble": pre},
            gain=gain,
            bias=pre["y_zero"] - pre["y_offset"] * gain,
        )

    def _read_preamble_reply(self, command: str) -> tuple[dict[str, Any], tuple[Any, str]]:
        """Read `<fields>;#` of a one-message fetch's reply, up to its block's header.

        The fields up to `ENCdg` (which says whether a block follows) come one `;` at a
        time; the rest, when it is binary, in one read up to the block's `#`. An ASCII
        curve has no `#`: it is read off the line before the `ProtocolError`, as is a
        binary block of a kind the driver does not convert, so nothing is left unread.
        """
        session = self.session
        fields = [
            session.read_raw_until(b";", command=command).decode("ascii", "replace")
            for _ in range(_UP_TO_ENCODING)
        ]
        block_follows = fields[-1].strip().upper().startswith("BIN")
        if block_follows:
            rest = session.read_raw_until(b";#", command=command).decode("ascii", "replace")
            fields += rest.split(";")
        else:
            fields += [
                session.read_raw_until(b";", command=command).decode("ascii", "replace")
                for _ in PREAMBLE_FIELDS[_UP_TO_ENCODING:]
            ]
        try:
            pre = self._parsed_preamble(fields, command)
        except ProtocolError:
            self._skip_curve(block_follows, command)
            raise
        sample = self._sample_type(pre)
        if sample is None:
            self._skip_curve(block_follows, command)
            raise self._not_binary(pre)
        return pre, sample

    def _skip_curve(self, block_follows: bool, command: str) -> None:
        """Read the rest of a reply the driver refuses, so the next reply is not taken for it."""
        if block_follows:
            self.session.read_block(command=command, header_begun=True)
        else:
            self.session.read(command=command)

    def fetch_all(self, channels: Sequence[int | str]) -> list[Waveform]:
        """Read several channels of the same (stopped) acquisition."""
        return [self.fetch(channel) for channel in channels]


def _binary_transfer(encoding: str, number_format: str, byte_order: str) -> bool:
    """Whether the preamble's `ENCdg`, `BN_Fmt` and `BYT_Or` describe a binary curve."""
    return (
        encoding.startswith("BIN")
        and number_format in ("RI", "RP")
        and byte_order in ("MSB", "LSB")
    )


@functools.cache
def _preamble_query(header: str) -> str:
    """`<header>:BYT_Nr?;...;YZEro?`: built once per series, not per fetch."""
    return f"{header}:" + ";".join(f"{field}?" for field in PREAMBLE_FIELDS)
