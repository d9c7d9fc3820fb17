"""The Tektronix waveform-transfer dialect for the simulated lab, shared by the TDS and MSO models.

`DATa:SOUrce|ENCdg|WIDth|STARt|STOP`, the preamble fields (`WFMPre:` or `WFMOutpre:`
`BYT_Nr?`, `BYT_Or?`, `ENCdg?`, `BN_Fmt?`, `NR_Pt?`, `XINcr?`, `XZEro?`, `PT_Off?`,
`YMUlt?`, `YOFf?`, `YZEro?`, also as one compound query), `CURVe?` (a definite block of
1- or 2-byte codes, signed or not, MSB or LSB first, or ASCII), `ACQuire:STATE`,
`ACQuire:STOPAfter`, `BUSY?`, `HEADer`, `VERBose` and the event queue (`EVMsg?`, `EVENT?`:
SCPI errors under their positive Tektronix event codes). Codes follow the manuals:
25 codes per division in 1-byte data (x256 in 2-byte), `volts = (code - YOFf) * YMUlt + YZEro`.
Enumerations are answered in their long form, as with `VERBose ON`.
Not modelled: `HEADer ON` replies (headers are never sent), math and reference sources.

Reply formats: the preamble's real numbers as the programmer manuals' examples and
captured replies show them, `nr3` per series: TDS `2.0E-6`, `-2.2528E4`, `0.0E0`
(`compact_nr3`), MSO/DPO4000 `4.0000E-9`, `-20.0000E-6`, `6.4000E+3`, `0.0000`
(`engineering_nr3`). Not confirmed from the manuals: the MSO's form for other numbers
between 1 and 1000 (`2.5000`, like its zero), and settings, which are answered
`+1.000000000E-01` (the manuals suggest the series' preamble forms).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any, ClassVar

from instrumentkit.sim import ScpiError, Setting, binary_block, command
from instrumentkit.sim.physics import ADC

from .._scope_sim import ScopeModel

__all__ = ["Keyword", "TektronixScopeModel", "compact_nr3", "engineering_nr3"]

_DIVISION_CODES = 25
"""Codes per vertical division in 1-byte data."""
_ENCODINGS = {  # DATa:ENCdg short form -> (binary?, signed?, byte order)
    "RIB": (True, True, ">"),
    "RPB": (True, False, ">"),
    "SRI": (True, True, "<"),
    "SRP": (True, False, "<"),
    "ASCI": (False, True, ">"),
}


def compact_nr3(value: float) -> str:
    """TDS style: the fewest digits (one decimal at least), exponent unpadded: 2.0E-6, 0.0E0."""
    mantissa, exponent = f"{value:.6E}".split("E")
    whole, fraction = mantissa.split(".")
    return f"{whole}.{fraction.rstrip('0') or '0'}E{int(exponent)}"


def engineering_nr3(value: float) -> str:
    """MSO style: engineering notation, four decimals: 4.0000E-9, 6.4000E+3, 0.0000."""
    if value == 0:
        return "0.0000"
    exponent = math.floor(math.log10(abs(value)) / 3) * 3
    mantissa = f"{value / 10**exponent:.4f}"
    if abs(float(mantissa)) >= 1000:  # 999.99996 rounds up into the next group
        exponent += 3
        mantissa = f"{value / 10**exponent:.4f}"
    return f"{mantissa}E{exponent:+d}" if exponent else mantissa


def _short(word: str) -> str:
    return "".join(c for c in word if not c.islower())


class Keyword(Setting[str]):
    """An enumerated setting answered in its long form, like a Tektronix scope with VERBose ON."""

    def format(self, value: Any) -> str:
        for choice in self.choices or ():
            if _short(str(choice)).upper() == value:
                return str(choice).upper()
        return str(value)


class TektronixScopeModel(ScopeModel):
    """Base of the Tektronix models; subclasses add their channel, horizontal and trigger tables.

    The preamble and the CURVe? block's shape are computed from Settings alone and kept
    until one changes (`per_settings`): `record_points()`, `sample_interval()`,
    `trigger_settings()` and the `channel_*` methods must read nothing else.
    """

    preamble_header = "WFMOutpre"
    nr3: ClassVar[Callable[[float], str]] = staticmethod(engineering_nr3)
    """How this series writes the preamble's real numbers."""

    header = Setting("HEADer", False)
    verbose = Setting("VERBose", True)
    data_source = Keyword("DATa:SOUrce", "CH1", choices=("CH1", "CH2", "CH3", "CH4"))
    encoding = Keyword(
        "DATa:ENCdg",
        "RIBinary",
        choices=("ASCIi", "RIBinary", "RPBinary", "SRIbinary", "SRPbinary"),
    )
    width = Setting("DATa:WIDth", 1, limits=(1, 2))
    start = Setting("DATa:STARt", 1, limits=(1, 1_000_000_000))
    stop = Setting("DATa:STOP", 10_000, limits=(1, 1_000_000_000))
    stop_after = Keyword("ACQuire:STOPAfter", "RUNSTop", choices=("RUNSTop", "SEQuence"))

    def __init__(self, **options: Any) -> None:
        super().__init__(**options)
        fields = {
            "BYT_Nr": lambda: str(self.width),
            "BYT_Or": lambda: "MSB" if _ENCODINGS[self.encoding][2] == ">" else "LSB",
            "ENCdg": lambda: "BINARY" if _ENCODINGS[self.encoding][0] else "ASCII",
            "BN_Fmt": lambda: "RI" if _ENCODINGS[self.encoding][1] else "RP",
            "NR_Pt": lambda: str(self._span()[1] - self._span()[0]),
            "XINcr": lambda: self.nr3(self.sample_interval()),
            "XZEro": lambda: self.nr3(self._x_zero()),
            "PT_Off": lambda: "0",
            "YMUlt": lambda: self.nr3(self._y_scale()[0]),
            "YOFf": lambda: self.nr3(self._y_scale()[1]),
            "YZEro": lambda: self.nr3(self._y_scale()[2]),
            "WFId": lambda: f'"{self.data_source}, {self.record_points()} points"',
        }
        for name, answer in fields.items():
            self.add_command(f"{self.preamble_header}:{name}?", self._preamble_field(name, answer))

    def _preamble_field(self, name: str, answer: Callable[[], str]) -> Callable[[], str]:
        """The handler of one preamble query: settings only, so kept until one changes."""
        key = ("preamble", name)
        return lambda: self.per_settings(key, answer)

    # -- what each series names differently
    def channel_scale(self, channel: int) -> float:
        raise NotImplementedError

    def channel_position(self, channel: int) -> float:
        raise NotImplementedError

    def channel_offset(self, channel: int) -> float:
        return 0.0

    def channel_enabled(self, channel: int) -> bool:
        raise NotImplementedError

    def enabled_channels(self) -> list[int]:
        return [ch for ch in range(1, self.analog_channels + 1) if self.channel_enabled(ch)]

    # -- run control
    @command("ACQuire:STATE")
    def _cmd_set_state(self, state: str) -> None:
        word = state.strip().upper()
        if word in ("RUN", "ON", "1"):
            if self.stop_after == "SEQ":
                self.arm_single()
            else:
                self.start_running()
        elif word in ("STOP", "OFF", "0"):
            self.halt()
        else:
            raise ScpiError(-224)

    @command("ACQuire:STATE?")
    def _cmd_state(self) -> str:
        return "1" if self.acquiring else "0"

    @command("BUSY?")
    def _cmd_busy(self) -> str:
        return "1" if self.armed and not self.operation_complete else "0"

    # -- the event queue: Tektronix reports SCPI errors by their positive event codes
    @command("EVMsg?")
    def _cmd_event_message(self) -> str:
        if not self.errors:
            return '1,"No events to report - queue empty"'
        code, message = self.errors.popleft()
        return f'{abs(code)},"{message}"'

    @command("EVENT?")
    def _cmd_event_code(self) -> str:
        return str(abs(self.errors.popleft()[0])) if self.errors else "1"

    # -- the waveform transfer
    def _y_scale(self) -> tuple[float, float, float]:
        """(YMUlt, YOFf, YZEro) of the selected source and transfer width."""
        return self.per_settings("y_scale", self._compute_y_scale)

    def _compute_y_scale(self) -> tuple[float, float, float]:
        channel = int(self.data_source[-1])
        per_code = self.channel_scale(channel) / _DIVISION_CODES / 256 ** (self.width - 1)
        y_off = self.channel_position(channel) * _DIVISION_CODES * 256 ** (self.width - 1)
        if not _ENCODINGS[self.encoding][1]:
            y_off += 2 ** (8 * self.width - 1)  # unsigned codes sit half the range higher
        return per_code, y_off, self.channel_offset(channel)

    def _span(self) -> tuple[int, int]:
        """First and one-past-last record index the transfer sends."""
        return self.per_settings("span", self._compute_span)

    def _compute_span(self) -> tuple[int, int]:
        points = self.record_points()
        first = min(self.start, points) - 1
        return first, max(first + 1, min(self.stop, points))

    def _x_zero(self) -> float:
        fraction = self.trigger_settings()["trigger_position"]
        pre = min(self.record_points() - 1, max(0, round(fraction * self.record_points())))
        return (self._span()[0] - pre) * self.sample_interval()

    def _curve_key(self) -> tuple[tuple[Any, ...], bool]:
        """What a CURVe? block is made of besides the record; whether its source is on."""
        channel = int(self.data_source[-1])
        first, last = self._span()
        key = (channel, self.encoding, self.width, first, last, self._y_scale())
        return key, channel in self.enabled_channels()

    @command("CURVe?")
    def _cmd_curve(self) -> bytes:
        key, displayed = self.per_settings("curve", self._curve_key)
        if not displayed:
            raise ScpiError(-221, "Settings conflict; source waveform is not displayed")
        channel, encoding, _, first, last, _ = key
        binary, signed, order = _ENCODINGS[encoding]

        def build() -> bytes:
            per_code, y_off, y_zero = self._y_scale()
            levels = 256**self.width
            adc = ADC(
                bits=8 * self.width,
                full_scale=levels * per_code,
                center=y_zero - (y_off - (0 if signed else levels // 2)) * per_code,
                unsigned=not signed,
            )
            codes = adc.encode(self.volts(channel)[first:last])
            if not binary:
                return ",".join(map(str, codes.tolist())).encode()
            return binary_block(codes, byte_order=order)

        return self.cached(key, build)
