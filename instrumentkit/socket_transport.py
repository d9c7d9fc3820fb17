"""A direct TCP transport for raw SCPI sockets (`TCPIP::host::port::SOCKET`, LXI port 5025).

pyvisa-py speaks the same bytes on such resources, but pays ~20 us per `recv` in its
read loop; large binary blocks here go with `recv_into` straight into the caller's
buffer, at the speed of the socket itself.
"""

from __future__ import annotations

import socket
import time

from instrumentkit.transport import TransportBase

__all__ = ["SocketTransport"]

_RECV = 1 << 16


class SocketTransport(TransportBase):
    """Bytes over one TCP connection."""

    def __init__(self, host: str, port: int, *, timeout: float = 5.0, resource: str = "") -> None:
        self.resource = resource or f"TCPIP::{host}::{port}::SOCKET"
        self.timeout = timeout
        try:
            self._sock = socket.create_connection((host, port), timeout=timeout)
        except OSError as error:
            raise ConnectionError(f"cannot connect to {host}:{port}: {error}") from error
        self._sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self._pending = bytearray()

    def write(self, data: bytes) -> None:
        try:
            self._sock.sendall(data)
        except OSError as error:
            raise ConnectionError(f"write failed: {error}") from error

    def _receive(self, deadline: float) -> bytes:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise TimeoutError
        self._sock.settimeout(remaining)
        try:
            chunk = self._sock.recv(_RECV)
        except TimeoutError:
            raise
        except OSError as error:
            raise ConnectionError(f"read failed: {error}") from error
        if not chunk:
            raise ConnectionError("connection closed by the instrument")
        return chunk

    def read_until(self, terminator: bytes) -> bytes:
        deadline = time.monotonic() + self.timeout
        pending = self._pending
        searched = 0
        while (index := pending.find(terminator, searched)) < 0:
            searched = max(0, len(pending) - len(terminator) + 1)
            pending += self._receive(deadline)
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
        sock = self._sock
        while position < total:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError(f"{position} of {total} bytes arrived")
            sock.settimeout(remaining)
            try:
                received = sock.recv_into(buffer[position:])
            except TimeoutError:
                raise TimeoutError(f"{position} of {total} bytes arrived") from None
            except OSError as error:
                raise ConnectionError(
                    f"read failed after {position} of {total} bytes: {error}"
                ) from error
            if received == 0:
                raise ConnectionError(
                    f"connection closed by the instrument after {position} of {total} bytes"
                )
            position += received

    def close(self) -> None:
        self._sock.close()
