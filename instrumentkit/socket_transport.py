"""A direct TCP transport for raw SCPI sockets (`TCPIP::host::port::SOCKET`, LXI port 5025).

pyvisa-py speaks the same bytes on such resources, but pays ~20 us per `recv` in its
read loop; here large binary blocks go with `recv_into` straight into the caller's
buffer, at the speed of the socket itself, and small reads (a reply, a block's header)
are served from one buffered `recv`, so a reply and its block cost one system call, not
one per header field.
"""

from __future__ import annotations

import contextlib
import socket
import time

from instrumentkit.transport import TransportBase, unterminated

__all__ = ["SocketTransport"]

_RECV = 1 << 16
"""Bytes asked of the kernel per buffered read; requests this long or longer bypass the buffer."""
_SLACK = 0.1
"""A read may end up to this fraction of its timeout late, rather than re-set the socket's
timeout (a system call) before every wait."""


class SocketTransport(TransportBase):
    """Bytes over one TCP connection."""

    def __init__(self, host: str, port: int, *, timeout: float = 5.0, resource: str = "") -> None:
        self.resource = resource or f"TCPIP::{host}::{port}::SOCKET"
        self._address = (host, port)
        self._sock = self._connect(timeout)
        self._pending = bytearray()
        self.timeout = timeout

    def _connect(self, timeout: float) -> socket.socket:
        host, port = self._address
        try:
            sock = socket.create_connection((host, port), timeout=timeout)
        except TimeoutError as error:
            raise TimeoutError(f"cannot connect to {host}:{port} within {timeout:g} s") from error
        except OSError as error:
            raise ConnectionError(f"cannot connect to {host}:{port}: {error}") from error
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return sock

    def reopen(self) -> None:
        """Connect again after the link was lost (the instrument rebooted, a cable was
        replugged); what the old connection held is gone."""
        self._sock.close()
        self._sock = self._connect(self._timeout)
        self._pending.clear()
        self._set_socket_timeout(self._timeout)

    # Setting a socket's timeout is a system call: it is set when the transport's timeout
    # changes, and shortened only for the last waits of a read that is running out of time.
    @property
    def timeout(self) -> float:
        return self._timeout

    @timeout.setter
    def timeout(self, seconds: float) -> None:
        self._timeout = seconds
        self._set_socket_timeout(seconds)

    def _set_socket_timeout(self, seconds: float) -> None:
        self._sock.settimeout(seconds)
        self._socket_timeout = seconds

    def _start(self) -> float:
        """The deadline of a read starting now (restoring a timeout a late read shortened)."""
        if self._socket_timeout != self._timeout:
            self._set_socket_timeout(self._timeout)
        return time.monotonic() + self._timeout

    def _before_wait(self, deadline: float, progress: str) -> None:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise TimeoutError(progress)
        if remaining < self._socket_timeout - _SLACK * self._timeout:
            self._set_socket_timeout(remaining)

    def write(self, data: bytes) -> None:
        try:
            self._sock.sendall(data)
        except TimeoutError:  # the instrument stopped reading: its input buffer is full
            raise TimeoutError(f"write of {len(data)} bytes did not complete") from None
        except OSError as error:
            raise ConnectionError(f"write failed: {error}") from error

    def _fill(self, deadline: float, progress: str = "") -> None:
        """Append what the next `recv` brings to the buffer."""
        self._pending += self._receive(deadline, progress)

    def _receive(self, deadline: float, progress: str) -> bytes:
        """What the next `recv` brings, waiting no later than `deadline`."""
        self._before_wait(deadline, progress)
        try:
            chunk = self._sock.recv(_RECV)
        except TimeoutError:
            raise TimeoutError(progress) from None
        except OSError as error:
            raise ConnectionError(f"read failed: {error}") from error
        if not chunk:
            raise ConnectionError("connection closed by the instrument")
        return chunk

    def read_until(self, terminator: bytes) -> bytes:
        pending = self._pending
        index = pending.find(terminator)
        if index < 0:
            deadline = self._start()
            try:
                while index < 0:
                    searched = max(0, len(pending) - len(terminator) + 1)
                    self._fill(deadline)
                    index = pending.find(terminator, searched)
            except TimeoutError:
                raise unterminated(pending, terminator) from None
        message = bytes(pending[:index])
        del pending[: index + len(terminator)]
        return message

    def read_into(self, buffer: memoryview) -> None:
        total = len(buffer)
        pending = self._pending
        if total > len(pending):
            deadline = self._start()
            if total >= _RECV:
                position = len(pending)
                buffer[:position] = pending
                pending.clear()
                self._receive_into(buffer, position, deadline)
                return
            while len(pending) < total:
                self._fill(deadline, f"{len(pending)} of {total} bytes arrived")
        with memoryview(pending) as view:  # no intermediate copy of the slice
            buffer[:] = view[:total]
        del pending[:total]

    def _receive_into(self, buffer: memoryview, position: int, deadline: float) -> None:
        """Receive straight into `buffer[position:]` until it is full."""
        total = len(buffer)
        sock = self._sock
        while position < total:
            progress = f"{position} of {total} bytes arrived"
            self._before_wait(deadline, progress)
            try:
                received = sock.recv_into(buffer[position:])
            except TimeoutError:
                raise TimeoutError(progress) from None
            except OSError as error:
                raise ConnectionError(f"read failed after {progress}: {error}") from error
            if received == 0:
                raise ConnectionError(
                    f"connection closed by the instrument after {position} of {total} bytes"
                )
            position += received

    def drain(self, quiet: float, limit: float) -> int:
        """Drop what is buffered and what arrives until `quiet` s pass without a byte."""
        dropped = len(self._pending)
        self._pending.clear()
        deadline = time.monotonic() + limit
        self._set_socket_timeout(quiet)
        try:
            while time.monotonic() < deadline:
                try:
                    chunk = self._sock.recv(_RECV)
                except TimeoutError:
                    return dropped
                except OSError as error:
                    raise ConnectionError(f"read failed: {error}") from error
                if not chunk:
                    raise ConnectionError("connection closed by the instrument")
                dropped += self._discard(chunk)
            return -1
        finally:
            self._set_socket_timeout(self._timeout)

    def _discard(self, chunk: bytes) -> int:
        """How many of the bytes a drain drops count (subclasses that frame messages parse
        them and count only the payloads)."""
        return len(chunk)

    def abort(self) -> None:
        """Shut the connection down: a `recv` blocked in another thread returns at once."""
        with contextlib.suppress(OSError):
            self._sock.shutdown(socket.SHUT_RDWR)
        self._sock.close()

    def close(self) -> None:
        self._sock.close()
