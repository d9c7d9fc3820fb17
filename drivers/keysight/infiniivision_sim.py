"""Simulated Keysight InfiniiVision DSOX3034T for the simulated lab.

What the driver relies on, with the instrument's behaviour: `:CHANnel<n>:DISPlay|SCALe|
OFFSet|COUPling|IMPedance|PROBe|BWLimit`, `:TIMebase:SCALe|POSition` (10 divisions,
trigger at the centre at position 0), `:ACQuire:TYPE|COUNt`, `:TRIGger:EDGE:SOURce|LEVel|
SLOPe`, `:TRIGger:SWEep`, `:RUN`, `:STOP`, `:SINGle`, `:DIGitize` (blocks `*OPC?` until
done), `:OPERegister:CONDition?` (bit 3 while running or armed), and the waveform
transfer: `:WAVeform:SOURce|FORMat|BYTeorder|UNSigned|POINts|POINts:MODE`,
`:WAVeform:PREamble?` and `:WAVeform:DATA?` (a definite block of 8-bit codes, or 16-bit
words in either byte order, signed or not). BYTE data has 32 codes per division, WORD
data 32 x 256; `volts = (code - yreference) * yincrement + yorigin`.
Not modelled: averaging and hi-res change the settings only; ASCii data.

Reply formats: preamble fields `+1.00000000E-09` and `+n` integers (as the programmer's
guide shows); settings `+1.000000000E-03`. Not confirmed from the manual: the settings'
format (the pyvisa-sim YAML answers `1.000000E-03`).
"""

from __future__ import annotations

import math
from typing import Any

from instrumentkit.sim import Reply, ScpiError, Setting, binary_block, command
from instrumentkit.sim.physics import ADC

from .._scope_sim import ScopeModel

__all__ = ["DSOX3034TModel"]

DIVISIONS = 10
MAX_SAMPLE_RATE = 5e9
DIVISION_CODES = 32
POINTS = (100, 250, 500, 1_000, 2_000, 5_000, 10_000, 20_000, 50_000, 100_000, 200_000)
POINTS += (500_000, 1_000_000, 2_000_000, 4_000_000, 8_000_000)
_CHANNELS = ("CHANnel1", "CHANnel2", "CHANnel3", "CHANnel4")


class DSOX3034TModel(ScopeModel):
    """A DSOX3034T: 4 channels, 350 MHz, 5 GS/s."""

    idn = "KEYSIGHT TECHNOLOGIES,DSOX3034T,MY58120001,07.50.2021102830"

    display = Setting(":CHANnel<n>:DISPlay", True, channels=4)
    scale = Setting(":CHANnel<n>:SCALe", 1.0, limits=(1e-4, 1e4), channels=4)
    offset = Setting(":CHANnel<n>:OFFSet", 0.0, limits=(-1e4, 1e4), channels=4)
    coupling = Setting(":CHANnel<n>:COUPling", "DC", choices=("DC", "AC"), channels=4)
    impedance = Setting(":CHANnel<n>:IMPedance", "ONEMeg", choices=("ONEMeg", "FIFTy"), channels=4)
    probe = Setting(":CHANnel<n>:PROBe", 10.0, limits=(1e-3, 1e4), channels=4)
    bandwidth_limit = Setting(":CHANnel<n>:BWLimit", False, channels=4)
    timebase = Setting(":TIMebase:SCALe", 1e-4, limits=(2e-10, 50.0))
    delay = Setting(":TIMebase:POSition", 0.0, limits=(-500.0, 500.0))
    acquire_type = Setting(
        ":ACQuire:TYPE", "NORMal", choices=("NORMal", "AVERage", "HRESolution", "PEAK")
    )
    averages = Setting(":ACQuire:COUNt", 8, limits=(2, 65536))
    points = Setting(":WAVeform:POINts", 1000, choices=POINTS)
    points_mode = Setting(":WAVeform:POINts:MODE", "NORMal", choices=("NORMal", "MAXimum", "RAW"))
    source = Setting(":WAVeform:SOURce", "CHANnel1", choices=_CHANNELS)
    data_format = Setting(":WAVeform:FORMat", "BYTE", choices=("WORD", "BYTE", "ASCii"))
    byte_order = Setting(":WAVeform:BYTeorder", "LSBFirst", choices=("LSBFirst", "MSBFirst"))
    unsigned = Setting(":WAVeform:UNSigned", False)
    trigger_source = Setting(
        ":TRIGger[:EDGE]:SOURce", "CHANnel1", choices=(*_CHANNELS, "EXTernal", "LINE")
    )
    trigger_level = Setting(":TRIGger[:EDGE]:LEVel", 0.0, limits=(-1e4, 1e4))
    trigger_slope = Setting(
        ":TRIGger[:EDGE]:SLOPe",
        "POSitive",
        choices=("POSitive", "NEGative", "EITHer", "ALTernate"),
    )
    sweep = Setting(":TRIGger:SWEep", "AUTO", choices=("AUTO", "NORMal"))

    # -- what the scope base needs
    def record_points(self) -> int:
        return int(self.points)

    def sample_interval(self) -> float:
        return max(self.timebase * DIVISIONS / self.record_points(), 1 / MAX_SAMPLE_RATE)

    def trigger_settings(self) -> dict[str, Any]:
        source = self.trigger_source
        fraction = 0.5 - self.delay / (DIVISIONS * self.timebase)
        return {
            "trigger_source": int(source[-1]) if source.startswith("CHAN") else None,
            "trigger_level": self.trigger_level,
            "trigger_slope": "fall" if self.trigger_slope == "NEG" else "rise",
            "trigger_position": min(1.0, max(0.0, fraction)),
            "wait_for_trigger": self.sweep == "NORM",
        }

    def enabled_channels(self) -> list[int]:
        return [ch for ch in range(1, 5) if self.display[ch]]

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

    @command(":DIGitize")
    def _cmd_digitize(self, *sources: str) -> None:
        for name in sources:
            if name.upper() not in ("CHANNEL1", "CHANNEL2", "CHANNEL3", "CHANNEL4") and (
                name.upper() not in ("CHAN1", "CHAN2", "CHAN3", "CHAN4")
            ):
                raise ScpiError(-224)
        done = self.arm_single()
        if math.isinf(done):  # :DIGitize never hangs the parser: it gives up like :STOP
            self.halt()

    @command(":OPERegister:CONDition?")
    def _cmd_operation_condition(self) -> str:
        return f"{8 if self.acquiring else 0:+d}"

    # -- the waveform transfer
    def _y_scale(self, channel: int) -> tuple[float, float, float]:
        """(yincrement, yorigin, yreference) of `channel` in the present format."""
        return self.per_settings(("y_scale", channel), lambda: self._compute_y_scale(channel))

    def _compute_y_scale(self, channel: int) -> tuple[float, float, float]:
        word = self.data_format == "WORD"
        per_code = self.scale[channel] / DIVISION_CODES / (256 if word else 1)
        reference = (1 << (15 if word else 7)) if self.unsigned else 0
        return per_code, self.offset[channel], float(reference)

    @command(":WAVeform:PREamble?")
    def _cmd_preamble(self) -> str:
        # Settings alone make it: kept until one changes.
        return self.per_settings("preamble", self._compute_preamble)

    def _compute_preamble(self) -> str:
        channel = int(self.source[-1])
        y_increment, y_origin, y_reference = self._y_scale(channel)
        kind = {"BYTE": 0, "WORD": 1, "ASC": 4}[self.data_format]
        acquisition = {"NORM": 0, "PEAK": 1, "AVER": 2, "HRES": 3}[self.acquire_type]
        dx = self.sample_interval()
        fraction = self.trigger_settings()["trigger_position"]
        x_origin = -round(fraction * self.record_points()) * dx
        count = self.averages if acquisition == 2 else 1
        return (
            f"{kind:+d},{acquisition:+d},{self.record_points():+d},{count:+d},"
            f"{dx:+.8E},{x_origin:+.8E},+0,{y_increment:+.8E},{y_origin:+.8E},"
            f"{int(y_reference):+d}"
        )

    @command(":WAVeform:DATA?")
    def _cmd_data(self) -> bytes | Reply:
        channel = int(self.source[-1])
        if not self.display[channel]:
            raise ScpiError(-222, "Data out of range; source channel is off")
        if self.data_format == "ASC":
            raise ScpiError(-221, "Settings conflict; ASCii data is not simulated")
        word = self.data_format == "WORD"
        order = ">" if self.byte_order == "MSBF" else "<"
        key = (channel, word, order, self.unsigned, self._y_scale(channel))

        def build() -> bytes:
            y_increment, y_origin, y_reference = self._y_scale(channel)
            bits = 16 if word else 8
            levels = 1 << bits
            signed_reference = y_reference - (levels // 2 if self.unsigned else 0)
            adc = ADC(
                bits=bits,
                full_scale=levels * y_increment,
                center=y_origin - signed_reference * y_increment,
                unsigned=self.unsigned,
            )
            return binary_block(adc.encode(self.volts(channel)), byte_order=order)

        block = self.cached(key, build)
        if self.armed and not self.operation_complete:
            return Reply(block, at=self.busy_until)  # the data leave once acquired
        return block
