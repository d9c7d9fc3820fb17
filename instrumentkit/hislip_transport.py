"""A direct HiSLIP client (`TCPIP::host::hislip0::INSTR`, IVI-6.1), synchronized mode.

Opened by `open_transport` for HiSLIP resources unless a pyvisa `backend=` is given
(decision 0801). The synchronous channel carries Data/DataEnd messages numbered by
MessageID; a reply tagged with another message's ID (a late answer to a message that
timed out) is dropped with the parts of it buffered before, never read as the answer to a
later one. The asynchronous channel carries device clear, locks and the maximum message
size. Like `SocketTransport`, whose timeout handling it shares, a small reply costs one
buffered `recv`, and a large block's payload is received straight into the caller's buffer.
How it meets servers we did not write (versions, modes, Interrupted, RMT-delivered, errors):
decision 0803.
"""

from __future__ import annotations

import contextlib
import socket
import struct

from instrumentkit._hislip_async import AsyncChannel
from instrumentkit._hislip_codes import (
    describe_error,
    describe_message,
    negotiated_version,
    prefers_overlap,
)
from instrumentkit.share._protocol import (
    ANY_MESSAGE_ID,
    FIRST_MESSAGE_ID,
    HEADER,
    PROTOCOL_VERSION,
    VENDOR_ID,
    MessageType,
    encode_header,
    parse_header,
    recv_exact,
)
from instrumentkit.socket_transport import SocketTransport
from instrumentkit.transport import PeerReportedError

__all__ = ["DEFAULT_HISLIP_PORT", "HislipTransport"]

DEFAULT_HISLIP_PORT = 4880
_ASK_MAX_SIZE = 1 << 24
"""The largest message payload this client accepts: blocks arrive in few messages."""
_RECV = 1 << 16
_MASK = 0xFFFF_FFFF
_DATA_END = int(MessageType.DATA_END)
_DATA_KINDS = (MessageType.DATA, MessageType.DATA_END)
_ERROR_KINDS = (MessageType.ERROR, MessageType.FATAL_ERROR)
_RMT_DELIVERED = 1
"""Control bit 0 of Data/DataEnd: the last reply was delivered whole (IVI-6.1 3.1.1)."""


class HislipTransport(AsyncChannel, SocketTransport):
    """Program messages and replies over one HiSLIP session (two TCP connections)."""

    def __init__(
        self,
        host: str,
        port: int = DEFAULT_HISLIP_PORT,
        sub_address: str = "hislip0",
        *,
        timeout: float = 5.0,
        resource: str = "",
    ) -> None:
        super().__init__(
            host, port, timeout=timeout,
            resource=resource or f"TCPIP::{host}::{sub_address},{port}::INSTR",
        )  # fmt: skip
        self._raw = bytearray()  # received on the synchronous channel, not yet parsed
        self._left = 0  # payload bytes of the message being parsed still to come
        self._kind = MessageType.DATA  # type of that message
        self._sink: bytearray | None = None  # where its payload goes (None: dropped)
        self._end: int | None = None  # bytes of `_pending` up to the reply's DataEnd
        self._server_error: tuple[int, int, bytes] | None = None  # (type, code, text)
        self._error_code = 0  # of the Error/FatalError being received
        self._dropped = 0  # reply bytes thrown away (late replies, drains)
        self._drops = 0  # times buffered reply bytes were thrown away (a read searches anew)
        self._clear_features: int | None = None  # DeviceClearAcknowledge's, once it came
        self._clearing = False
        self._draining = False  # every reply arriving is dropped and counted, even "any ID"
        self._rmt_delivered = False  # a reply was read whole since the last message sent
        self._discarding = False  # AsyncInterrupted came first: replies go until Interrupted
        self._awaiting_async_interrupted = False  # Interrupted came first: send nothing yet
        self._ended: str | None = None  # the FatalError that ended the session
        self.protocol_version = PROTOCOL_VERSION
        self._next_id = FIRST_MESSAGE_ID
        self._last_id = (FIRST_MESSAGE_ID - 2) & _MASK  # "nothing sent yet"
        self._async: socket.socket | None = None
        try:
            self.session_id, overlapped = self._initialize(sub_address)
            self._async = socket.create_connection((host, port), timeout=timeout)
            self._async.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            self._async_exchange(MessageType.ASYNC_INITIALIZE, 0, self.session_id)
            server_max = self._async_exchange(
                MessageType.ASYNC_MAXIMUM_MESSAGE_SIZE, 0, 0, struct.pack("!Q", _ASK_MAX_SIZE)
            )[1]
            # The server's size is of a whole message, its header included.
            self.max_payload = max(1, int.from_bytes(server_max[:8], "big") - HEADER.size)
            if overlapped:  # the session starts in the server's mode: ask for ours
                self.clear()
        except BaseException:
            self.close()
            raise

    # -- opening
    def _initialize(self, sub_address: str) -> tuple[int, bool]:
        """The session ID, and whether the server prefers overlapped mode."""
        name = sub_address.encode("latin-1")
        self._sock.sendall(
            struct.pack("!2sBBH2sQ", b"HS", MessageType.INITIALIZE, 0, PROTOCOL_VERSION,
                        VENDOR_ID, len(name)) + name
        )  # fmt: skip
        header, payload = self._receive_whole(self._sock)
        if header.type != MessageType.INITIALIZE_RESPONSE:
            raise ConnectionError(
                f"the HiSLIP server refused to open {sub_address!r}: "
                f"{describe_message(header.type, header.control, payload)}"
            )
        self.protocol_version = negotiated_version(self.resource, header.parameter)
        return header.parameter & 0xFFFF, prefers_overlap(self.resource, header.control)

    def _receive_whole(self, sock: socket.socket) -> tuple[tuple[int, int, int, int], bytes]:
        header = parse_header(bytes(recv_exact(sock, HEADER.size)))
        if header is None:
            raise ConnectionError(f"{self.resource} does not speak HiSLIP (no 'HS' prologue)")
        return header, bytes(recv_exact(sock, header.length)) if header.length else b""

    # -- writing: one program message, in Data parts and a DataEnd
    def write(self, data: bytes) -> None:
        if self._pending or self._end is not None or self._sink is not None:
            self._forget_reply()
        if self._ended is not None:
            raise ConnectionError(self._ended)
        if self._awaiting_async_interrupted:
            self._wait_for_async_interrupted()
        message_id = self._next_id
        # RMT-delivered rides on the first message after a reply was read whole, once.
        rmt = _RMT_DELIVERED if self._rmt_delivered else 0
        try:
            if len(data) <= self.max_payload:  # the common case: one DataEnd, one send
                header = HEADER.pack(b"HS", _DATA_END, rmt, message_id, len(data))
                self._sock.sendall(header + data)
            else:
                view = memoryview(data)
                while len(view) > self.max_payload:
                    self._send(MessageType.DATA, rmt, message_id, view[: self.max_payload])
                    view = view[self.max_payload :]
                    rmt = 0
                self._send(MessageType.DATA_END, rmt, message_id, view)
        except OSError as error:
            raise ConnectionError(f"write failed: {error}") from error
        self._rmt_delivered = False
        self._last_id = message_id
        self._next_id = (message_id + 2) & _MASK

    def _forget_reply(self) -> None:
        """An unread reply, and the rest of it still arriving, answer an earlier message."""
        self._pending.clear()
        self._end = None
        if self._sink is self._pending:
            self._sink = None

    def _send(self, kind: int, control: int, message_id: int, payload: memoryview) -> None:
        header = encode_header(kind, control, message_id, len(payload))
        if len(payload) < _RECV:
            self._sock.sendall(header + payload)
        else:
            self._sock.sendall(header)
            self._sock.sendall(payload)

    # -- reading: payloads of the current reply in `_pending`
    def _fill(self, deadline: float, progress: str = "") -> None:
        self._absorb(self._receive(deadline, progress))

    def _lone_reply(self, chunk: bytes) -> bool:
        """Whether `chunk` is exactly one whole DataEnd answering the last message (the
        common case, served without the general parse)."""
        if self._left or self._raw or len(chunk) < HEADER.size or self._clearing:
            return False
        if self._discarding:
            return False
        prologue, kind, _, message_id, length = HEADER.unpack_from(chunk)
        return (
            kind == _DATA_END
            and length == len(chunk) - HEADER.size
            and prologue == b"HS"
            and message_id in (self._last_id, ANY_MESSAGE_ID)
        )

    def _absorb(self, chunk: bytes) -> None:
        """Take received bytes in: reply payloads to `_pending`, the rest by its type."""
        if self._lone_reply(chunk):
            with memoryview(chunk) as view:
                self._pending += view[HEADER.size :]
            if self._end is None:
                self._end = len(self._pending)
            return
        self._take(chunk)
        self._raise_server_error()

    def _take(self, chunk: bytes) -> None:
        """Parse received bytes: kept payloads go to `_pending`, the rest is dropped."""
        raw = self._raw
        raw += chunk
        position = 0
        while True:
            if self._left:
                count = min(self._left, len(raw) - position)
                if self._sink is not None:
                    self._sink += raw[position : position + count]
                elif self._kind in (MessageType.DATA, MessageType.DATA_END):
                    self._dropped += count
                position += count
                self._left -= count
                if self._left:
                    break
                self._message_done()
                continue
            if len(raw) - position < HEADER.size:
                break
            header = parse_header(bytes(raw[position : position + HEADER.size]))
            position += HEADER.size
            if header is None:
                raw.clear()
                raise ConnectionError(f"{self.resource}: HiSLIP stream out of step (no 'HS')")
            self._start_message(header)
            if not self._left:
                self._message_done()
        del raw[:position]

    def _start_message(self, header: tuple[int, int, int, int]) -> None:
        kind, control, parameter, length = header
        self._kind, self._left = kind, length
        self._sink = None
        if kind in _DATA_KINDS:
            if self._clearing or self._discarding or self._draining:
                pass  # dropped: the server is clearing or interrupted this reply, or a drain
            elif parameter == self._last_id or parameter == ANY_MESSAGE_ID:
                self._sink = self._pending
            else:  # an earlier message's reply: it and its parts buffered before go
                self._drop_unended()  # (IVI-6.1 3.1.2 rules 1 and 2)
        elif kind in _ERROR_KINDS:
            self._sink = bytearray()
            self._error_code = control
        elif kind == MessageType.INTERRUPTED:
            # The server dropped a reply (3.1.2 rule 4): whatever of it arrived goes, and
            # nothing is sent until AsyncInterrupted pairs it, unless that came first.
            self._pending.clear()
            self._end = None
            self._drops += 1
            if self._discarding:
                self._discarding = False
            else:
                self._awaiting_async_interrupted = True
        elif kind == MessageType.DEVICE_CLEAR_ACKNOWLEDGE:
            self._clear_features = control

    def _drop_unended(self) -> None:
        """Drop the reply bytes buffered after the last whole reply."""
        end = self._end or 0
        if len(self._pending) > end:
            del self._pending[end:]
            self._drops += 1

    def _message_done(self) -> None:
        sink = self._sink
        if self._kind == MessageType.DATA_END and sink is self._pending and self._end is None:
            self._end = len(sink)
        elif self._kind in _ERROR_KINDS and sink is not None:
            self._server_error = (self._kind, self._error_code, bytes(sink))
        self._sink = None

    def _raise_server_error(self) -> None:
        if self._server_error is None:
            return
        kind, code, text = self._server_error
        self._server_error = None
        described = describe_error(kind, code, text)
        if kind == MessageType.FATAL_ERROR:  # the server closes both channels after it
            self._ended = f"the HiSLIP server ended the session with {described}"
            self._pending.clear()  # nothing is read after it: every later call says why
            self._end = None
            self._close_channels()
            raise ConnectionError(self._ended)
        if self._clearing:  # about a message the clear abandons: dropped with its reply
            return
        raise PeerReportedError(f"the HiSLIP server reported {described}")

    def _consumed(self, count: int) -> None:
        del self._pending[:count]
        if self._end is not None:
            self._end -= count
            if self._end <= 0:  # the reply was read to its end: RMT delivered
                self._end = None
                self._rmt_delivered = True

    def read_until(self, terminator: bytes) -> bytes:
        """Up to `terminator`, or to the end of the reply (DataEnd) if that comes first."""
        pending = self._pending
        if not pending and self._end is None and not self._raw and not self._left:
            # Nothing of the reply here yet: most replies are one DataEnd in one segment,
            # ending with the terminator, and go out without touching the buffers.
            chunk = self._receive(self._start(), "")
            end = len(chunk) - len(terminator)
            if self._lone_reply(chunk) and chunk.find(terminator, HEADER.size) == end:
                self._rmt_delivered = True
                return chunk[HEADER.size : end]
            self._absorb(chunk)
        index = pending.find(terminator, 0, _stop(self._end, pending))
        if index < 0 and self._end is None:
            deadline = self._start()
            while index < 0 and self._end is None:
                searched = max(0, len(pending) - len(terminator) + 1)
                drops = self._drops
                self._fill(deadline)
                if drops != self._drops:  # what was searched was dropped: search anew
                    searched = 0
                index = pending.find(terminator, searched, _stop(self._end, pending))
        if index < 0:  # the reply ended without the terminator
            end = self._end or 0
            message = bytes(pending[:end])
            self._consumed(end)
            return message
        message = bytes(pending[:index])
        self._consumed(index + len(terminator))
        return message

    def read_into(self, buffer: memoryview) -> None:
        total = len(buffer)
        pending = self._pending
        position = min(total, len(pending))
        buffer[:position] = pending[:position]
        self._consumed(position)
        if position == total:
            return
        deadline = self._start()
        sock = self._sock
        while position < total:
            progress = f"{position} of {total} bytes arrived"
            if self._left and self._sink is pending and not self._raw:
                # The reply's payload is next on the socket: straight into place.
                count = min(self._left, total - position)
                self._before_wait(deadline, progress)
                try:
                    received = sock.recv_into(buffer[position : position + count])
                except TimeoutError:
                    raise TimeoutError(progress) from None
                except OSError as error:
                    raise ConnectionError(f"read failed after {progress}: {error}") from error
                if not received:
                    raise ConnectionError(f"connection closed by the instrument ({progress})")
                position += received
                self._left -= received
                if not self._left:
                    self._message_done()
                    self._consumed(len(pending))  # the DataEnd ended at this read's bytes
                continue
            self._fill(deadline, progress)
            count = min(total - position, len(pending))
            buffer[position : position + count] = pending[:count]
            self._consumed(count)
            position += count

    def drain(self, quiet: float, limit: float) -> int:
        """Drop the reply pending and every message arriving until `quiet` s pass silent."""
        if self._ended is not None:
            raise ConnectionError(self._ended)
        self._draining = True  # nothing arriving now answers a message still wanted
        pending = len(self._pending)
        delivered = self._rmt_delivered
        self._consumed(pending)
        self._rmt_delivered = delivered  # dropped, not delivered
        if self._sink is self._pending:  # the rest of a reply half received: dropped, counted
            self._sink = None
        try:
            dropped = super().drain(quiet, limit)
            return dropped if dropped < 0 else dropped + pending
        finally:
            self._draining = False
            self._pending.clear()
            self._end = None

    def _discard(self, chunk: bytes) -> int:
        before = self._dropped
        self._take(chunk)  # parsed, so the framing stays in step; payloads dropped
        if self._server_error is not None and self._server_error[0] == MessageType.FATAL_ERROR:
            self._raise_server_error()
        self._server_error = None
        return self._dropped - before

    # -- the asynchronous channel

    # -- ending
    def _start(self) -> float:
        if self._ended is not None:  # a FatalError ended the session: say so, at once
            raise ConnectionError(self._ended)
        return super()._start()

    def _close_channels(self) -> None:
        for sock in (self._async, self._sock):
            if sock is not None:
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)

    def reopen(self) -> None:
        """Not for HiSLIP yet (decision 0010): a new session needs both channels opened and
        negotiated again, which SocketTransport's reconnect of one socket is not."""
        ended = f"{self._ended}; " if self._ended else ""
        raise ConnectionError(
            f"{ended}a HiSLIP session is not reopened after its connection was lost: open "
            "the instrument again"
        )

    def abort(self) -> None:
        if self._async is not None:
            with contextlib.suppress(OSError):
                self._async.shutdown(socket.SHUT_RDWR)
        super().abort()

    def close(self) -> None:
        if self._async is not None:
            self._async.close()
            self._async = None  # a later lock or clear says the channel is closed
        super().close()


def _stop(end: int | None, pending: bytearray) -> int:
    return len(pending) if end is None else end
