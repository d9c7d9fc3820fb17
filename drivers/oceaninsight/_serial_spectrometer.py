"""The shared driver of Ocean Optics array spectrometers on their RS-232 port.

Settings, connection, spectra, dark references and batches; the byte link (handshakes,
frames, checksums) is `_serial_link`, the protocol and what could not be confirmed
`_serial_protocol`.

Enumeration review (2026-12-06): the RS-232 command set has no enumerated settings, only
numbers and on/off words (integration time, averages, boxcar, compression, checksum,
lamp); the pixel count that sizes each spectrum is the model's constant, never taken
from a reply.
"""

from __future__ import annotations

from time import time_ns
from typing import Any, ClassVar

import numpy as np
from numpy.typing import NDArray

from instrumentkit.connect import ConnectionOptions
from instrumentkit.data import Spectrum, now_ns
from instrumentkit.errors import ProtocolError, ValidationError
from instrumentkit.interfaces import Spectrometer
from instrumentkit.session import Session
from instrumentkit.transport import Transport
from instrumentkit.validators import Range

from .._spectrometer import (
    DarkReference,
    DarkReferenceHolder,
    SpectrumBatch,
    batch_spectrum,
    require_dark,
    subtract_dark,
)
from . import _serial_protocol as wire
from ._serial_link import OceanSerialLink, WordSetting

__all__ = ["OceanSerialSpectrometer", "WordSetting"]


class OceanSerialSpectrometer(OceanSerialLink, DarkReferenceHolder):
    """Base of the Ocean Optics RS-232 drivers; subclasses give the detector's numbers."""

    default_timeout = 2.0
    # Power-up settings of the serial port (data sheet: 9600 baud, 8 data bits, no
    # parity, 1 stop bit, no handshaking); `K` raises the rate, which this driver leaves.
    connection_defaults: ClassVar[ConnectionOptions] = {
        "baudrate": 9600,
        "bytesize": 8,
        "parity": "N",
        "stopbits": 1,
        "xonxoff": False,
        "rtscts": False,
    }
    interfaces = (Spectrometer,)

    pixels: ClassVar[int] = 2048
    full_scale: ClassVar[int] = 65535
    """Counts of one scan at which a pixel is saturated (the A/D converter's maximum)."""
    detector: ClassVar[str] = ""
    checksum_frames: ClassVar[bool] = True
    """Ask for the 16-bit checksum after every frame (`k1`) at connect."""
    compress_frames: ClassVar[bool] = False
    """Ask for difference-compressed frames (`G1`) at connect (fewer bytes on slow links)."""

    integration_time = WordSetting(
        "I",
        validate=Range(1, 65535, integer=True),
        units="ms",
        doc="Set the integration time of one scan, in milliseconds.",
    )
    averages = WordSetting(
        "A",
        validate=Range(1, 5000, integer=True),
        units="",
        doc="Set how many scans the instrument adds per spectrum (acquire() divides them "
        "back to a mean).",
    )
    boxcar = WordSetting(
        "B",
        validate=Range(0, 500, integer=True),
        units="pixels",
        doc="Set the boxcar half-width: each pixel is averaged with this many neighbours on "
        "each side.",
    )

    def __init__(
        self, connection: Transport | Session, *, name: str | None = None, log_io: bool = False
    ) -> None:
        super().__init__(connection, name=name, log_io=log_io)
        self._dark: DarkReference | None = None
        self._connect()

    def _connect(self) -> None:
        self._send(b"bB", "bB (binary mode)")
        self._send(wire.command("k", int(self.checksum_frames)), "k (checksum mode)")
        self._send(wire.command("G", int(self.compress_frames)), "G (compression)")
        self._checksum = self.checksum_frames
        self._compressed = self.compress_frames
        self.serial_number = self._read_eeprom(0)
        texts = [self._read_eeprom(slot) for slot in (1, 2, 3, 4)]
        try:
            self.wavelength_coefficients = tuple(float(t) for t in texts)
        except ValueError as error:
            raise ProtocolError(
                f"wavelength calibration slots 1-4 hold {texts!r}, not numbers",
                instrument=self.name,
                command="?x (read EEPROM slot)",
            ) from error
        # np.polyval wants the highest order first; the EEPROM holds order 0 first.
        axis = np.polyval(self.wavelength_coefficients[::-1], np.arange(self.pixels, dtype=float))
        axis.flags.writeable = False
        self._wavelengths = axis
        self._integration_ms = self._query_word("I")
        self._scans = self._query_word("A")
        self._boxcar = self._query_word("B")

    # -- frame options
    @property
    def compression(self) -> bool:
        """Get whether frames are difference-compressed (`G`)."""
        return self._compressed

    @compression.setter
    def compression(self, enabled: bool) -> None:
        self._send(wire.command("G", int(bool(enabled))), "G (compression)")
        self._compressed = bool(enabled)

    @property
    def checksum(self) -> bool:
        """Get whether every frame ends with a checksum that is verified (`k`)."""
        return self._checksum

    @checksum.setter
    def checksum(self, enabled: bool) -> None:
        self._send(wire.command("k", int(bool(enabled))), "k (checksum mode)")
        self._checksum = bool(enabled)

    def set_lamp(self, on: bool) -> None:
        """Set the lamp-enable line (`J`), which switches a light source wired to it."""
        self._send(wire.command("J", int(bool(on))), "J (lamp enable)")

    # -- spectra
    def wavelengths(self) -> NDArray[np.float64]:
        """Get the wavelength of every pixel in nm, from the stored calibration polynomial."""
        return self._wavelengths

    dark_units = "counts"

    def _dark_settings(self) -> dict[str, int]:
        return {
            "integration_time_ms": self._integration_ms,
            "averages": self._scans,
            "boxcar": self._boxcar,
        }

    def _meta(self, header: wire.FrameHeader) -> dict[str, Any]:
        return {"scans": header.scans, "boxcar": self._boxcar, "baseline": header.baseline}

    def acquire(self, *, dark_corrected: bool = False) -> Spectrum:
        """Measure one spectrum: the mean counts of the accumulated scans per pixel.

        `saturated` is True when a pixel reached the detector's full scale in every
        accumulated scan (a sum cannot show one saturated scan among several).
        """
        dark = (
            require_dark(self._dark, self._dark_settings(), self.name) if dark_corrected else None
        )
        intensities = np.empty(self.pixels)
        header, saturated = self._read_frame(intensities, self.full_scale)
        stamp = time_ns()  # now_ns() without its Python frame
        scans = header.scans or 1
        if scans != 1:
            intensities /= scans
        if dark is not None:
            intensities = subtract_dark(intensities, dark.intensities)
        # Positional (the field order of Spectrum): keywords cost ~0.5 us per spectrum.
        return Spectrum(
            self._wavelengths,
            intensities,
            "counts",
            "nm",
            stamp,
            header.integration_ms / 1000.0,
            saturated,
            dark is not None,
            {"scans": header.scans, "boxcar": self._boxcar, "baseline": header.baseline},
        )

    def acquire_many(self, n: int, *, dark_corrected: bool = False) -> SpectrumBatch:
        """Measure `n` spectra into one (n, pixels) array; the dark is subtracted from the
        whole stack at once."""
        if isinstance(n, bool) or not isinstance(n, int) or n < 1:
            raise ValidationError(
                f"n must be a positive whole number, got {n!r}", instrument=self.name
            )
        dark = (
            require_dark(self._dark, self._dark_settings(), self.name) if dark_corrected else None
        )
        raw = np.empty((n, self.pixels), dtype=np.float64)
        stamps = np.empty(n, dtype=np.int64)
        header = None
        for row in range(n):
            header, _ = self._read_frame(raw[row])
            stamps[row] = now_ns()
        assert header is not None
        scans = max(header.scans, 1)
        saturated = raw.max(axis=1) >= self.full_scale * scans
        stack = np.divide(raw, scans, out=raw)
        if dark is not None:
            stack = subtract_dark(stack, dark.intensities, out=stack)
        return batch_spectrum(
            self._wavelengths,
            stack,
            stamps,
            saturated,
            units="counts",
            integration_time=header.integration_ms / 1000.0,
            dark_corrected=dark is not None,
            meta=self._meta(header),
        )

    def snapshot(self) -> dict[str, Any]:
        state = super().snapshot()
        state.update(
            serial_number=self.serial_number,
            detector=self.detector,
            pixels=self.pixels,
            wavelength_coefficients=list(self.wavelength_coefficients),
            compression=self._compressed,
            checksum=self._checksum,
        )
        return state

    def reset(self) -> None:
        """Return the operating parameters to their power-up values (`Q`), then restore
        this driver's checksum and compression choices (binary mode survives `Q`)."""
        self._send(b"Q", "Q (initialize)")
        self._dark = None
        self._send(wire.command("k", int(self._checksum)), "k (checksum mode)")
        self._send(wire.command("G", int(self._compressed)), "G (compression)")
        for letter in ("I", "A", "B"):
            self._query_word(letter)
