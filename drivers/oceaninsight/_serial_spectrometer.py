"""The shared driver of Ocean Optics array spectrometers on their RS-232 port.

Protocol details and what could not be confirmed: `_serial_protocol`. This module adds
the I/O: ACK/NAK handshakes, frames read into one reusable buffer and parsed with
`np.frombuffer`, checksums, dark references and batches.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np
from numpy.typing import NDArray

from instrumentkit.connect import ConnectionOptions
from instrumentkit.data import Spectrum, now_ns
from instrumentkit.errors import (
    InstrumentReportedError,
    ProtocolError,
    Timeout,
    ValidationError,
)
from instrumentkit.instrument import Instrument
from instrumentkit.interfaces import Spectrometer
from instrumentkit.parameters import Setting
from instrumentkit.session import Session
from instrumentkit.transport import Transport
from instrumentkit.validators import Range, Validator

from .._spectrometer import (
    DarkReference,
    SpectrumBatch,
    batch_spectrum,
    require_dark,
    subtract_dark,
)
from . import _serial_protocol as wire

if TYPE_CHECKING:
    from instrumentkit.instrument import Component

__all__ = ["OceanSerialSpectrometer", "WordSetting"]

_BITS_PER_BYTE_ON_WIRE = 10  # start + 8 data + stop
_ACQUIRE = "S (acquire spectrum)"


class WordSetting(Setting[int]):
    """A setting sent as `<letter><word>` and read back with `?<letter>` (binary mode)."""

    def __init__(self, letter: str, *, validate: Validator, units: str, doc: str) -> None:
        super().__init__(f"?{letter}", letter, parse=int, validate=validate, units=units, doc=doc)
        self.letter = letter

    def read(self, obj: Component) -> int:
        assert isinstance(obj, OceanSerialSpectrometer)
        return obj._query_word(self.letter)

    def __set__(self, obj: Component, value: Any) -> None:
        assert isinstance(obj, OceanSerialSpectrometer)
        try:
            word = self.validate(value) if self.validate else value
        except (ValueError, TypeError) as error:
            raise ValidationError(
                f"{self.name} = {value!r} refused before sending: {error}",
                instrument=obj.name,
                command=f"{self.letter} ({self.name})",
            ) from error
        obj._set_word(self.letter, int(word), self.name)


class OceanSerialSpectrometer(Instrument):
    """Base of the Ocean Optics RS-232 drivers; subclasses give the detector's numbers."""

    write_termination = ""
    read_termination = ""
    encoding = "latin-1"
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
        self._buffer = bytearray()
        self._view = memoryview(self._buffer)
        self._lead = bytearray(1)
        self._lead_view = memoryview(self._lead)
        self._baudrate: float | None = None
        self._connect()

    # -- handshakes
    def _discard_input(self) -> None:
        """Drop unread bytes so a late or garbled reply is not taken for the next one."""
        reset = getattr(self.session.transport, "reset_input", None)
        if callable(reset):
            reset()

    def _protocol_error(self, message: str, command: str) -> ProtocolError:
        self._discard_input()
        return ProtocolError(message, instrument=self.name, command=command)

    def _expect_ack(self, command: str) -> None:
        reply = self.session.read_bytes(1, command=command)[0]
        if reply == wire.ACK:
            return
        if reply == wire.NAK:
            raise InstrumentReportedError(
                "the instrument refused the command (NAK): unknown command or value out of "
                "its range",
                code=wire.NAK,
                instrument=self.name,
                command=command,
            )
        raise self._protocol_error(
            f"expected ACK (0x06) or NAK (0x15), got 0x{reply:02X}; the instrument may be in "
            "ASCII mode or at another baud rate",
            command,
        )

    def _send(self, data: bytes, command: str) -> None:
        with self.session.lock:
            self.session.write_raw(data, command=command)
            self._expect_ack(command)

    def _set_word(self, letter: str, word: int, label: str) -> None:
        self._send(wire.command(letter, word), f"{letter} {word} ({label})")
        self._remember(letter, word)

    def _remember(self, letter: str, word: int) -> None:
        if letter == "I":
            self._integration_ms = word
        elif letter == "A":
            self._scans = word
        elif letter == "B":
            self._boxcar = word

    def _query_word(self, letter: str) -> int:
        command = f"?{letter}"
        with self.session.lock:
            self.session.write_raw(command.encode("ascii"), command=command)
            self._expect_ack(command)
            word = int.from_bytes(self.session.read_bytes(2, command=command), "big")
        self._remember(letter, word)
        return word

    def _read_eeprom(self, slot: int) -> str:
        command = f"?x {slot} (read EEPROM slot)"
        with self.session.lock:
            self.session.write_raw(wire.command("?x", slot), command=command)
            self._expect_ack(command)
            return wire.parse_eeprom_text(self.session.read_bytes(16, command=command))

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

    def _frame_seconds(self) -> float:
        """Exposure plus the frame's time on the wire at the port's baud rate."""
        if self._baudrate is None:
            settings = getattr(self.session.transport, "settings", None)
            self._baudrate = settings.get("baudrate", 0) if isinstance(settings, dict) else 0
        pixel_bytes = 4 if self._scans > 1 else 2
        frame_bytes = 1 + wire.HEADER_BYTES + pixel_bytes * self.pixels + 4
        transfer = frame_bytes * _BITS_PER_BYTE_ON_WIRE / self._baudrate if self._baudrate else 0.0
        return self._integration_ms * self._scans / 1000.0 + transfer

    def _read_frame(self, out: NDArray[np.float64]) -> wire.FrameHeader:
        """Send `S`, put the frame's pixel values into `out` (float64) and return its header.

        The driver knows from its own settings whether pixels come as WORDs or DWORDs;
        the header must agree. The checksum is summed from `out`: float64 holds sums of
        up to 2**53 exactly, and a native array sums far faster than big-endian words.
        """
        command = _ACQUIRE
        session = self.session
        transport = session.transport
        # The whole frame shares one deadline: exposure plus the transfer at the baud rate.
        # (Inline rather than context managers: this runs once per spectrum.)
        with session.lock:
            timeout = transport.timeout
            transport.timeout = timeout + self._frame_seconds()
            try:
                return self._receive_frame(session, command, out)
            except (Timeout, ProtocolError):
                self._discard_input()
                raise
            finally:
                transport.timeout = timeout

    def _receive_frame(
        self, session: Session, command: str, out: NDArray[np.float64]
    ) -> wire.FrameHeader:
        """`S`, STX, then the frame: one read if uncompressed (its size is known)."""
        session.write_raw(b"S", command=command)
        session.read_raw_into(self._lead_view, command=command)
        lead = self._lead[0]
        if lead == wire.ETX:
            self._discard_input()
            raise InstrumentReportedError(
                "the instrument could not take the scan (ETX)",
                code=wire.ETX,
                instrument=self.name,
                command=command,
            )
        if lead != wire.STX:
            raise self._protocol_error(
                f"expected STX (0x02) before the frame, got 0x{lead:02X}", command
            )
        dword = self._scans > 1
        if self._compressed and not dword:
            head = session.read_bytes(wire.HEADER_BYTES, command=command)
            header = self._read_header(head, command)
            values, checksum = self._read_compressed(command)
            out[:] = values
            trailer = session.read_bytes(4 if self._checksum else 2, command=command)
            self._check_trailer(trailer, checksum, command)
            return header
        return self._read_plain(dword, command, out)

    def _read_header(self, data: bytes | bytearray, command: str) -> wire.FrameHeader:
        try:
            header = wire.parse_header(data)
        except ValueError as error:
            raise self._protocol_error(f"garbled frame header: {error}", command) from None
        if header.pixel_mode != 0:
            raise self._protocol_error(
                f"pixel mode {header.pixel_mode} is set; this driver reads all pixels "
                "(mode 0): send P0 or reset the instrument",
                command,
            )
        return header

    def _read_plain(self, dword: bool, command: str, out: NDArray[np.float64]) -> wire.FrameHeader:
        count = self.pixels
        end = wire.HEADER_BYTES + count * (4 if dword else 2)
        size = end + (4 if self._checksum else 2)
        if len(self._buffer) != size:
            self._buffer = bytearray(size)
            self._view = memoryview(self._buffer)
        buffer = self._buffer
        self.session.read_raw_into(self._view, command=command)
        header = self._read_header(buffer, command)
        if header.dword_pixels != dword:
            raise self._protocol_error(
                f"frame holds {'DWORD' if header.dword_pixels else 'WORD'} pixels for "
                f"{header.scans} scans, but averages is {self._scans}",
                command,
            )
        out[:] = wire.parse_pixels(buffer, dword, count, wire.HEADER_BYTES)
        checksum = int(out.sum()) & 0xFFFF if self._checksum else 0
        self._check_trailer(buffer[end:], checksum, command)
        return header

    def _read_compressed(self, command: str) -> tuple[NDArray[Any], int]:
        received = bytearray(self.session.read_bytes(1 + self.pixels, command=command))
        while True:
            try:
                values, _, checksum = wire.decompress(bytes(received), self.pixels)
            except wire.NeedMoreBytes as more:
                received += self.session.read_bytes(more.count, command=command)
            except ValueError as error:
                raise self._protocol_error(str(error), command) from None
            else:
                return values, checksum

    def _check_trailer(self, trailer: bytes | bytearray, checksum: int, command: str) -> None:
        end = int.from_bytes(trailer[:2], "big")
        if end != wire.FRAME_END:
            raise self._protocol_error(
                f"frame does not end with 0xFFFD (got 0x{end:04X}): bytes were lost or added",
                command,
            )
        if self._checksum:
            sent = int.from_bytes(trailer[2:4], "big")
            if sent != checksum:
                raise self._protocol_error(
                    f"checksum mismatch: frame says 0x{sent:04X}, data sums to 0x{checksum:04X}"
                    " (corrupted in transit); acquire again",
                    command,
                )

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
        intensities = np.empty(self.pixels, dtype=np.float64)
        header = self._read_frame(intensities)
        stamp = now_ns()
        scans = header.scans or 1
        saturated = bool(intensities.max() >= self.full_scale * scans)
        if scans != 1:
            intensities /= scans
        if dark is not None:
            intensities = subtract_dark(intensities, dark.intensities)
        return Spectrum(
            wavelengths=self._wavelengths,
            intensities=intensities,
            units="counts",
            timestamp_ns=stamp,
            integration_time=header.integration_ms / 1000.0,
            saturated=saturated,
            dark_corrected=dark is not None,
            meta=self._meta(header),
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
            header = self._read_frame(raw[row])
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

    def capture_dark(self) -> Spectrum:
        """Measure and store a dark reference (block the light first) for the present
        integration time, averages and boxcar."""
        settings = self._dark_settings()
        spectrum = self.acquire()
        self._dark = DarkReference(spectrum.intensities, settings, "counts", spectrum.timestamp_ns)
        return spectrum

    @property
    def dark_reference(self) -> DarkReference | None:
        """Get the stored dark reference, or None."""
        return self._dark

    def clear_dark(self) -> None:
        """Forget the stored dark reference."""
        self._dark = None

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
