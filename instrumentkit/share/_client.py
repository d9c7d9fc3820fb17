"""One HiSLIP client of a shared instrument: its synchronous and asynchronous channels.

Each channel runs in its own thread. The synchronous one carries the client's program
messages (Data/DataEnd) to the instrument and the replies back, each tagged with the
MessageID of the message it answers; the asynchronous one serves locks, device clears,
status queries and the message-size exchange while the other may be busy. When a device
clear arrives while the synchronous thread waits on a slow instrument, the asynchronous
thread reads the client's DeviceClearComplete itself (the two share the channel under a
lock), so a clear never waits for the instrument.
"""

from __future__ import annotations

import contextlib
import logging
import socket
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING

from instrumentkit.share._async_channel import AsyncChannel, ProtocolViolation
from instrumentkit.share._instrument import SharedInstrument
from instrumentkit.share._limits import Limits
from instrumentkit.share._messages import is_query
from instrumentkit.share._protocol import (
    FIRST_MESSAGE_ID,
    BufferedChannel,
    ErrorCode,
    FatalCode,
    Header,
    MessageType,
    PeerClosed,
    parse_header,
    send_message,
)

if TYPE_CHECKING:
    from instrumentkit.share._usage import UsageRecord

__all__ = ["Client", "ProtocolViolation"]

log = logging.getLogger("instrumentkit.share")

_TRIGGER = b"*TRG"  # a Trigger message reaches SCPI instruments as this command
_SMALLEST_CHUNK = 64
_DEFAULT_CLIENT_MAX = 1 << 20  # what VISA assumes until the client says otherwise


class Client(AsyncChannel):
    def __init__(
        self,
        session_id: int,
        instrument: SharedInstrument,
        sync: socket.socket,
        address: tuple[str, int],
        *,
        limits: Limits,
        usage: UsageRecord | None,
        on_close: Callable[[Client], None],
    ) -> None:
        self.session_id = session_id
        self.instrument = instrument
        self.sync = sync
        self.async_: socket.socket | None = None
        self.address = address
        self.limits = limits
        self.usage = usage
        self.operator = instrument.is_operator(address[0])
        self._on_close = on_close
        self.closed = threading.Event()
        self.clearing = threading.Event()
        self._sync_send = threading.Lock()
        self._close_lock = threading.Lock()
        self._busy = threading.Condition()
        self._in_progress = False  # a message is on the instrument (lock release waits)
        self._watchers = 0  # threads waiting on `_busy` for a message to be handled
        # MessageID of the last message run; before any, the one before the first.
        self._last_handled = (FIRST_MESSAGE_ID - 2) & 0xFFFF_FFFF
        self._generation = 0  # bumped by a device clear: older messages answer no one
        self._channel = BufferedChannel(sync, limits.io_timeout)
        self._reading = threading.Lock()  # held by whoever reads the synchronous channel
        self._pending = bytearray()  # Data parts of the program message being assembled
        self.client_max_size = _DEFAULT_CLIENT_MAX
        self.messages = self.bytes_in = self.bytes_out = 0
        self.record_id = 0
        if usage is not None:
            self.record_id = usage.connection_opened(
                instrument.name, address[0], address[1], session_id, self.role
            )

    @property
    def role(self) -> str:
        return "operator" if self.operator else "observer"

    def __repr__(self) -> str:
        return f"Client({self.session_id}, {self.instrument.name!r}, {self.address[0]})"

    # -- the record
    def _event(self, kind: str, detail: str) -> None:
        log.info("%s %s:%d: %s: %s", self.instrument.name, *self.address, kind, detail)
        if self.usage is not None:
            self.usage.event(
                kind, detail, client=self.address[0], instrument=self.instrument.name,
                connection=self.record_id,
            )  # fmt: skip

    # -- receiving
    def _receive(
        self, channel: BufferedChannel, idle: float | None, max_payload: int
    ) -> tuple[Header, bytes]:
        try:
            if not channel.wait_for_message(idle):
                raise TimeoutError(f"idle: no message for {idle:g} s")
        except ValueError:  # the socket was closed by another thread
            raise PeerClosed("closed") from None
        raw, payload = channel.read_message()
        header = parse_header(raw)
        if header is None:
            raise ProtocolViolation(
                FatalCode.POORLY_FORMED_HEADER,
                f"a message header must start with 'HS', got {raw[:2]!r}",
            )
        if header.length > max_payload:
            raise ProtocolViolation(
                FatalCode.UNIDENTIFIED,
                f"message payload of {header.length} bytes is over this server's maximum "
                f"of {max_payload}; ask AsyncMaximumMessageSize and send Data in parts",
            )
        if payload is not None:
            return header, payload
        return header, channel.read(header.length) if header.length else b""

    # -- the synchronous channel
    def serve_sync(self) -> None:
        reason = "closed by client"
        try:
            while not self.closed.is_set():
                message, message_id, generation, trigger = self._next_message()
                self._run(message, message_id, generation, trigger=trigger)
        except ProtocolViolation as violation:
            reason = f"fatal error: {violation}"
            self._fatal(self.sync, violation)
        except TimeoutError as error:
            reason = str(error) or f"no bytes for {self.limits.io_timeout:g} s inside a message"
            self._fatal(self.sync, ProtocolViolation(FatalCode.UNIDENTIFIED, f"closed: {reason}"))
        except OSError:
            pass
        finally:
            self.close(reason)

    def _next_message(self) -> tuple[bytes, int, int, bool]:
        """The next whole program message, its MessageID, the clear generation it belongs
        to, and whether it is a Trigger; control messages on the way are answered here."""
        limits = self.limits
        with self._reading:
            while True:
                header, payload = self._receive(
                    self._channel, limits.idle_timeout, limits.max_message_size
                )
                kind = header.type
                if kind == MessageType.DEVICE_CLEAR_COMPLETE:
                    self._complete_clear()
                elif self.clearing.is_set():
                    continue  # thrown away until the client completes its device clear
                elif (
                    kind == MessageType.DATA_END
                    and not self._pending
                    and len(payload) <= limits.max_program_size
                ):
                    self._mark_in_progress()  # a message in one part: no assembling
                    return payload, header.parameter, self._generation, False
                elif kind in (MessageType.DATA, MessageType.DATA_END):
                    self._pending += payload
                    if len(self._pending) > limits.max_program_size:
                        raise ProtocolViolation(
                            FatalCode.UNIDENTIFIED,
                            f"program message over {limits.max_program_size} bytes",
                        )
                    if kind == MessageType.DATA_END:
                        message = bytes(self._pending)
                        self._mark_in_progress()
                        self._pending.clear()
                        return message, header.parameter, self._generation, False
                elif kind == MessageType.TRIGGER:
                    self._mark_in_progress()
                    return _TRIGGER, header.parameter, self._generation, True
                elif kind == MessageType.FATAL_ERROR:
                    raise PeerClosed(f"client sent FatalError: {payload[:200]!r}")
                elif kind == MessageType.ERROR:
                    self._event("error", f"client error {header.control}: {payload[:200]!r}")
                else:
                    self._error(
                        ErrorCode.UNRECOGNIZED_MESSAGE_TYPE,
                        f"message type {kind} is not for the synchronous channel",
                    )

    def _complete_clear(self) -> None:
        self._pending.clear()
        with self._busy:  # the client numbers its messages from the start again
            self._last_handled = (FIRST_MESSAGE_ID - 2) & 0xFFFF_FFFF
        with self._sync_send:
            self._generation += 1  # whatever is still running answers no one
            self._channel.send(MessageType.DEVICE_CLEAR_ACKNOWLEDGE, 0)
        self.clearing.clear()

    def _refusal(self, message: bytes) -> str | None:
        rules = self.instrument.rules
        if self.operator and not rules.read_only:
            return None
        if rules.protocol == "scpi" and is_query(message):
            return None
        if rules.read_only:
            return f"instrument {self.instrument.name!r} is read-only: queries only"
        return (
            f"{self.address[0]} is an observer of {self.instrument.name!r}: queries only "
            "(ask the share's owner to list your network under operators)"
        )

    def _mark_in_progress(self) -> None:
        """From the moment a message is whole until it has run (status queries wait)."""
        with self._busy:
            self._in_progress = True

    def _run(self, message: bytes, message_id: int, generation: int, *, trigger: bool) -> None:
        """Run one message on the instrument and send its reply, in this thread: the
        asynchronous channel completes a device clear meanwhile if it must."""
        self.messages += 1
        self.bytes_in += len(message)
        try:
            refused = self._refusal(message)
            if refused or (trigger and self.instrument.rules.protocol != "scpi"):
                detail = refused or "Trigger is only forwarded to SCPI instruments (as *TRG)"
                self._event("refused", f"{detail}: {message[:60]!r}")
                self._error(ErrorCode.REFUSED, detail)
            else:
                self._exchange(message, message_id, generation)
        finally:
            with self._busy:
                self._in_progress = False
                self._last_handled = message_id
                if self._watchers:
                    self._busy.notify_all()

    def _exchange(self, message: bytes, message_id: int, generation: int) -> None:
        instrument = self.instrument

        def stop() -> bool:
            return self.closed.is_set() or self._generation != generation

        locks = instrument.locks
        if locks.held and not locks.wait_for_access(self.session_id, stop):
            return
        try:
            reply = instrument.exchange(message)
        except TimeoutError:
            detail = (
                f"{instrument.name} ({instrument.resource}) did not answer "
                f"{message[:60]!r} within {instrument.rules.timeout:g} s"
            )
            self._event("error", detail)
            self._error(ErrorCode.INSTRUMENT_FAILED, detail)
            return
        except OSError as error:
            detail = f"{instrument.name} ({instrument.resource}) failed: {error}"
            self._event("error", detail)
            self._error(ErrorCode.INSTRUMENT_FAILED, detail)
            return
        if reply is not None:
            self._send_reply(reply, message_id, generation)

    def _send_reply(self, reply: bytes, message_id: int, generation: int) -> None:
        chunk = max(_SMALLEST_CHUNK, min(self.client_max_size, self.limits.max_message_size))
        with self._sync_send:
            if self.clearing.is_set() or generation != self._generation:
                return
            # Counted first: once the client has its reply it may close at once, and the
            # record is written by whichever channel sees the close.
            self.bytes_out += len(reply)
            if len(reply) <= chunk:
                self._channel.send(MessageType.DATA_END, 0, message_id, reply)
                return
            view = memoryview(reply)
            while len(view) > chunk:
                self._channel.send(MessageType.DATA, 0, message_id, view[:chunk])
                view = view[chunk:]
            self._channel.send(MessageType.DATA_END, 0, message_id, view)

    def _error(self, code: ErrorCode, text: str) -> None:
        with self._sync_send:
            self._channel.send(MessageType.ERROR, code, 0, text.encode()[:1024])

    # -- ending
    def _fatal(self, sock: socket.socket, violation: ProtocolViolation) -> None:
        self._event("fatal", str(violation))
        try:
            sock.settimeout(1.0)
            send_message(sock, MessageType.FATAL_ERROR, violation.code, 0, str(violation).encode())
        except OSError:
            pass

    def close(self, reason: str = "closed") -> None:
        with self._close_lock:
            if self.closed.is_set():
                return
            self.closed.set()
        for sock in (self.sync, self.async_):
            if sock is not None:
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)
                sock.close()
        with self._busy:
            self._busy.notify_all()  # status queries and releases waiting on this client
        for kind in self.instrument.locks.release_all(self.session_id):
            if self.usage is not None:
                self.usage.lock_released(self.record_id, kind, "disconnected")
        if self.usage is not None:
            self.usage.connection_closed(
                self.record_id, self.messages, self.bytes_in, self.bytes_out, reason
            )
        self._on_close(self)
