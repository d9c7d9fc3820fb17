"""Simulated Ocean Optics USB2000+/USB4000/HR4000 speaking their RS-232 command set.

A model for the simulated lab (`instrumentkit.sim`): binary-mode commands with ACK/NAK,
`?` queries, EEPROM slots holding the serial number and wavelength calibration, and
`S` frames (STX, header, WORD or DWORD pixels, 0xFFFD, optional checksum, optional
compression) built by `_serial_protocol`. Spectra come from `physics.Spectrograph`:
Gaussian lines of a Hg-Ar lamp on a baseline, dark current growing with integration
time, shot and read noise, saturation at the A/D converter's top code. The frame leaves
after `averages x integration time` on the device's clock.

The lamp hangs on the spectrometer's lamp-enable line (`J1`/`J0`), so a script can take
a dark reference with the light off, as on a real bench; `light_on` does the same from a
test. ASCII mode (`aA`) and baud-rate changes (`K`) are not modelled: they answer NAK.
Beyond the kit's faults (`device.faults.inject(kind, on="S")`), `corrupt_frames = n`
flips one pixel bit in the next n frames, which only the checksum can catch.
"""

from __future__ import annotations

import struct
from collections.abc import Sequence
from typing import ClassVar

import numpy as np
from numpy.typing import NDArray

from instrumentkit.sim import Clock, Device
from instrumentkit.sim.physics import EmissionLine, Spectrograph

from . import _serial_protocol as wire

__all__ = ["HG_AR_LINES", "HR4000Model", "OceanSerialModel", "USB2000PlusModel", "USB4000Model"]

HG_AR_LINES: tuple[EmissionLine, ...] = (
    EmissionLine(404.66, 6e4, 1.2),
    EmissionLine(435.83, 1.5e5, 1.2),
    EmissionLine(546.07, 2.0e5, 1.2),
    EmissionLine(696.54, 8e4, 1.4),
    EmissionLine(763.51, 1.2e5, 1.4),
    EmissionLine(811.53, 9e4, 1.4),
)
"""Mercury-argon lamp lines: centre (nm), peak (counts per second), FWHM (nm)."""

_WORD_ARGS = {"A": 1, "B": 1, "G": 1, "I": 1, "J": 1, "K": 1, "P": 1, "T": 1, "k": 1}
_NO_ARGS = {"Q", "S", "v"}
_QUERYABLE = {"A", "B", "G", "I", "J", "P", "T", "k"}
FIRMWARE_VERSION = 3000


class OceanSerialModel(Device):
    """The RS-232 side of an Ocean Optics spectrometer; subclasses set the detector."""

    message_end = b""
    reply_end = b""

    pixels: ClassVar[int] = 2048
    bits: ClassVar[int] = 16
    integration_limits: ClassVar[tuple[int, int]] = (1, 65535)
    wavelength_coefficients: ClassVar[tuple[float, ...]] = (340.0, 0.37, -2.0e-5, 0.0)
    serial_number: ClassVar[str] = "USB2+F00001"
    bias: ClassVar[float] = 1000.0

    def __init__(
        self,
        *,
        lines: Sequence[EmissionLine] | None = None,
        clock: Clock | None = None,
        seed: int | None = None,
        latency: float = 0.0,
    ) -> None:
        super().__init__(clock=clock, seed=seed, latency=latency)
        full_scale = float((1 << self.bits) - 1)
        self.spectrograph = Spectrograph(
            pixels=self.pixels,
            wavelength_coefficients=self.wavelength_coefficients,
            lines=tuple(HG_AR_LINES if lines is None else lines),
            baseline=400.0,
            dark_rate=2000.0,
            read_noise=6.0,
            bias=self.bias,
            full_well=full_scale,
            bits=self.bits,
        )
        self.light_on = True
        self.corrupt_frames = 0
        self.frames_sent = 0
        self._pending = bytearray()
        self.binary_mode = True
        self.initialize()

    def initialize(self) -> None:
        """Power-up operating parameters (what `Q` restores; binary mode is kept)."""
        self.integration_ms = 100
        self.scans = 1
        self.boxcar = 0
        self.compressed = False
        self.checksum = False
        self.pixel_mode = 0
        self.trigger_mode = 0
        self.lamp = 1

    def eeprom(self, slot: int) -> str | None:
        """Slot 0 serial number, 1..4 wavelength coefficients of order 0..3."""
        if slot == 0:
            return self.serial_number
        if 1 <= slot <= 4:
            return f"{self.wavelength_coefficients[slot - 1]:.9g}"
        return None

    # -- bytes in
    def host_connected(self) -> None:
        super().host_connected()
        self._pending.clear()

    def receive(self, data: bytes) -> None:
        self._pending += data
        while self._pending:
            size = self._command_size(self._pending)
            if size is None or size > len(self._pending):
                return
            message = bytes(self._pending[:size])
            del self._pending[:size]
            self._dispatch(message)

    @staticmethod
    def _command_size(pending: bytearray) -> int | None:
        """Bytes the command at the front needs (None: wait for its second byte)."""
        letter = chr(pending[0])
        if letter in ("?", "a", "b"):
            if len(pending) < 2:
                return None
            return 4 if letter == "?" and pending[1] == ord("x") else 2
        if letter in _WORD_ARGS:
            return 1 + 2 * _WORD_ARGS[letter]
        return 1

    def command_matches(self, pattern: str, command: str) -> bool:
        """Faults name commands by letter, case-sensitive (`k` is not `K`): "S", "?x", "I"."""
        return command.split(" ", 1)[0] == pattern.strip()

    def _dispatch(self, message: bytes) -> None:
        letter = chr(message[0])
        words = (
            struct.unpack(f">{(len(message) - 1) // 2}H", message[1:])
            if letter in _WORD_ARGS
            else ()
        )
        if letter == "?":
            name = message[:2].decode("latin-1")
            if name == "?x":
                name += f" {int.from_bytes(message[2:4], 'big')}"
        else:
            name = message.decode("latin-1") if not words else f"{letter} {words[0]}"
        self.current_message = name
        self.faults.command_arrived(name)
        self._act(letter, message, words)

    def _ack(self, accepted: bool = True, extra: bytes = b"") -> None:
        self.send(bytes([wire.ACK if accepted else wire.NAK]) + (extra if accepted else b""))

    def _act(self, letter: str, message: bytes, words: tuple[int, ...]) -> None:
        if letter == "b":
            self.binary_mode = message == b"bB" or self.binary_mode
            self._ack(message == b"bB")
        elif letter == "?":
            self._query(message)
        elif letter == "S":
            self._acquire()
        elif letter == "Q":
            self.initialize()
            self._ack()
        elif letter == "v":
            self._ack(extra=struct.pack(">H", FIRMWARE_VERSION))
        elif letter in _WORD_ARGS:
            self._ack(self._set(letter, words[0]))
        else:  # unknown letters, ASCII mode (aA): refused
            self._ack(False)

    def _set(self, letter: str, word: int) -> bool:
        low, high = self.integration_limits
        if letter == "I" and low <= word <= high:
            self.integration_ms = word
        elif letter == "A" and 1 <= word <= 5000:
            self.scans = word
        elif letter == "B" and 0 <= word <= 500:
            self.boxcar = word
        elif letter == "G":
            self.compressed = word != 0
        elif letter == "k":
            self.checksum = word != 0
        elif letter == "J":
            self.lamp = int(word != 0)
        elif letter in ("P", "T") and word == 0:  # other pixel and trigger modes: not modelled
            setattr(self, "pixel_mode" if letter == "P" else "trigger_mode", 0)
        else:
            return False
        return True

    def _query(self, message: bytes) -> None:
        target = chr(message[1])
        if target == "x":
            text = self.eeprom(int.from_bytes(message[2:4], "big"))
            if text is None:
                self._ack(False)
            else:
                self._ack(extra=wire.eeprom_text(text))
            return
        values = {
            "A": self.scans,
            "B": self.boxcar,
            "G": int(self.compressed),
            "I": self.integration_ms,
            "J": self.lamp,
            "P": self.pixel_mode,
            "T": self.trigger_mode,
            "k": int(self.checksum),
        }
        if target in _QUERYABLE:
            self._ack(extra=struct.pack(">H", values[target]))
        else:
            self._ack(False)

    # -- spectra
    def spectrum(self) -> NDArray[np.uint32]:
        """The summed counts of `scans` exposures, boxcar-smoothed as the firmware does."""
        seconds = self.integration_ms / 1000.0
        shutter = self.light_on and bool(self.lamp)
        total = np.zeros(self.pixels, dtype=np.uint32)
        for _ in range(self.scans):
            total += self.spectrograph.expose(seconds, self.rng, shutter_open=shutter).counts
        if self.boxcar:
            total = _boxcar(total, self.boxcar)
        return total

    def _acquire(self) -> None:
        counts = self.spectrum()
        frame = wire.encode_frame(
            counts,
            scans=self.scans,
            integration_ms=self.integration_ms,
            baseline=int(self.bias),
            compressed=self.compressed,
            with_checksum=self.checksum,
        )
        if self.corrupt_frames > 0:
            self.corrupt_frames -= 1
            damaged = bytearray(frame)
            damaged[1 + wire.HEADER_BYTES + 1] ^= 0x01  # low bit of pixel 0: framing intact
            frame = bytes(damaged)
        self.frames_sent += 1
        self.send(frame, delay=self.scans * self.integration_ms / 1000.0)


def _boxcar(values: NDArray[np.uint32], half_width: int) -> NDArray[np.uint32]:
    """Mean over pixel +-half_width (fewer at the ends), truncated to an integer."""
    padded = np.concatenate(([0], np.cumsum(values, dtype=np.int64)))
    index = np.arange(values.shape[0])
    low = np.maximum(index - half_width, 0)
    high = np.minimum(index + half_width + 1, values.shape[0])
    return ((padded[high] - padded[low]) // (high - low)).astype(np.uint32)


class USB2000PlusModel(OceanSerialModel):
    """USB2000+: 2048-pixel ILX511B, 16 bits, 1..65535 ms."""


class USB4000Model(OceanSerialModel):
    """USB4000: 3648-pixel TCD1304AP, 16 bits, 4..10000 ms."""

    pixels = 3648
    integration_limits = (4, 10000)
    wavelength_coefficients = (200.0, 0.26, -1.0e-6, 0.0)
    serial_number = "USB4C00001"


class HR4000Model(USB4000Model):
    """HR4000: 3648-pixel TCD1304AP, 14 bits."""

    bits = 14
    bias = 250.0
    wavelength_coefficients = (500.0, 0.1, -2.0e-6, 0.0)
    serial_number = "HR4C00001"
