"""A transport over pyserial, opened with `serial.serial_for_url`.

So `COM3`, `/dev/ttyUSB0`, `socket://host:port`, `loop://`, `rfc2217://` and the
simulated lab's `iksim://` all work the same way.
"""

from __future__ import annotations

import time
from typing import Literal

import serial

from instrumentkit.transport import TransportBase, unterminated

__all__ = ["SerialTransport"]

Parity = Literal["N", "E", "O", "M", "S"]


class SerialTransport(TransportBase):
    """Bytes over a serial port (or anything pyserial opens by URL)."""

    def __init__(
        self,
        url: str,
        *,
        baudrate: int = 9600,
        bytesize: int = 8,
        parity: Parity = "N",
        stopbits: float = 1,
        xonxoff: bool = False,
        rtscts: bool = False,
        dsrdtr: bool = False,
        timeout: float = 5.0,
    ) -> None:
        self.resource = url
        self.timeout = timeout
        try:
            self.port = serial.serial_for_url(
                url,
                baudrate=baudrate,
                bytesize=bytesize,
                parity=parity,
                stopbits=stopbits,
                xonxoff=xonxoff,
                rtscts=rtscts,
                dsrdtr=dsrdtr,
                # Short waits per read call; the overall deadline is ours.
                timeout=min(timeout, 0.05),
                write_timeout=timeout,
            )
        except (serial.SerialException, ValueError) as error:
            raise ConnectionError(f"cannot open {url}: {error}") from error
        self._pending = bytearray()

    @property
    def settings(self) -> dict[str, object]:
        """The port settings in force (baud rate, framing, flow control)."""
        return dict(self.port.get_settings())

    def write(self, data: bytes) -> None:
        try:
            self.port.write(data)
        except serial.SerialTimeoutException as error:
            raise TimeoutError(f"write of {len(data)} bytes did not complete") from error
        except (serial.SerialException, OSError) as error:
            raise ConnectionError(f"write failed: {error}") from error

    def _receive(self, wanted: int, deadline: float) -> bytes:
        if time.monotonic() > deadline:
            raise TimeoutError
        try:
            return self.port.read(wanted)
        except (serial.SerialException, OSError) as error:
            raise ConnectionError(f"read failed: {error}") from error

    def _waiting(self) -> int:
        try:
            return int(self.port.in_waiting)
        except (serial.SerialException, OSError) as error:
            raise ConnectionError(f"port lost: {error}") from error

    def read_until(self, terminator: bytes) -> bytes:
        deadline = time.monotonic() + self.timeout
        pending = self._pending
        searched = 0
        try:
            while (index := pending.find(terminator, searched)) < 0:
                searched = max(0, len(pending) - len(terminator) + 1)
                pending += self._receive(max(1, self._waiting()), deadline)
        except TimeoutError:
            raise unterminated(pending, terminator) from None
        message = bytes(pending[:index])
        del pending[: index + len(terminator)]
        return message

    def read_into(self, buffer: memoryview) -> None:
        total = len(buffer)
        position = min(total, len(self._pending))
        if position:
            buffer[:position] = self._pending[:position]
            del self._pending[:position]
        deadline = time.monotonic() + self.timeout
        while position < total:
            try:
                chunk = self._receive(total - position, deadline)
            except TimeoutError:
                raise TimeoutError(f"{position} of {total} bytes arrived") from None
            buffer[position : position + len(chunk)] = chunk
            position += len(chunk)

    def read_some_into(self, buffer: memoryview) -> int:
        """Put at least one and at most `len(buffer)` bytes into `buffer`; return how many.

        Waits up to `timeout` for the first byte, then takes what one port read brings.
        For a reply whose first byte says whether more follows (a frame after STX, or a
        lone error code): read it all in one call in the usual case, then `read_into` the
        rest, without waiting a whole timeout when only the error code comes.
        """
        total = len(buffer)
        pending = self._pending
        if pending or not total:
            count = min(total, len(pending))
            buffer[:count] = pending[:count]
            del pending[:count]
            return count
        # `_receive` inline, and no deadline check before the first port read: this runs
        # once per frame of a spectrometer, and the port read itself waits (its timeout).
        port = self.port
        deadline = time.monotonic() + self.timeout
        while True:
            try:
                chunk = port.read(total)
            except (serial.SerialException, OSError) as error:
                raise ConnectionError(f"read failed: {error}") from error
            if chunk:
                buffer[: len(chunk)] = chunk
                return len(chunk)
            if time.monotonic() > deadline:
                raise TimeoutError(f"0 of {total} bytes arrived")

    def reset_input(self) -> None:
        """Drop unread bytes (after a timeout, so a late reply is not taken for the next)."""
        self._pending.clear()
        self.port.reset_input_buffer()

    def drain(self, quiet: float, limit: float) -> int:
        """Drop what is buffered and what arrives until `quiet` s pass without a byte."""
        dropped = len(self._pending)
        self._pending.clear()
        deadline = time.monotonic() + limit
        last = time.monotonic()
        while time.monotonic() < deadline:
            chunk = self._receive(max(1, self._waiting()), deadline)
            now = time.monotonic()
            if chunk:
                dropped += len(chunk)
                last = now
            elif now - last >= quiet:
                return dropped
        return -1

    def reopen(self) -> None:
        """Open the port again after the link was lost (a USB adapter unplugged and back),
        with the settings in force; what the old connection held is gone."""
        self.port.close()
        try:
            self.port.open()
        except (serial.SerialException, OSError, ValueError) as error:
            raise ConnectionError(f"cannot open {self.resource} again: {error}") from error
        self._pending.clear()

    def close(self) -> None:
        self.port.close()
