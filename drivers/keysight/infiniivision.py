"""Keysight (Agilent) InfiniiVision 2000/3000/4000 X-series oscilloscopes (DSOX/MSOX, A and T).

8-bit ADC (10-bit in high-resolution mode), up to 8 M points per channel (4 M on the
3000T/4000A, 100 k on the 2000A), LAN (VXI-11, HiSLIP, port 5025 raw socket), USB
(USBTMC) and GPIB. Commands per the InfiniiVision programmer's guides:
`:CHANnel<n>:...`, `:TIMebase:...`, `:ACQuire:...`, `:TRIGger[:EDGE]:...`,
`:WAVeform:SOURce`/`FORMat`/`BYTeorder`/`UNSigned`/`POINts[:MODE]`/`PREamble?`/`DATA?`,
`:DIGitize`, `:RUN`, `:STOP`, `:SINGle` and `:OPERegister:CONDition?` (bit 3: running).

Enumerations reviewed against the programmer's guides (2026-12-06): coupling AC/DC,
impedance ONEMeg/FIFTy, acquisition type NORMal/AVERage/HRESolution/PEAK, points mode
NORMal/MAXimum/RAW, format BYTE/WORD/ASCii (preamble codes 0/1/4), byte order
MSBFirst/LSBFirst, edge slope POSitive/NEGative/EITHer/ALTernate, sweep AUTO/NORMal,
edge source CHANnel<n>/EXTernal/LINE/WGEN (WGEN needs the generator licence). Not
listed: the MSO digital sources D0-D15 and the 4000 X's WGEN2/WMOD, which read back
as `UnknownChoice` (decision 0008). Preambles are checked before use: points a whole
number in [1, 8 M], steps > 0 (the 2000 X and 3000 T hold less; the figure is the
family's largest, not confirmed per model).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar

from instrumentkit.data import Waveform, now_ns
from instrumentkit.errors import ProtocolError
from instrumentkit.instrument import Channel, ChannelGroup
from instrumentkit.interfaces import Oscilloscope
from instrumentkit.parameters import ON_OFF, Measurement, Setting
from instrumentkit.scpi import SCPIInstrument
from instrumentkit.validators import OneOf, Range

from .._oscilloscope import (
    Scaling,
    TriggerSource,
    channel_number,
    checked_preamble,
    numbers,
    poll_until,
    probe_scaled_scale,
    record_dtype,
)

__all__ = ["InfiniiVisionChannel", "KeysightInfiniiVision", "KeysightInfiniiVisionTwoChannel"]

RUN_BIT = 1 << 3
"""`:OPERegister:CONDition?` bit set while the scope is acquiring (or armed for :SINGle)."""
WAVEFORM_POINTS = (100, 250, 500, 1_000, 2_000, 5_000, 10_000, 20_000, 50_000, 100_000)
WAVEFORM_POINTS += (200_000, 500_000, 1_000_000, 2_000_000, 4_000_000, 8_000_000)
PREAMBLE_QUERY = ":WAVeform:BYTeorder?;:WAVeform:UNSigned?;:WAVeform:PREamble?"
_FORMATS = {0: "byte", 1: "word", 4: "ascii"}


class InfiniiVisionChannel(Channel):
    """One InfiniiVision analog input."""

    scale_at_1x: ClassVar[tuple[float, float]] = (1e-3, 5.0)
    """Volts per division at a 1x probe and 1 Mohm (programmer's guide and data sheets of
    the 2000/3000/4000 X: 1 mV/div to 5 V/div; at 50 ohm the top is 1 V/div, not enforced)."""

    enabled = Setting(
        ":CHANnel{ch}:DISPlay?",
        ":CHANnel{ch}:DISPlay {value}",
        values=ON_OFF,
        doc="Control whether the channel is displayed and acquired.",
    )
    scale = Setting(
        ":CHANnel{ch}:SCALe?",
        ":CHANnel{ch}:SCALe {value}",
        validate=Range(1e-4, 1e4),
        limits=probe_scaled_scale,
        units="V",
        doc="Set the vertical scale in volts per division (probe attenuation included).",
    )
    offset = Setting(
        ":CHANnel{ch}:OFFSet?",
        ":CHANnel{ch}:OFFSet {value}",
        validate=Range(-1e4, 1e4),
        units="V",
        doc="Set the voltage at the centre of the screen.",
    )
    coupling = Setting(
        ":CHANnel{ch}:COUPling?",
        ":CHANnel{ch}:COUPling {value}",
        values={"dc": "DC", "ac": "AC"},
        doc="Set the input coupling (dc or ac).",
    )
    impedance = Setting(
        ":CHANnel{ch}:IMPedance?",
        ":CHANnel{ch}:IMPedance {value}",
        values={"1M": "ONEM", "50": "FIFT"},
        doc="Set the input impedance ('1M' or '50' ohm; 50 ohm is not on every model).",
    )
    probe_attenuation = Setting(
        ":CHANnel{ch}:PROBe?",
        ":CHANnel{ch}:PROBe {value}",
        validate=Range(1e-3, 1e4),
        units="",
        doc="Set the probe attenuation factor (0.001 to 10000).",
    )
    bandwidth_limit = Setting(
        ":CHANnel{ch}:BWLimit?",
        ":CHANnel{ch}:BWLimit {value}",
        values=ON_OFF,
        doc="Enable the 25 MHz (20 MHz on the 2000 X) bandwidth limit.",
    )


class KeysightInfiniiVision(SCPIInstrument):
    """Keysight/Agilent InfiniiVision 2000, 3000 or 4000 X-series oscilloscope (4 channels)."""

    idn_patterns = (r"^(KEYSIGHT|AGILENT) TECHNOLOGIES,[DM]SO-?X ?[234]\d\d4[AGT]?,",)
    interfaces = (Oscilloscope,)
    sim_file = "sim/infiniivision_dsox3034t.yaml"
    sim_resource = "TCPIP0::192.168.0.42::inst0::INSTR"
    sim_model = "keysight-dsox3034t"
    default_timeout = 10.0
    analog_channels: ClassVar[tuple[int, ...]] = (1, 2, 3, 4)
    poll_interval: ClassVar[float] = 0.01
    """Seconds between two `:OPERegister:CONDition?` polls while waiting for an acquisition."""

    channels = ChannelGroup(InfiniiVisionChannel, (1, 2, 3, 4))

    timebase_scale = Setting(
        ":TIMebase:SCALe?",
        ":TIMebase:SCALe {value}",
        validate=Range(2e-10, 50.0),
        units="s",
        doc="Set the horizontal scale in seconds per division.",
    )
    timebase_position = Setting(
        ":TIMebase:POSition?",
        ":TIMebase:POSition {value}",
        validate=Range(-500.0, 500.0),
        units="s",
        doc="Set the time from the trigger to the reference point of the screen.",
    )
    acquisition_mode = Setting(
        ":ACQuire:TYPE?",
        ":ACQuire:TYPE {value}",
        values={"normal": "NORM", "average": "AVER", "hires": "HRES", "peak": "PEAK"},
        doc="Set the acquisition type (normal, average, hires or peak).",
    )
    averages = Setting(
        ":ACQuire:COUNt?",
        ":ACQuire:COUNt {value}",
        parse=lambda reply: int(float(reply)),
        validate=Range(2, 65536, integer=True),
        units="",
        doc="Set how many acquisitions average mode combines (2 to 65536).",
    )
    record_length = Setting(
        ":WAVeform:POINts?",
        ":WAVeform:POINts {value}",
        parse=lambda reply: int(float(reply)),
        validate=OneOf(*WAVEFORM_POINTS),
        units="",
        doc="Set how many points a waveform transfer returns (the scope may return fewer).",
    )
    points_mode = Setting(
        ":WAVeform:POINts:MODE?",
        ":WAVeform:POINts:MODE {value}",
        values={"normal": "NORM", "maximum": "MAX", "raw": "RAW"},
        doc="Set which record the transfer reads: the screen (normal), or the acquisition "
        "memory (raw; maximum when stopped).",
    )
    waveform_format = Setting(
        ":WAVeform:FORMat?",
        ":WAVeform:FORMat {value}",
        values={"byte": "BYTE", "word": "WORD", "ascii": "ASC"},
        doc="Set the transfer format: byte (8 bits) or word (16 bits) per point.",
    )
    byte_order = Setting(
        ":WAVeform:BYTeorder?",
        ":WAVeform:BYTeorder {value}",
        values={"msb_first": "MSBF", "lsb_first": "LSBF"},
        doc="Set the byte order of word transfers (msb_first or lsb_first).",
    )
    unsigned = Setting(
        ":WAVeform:UNSigned?",
        ":WAVeform:UNSigned {value}",
        values=ON_OFF,
        doc="Set whether transferred codes are unsigned.",
    )
    trigger_source = Setting(
        ":TRIGger:EDGE:SOURce?",
        ":TRIGger:EDGE:SOURce {value}",
        validate=TriggerSource((1, 2, 3, 4), "ext", "line", "wgen"),
        values={"ch1": "CHAN1", "ch2": "CHAN2", "ch3": "CHAN3", "ch4": "CHAN4"}
        | {"ext": "EXT", "line": "LINE", "wgen": "WGEN"},
        doc="Set the edge trigger source (a channel number, 'ext', 'line' or 'wgen').",
    )
    trigger_level = Setting(
        ":TRIGger:EDGE:LEVel?",
        ":TRIGger:EDGE:LEVel {value}",
        validate=Range(-1e4, 1e4),
        units="V",
        doc="Set the edge trigger level in volts (of the present trigger source).",
    )
    trigger_slope = Setting(
        ":TRIGger:EDGE:SLOPe?",
        ":TRIGger:EDGE:SLOPe {value}",
        values={"rising": "POS", "falling": "NEG", "either": "EITH", "alternate": "ALT"},
        doc="Set the edge trigger slope (rising, falling, either or alternate).",
    )
    trigger_mode = Setting(
        ":TRIGger:SWEep?",
        ":TRIGger:SWEep {value}",
        values={"auto": "AUTO", "normal": "NORM"},
        doc="Set the trigger sweep mode (auto: free-run without a trigger; normal: wait).",
    )
    operation_status = Measurement(
        ":OPERegister:CONDition?",
        parse=lambda reply: int(float(reply)),
        units="",
        in_snapshot=False,
        doc="Get the operation status condition register (bit 3 set while running).",
    )

    # -- acquisition control
    def run(self) -> None:
        """Acquire continuously until stopped."""
        self.session.write(":RUN")

    def stop(self) -> None:
        """Stop acquiring; the last record stays available to `fetch`."""
        self.session.write(":STOP")

    def single(self) -> None:
        """Arm one acquisition; the scope stops by itself once it has triggered."""
        self.session.write(":SINGle")

    def digitize(self, channels: Sequence[int | str] = (), timeout: float | None = None) -> None:
        """Acquire once on `channels` (all displayed if empty) and wait until it is done.

        `:DIGitize` blocks the scope's parser until the acquisition completes, so the
        `*OPC?` after it answers only then; `timeout` bounds that wait.
        """
        sources = ",".join(
            f"CHANnel{channel_number(c, self.analog_channels, self.name)}" for c in channels
        )
        self.session.write(f":DIGitize {sources}" if sources else ":DIGitize")
        self.wait(timeout=self.default_timeout if timeout is None else timeout)

    def wait_for_acquisition(self, timeout: float | None = None) -> None:
        """Poll `:OPERegister:CONDition?` until the run bit clears (the :SINGle is done)."""
        poll_until(
            lambda: not self.operation_status & RUN_BIT,
            timeout=self.default_timeout if timeout is None else timeout,
            interval=self.poll_interval,
            instrument=self.name,
            command=":OPERegister:CONDition?",
            waiting_for="the acquisition to complete (run bit 3 of :OPERegister:CONDition? "
            "stayed set)",
        )

    # -- waveforms
    def preamble(self) -> dict[str, Any]:
        """Get the transfer's byte order, signedness and `:WAVeform:PREamble?`, by name."""
        reply = self.session.query(PREAMBLE_QUERY)
        parts = reply.split(";")
        if len(parts) != 3:
            raise ProtocolError(
                f"expected 'byte order;unsigned;preamble', got {reply!r}",
                instrument=self.name,
                command=PREAMBLE_QUERY,
            )
        return self._parsed_preamble(*parts, command=PREAMBLE_QUERY)

    def _parsed_preamble(
        self, order: str, unsigned: str, preamble: str, *, command: str
    ) -> dict[str, Any]:
        values = numbers(preamble, 10, separator=",", instrument=self.name, command=command)
        pre = {
            "format": _FORMATS.get(int(values[0]), str(int(values[0]))),
            "type": int(values[1]),
            "points": values[2],
            "count": int(values[3]),
            "x_increment": values[4],
            "x_origin": values[5],
            "x_reference": values[6],
            "y_increment": values[7],
            "y_origin": values[8],
            "y_reference": values[9],
            "byte_order": ">" if order.strip().upper().startswith("MSB") else "<",
            "unsigned": unsigned.strip().upper() in ("1", "ON"),
        }
        return checked_preamble(
            pre,
            max_points=max(WAVEFORM_POINTS),
            steps=("x_increment", "y_increment"),
            reply=f"{order};{unsigned};{preamble}",
            instrument=self.name,
            command=command,
        )

    def fetch(self, channel: int | str) -> Waveform:
        """Read the channel's record in volts (`record_length` points of `points_mode`).

        One message and one reply: source, byte order, signedness, preamble and
        `:WAVeform:DATA?` together, so the scaling belongs to the block it came with.
        The volts are computed from the codes when first read (`Waveform.y`).
        """
        number = channel_number(channel, self.analog_channels, self.name)
        stamp = now_ns()
        command = f":WAVeform:SOURce CHANnel{number};{PREAMBLE_QUERY};:WAVeform:DATA?"
        session = self.session
        with session.lock:
            session.write(command)
            # The reply is `<order>;<unsigned>;<preamble>;<data>`: fields up to each ';'.
            fields = [
                session.read_raw_until(b";", command=command).decode("ascii", "replace")
                for _ in range(3)
            ]
            try:
                pre = self._parsed_preamble(*fields, command=command)
            except ProtocolError:
                session.read(command=command)  # the data: leave nothing unread
                raise
            if pre["format"] not in ("byte", "word"):
                session.read(command=command)  # an ASCII record ends at the terminator
                raise ProtocolError(
                    f"waveform format is {pre['format']}, not binary; set waveform_format "
                    "to 'word' or 'byte'",
                    instrument=self.name,
                    command=command,
                )
            width = 2 if pre["format"] == "word" else 1
            kind = record_dtype(width, not pre["unsigned"], pre["byte_order"])
            codes = session.read_block(dtype=kind, byte_order=pre["byte_order"], command=command)
        if codes.shape[0] != pre["points"]:
            raise ProtocolError(
                f"sent {codes.shape[0]} points, the preamble announced {pre['points']}",
                instrument=self.name,
                command=command,
            )
        dx = pre["x_increment"]
        scaling = Scaling(
            gain=pre["y_increment"],
            bias=pre["y_origin"] - pre["y_reference"] * pre["y_increment"],
            x0=pre["x_origin"] - pre["x_reference"] * dx,
            dx=dx,
        )
        return scaling.waveform(codes, f"CHAN{number}", timestamp_ns=stamp, preamble=pre)

    def fetch_all(self, channels: Sequence[int | str]) -> list[Waveform]:
        """Read several channels of the same (stopped) acquisition."""
        return [self.fetch(channel) for channel in channels]


class KeysightInfiniiVisionTwoChannel(KeysightInfiniiVision):
    """Keysight/Agilent InfiniiVision 2000, 3000 or 4000 X-series with 2 analog channels."""

    idn_patterns = (r"^(KEYSIGHT|AGILENT) TECHNOLOGIES,[DM]SO-?X ?[234]\d\d2[AGT]?,",)
    sim_resource = "TCPIP0::192.168.0.45::inst0::INSTR"
    sim_model = None
    analog_channels = (1, 2)

    channels = ChannelGroup(InfiniiVisionChannel, (1, 2))

    trigger_source = Setting(
        ":TRIGger:EDGE:SOURce?",
        ":TRIGger:EDGE:SOURce {value}",
        validate=TriggerSource((1, 2), "ext", "line", "wgen"),
        values={"ch1": "CHAN1", "ch2": "CHAN2", "ext": "EXT", "line": "LINE", "wgen": "WGEN"},
        doc="Set the edge trigger source (a channel number, 'ext', 'line' or 'wgen').",
    )
