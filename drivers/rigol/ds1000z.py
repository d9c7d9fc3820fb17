"""Rigol DS1000Z series (DS1054Z, DS1074Z, DS1104Z, their Plus and -S variants, MSO1000Z).

4 channels, 8-bit ADC, up to 24 M points of memory, LAN (port 5555 raw socket or
VXI-11) and USB (USBTMC). Commands per the DS1000Z programming guide, in the short
forms its examples use: `:CHAN<n>:...`, `:TIM:MAIN:...`, `:ACQ:...`, `:TRIG:EDG:...`,
`:WAV:SOUR`, `:WAV:MODE`, `:WAV:FORM`, `:WAV:PRE?`, `:WAV:DATA?`, `:WAV:STAR`/`:WAV:STOP`,
`:RUN`, `:STOP`, `:SING` and `:TRIG:STAT?`.

Limits from the programming guide and datasheet, at a 1x probe and scaled by the
channel's probe ratio (asked for with `:CHAN<n>:PROB?` just before a scale or offset
is sent): vertical scale 1 mV/div to 10 V/div (any value in between, as the vernier
allows; coarse steps are 1-2-5); offset +-2 V below 500 mV/div and +-100 V from
500 mV/div; timebase 5 ns/div to 50 s/div in 1-2-5 steps (5 ns on every model of the
series per the datasheet as recalled; not confirmed per model); memory depths per
`MEMORY_DEPTHS`. Not enforced, as they depend on state the setting does not own:
ROLL mode's 200 ms/div floor, the trigger level's +-5 divisions around the source's
offset, and depths above 6 M/12 M with three or two channels on.

Enumerations reviewed against the programming guide (2026-12-06): coupling DC/AC/GND,
bandwidth limit 20M/OFF, acquisition type NORMal/AVERages/PEAK/HRESolution, edge
slope POSitive/NEGative/RFALl, sweep AUTO/NORMal/SINGle, waveform mode
NORMal/MAXimum/RAW, format WORD/BYTE/ASCii, `:TRIG:STAT?` TD/WAIT/RUN/AUTO/STOP, edge
source CHANnel1-4 and AC (line; the series has no external trigger input). The
MSO1000Z's digital sources D0-D15 are not listed: they read back as `UnknownChoice`
(decision 0008), as does any other token the guide does not list.

One `:WAV:DATA?` returns at most 250,000 points in BYTE format (125,000 in WORD), so a
deep-memory record (`:WAV:MODE RAW`, scope stopped) is read in chunks, each selected
with `:WAV:STAR`/`:WAV:STOP`, straight into one array.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any, ClassVar

import numpy as np

from instrumentkit.data import Waveform, now_ns
from instrumentkit.errors import ProtocolError
from instrumentkit.instrument import Channel, ChannelGroup
from instrumentkit.interfaces import Oscilloscope
from instrumentkit.parameters import ON_OFF, Measurement, Setting
from instrumentkit.scpi import SCPIInstrument
from instrumentkit.validators import OneOf, Range, Steps125

from .._oscilloscope import (
    Scaling,
    TriggerSource,
    channel_number,
    checked_preamble,
    numbers,
    poll_until,
    probe_scaled_scale,
)

__all__ = ["DS1000ZChannel", "RigolDS1000Z"]

MAX_POINTS_PER_READ = {"BYTE": 250_000, "WORD": 125_000}
MEMORY_DEPTHS = (3_000, 6_000, 12_000, 30_000, 60_000, 120_000, 300_000, 600_000)
MEMORY_DEPTHS += (1_200_000, 3_000_000, 6_000_000, 12_000_000, 24_000_000)
PROBE_RATIOS = (0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1, 2, 5, 10, 20, 50, 100, 200, 500, 1000)
_FORMATS = {0: "BYTE", 1: "WORD", 2: "ASC"}


def _memory_depth(reply: str) -> int | str:
    word = reply.strip().upper()
    return "AUTO" if word == "AUTO" else int(float(word))


class DS1000ZChannel(Channel):
    """One DS1000Z analog input."""

    scale_at_1x: ClassVar[tuple[float, float]] = (1e-3, 10.0)
    """Volts per division at a 1x probe (programming guide: 1 mV/div to 10 V/div)."""

    enabled = Setting(
        ":CHAN{ch}:DISP?",
        ":CHAN{ch}:DISP {value}",
        values=ON_OFF,
        doc="Control whether the channel is displayed and acquired.",
    )
    scale = Setting(
        ":CHAN{ch}:SCAL?",
        ":CHAN{ch}:SCAL {value}",
        validate=Range(1e-3 * min(PROBE_RATIOS), 10 * max(PROBE_RATIOS)),
        limits=probe_scaled_scale,
        units="V",
        doc="Set the vertical scale in volts per division: 1 mV to 10 V times the probe ratio.",
    )
    offset = Setting(
        ":CHAN{ch}:OFFS?",
        ":CHAN{ch}:OFFS {value}",
        validate=Range(-100 * max(PROBE_RATIOS), 100 * max(PROBE_RATIOS)),
        limits=lambda channel: channel.offset_limits(),
        units="V",
        doc="Set the vertical offset in volts: +-2 V below 500 mV/div, +-100 V from "
        "500 mV/div, times the probe ratio.",
    )
    coupling = Setting(
        ":CHAN{ch}:COUP?",
        ":CHAN{ch}:COUP {value}",
        values={"dc": "DC", "ac": "AC", "gnd": "GND"},
        doc="Set the input coupling (dc, ac or gnd).",
    )
    probe_attenuation = Setting(
        ":CHAN{ch}:PROB?",
        ":CHAN{ch}:PROB {value}",
        validate=OneOf(*PROBE_RATIOS),
        units="",
        doc="Set the probe ratio (0.01 to 1000 in 1-2-5 steps).",
    )
    bandwidth_limit = Setting(
        ":CHAN{ch}:BWL?",
        ":CHAN{ch}:BWL {value}",
        values={True: "20M", False: "OFF"},
        doc="Enable the 20 MHz bandwidth limit.",
    )

    def offset_limits(self) -> Range:
        """The offset range at the present scale and probe ratio (two queries)."""
        ratio = self.probe_attenuation
        volts = 100.0 if self.scale / ratio >= 0.5 else 2.0
        return Range(-volts * ratio, volts * ratio)


class RigolDS1000Z(SCPIInstrument):
    """Rigol DS1000Z / MSO1000Z series digital oscilloscope (4 analog channels)."""

    idn_patterns = (r"^RIGOL TECHNOLOGIES,(DS|MSO)1[01]\d4Z",)
    interfaces = (Oscilloscope,)
    sim_file = "sim/ds1054z.yaml"
    sim_resource = "TCPIP0::192.168.0.43::inst0::INSTR"
    sim_model = "rigol-ds1054z"
    default_timeout = 10.0
    analog_channels: ClassVar[tuple[int, ...]] = (1, 2, 3, 4)
    poll_interval: ClassVar[float] = 0.02
    """Seconds between two `:TRIG:STAT?` polls while waiting for an acquisition."""
    arm_grace: ClassVar[float] = 0.5
    """Seconds a stale STOP after `:SING` is ignored (the scope takes a moment to arm)."""

    channels = ChannelGroup(DS1000ZChannel, (1, 2, 3, 4))
    _armed_at: float | None = None

    timebase_scale = Setting(
        ":TIM:MAIN:SCAL?",
        ":TIM:MAIN:SCAL {value}",
        validate=Steps125(5e-9, 50.0),
        units="s",
        doc="Set the horizontal scale in seconds per division (5 ns to 50 s, 1-2-5 steps).",
    )
    timebase_position = Setting(
        ":TIM:MAIN:OFFS?",
        ":TIM:MAIN:OFFS {value}",
        validate=Range(-500.0, 500.0),
        units="s",
        doc="Set the time from the trigger to the centre of the screen.",
    )
    record_length = Setting(
        ":ACQ:MDEP?",
        ":ACQ:MDEP {value}",
        parse=_memory_depth,
        validate=OneOf("AUTO", *MEMORY_DEPTHS),
        units="",
        doc="Set the memory depth in points, or 'AUTO' (the maximum allowed depends on "
        "how many channels are on: 24 M with one, 12 M with two, 6 M with three or four).",
    )
    acquisition_mode = Setting(
        ":ACQ:TYPE?",
        ":ACQ:TYPE {value}",
        values={"normal": "NORM", "average": "AVER", "peak": "PEAK", "hires": "HRES"},
        doc="Set the acquisition type (normal, average, peak or hires).",
    )
    averages = Setting(
        ":ACQ:AVER?",
        ":ACQ:AVER {value}",
        parse=lambda reply: int(float(reply)),
        validate=OneOf(2, 4, 8, 16, 32, 64, 128, 256, 512, 1024),
        units="",
        doc="Set how many acquisitions average mode combines (a power of 2, 2 to 1024).",
    )
    sample_rate = Measurement(
        ":ACQ:SRAT?", units="Sa/s", doc="Get the present sample rate in samples per second."
    )
    trigger_source = Setting(
        ":TRIG:EDG:SOUR?",
        ":TRIG:EDG:SOUR {value}",
        validate=TriggerSource((1, 2, 3, 4), "line"),
        values={"ch1": "CHAN1", "ch2": "CHAN2", "ch3": "CHAN3", "ch4": "CHAN4", "line": "AC"},
        doc="Set the edge trigger source (a channel number or 'line').",
    )
    trigger_level = Setting(
        ":TRIG:EDG:LEV?",
        ":TRIG:EDG:LEV {value}",
        validate=Range(-1e4, 1e4),
        units="V",
        doc="Set the edge trigger level in volts.",
    )
    trigger_slope = Setting(
        ":TRIG:EDG:SLOP?",
        ":TRIG:EDG:SLOP {value}",
        values={"rising": "POS", "falling": "NEG", "either": "RFAL"},
        doc="Set the edge trigger slope (rising, falling or either).",
    )
    trigger_mode = Setting(
        ":TRIG:SWE?",
        ":TRIG:SWE {value}",
        values={"auto": "AUTO", "normal": "NORM", "single": "SING"},
        doc="Set the trigger sweep (auto, normal or single).",
    )
    trigger_status = Measurement(
        ":TRIG:STAT?",
        values={
            "triggered": "TD",
            "waiting": "WAIT",
            "running": "RUN",
            "auto": "AUTO",
            "stopped": "STOP",
        },
        in_snapshot=False,
        doc="Get the trigger state (triggered, waiting, running, auto or stopped).",
    )
    waveform_mode = Setting(
        ":WAV:MODE?",
        ":WAV:MODE {value}",
        values={"normal": "NORM", "maximum": "MAX", "raw": "RAW"},
        doc="Set what `fetch` reads: the screen (normal, 1200 points) or the memory (raw, "
        "scope stopped; maximum: memory when stopped, screen when running).",
    )
    waveform_format = Setting(
        ":WAV:FORM?",
        ":WAV:FORM {value}",
        values={"byte": "BYTE", "word": "WORD", "ascii": "ASC"},
        doc="Set the transfer format (byte: 1 byte per point, word: 2, ascii: text).",
    )

    def _after_resync(self) -> None:
        # An arming whose :SING may not have arrived: the next wait starts afresh.
        self._armed_at = None

    # -- acquisition control
    def run(self) -> None:
        """Acquire continuously until stopped."""
        self.session.write(":RUN")

    def stop(self) -> None:
        """Stop acquiring; the memory stays available to `fetch` (raw mode)."""
        self.session.write(":STOP")

    def single(self) -> None:
        """Arm one acquisition; the scope stops by itself once it has triggered."""
        self.session.write(":SING")
        self._armed_at = time.monotonic()

    def wait_for_acquisition(self, timeout: float | None = None) -> None:
        """Poll `:TRIG:STAT?` until the scope has stopped after the `single()` acquisition.

        The DS1000Z can still report the previous STOP for a moment after `:SING`; a STOP
        counts once the scope was seen armed, or `arm_grace` seconds after `single()`.
        """
        armed_at = self._armed_at
        seen_armed = armed_at is None

        def stopped() -> bool:
            nonlocal seen_armed
            if self.trigger_status != "stopped":
                seen_armed = True
                return False
            return seen_armed or time.monotonic() - armed_at >= self.arm_grace  # type: ignore[operator]

        poll_until(
            stopped,
            timeout=self.default_timeout if timeout is None else timeout,
            interval=self.poll_interval,
            instrument=self.name,
            command=":TRIG:STAT?",
            waiting_for="the single acquisition to complete (:TRIG:STAT? never reached STOP)",
        )
        self._armed_at = None

    # -- waveforms
    def preamble(self) -> dict[str, Any]:
        """Get `:WAV:PRE?` of the selected source as a dict by field name."""
        reply = self.session.query(":WAV:PRE?")
        values = numbers(reply, 10, separator=",", instrument=self.name, command=":WAV:PRE?")
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
        }
        return checked_preamble(
            pre,
            max_points=max(MEMORY_DEPTHS),
            steps=("x_increment", "y_increment"),
            reply=reply,
            instrument=self.name,
            command=":WAV:PRE?",
        )

    def fetch(self, channel: int | str) -> Waveform:
        """Read the channel's record in volts (screen or memory, per `waveform_mode`)."""
        number = channel_number(channel, self.analog_channels, self.name)
        stamp = now_ns()
        self.session.write(f":WAV:SOUR CHAN{number}")
        pre = self.preamble()
        if pre["format"] not in MAX_POINTS_PER_READ:
            raise ProtocolError(
                f"waveform format is {pre['format']}, not binary; set waveform_format to "
                "'byte' or 'word'",
                instrument=self.name,
                command=":WAV:PRE?",
            )
        codes = self._read_chunks(pre["points"], pre["format"])
        dx = pre["x_increment"]
        scaling = Scaling(
            gain=pre["y_increment"],
            bias=-(pre["y_origin"] + pre["y_reference"]) * pre["y_increment"],
            x0=pre["x_origin"] - pre["x_reference"] * dx,
            dx=dx,
        )
        return scaling.waveform(codes, f"CHAN{number}", timestamp_ns=stamp, preamble=pre)

    def _read_chunks(self, points: int, form: str) -> np.ndarray:
        """`points` codes, `:WAV:STAR`/`:WAV:STOP`-selected chunk by chunk into one array."""
        # WORD puts each 8-bit code in the low byte of a little-endian 16-bit word.
        kind = np.dtype("<u2" if form == "WORD" else "u1")
        step = MAX_POINTS_PER_READ[form]
        if points <= step:
            return self._read_chunk(1, points, kind)
        codes = np.empty(points, dtype=kind)
        for start in range(1, points + 1, step):
            stop = min(start + step - 1, points)
            codes[start - 1 : stop] = self._read_chunk(start, stop, kind)
        return codes

    def _read_chunk(self, start: int, stop: int, kind: np.dtype[Any]) -> np.ndarray:
        self.session.write(f":WAV:STAR {start}")
        self.session.write(f":WAV:STOP {stop}")
        chunk = self.session.query_block(":WAV:DATA?", dtype=kind, byte_order="<")
        if chunk.shape[0] != stop - start + 1:
            raise ProtocolError(
                f"asked for points {start}..{stop}, got {chunk.shape[0]}",
                instrument=self.name,
                command=":WAV:DATA?",
            )
        return chunk

    def fetch_all(self, channels: Sequence[int | str]) -> list[Waveform]:
        """Read several channels of the same (stopped) acquisition."""
        return [self.fetch(channel) for channel in channels]
