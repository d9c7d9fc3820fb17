"""The asynchronous half of `HislipTransport`: device clear, locks, and the pairing of
AsyncInterrupted with the synchronous channel's Interrupted (IVI-6.1; decision 0803).

A mixin like `_resync.Resync`: what it needs from the transport is declared here.
"""

from __future__ import annotations

import socket
from collections.abc import Callable

from instrumentkit._hislip_codes import overlapped_refusal
from instrumentkit.share._protocol import (
    FIRST_MESSAGE_ID,
    MessageType,
    encode_header,
)

__all__ = ["AsyncChannel"]

_MASK = 0xFFFF_FFFF
_ERROR_KINDS = (MessageType.ERROR, MessageType.FATAL_ERROR)
_LOCK_ANSWERS = {0: "failure", 1: "success", 2: "success", 3: "error"}
"""AsyncLockResponse control codes as pyvisa-py's protocol client names them (2, "success
shared", answers the release of a shared lock)."""

Header = tuple[int, int, int, int]


class AsyncChannel:
    """Messages on the asynchronous channel, for `HislipTransport`."""

    resource: str
    _async: socket.socket | None
    _sock: socket.socket
    _timeout: float
    _ended: str | None
    _pending: bytearray
    _end: int | None
    _next_id: int
    _last_id: int
    _clearing: bool
    _clear_features: int | None
    _rmt_delivered: bool
    _discarding: bool
    _awaiting_async_interrupted: bool
    _server_error: tuple[int, int, bytes] | None

    # The transport's methods used here (annotations only: HislipTransport defines them).
    _receive_whole: Callable[[socket.socket], tuple[Header, bytes]]
    _raise_server_error: Callable[[], None]
    _start: Callable[[], float]
    _fill: Callable[..., None]

    def _async_exchange(
        self, kind: int, control: int, parameter: int, payload: bytes = b""
    ) -> tuple[int, bytes]:
        """Send one asynchronous message; the (control code, payload) of its response.
        Service requests and AsyncInterrupted on the way are taken in."""
        sock = self._async_channel()
        sock.sendall(encode_header(kind, control, parameter, len(payload)) + payload)
        answer = (
            MessageType.ASYNC_DEVICE_CLEAR_ACKNOWLEDGE
            if kind == MessageType.ASYNC_DEVICE_CLEAR
            else kind + 1
        )
        while True:
            header, reply = self._async_message(sock)
            if header.type == answer:
                return header.control, reply

    def _async_channel(self) -> socket.socket:
        if self._ended is not None:
            raise ConnectionError(self._ended)
        if self._async is None:
            raise ConnectionError("the HiSLIP asynchronous channel is closed")
        self._async.settimeout(self._timeout)
        return self._async

    def _async_message(self, sock: socket.socket) -> tuple[Header, bytes]:
        """The next asynchronous message; the server's errors are raised, AsyncInterrupted
        is paired with the synchronous channel's Interrupted (IVI-6.1 3.1.2 rule 4)."""
        header, payload = self._receive_whole(sock)
        if header.type == MessageType.ASYNC_INTERRUPTED:
            if self._awaiting_async_interrupted:
                self._awaiting_async_interrupted = False
            else:  # Interrupted is still ahead on the synchronous channel
                self._discarding = True
        elif header.type in _ERROR_KINDS:
            self._server_error = (header.type, header.control, payload)
            self._raise_server_error()
        return header, payload

    def _wait_for_async_interrupted(self) -> None:
        sock = self._async_channel()
        while self._awaiting_async_interrupted:
            try:
                self._async_message(sock)
            except TimeoutError:
                raise TimeoutError(
                    f"the server sent Interrupted but no AsyncInterrupted within "
                    f"{self._timeout:g} s"
                ) from None

    def clear(self) -> None:
        """HiSLIP device clear: the server drops what is pending for this client, the
        instrument's input is cleared, message IDs start again. The features asked for are
        synchronized mode whatever the server prefers (0: the only mode this client speaks);
        ConnectionError if the server keeps overlapped mode."""
        self._async_exchange(MessageType.ASYNC_DEVICE_CLEAR, 0, 0)
        self._clearing = True
        self._clear_features = None
        try:
            self._pending.clear()
            self._end = None
            self._sock.sendall(encode_header(MessageType.DEVICE_CLEAR_COMPLETE, 0))
            deadline = self._start()
            while self._clear_features is None:
                self._fill(deadline, "waiting for DeviceClearAcknowledge")
        finally:
            self._clearing = False
            self._server_error = None
        self._pending.clear()
        self._end = None
        self._next_id = FIRST_MESSAGE_ID
        self._last_id = (FIRST_MESSAGE_ID - 2) & _MASK
        self._rmt_delivered = self._discarding = self._awaiting_async_interrupted = False
        if self._clear_features & 1:
            raise overlapped_refusal(self.resource)

    def async_lock_request(self, timeout: float, lock_string: str = "") -> str:
        """Ask for the lock (`lock_string` "" exclusive, else shared by that key), waiting up
        to `timeout` s: "success", "failure" (not granted in time) or "error". The
        answer may take `timeout`, so the channel waits that long plus `self.timeout`."""
        previous = self._timeout
        self._timeout = timeout + previous
        try:
            control, _ = self._async_exchange(
                MessageType.ASYNC_LOCK, 1, round(timeout * 1000), lock_string.encode("latin-1")
            )
        finally:
            self._timeout = previous
        return _LOCK_ANSWERS.get(control, "error")

    def async_lock_release(self) -> str:
        """Give the lock back once the messages sent before are done: "success" or "error"."""
        control, _ = self._async_exchange(MessageType.ASYNC_LOCK, 0, self._last_id)
        return _LOCK_ANSWERS.get(control, "error")
