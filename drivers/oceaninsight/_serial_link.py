"""The byte link to an Ocean Optics spectrometer's RS-232 port: handshakes and frames.

ACK/NAK after every command, `?` queries answered by a word, EEPROM slots, and `S` frames
received into one reused buffer and converted to float64 with one NumPy assignment.
Protocol details and what could not be confirmed: `_serial_protocol`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np
from numpy.typing import NDArray

from instrumentkit.errors import (
    InstrumentReportedError,
    ProtocolError,
    Timeout,
    ValidationError,
)
from instrumentkit.instrument import Instrument
from instrumentkit.parameters import Setting
from instrumentkit.session import Session
from instrumentkit.transport import Transport
from instrumentkit.validators import Validator

from . import _serial_protocol as wire

if TYPE_CHECKING:
    from instrumentkit.instrument import Component

__all__ = ["OceanSerialLink", "WordSetting"]

_BITS_PER_BYTE_ON_WIRE = 10  # start + 8 data + stop
_ACQUIRE = "S (acquire spectrum)"
_FRAME_END_BYTES = wire.FRAME_END.to_bytes(2, "big")
_STX_AT = 1
_PIXELS_AT = _STX_AT + 1 + wire.HEADER_BYTES
_NO_HEADER = b"\x00"
"""Stands for "no header seen yet": a received frame starts with STX, never with NUL."""


class WordSetting(Setting[int]):
    """A setting sent as `<letter><word>` and read back with `?<letter>` (binary mode)."""

    def __init__(self, letter: str, *, validate: Validator, units: str, doc: str) -> None:
        super().__init__(f"?{letter}", letter, parse=int, validate=validate, units=units, doc=doc)
        self.letter = letter

    def read(self, obj: Component) -> int:
        assert isinstance(obj, OceanSerialLink)
        return obj._query_word(self.letter)

    def __set__(self, obj: Component, value: Any) -> None:
        assert isinstance(obj, OceanSerialLink)
        try:
            word = self.validate(value) if self.validate else value
        except (ValueError, TypeError) as error:
            raise ValidationError(
                f"{self.name} = {value!r} refused before sending: {error}",
                instrument=obj.name,
                command=f"{self.letter} ({self.name})",
            ) from error
        obj._set_word(self.letter, int(word), self.name)


class OceanSerialLink(Instrument):
    """Commands, queries and frames; the spectrometer driver adds settings and spectra."""

    write_termination = ""
    read_termination = ""
    encoding = "latin-1"
    pixels: ClassVar[int] = 2048

    def __init__(
        self, connection: Transport | Session, *, name: str | None = None, log_io: bool = False
    ) -> None:
        super().__init__(connection, name=name, log_io=log_io)
        self._lead = bytearray(1)
        self._lead_view = memoryview(self._lead)
        # Serial ports return what has arrived in one call; others read STX, then the frame.
        self._read_some = getattr(self.session.transport, "read_some_into", None)
        self._baudrate: float | None = None
        # Exposure + transfer time of one frame; None once the settings it depends on change.
        self._frame_seconds_cached: float | None = None
        # What the instrument is set to, as far as this driver has set or read it.
        self._integration_ms = 100
        self._scans = 1
        self._boxcar = 0
        self._checksum = False
        self._compressed = False
        # Plain frames: the buffer and its views, remade by `_plain_layout` when averaging
        # or the checksum changes the frame's shape; the last header parsed.
        self._ones = np.ones(self.pixels)
        self._header = wire.FrameHeader(False, 0, 0, 0, 0)  # read only once one is parsed
        self._plain_layout(False)

    # -- getting back in step (decision 0009)
    def _after_resync(self) -> None:
        """Binary mode, frame options and the settings this driver keeps, sent or read
        again: each is ACKed, which is this protocol's sync (it has no `*OPC?`)."""
        self._send(b"bB", "bB (binary mode)")
        self._send(wire.command("k", int(self._checksum)), "k (checksum mode)")
        self._send(wire.command("G", int(self._compressed)), "G (compression)")
        for letter in ("I", "A", "B"):
            self._query_word(letter)
        self._header_bytes = _NO_HEADER

    # -- handshakes
    def _discard_input(self) -> None:
        """Drop unread bytes so a late or garbled reply is not taken for the next one."""
        reset = getattr(self.session.transport, "reset_input", None)
        if callable(reset):
            reset()

    def _protocol_error(self, message: str, command: str) -> ProtocolError:
        """A reply that broke the framing: the rest of it may still be on the line (a frame
        takes seconds at 9600 baud), so the session is out of step and its next exchange
        first drains the line until it is quiet and sends the frame options again."""
        self._discard_input()
        return self.session.out_of_step(message, command=command)  # names this instrument

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
            self._frame_seconds_cached = None
        elif letter == "A":
            self._scans = word
            self._frame_seconds_cached = None
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

    def _frame_seconds(self) -> float:
        """Exposure plus the frame's time on the wire at the port's baud rate (cached until
        the integration time or averages change, see `_remember`)."""
        seconds = self._frame_seconds_cached
        if seconds is None:
            if self._baudrate is None:
                settings = getattr(self.session.transport, "settings", None)
                self._baudrate = settings.get("baudrate", 0) if isinstance(settings, dict) else 0
            pixel_bytes = 4 if self._scans > 1 else 2
            frame_bytes = 1 + wire.HEADER_BYTES + pixel_bytes * self.pixels + 4
            bits = frame_bytes * _BITS_PER_BYTE_ON_WIRE
            transfer = bits / self._baudrate if self._baudrate else 0.0
            seconds = self._integration_ms * self._scans / 1000.0 + transfer
            self._frame_seconds_cached = seconds
        return seconds

    def _read_frame(
        self, out: NDArray[np.float64], full_scale: int = 0
    ) -> tuple[wire.FrameHeader, bool]:
        """Send `S`, put the frame's pixel values into `out` (float64) and return its header
        and, given the `full_scale` of one scan, whether a pixel reached it in every scan
        (checked under the lock, while the received words are still this frame's).

        The driver knows from its own settings whether pixels come as WORDs or DWORDs;
        the header must agree. The checksum is summed from `out`: float64 holds sums of
        up to 2**53 exactly, and a native array sums far faster than big-endian words.

        One flat function for the usual plain frame: per spectrum, Python calls cost more
        than the NumPy passes (a call chain of frame, receive and saturation helpers cost
        ~7% of the rate in `bench_spectrometer.py`). Rare cases go to helpers.
        """
        command = _ACQUIRE
        session = self.session
        transport = session.transport
        # The whole frame shares one deadline: exposure plus the transfer at the baud rate.
        with session.lock:
            if not session.in_step:  # the write below skips `Session.write_raw`'s check
                session.resync()
            dword = self._scans > 1
            if (dword, self._checksum) != self._layout:
                self._plain_layout(dword)
            timeout = transport.timeout
            seconds = self._frame_seconds_cached
            transport.timeout = timeout + (self._frame_seconds() if seconds is None else seconds)
            try:
                if session.log_io:
                    session.write_raw(b"S", command=command)
                else:  # `Session.write_raw` without its logging, inline
                    try:
                        transport.write(b"S")
                    except OSError as error:
                        raise session.translate_error(error, command) from error
                if self._compressed and not dword:
                    header = self._receive_compressed(session, command, out)
                    return header, bool(full_scale) and self._peak_reached(out, full_scale)
                # STX and the frame into the reused buffer: one port read when the transport
                # can return what has arrived (`read_some_into`), STX checked before more.
                buffer = self._buffer
                view = self._view
                if self._read_some is None:
                    session.read_raw_into(self._frame_lead_view, command=command)
                    got = 1
                else:
                    try:
                        got = self._read_some(view)
                    except OSError as error:
                        raise session.translate_error(error, command) from error
                if buffer[_STX_AT] != wire.STX:
                    self._check_lead(buffer[_STX_AT], command)
                if got < len(view):
                    session.read_raw_into(view[got:], command=command)
                # Frames repeat their header while the settings stay: parse only a new one.
                if buffer.startswith(self._header_bytes, _STX_AT):
                    header = self._header
                else:
                    header = self._new_header(dword, command)
                out[:] = self._pixel_view
                if self._checksum:
                    # A dot product with ones is the sum, exact for integers below 2**53,
                    # and faster than `sum()` (one BLAS call, no pairwise summation).
                    checksum = int(out.dot(self._ones)) & 0xFFFF
                    if not buffer.endswith(_FRAME_END_BYTES + checksum.to_bytes(2, "big")):
                        self._check_trailer(buffer[self._data_end :], checksum, command)
                elif not buffer.endswith(_FRAME_END_BYTES):
                    self._check_trailer(buffer[self._data_end :], 0, command)
                if not full_scale:
                    return header, False
                counts = full_scale * (header.scans or 1)
                if counts == 0xFFFF and not dword:
                    # 16-bit full scale, WORD pixels: look for 0xFFFF among the received
                    # words (a quarter of the bytes of `out`), by argmax and item(): half
                    # the cost of max(), whose reduction machinery outweighs the pass.
                    words = self._native_words
                    return header, words.item(words.argmax()) == 0xFFFF
                return header, self._peak_reached(out, counts)
            except (Timeout, ProtocolError):
                self._discard_input()
                raise
            finally:
                transport.timeout = timeout

    @staticmethod
    def _peak_reached(out: NDArray[np.float64], counts: int) -> bool:
        """Whether a value in `out` is at or above `counts` (argmax and item(), as above)."""
        return bool(out.item(out.argmax()) >= counts)

    def _check_lead(self, lead: int, command: str) -> None:
        """STX starts a frame; ETX says the scan could not be taken."""
        if lead == wire.STX:
            return
        if lead == wire.ETX:
            self._discard_input()
            raise InstrumentReportedError(
                "the instrument could not take the scan (ETX)",
                code=wire.ETX,
                instrument=self.name,
                command=command,
            )
        raise self._protocol_error(
            f"expected STX (0x02) before the frame, got 0x{lead:02X}", command
        )

    def _receive_compressed(
        self, session: Session, command: str, out: NDArray[np.float64]
    ) -> wire.FrameHeader:
        """STX, then a frame whose length is only known once it is decoded."""
        session.read_raw_into(self._lead_view, command=command)
        self._check_lead(self._lead[0], command)
        head = session.read_bytes(wire.HEADER_BYTES, command=command)
        header = self._read_header(head, False, command)  # DWORD data is never compressed
        values, checksum = self._read_compressed(command)
        out[:] = values
        trailer = session.read_bytes(4 if self._checksum else 2, command=command)
        self._check_trailer(trailer, checksum, command)
        return header

    def _plain_layout(self, dword: bool) -> None:
        """(Re)make the frame buffer and the views into it: once per change of the frame's
        shape, not per frame.

        The buffer starts with one pad byte, then STX, the 14-byte header and the pixels,
        which so begin at offset 16: aligned, they convert to float64 twice as fast.
        """
        pixel_bytes = 4 if dword else 2
        self._data_end = _PIXELS_AT + self.pixels * pixel_bytes
        self._buffer = bytearray(self._data_end + (4 if self._checksum else 2))
        self._view = memoryview(self._buffer)[_STX_AT:]
        self._frame_lead_view = self._view[:1]
        self._pixel_view = wire.parse_pixels(self._buffer, dword, self.pixels, _PIXELS_AT)
        # The WORD pixels read in native order: wrong values, but 0xFFFF (the 16-bit full
        # scale) is the same in either order and stays the largest (see `_read_frame`).
        self._native_words = np.frombuffer(self._buffer, "=u2", self.pixels, _PIXELS_AT)
        self._layout = (dword, self._checksum)
        # The next header is parsed and checked against the new WORD/DWORD choice.
        self._header_bytes = _NO_HEADER

    def _new_header(self, dword: bool, command: str) -> wire.FrameHeader:
        """Parse and keep a header unlike the last one."""
        buffer = self._buffer
        header = self._read_header(buffer[_STX_AT + 1 : _PIXELS_AT], dword, command)
        self._header_bytes = bytes(buffer[_STX_AT:_PIXELS_AT])
        self._header = header
        return header

    def _read_header(self, data: bytes | bytearray, dword: bool, command: str) -> wire.FrameHeader:
        """The header, which must agree with the settings on WORD/DWORD pixels."""
        try:
            header = wire.parse_header(data)
        except ValueError as error:
            raise self._protocol_error(f"garbled frame header: {error}", command) from None
        if header.dword_pixels != dword:
            raise self._protocol_error(
                f"frame holds {'DWORD' if header.dword_pixels else 'WORD'} pixels for "
                f"{header.scans} scans, but averages is {self._scans}",
                command,
            )
        if header.pixel_mode != 0:
            raise self._protocol_error(
                f"pixel mode {header.pixel_mode} is set; this driver reads all pixels "
                "(mode 0): send P0 or reset the instrument",
                command,
            )
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
