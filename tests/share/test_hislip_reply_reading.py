"""How HislipTransport reads replies that do not come as one lone segment, on the scripted
servers of `test_hislip_foreign_servers.py`: where a reply ends, RMT-delivered, replies in
parts a pause apart, late replies and Interrupted in between, timeouts and streams out of
step."""

from __future__ import annotations

import contextlib
import socket
import time

import pytest

from instrumentkit.errors import ConnectionFailed, ProtocolError, Timeout
from instrumentkit.share._protocol import MessageType, encode_header

from .test_hislip_foreign_servers import (
    ANY,
    FIRST,
    Message,
    Start,
    message,
    receive,
    transport_of,
)
from .test_hislip_foreign_servers import serve as serve  # the fixture

# -- where a reply ends, and RMT-delivered, when it does not come as one lone segment


def test_rmt_delivered_follows_replies_read_in_pieces(serve: Start) -> None:
    sent: list[Message] = []

    def script(sync: socket.socket, async_: socket.socket) -> None:
        replies = [
            message(MessageType.DATA_END, FIRST, b"a\n\nb\n"),  # three reads: delivered
            message(MessageType.DATA_END, FIRST + 2, b"x\ny"),  # "y" left unread
            None,
            # no terminator, in two parts: the DataEnd ends the reply
            message(MessageType.DATA, FIRST + 6, b"no ")
            + message(MessageType.DATA_END, FIRST + 6, b"terminator"),
            # a reply without terminator, then one tagged "any message" in the same segment
            message(MessageType.DATA_END, FIRST + 8, b"abc")
            + message(MessageType.DATA_END, ANY, b"def\n"),
            None,
        ]
        for reply in replies:
            sent.append(receive(sync))
            if reply is not None:
                sync.sendall(reply)

    server, session = serve(script)
    session.write("A?")
    assert [session.read(), session.read(), session.read()] == ["a", "", "b"]
    session.write("B?")
    assert session.read() == "x"
    session.write("C")
    assert session.query("D?") == "no terminator"
    session.write("E?")
    assert [session.read(), session.read()] == ["abc", "def"]
    session.write("F")
    server.join()
    assert [control for _, control, _, _ in sent] == [0, 1, 0, 0, 1, 1]


def test_a_reply_after_the_servers_error_is_read_in_pieces(serve: Start) -> None:
    def script(sync: socket.socket, async_: socket.socket) -> None:
        receive(sync)
        sync.sendall(message(MessageType.ERROR, 0, b"bad", 2))
        _, _, message_id, _ = receive(sync)
        sync.sendall(
            message(MessageType.DATA, message_id, b"1,")
            + message(MessageType.DATA_END, message_id, b"2\n")
        )

    _, session = serve(script)
    with pytest.raises(ProtocolError, match="bad"):
        session.query("A?")
    assert session.query("B?") == "1,2"


@pytest.mark.parametrize("sent", [b"", message(MessageType.DATA, FIRST, b"part")])
def test_a_reply_that_stops_times_out_without_detail(serve: Start, sent: bytes) -> None:
    def script(sync: socket.socket, async_: socket.socket) -> None:
        receive(sync)
        sync.sendall(sent)  # nothing, or a Data part no DataEnd follows
        with contextlib.suppress(OSError):
            sync.recv(1)  # until the client closes

    _, session = serve(script)
    session.transport.timeout = 0.3
    with pytest.raises(Timeout) as caught:
        session.query("READ?")
    assert caught.value.command == "READ?"
    assert "no complete reply within 0.3 s; check the command is a query" in str(caught.value)


def test_a_binary_reply_ended_by_its_data_end_keeps_its_last_byte(serve: Start) -> None:
    def script(sync: socket.socket, async_: socket.socket) -> None:
        _, _, message_id, _ = receive(sync)
        sync.sendall(message(MessageType.DATA_END, message_id, b"abc\x10"))

    _, session = serve(script)
    session.transport.write(b"DATA?\n")
    assert session.transport.read_until(b"\n") == b"abc\x10"


def test_a_stream_out_of_step_is_a_lost_connection_by_name(serve: Start) -> None:
    def script(sync: socket.socket, async_: socket.socket) -> None:
        _, _, message_id, _ = receive(sync)
        # A whole DataEnd answering READ? in all but its prologue.
        sync.sendall(b"HX" + message(MessageType.DATA_END, message_id, b"1.0\n")[2:])

    server, session = serve(script)
    with pytest.raises(ConnectionFailed) as caught:
        session.query("READ?")
    assert caught.value.instrument == server.resource
    assert f"{server.resource}: HiSLIP stream out of step (no 'HS')" in str(caught.value)


def test_interrupted_after_a_late_reply_was_dropped_restarts_the_search(serve: Start) -> None:
    def script(sync: socket.socket, async_: socket.socket) -> None:
        _, _, late_id, _ = receive(sync)  # A?: its reply comes too late
        _, _, message_id, _ = receive(sync)
        sync.sendall(
            message(MessageType.DATA, ANY, b"the first part of A's ")
            + message(MessageType.DATA_END, late_id, b"late reply\n")
            + message(MessageType.DATA_END, message_id, b"B\n")
        )
        receive(sync)  # C?
        _, _, message_id, _ = receive(sync)  # D?, before C's reply was read
        sync.sendall(message(MessageType.DATA, ANY, b"part of C's reply"))
        time.sleep(0.2)  # the client has searched that part for the terminator, mostly
        sync.sendall(
            message(MessageType.INTERRUPTED, message_id)
            + message(MessageType.DATA, message_id, b"D's reply\nX")
        )
        time.sleep(0.2)  # the client finds D's terminator before its DataEnd, mostly
        sync.sendall(message(MessageType.DATA_END, message_id, b"Y"))
        async_.sendall(message(MessageType.ASYNC_INTERRUPTED, message_id))

    _, session = serve(script)
    session.write("A?")
    assert session.query("B?") == "B"  # A's reply dropped on the way
    session.write("C?")
    session.write("D?")
    assert session.read() == "D's reply"


# -- read_until's search across parts that arrive apart


def test_a_terminator_is_found_wherever_a_part_puts_it(serve: Start) -> None:
    """Each reply comes in segments a pause apart, so the client searches what it has before
    the rest arrives, mostly: a terminator at the very start of the next part, one cut in
    two across parts, one right after a dropped late reply, and a DataEnd followed by an
    any-ID reply; the rest of each reply ("X", "Y") is never read."""
    rounds: list[tuple[bytes, ...]] = []

    def script(sync: socket.socket, async_: socket.socket) -> None:
        for parts in rounds:
            _, _, message_id, _ = receive(sync)
            for part in parts:
                sync.sendall(part.replace(b"<id>", message_id.to_bytes(4, "big")))
                time.sleep(0.1)

    def data(kind: int, payload: bytes) -> bytes:
        return b"HS" + bytes([kind, 0]) + b"<id>" + len(payload).to_bytes(8, "big") + payload

    late = message(MessageType.DATA_END, FIRST - 2, b"late\n")
    rounds.extend([
        (late, data(MessageType.DATA, b"\nX"), data(MessageType.DATA_END, b"Y")),
        (message(MessageType.DATA, ANY, b"stale"), late + data(MessageType.DATA, b"\nX"),
         data(MessageType.DATA_END, b"Y")),
        (data(MessageType.DATA, b"abc\r"), data(MessageType.DATA, b"\nX"),
         data(MessageType.DATA_END, b"Y")),
        (data(MessageType.DATA, b"ab"),
         data(MessageType.DATA_END, b"c") + message(MessageType.DATA_END, ANY, b"def\n")),
    ])  # fmt: skip
    transport = transport_of(serve, script)
    read: list[bytes] = []
    for terminator in (b"\n", b"\n", b"\r\n", b"\n"):
        transport.write(b"Q?\n")
        read.append(transport.read_until(terminator))
    read.append(transport.read_until(b"\n"))
    assert read == [b"", b"", b"abc", b"abc", b"def"]


def test_a_payload_that_looks_like_a_hislip_message_is_payload(serve: Start) -> None:
    def script(sync: socket.socket, async_: socket.socket) -> None:
        _, _, message_id, _ = receive(sync)
        inner = message(MessageType.DATA_END, message_id, b"fake\n")  # e.g. captured traffic
        sync.sendall(encode_header(MessageType.DATA_END, 0, message_id, len(inner)))
        time.sleep(0.1)  # the client takes the header in before the payload comes, mostly
        sync.sendall(inner)

    transport = transport_of(serve, script)
    transport.write(b"CAPTURE?\n")
    assert transport.read_until(b"\n") == message(MessageType.DATA_END, FIRST, b"fake\n")[:-1]


def test_an_empty_reply_is_empty_even_with_another_in_its_segment(serve: Start) -> None:
    def script(sync: socket.socket, async_: socket.socket) -> None:
        _, _, message_id, _ = receive(sync)
        sync.sendall(
            message(MessageType.DATA_END, message_id, b"")
            + message(MessageType.DATA_END, ANY, b"x\n")
        )

    transport = transport_of(serve, script)
    transport.write(b"A?\n")
    assert transport.read_until(b"\n") == b""
    assert transport.read_until(b"\n") == b"x"
