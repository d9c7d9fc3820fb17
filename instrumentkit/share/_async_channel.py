"""The asynchronous channel of a HiSLIP client: locks, device clear, status, sizes.

A mixin of `Client` (in `_client.py`), kept apart so each file reads as one channel.
"""

from __future__ import annotations

import select
import socket
import struct
import threading
from typing import TYPE_CHECKING

from instrumentkit.share._protocol import (
    FIRST_MESSAGE_ID,
    BufferedChannel,
    ErrorCode,
    FatalCode,
    Header,
    LockResult,
    MessageType,
)

if TYPE_CHECKING:
    from instrumentkit.share._instrument import SharedInstrument
    from instrumentkit.share._limits import Limits
    from instrumentkit.share._usage import UsageRecord

__all__ = ["AsyncChannel", "ProtocolViolation"]

_MAX_ASYNC_PAYLOAD = 4096
_ORDER_WAIT = 2.0  # seconds a status query or lock release waits for earlier messages


class ProtocolViolation(Exception):
    """A client broke HiSLIP: answered with FatalError, then disconnected."""

    def __init__(self, code: FatalCode, message: str) -> None:
        super().__init__(message)
        self.code = code


class AsyncChannel:
    """Serves the asynchronous channel; the state it shares lives on `Client`."""

    if TYPE_CHECKING:
        session_id: int
        instrument: SharedInstrument
        limits: Limits
        usage: UsageRecord | None
        record_id: int
        operator: bool
        async_: socket.socket | None
        closed: threading.Event
        clearing: threading.Event
        client_max_size: int
        messages: int
        _sync_send: threading.Lock
        _reading: threading.Lock
        _busy: threading.Condition
        _watchers: int
        _in_progress: bool
        _pending: bytearray
        sync: socket.socket
        _last_handled: int
        _generation: int
        _channel: BufferedChannel

        def _event(self, kind: str, detail: str) -> None: ...
        def _receive(
            self, channel: BufferedChannel, idle: float | None, max_payload: int
        ) -> tuple[Header, bytes]: ...
        def _complete_clear(self) -> None: ...
        def _fatal(self, sock: socket.socket, violation: ProtocolViolation) -> None: ...
        def close(self, reason: str = "closed") -> None: ...

    # -- the asynchronous channel
    def serve_async(self, sock: socket.socket) -> None:
        self.async_ = sock
        reason = "closed by client"
        try:
            channel = BufferedChannel(sock, self.limits.io_timeout, chunk=_MAX_ASYNC_PAYLOAD)
            while not self.closed.is_set():
                header, payload = self._receive(channel, None, _MAX_ASYNC_PAYLOAD)
                self._answer_async(channel, header, payload)
        except ProtocolViolation as violation:
            reason = f"fatal error: {violation}"
            self._fatal(sock, violation)
        except OSError:
            pass
        finally:
            self.close(reason)

    def _answer_async(self, channel: BufferedChannel, header: Header, payload: bytes) -> None:
        kind = header.type
        instrument = self.instrument
        if kind == MessageType.ASYNC_MAXIMUM_MESSAGE_SIZE:
            if len(payload) != 8:
                raise ProtocolViolation(
                    FatalCode.UNIDENTIFIED,
                    f"AsyncMaximumMessageSize needs an 8-byte payload, got {len(payload)}",
                )
            (self.client_max_size,) = struct.unpack("!Q", payload)
            server_max = struct.pack("!Q", self.limits.max_message_size)
            channel.send(MessageType.ASYNC_MAXIMUM_MESSAGE_SIZE_RESPONSE, 0, 0, server_max)
        elif kind == MessageType.ASYNC_LOCK:
            result = self._lock(header, payload)
            channel.send(MessageType.ASYNC_LOCK_RESPONSE, result)
        elif kind == MessageType.ASYNC_LOCK_INFO:
            locks = instrument.locks
            exclusive = int(locks.exclusive_held())
            channel.send(MessageType.ASYNC_LOCK_INFO_RESPONSE, exclusive, locks.holders())
        elif kind == MessageType.ASYNC_REMOTE_LOCAL_CONTROL:
            # Remote/local state belongs to the instrument's own front panel; shared by
            # many clients, one of them may not switch it: answered, recorded, not forwarded.
            self._event("remote_local", f"request {header.control} answered, not forwarded")
            channel.send(MessageType.ASYNC_REMOTE_LOCAL_RESPONSE)
        elif kind == MessageType.ASYNC_STATUS_QUERY:
            self._wait_handled(header.parameter)
            status = 0
            if instrument.locks.wait_for_access(self.session_id, lambda: True):
                status = instrument.status_byte()
            channel.send(MessageType.ASYNC_STATUS_RESPONSE, status)
        elif kind == MessageType.ASYNC_DEVICE_CLEAR:
            with self._sync_send:  # a reply being sent finishes before the acknowledgement
                self.clearing.set()
                self._generation += 1
            self._event("clear", "device clear: pending messages and replies dropped")
            channel.send(MessageType.ASYNC_DEVICE_CLEAR_ACKNOWLEDGE, 0)
            if self._reading.acquire(blocking=False):
                # The synchronous thread is busy on the instrument: take its DeviceClear
                # Complete here, so the clear does not wait for a slow instrument.
                try:
                    self._await_clear_complete()
                finally:
                    self._reading.release()
        else:
            channel.send(
                MessageType.ERROR, ErrorCode.UNRECOGNIZED_MESSAGE_TYPE, 0,
                f"message type {kind} is not for the asynchronous channel".encode(),
            )  # fmt: skip

    def _wait_handled(self, message_id: int) -> None:
        """Wait (bounded) until the synchronous channel has handled the message the client
        names: a status or a release follows the messages the client sent before it.
        Clients name the last MessageID they sent or the next one (pyvisa-py), so either
        will do. Counting messages received instead would race: the ones named may still
        be in the synchronous socket's buffer, unread."""
        wanted = {message_id, (message_id - 2) & 0xFFFF_FFFF}
        with self._busy:
            if message_id in (0, FIRST_MESSAGE_ID) and self._sync_idle():
                # "Nothing sent yet" (pyvisa-py names 0 or the first ID then) and indeed
                # nothing has arrived; otherwise the first message is on its way.
                return
            self._watchers += 1  # the synchronous thread notifies only while someone waits
            try:
                self._busy.wait_for(
                    lambda: (
                        self.closed.is_set()
                        or (not self._in_progress and self._last_handled in wanted)
                    ),
                    _ORDER_WAIT,
                )
            finally:
                self._watchers -= 1

    def _sync_idle(self) -> bool:
        """Nothing of the client's is on the synchronous channel: no message running or
        half received, nothing buffered, no unread byte in the socket. Called under `_busy`."""
        if self._in_progress or self._pending or self._channel.buffered:
            return False
        try:
            readable, _, _ = select.select([self.sync], [], [], 0)
        except (OSError, ValueError):
            return True  # closed: nothing more will come
        return not readable

    def _await_clear_complete(self) -> None:
        while self.clearing.is_set() and not self.closed.is_set():
            header, _ = self._receive(
                self._channel, self.limits.io_timeout, self.limits.max_message_size
            )
            if header.type == MessageType.DEVICE_CLEAR_COMPLETE:
                self._complete_clear()

    def _lock(self, header: Header, payload: bytes) -> LockResult:
        locks = self.instrument.locks
        if header.control == 1:  # request; parameter: timeout in ms, payload: shared key
            if not self.operator or self.instrument.rules.read_only:
                self._event("refused", "lock request from an observer")
                return LockResult.ERROR
            key = payload.decode("latin-1")
            granted = locks.request(
                self.session_id, key, header.parameter / 1000.0, self.closed.is_set
            )
            if granted is None:
                return LockResult.ERROR
            if not granted:
                self._event("lock_failed", f"not granted within {header.parameter} ms")
                return LockResult.FAILURE
            kind = "shared" if key else "exclusive"
            if self.usage is not None:
                self.usage.lock_granted(self.record_id, self.instrument.name, kind, key)
            return LockResult.SUCCESS
        if header.control == 0:  # release, after the messages sent before it are done
            self._wait_handled(header.parameter)
            released = locks.release(self.session_id)
            if released is None:
                return LockResult.ERROR
            if self.usage is not None:
                self.usage.lock_released(self.record_id, released, "released")
            return LockResult.SUCCESS if released == "exclusive" else LockResult.SUCCESS_SHARED
        return LockResult.ERROR
