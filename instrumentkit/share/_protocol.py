"""HiSLIP 1.0 wire format (IVI-6.1): the 16-byte header, message types and codes.

Every message is a header, then `payload_length` bytes:

    offset 0  2 bytes  prologue "HS"
    offset 2  1 byte   message type
    offset 3  1 byte   control code
    offset 4  4 bytes  message parameter (big-endian)
    offset 8  8 bytes  payload length (big-endian)
"""

from __future__ import annotations

import select
import socket
import struct
from enum import IntEnum
from typing import NamedTuple

__all__ = [
    "HEADER",
    "PROTOCOL_VERSION",
    "BufferedChannel",
    "ErrorCode",
    "FatalCode",
    "Header",
    "LockResult",
    "MessageType",
    "PeerClosed",
    "encode_header",
    "parse_header",
    "recv_exact",
    "send_message",
]

HEADER = struct.Struct("!2sBBIQ")
PROLOGUE = b"HS"
PROTOCOL_VERSION = 0x0100
"""HiSLIP 1.0: major version in the high byte, minor in the low byte."""
VENDOR_ID = b"IK"
FIRST_MESSAGE_ID = 0xFFFF_FF00
"""The MessageID a client starts from, and restarts from after a device clear."""
ANY_MESSAGE_ID = 0xFFFF_FFFF
"""A server's MessageID for a response that answers no particular message."""


class MessageType(IntEnum):
    INITIALIZE = 0
    INITIALIZE_RESPONSE = 1
    FATAL_ERROR = 2
    ERROR = 3
    ASYNC_LOCK = 4
    ASYNC_LOCK_RESPONSE = 5
    DATA = 6
    DATA_END = 7
    DEVICE_CLEAR_COMPLETE = 8
    DEVICE_CLEAR_ACKNOWLEDGE = 9
    ASYNC_REMOTE_LOCAL_CONTROL = 10
    ASYNC_REMOTE_LOCAL_RESPONSE = 11
    TRIGGER = 12
    INTERRUPTED = 13
    ASYNC_INTERRUPTED = 14
    ASYNC_MAXIMUM_MESSAGE_SIZE = 15
    ASYNC_MAXIMUM_MESSAGE_SIZE_RESPONSE = 16
    ASYNC_INITIALIZE = 17
    ASYNC_INITIALIZE_RESPONSE = 18
    ASYNC_DEVICE_CLEAR = 19
    ASYNC_SERVICE_REQUEST = 20
    ASYNC_STATUS_QUERY = 21
    ASYNC_STATUS_RESPONSE = 22
    ASYNC_DEVICE_CLEAR_ACKNOWLEDGE = 23
    ASYNC_LOCK_INFO = 24
    ASYNC_LOCK_INFO_RESPONSE = 25


class FatalCode(IntEnum):
    UNIDENTIFIED = 0
    POORLY_FORMED_HEADER = 1
    CHANNELS_NOT_ESTABLISHED = 2
    INVALID_INITIALIZATION = 3
    TOO_MANY_CLIENTS = 4


class ErrorCode(IntEnum):
    UNIDENTIFIED = 0
    UNRECOGNIZED_MESSAGE_TYPE = 1
    UNRECOGNIZED_CONTROL_CODE = 2
    UNRECOGNIZED_VENDOR_MESSAGE = 3
    MESSAGE_TOO_LARGE = 4
    REFUSED = 128
    """Device-defined (128-255): the share's access rules refused the message."""
    INSTRUMENT_FAILED = 129
    """Device-defined: the instrument behind the share did not answer or failed."""


class LockResult(IntEnum):
    """AsyncLockResponse control codes."""

    FAILURE = 0
    SUCCESS = 1
    """A lock was granted, or (on release) an exclusive lock was released."""
    SUCCESS_SHARED = 2
    """On release: a shared lock was released."""
    ERROR = 3


class Header(NamedTuple):
    type: int
    control: int
    parameter: int
    length: int


class PeerClosed(ConnectionError):
    """The other end closed the connection between or inside messages."""


def encode_header(kind: int, control: int = 0, parameter: int = 0, length: int = 0) -> bytes:
    return HEADER.pack(PROLOGUE, kind, control, parameter & 0xFFFF_FFFF, length)


def parse_header(raw: bytes) -> Header | None:
    """The header in `raw` (16 bytes), or None when the prologue is not "HS"."""
    prologue, kind, control, parameter, length = HEADER.unpack(raw)
    if prologue != PROLOGUE:
        return None
    return Header(kind, control, parameter, length)


def recv_exact(sock: socket.socket, count: int) -> bytearray:
    """Exactly `count` bytes; PeerClosed when the connection ends first."""
    buffer = bytearray(count)
    view = memoryview(buffer)
    position = 0
    while position < count:
        received = sock.recv_into(view[position:])
        if not received:
            raise PeerClosed(f"connection closed after {position} of {count} bytes")
        position += received
    return buffer


def send_message(
    sock: socket.socket,
    kind: int,
    control: int = 0,
    parameter: int = 0,
    payload: bytes | memoryview = b"",
) -> None:
    """One whole message; header and payload leave in one call, never interleaved."""
    header = encode_header(kind, control, parameter, len(payload))
    if not payload:
        sock.sendall(header)
    elif len(payload) < 65536:
        sock.sendall(header + bytes(payload))
    else:
        sock.sendall(header)
        sock.sendall(payload)


class BufferedChannel:
    """Reads and writes one channel through a non-blocking socket and a read buffer.

    A small message costs one `recv`, not three, and no `poll` before it: a socket with a
    timeout makes Python poll before every `recv` and `send`, two system calls of the
    dozen a shared query costs. The channel waits only when the socket has nothing:
    `wait_for_message` for the next message (the idle limit), `timeout` for the rest of a
    message once it began and for a client slow to take a reply.
    """

    def __init__(self, sock: socket.socket, timeout: float, chunk: int = 65536) -> None:
        sock.setblocking(False)
        self.sock = sock
        self.timeout = timeout
        self.chunk = chunk
        self._buffer = bytearray()

    @property
    def buffered(self) -> int:
        """Bytes received and not yet read."""
        return len(self._buffer)

    def wait_for_message(self, idle: float | None) -> bool:
        """True when bytes are there to read within `idle` seconds (None: no limit)."""
        if self._buffer:
            return True
        readable, _, _ = select.select([self.sock], [], [], idle)
        return bool(readable)

    def _wait(self, writing: bool, progress: str) -> None:
        try:
            ready = (
                select.select([], [self.sock], [], self.timeout)[1]
                if writing
                else (select.select([self.sock], [], [], self.timeout)[0])
            )
        except ValueError:  # the socket was closed by another thread
            raise PeerClosed("closed") from None
        if not ready:
            raise TimeoutError(f"no progress for {self.timeout:g} s ({progress})")

    def _fill(self) -> None:
        self._buffer += self._recv_some()

    def _recv_some(self) -> bytes:
        """What one `recv` brings, waiting up to `timeout` when nothing is there yet."""
        while True:
            try:
                data = self.sock.recv(self.chunk)
                break
            except BlockingIOError:
                self._wait(False, f"{len(self._buffer)} bytes of a message received")
        if not data:
            raise PeerClosed(f"connection closed with {len(self._buffer)} bytes of a message")
        return data

    def _receive_into(self, view: memoryview) -> None:
        position, count = 0, len(view)
        while position < count:
            try:
                received = self.sock.recv_into(view[position:])
            except BlockingIOError:
                self._wait(False, f"{position} of {count} bytes received")
                continue
            if not received:
                raise PeerClosed(f"connection closed after {position} of {count} bytes")
            position += received

    def read_message(self) -> tuple[bytes, bytes | None]:
        """A message's 16 header bytes, and its payload when the same `recv` brought exactly
        that message (the common case, served without the buffer); else None: `read` it."""
        if not self._buffer:
            data = self._recv_some()
            if len(data) >= HEADER.size and int.from_bytes(data[8:16], "big") == len(data) - 16:
                return data[: HEADER.size], data[HEADER.size :]
            self._buffer += data
        return self.read(HEADER.size), None

    def read(self, count: int) -> bytes:
        """Exactly `count` bytes; a large remainder goes straight into its own buffer."""
        buffer = self._buffer
        if len(buffer) >= count:
            data = bytes(buffer[:count])
            del buffer[:count]
            return data
        if count - len(buffer) > self.chunk:
            whole = bytearray(count)
            head = len(buffer)
            whole[:head] = buffer
            buffer.clear()
            self._receive_into(memoryview(whole)[head:])
            return bytes(whole)
        while len(buffer) < count:
            self._fill()
        return self.read(count)

    def send(
        self, kind: int, control: int = 0, parameter: int = 0, payload: bytes | memoryview = b""
    ) -> None:
        """One whole message (header and a small payload in one `send`)."""
        header = encode_header(kind, control, parameter, len(payload))
        if len(payload) < 65536:
            self._send_all(memoryview(header + bytes(payload)))
        else:
            self._send_all(memoryview(header))
            self._send_all(memoryview(payload))

    def _send_all(self, view: memoryview) -> None:
        total = len(view)
        while view:
            try:
                view = view[self.sock.send(view) :]
            except BlockingIOError:
                self._wait(True, f"{total - len(view)} of {total} bytes sent")
