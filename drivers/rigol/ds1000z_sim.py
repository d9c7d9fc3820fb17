"""Simulated Rigol DS1054Z for the simulated lab.

What the driver relies on, with the instrument's behaviour: `:CHANnel<n>:DISPlay|SCALe|
OFFSet|COUPling|PROBe|BWLimit`, `:TIMebase[:MAIN]:SCALe|OFFSet` (12 divisions across),
`:ACQuire:MDEPth|TYPE|AVERages|SRATe?`, `:TRIGger:EDGe:SOURce|LEVel|SLOPe`,
`:TRIGger:SWEep`, `:TRIGger:STATus?` (WAIT after `:SINGle` until triggered, then STOP),
`:RUN`, `:STOP`, `:SINGle`, and the waveform transfer: `:WAVeform:SOURce|MODE|FORMat|
STARt|STOP`, `:WAVeform:PREamble?` and `:WAVeform:DATA?` as `#9`-headed blocks of
unsigned 8-bit codes (BYTE) or little-endian 16-bit words with the code in the low byte
(WORD). NORMal mode reads the 1200 screen points; RAW (and MAXimum once stopped) reads
the memory, at most 250,000 points (125,000 in WORD) per `:WAV:DATA?`, selected with
`:WAV:STARt`/`:WAV:STOP`; more is refused with -222, and RAW while running with -221.
Codes: 25 per division, `volts = (code - YORigin - YREFerence) * YINCrement`.
Not modelled: ASCii data, digital channels, math; AUTO memory depth is 12,000 points.

Reply formats (DS1000Z programming guide): numbers `1.000000e-03` (lower-case e),
enumerations in short form (`CHAN1`, `STOP`).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from instrumentkit.sim import ScpiError, Setting, command
from instrumentkit.sim.physics import ADC

from .._scope_sim import ScopeModel

__all__ = ["DS1054ZModel"]

SCREEN_POINTS = 1200
DIVISIONS = 12
DIVISION_CODES = 25
Y_REFERENCE = 127
MAX_SAMPLE_RATE = 1e9
AUTO_DEPTH = 12_000
MAX_PER_READ = {"BYTE": 250_000, "WORD": 125_000}
DEPTHS = ("AUTO", "3000", "6000", "12000", "30000", "60000", "120000", "300000", "600000")
DEPTHS += ("1200000", "3000000", "6000000", "12000000", "24000000")
PROBE_RATIOS = (0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1, 2, 5, 10, 20, 50, 100, 200, 500, 1000)
_CHANNELS = ("CHANnel1", "CHANnel2", "CHANnel3", "CHANnel4")


def _block(payload: bytes) -> bytes:
    """A DS1000Z block: `#9` and a 9-digit byte count, whatever the size."""
    return b"#9" + f"{len(payload):09d}".encode() + payload


class DS1054ZModel(ScopeModel):
    """A DS1054Z: 4 channels, 50 MHz, 1 GS/s, 24 M points of memory."""

    idn = "RIGOL TECHNOLOGIES,DS1054Z,DS1ZA000000001,00.04.04.SP4"

    display = Setting(":CHANnel<n>:DISPlay", True, channels=4)
    scale = Setting(":CHANnel<n>:SCALe", 1.0, limits=(1e-5, 1e4), channels=4, fmt="{:.6e}")
    offset = Setting(":CHANnel<n>:OFFSet", 0.0, limits=(-1e4, 1e4), channels=4, fmt="{:.6e}")
    coupling = Setting(":CHANnel<n>:COUPling", "DC", choices=("DC", "AC", "GND"), channels=4)
    probe = Setting(":CHANnel<n>:PROBe", 10.0, choices=PROBE_RATIOS, channels=4, fmt="{:.6e}")
    bandwidth_limit = Setting(":CHANnel<n>:BWLimit", "OFF", choices=("20M", "OFF"), channels=4)
    timebase = Setting(":TIMebase[:MAIN]:SCALe", 1e-3, limits=(5e-9, 50.0), fmt="{:.6e}")
    delay = Setting(":TIMebase[:MAIN]:OFFSet", 0.0, limits=(-500.0, 500.0), fmt="{:.6e}")
    depth = Setting(":ACQuire:MDEPth", "AUTO", choices=DEPTHS)
    acquire_type = Setting(
        ":ACQuire:TYPE", "NORMal", choices=("NORMal", "AVERages", "PEAK", "HRESolution")
    )
    averages = Setting(":ACQuire:AVERages", 2, choices=tuple(2**k for k in range(1, 11)))
    trigger_source = Setting(":TRIGger:EDGe:SOURce", "CHANnel1", choices=(*_CHANNELS, "AC"))
    trigger_level = Setting(":TRIGger:EDGe:LEVel", 0.0, limits=(-1e4, 1e4), fmt="{:.6e}")
    trigger_slope = Setting(
        ":TRIGger:EDGe:SLOPe", "POSitive", choices=("POSitive", "NEGative", "RFALl")
    )
    sweep = Setting(":TRIGger:SWEep", "AUTO", choices=("AUTO", "NORMal", "SINGle"))
    source = Setting(":WAVeform:SOURce", "CHANnel1", choices=(*_CHANNELS, "MATH"))
    mode = Setting(":WAVeform:MODE", "NORMal", choices=("NORMal", "MAXimum", "RAW"))
    data_format = Setting(":WAVeform:FORMat", "BYTE", choices=("WORD", "BYTE", "ASCii"))
    start = Setting(":WAVeform:STARt", 1, limits=(1, 24_000_000))
    stop = Setting(":WAVeform:STOP", SCREEN_POINTS, limits=(1, 24_000_000))

    # -- the acquisition memory and what the scope base needs
    def memory_depth(self) -> int:
        return AUTO_DEPTH if self.depth == "AUTO" else int(self.depth)

    def record_points(self) -> int:
        return self.memory_depth()

    def sample_interval(self) -> float:
        return max(self.timebase * DIVISIONS / self.memory_depth(), 1 / MAX_SAMPLE_RATE)

    def trigger_settings(self) -> dict[str, Any]:
        source = self.trigger_source
        span = self.sample_interval() * self.memory_depth()
        return {
            "trigger_source": int(source[-1]) if source.startswith("CHAN") else None,
            "trigger_level": self.trigger_level,
            "trigger_slope": "fall" if self.trigger_slope == "NEG" else "rise",
            "trigger_position": min(1.0, max(0.0, 0.5 - self.delay / span)),
            "wait_for_trigger": self.sweep in ("NORM", "SING"),
        }

    def enabled_channels(self) -> list[int]:
        return [ch for ch in range(1, 5) if self.display[ch]]

    def _reads_memory(self) -> bool:
        return self.mode == "RAW" or (self.mode == "MAX" and not self.running)

    def _view(self) -> tuple[int, float]:
        """(points, sample interval) of what `:WAV:DATA?` reads: the screen or the memory."""
        if self._reads_memory():
            return self.memory_depth(), self.sample_interval()
        return SCREEN_POINTS, self.timebase * DIVISIONS / SCREEN_POINTS

    # -- run control
    @command(":RUN")
    def _cmd_run(self) -> None:
        self.start_running()

    @command(":STOP")
    def _cmd_stop(self) -> None:
        self.halt()

    @command(":SINGle")
    def _cmd_single(self) -> None:
        self.arm_single()

    @command(":TFORce")
    def _cmd_force(self) -> None:
        if self.armed:
            self.busy_until = self.clock.now()

    @command(":TRIGger:STATus?")
    def _cmd_trigger_status(self) -> str:
        if self.armed and not self.operation_complete:
            return "WAIT"
        if self.running:
            return "AUTO" if self.sweep == "AUTO" else "RUN"
        return "STOP"

    @command(":ACQuire:SRATe?")
    def _cmd_sample_rate(self) -> str:
        return f"{1 / self.sample_interval():.6e}"

    # -- the waveform transfer
    def _y_scale(self, channel: int) -> tuple[float, int]:
        """(YINCrement, YORigin) of `channel`: the offset moves the centre code."""
        return self.per_settings(("y_scale", channel), lambda: self._compute_y_scale(channel))

    def _compute_y_scale(self, channel: int) -> tuple[float, int]:
        y_increment = self.scale[channel] / DIVISION_CODES
        return y_increment, round(self.offset[channel] / y_increment)

    @command(":WAVeform:PREamble?")
    def _cmd_preamble(self) -> str:
        # The settings and whether the scope runs (MAXimum reads the memory once stopped).
        return self.per_settings(("preamble", self.running), self._compute_preamble)

    def _compute_preamble(self) -> str:
        channel = int(self.source[-1]) if self.source.startswith("CHAN") else 1
        points, dx = self._view()
        y_increment, y_origin = self._y_scale(channel)
        x_origin = -round(self.trigger_settings()["trigger_position"] * points) * dx
        kind = {"BYTE": 0, "WORD": 1, "ASC": 2}[self.data_format]
        acquisition = {"NORM": 0, "PEAK": 1, "AVER": 2, "HRES": 3}[self.acquire_type]
        return (
            f"{kind},{acquisition},{points},1,{dx:.6e},{x_origin:.6e},0,"
            f"{y_increment:.6e},{y_origin},{Y_REFERENCE}"
        )

    @command(":WAVeform:DATA?")
    def _cmd_data(self) -> bytes:
        if not self.source.startswith("CHAN"):
            raise ScpiError(-221, "Settings conflict; only analog channels are simulated")
        channel = int(self.source[-1])
        if not self.display[channel]:
            raise ScpiError(-221, "Settings conflict; source channel is off")
        if self.data_format == "ASC":
            raise ScpiError(-221, "Settings conflict; ASCii data is not simulated")
        if self.mode == "RAW" and self.running:
            raise ScpiError(-221, "Settings conflict; stop the scope to read its memory")
        points, _ = self._view()
        first, last = self.start - 1, min(self.stop, points)
        if last <= first or last - first > MAX_PER_READ[self.data_format]:
            raise ScpiError(-222, "Data out of range; too many points for one read")
        key = (channel, self.data_format, self._reads_memory(), first, last, self._y_scale(channel))

        def build() -> bytes:
            y_increment, y_origin = self._y_scale(channel)
            # Unsigned codes: code = volts / YINC + YORigin + YREFerence, clipped to 0..255.
            adc = ADC(
                bits=8,
                full_scale=256 * y_increment,
                center=-(y_origin + Y_REFERENCE - 128) * y_increment,
                unsigned=True,
            )
            record = self.record()
            volts = record.volts.get(channel, np.zeros(record.times.shape))
            if not self._reads_memory():  # the screen: 1200 points of the record around the trigger
                screen_dx = self.timebase * DIVISIONS / SCREEN_POINTS
                step = max(1, round(screen_dx / record.sample_interval))
                fraction = self.trigger_settings()["trigger_position"]
                begin = max(0, record.trigger_index - round(fraction * SCREEN_POINTS) * step)
                volts = volts[begin::step][:SCREEN_POINTS]
                volts = np.pad(volts, (0, SCREEN_POINTS - len(volts)), mode="edge")
            codes = adc.encode(volts[first:last])
            if self.data_format == "WORD":
                codes = codes.astype("<u2")
            return _block(codes.tobytes())

        return self.cached(key, build)
