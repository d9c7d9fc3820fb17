"""HislipTransport's reads and writes at their edges, on the scripted servers of
`test_hislip_foreign_servers.py`: a block's payload received straight into the caller's
buffer (timed out, reset, ended by its DataEnd), late replies too large for one `recv`,
Data parts of 64 KiB and more, and how the channels end."""

from __future__ import annotations

import contextlib
import socket
import struct
import threading

import pytest

from instrumentkit.share._protocol import MessageType, encode_header

from .test_hislip_foreign_servers import (
    FIRST,
    REAL_ASYNC_INITIALIZE_RESPONSE,
    REAL_INITIALIZE_RESPONSE,
    Message,
    Start,
    maximum_size,
    message,
    receive,
    receive_program,
    transport_of,
)
from .test_hislip_foreign_servers import serve as serve  # the fixture

# -- a block's payload straight into the caller's buffer


def block_in_two(go: threading.Event, after: threading.Event, then: str) -> object:
    """Once `go` is set, a DataEnd of 70000 bytes whose first 1000 come at once; once
    `after` is set the server goes `then`: "silent" or "reset" (RST, SO_LINGER 0)."""

    def script(sync: socket.socket, async_: socket.socket) -> None:
        _, _, message_id, _ = receive(sync)
        go.wait(5)
        sync.sendall(encode_header(MessageType.DATA_END, 0, message_id, 70000) + bytes(1000))
        after.wait(5)
        if then == "reset":
            sync.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            sync.close()
        else:
            sync.settimeout(5.0)
            with contextlib.suppress(OSError):
                sync.recv(1)  # until the client closes

    return script


def test_a_block_that_stalls_says_how_much_arrived(serve: Start) -> None:
    go, after = threading.Event(), threading.Event()
    transport = transport_of(serve, block_in_two(go, after, "silent"))
    transport.timeout = 0.2
    transport.write(b"CURV?\n")
    # Nothing received yet: the wait is for a message's header.
    with pytest.raises(TimeoutError, match=r"^0 of 500 bytes arrived$"):
        transport.read_into(memoryview(bytearray(500)))
    go.set()
    transport.timeout = 2.0
    transport.read_into(memoryview(bytearray(1000)))
    after.set()
    transport.timeout = 0.2
    # The rest of the payload is next on the socket: the wait is inside it.
    with pytest.raises(TimeoutError, match=r"^0 of 69000 bytes arrived$"):
        transport.read_into(memoryview(bytearray(69000)))


def test_a_block_cut_by_a_reset_says_how_much_arrived(serve: Start) -> None:
    go, after = threading.Event(), threading.Event()
    transport = transport_of(serve, block_in_two(go, after, "reset"))
    transport.write(b"CURV?\n")
    go.set()
    transport.read_into(memoryview(bytearray(1000)))
    after.set()
    with pytest.raises(ConnectionError, match=r"^read failed after 0 of 69000 bytes arrived: "):
        transport.read_into(memoryview(bytearray(69000)))


def test_a_block_read_to_its_data_end_is_delivered(serve: Start) -> None:
    block = bytes(range(256)) * 400  # 102400 bytes, the whole reply: no terminator
    sent: list[Message] = []

    def script(sync: socket.socket, async_: socket.socket) -> None:
        _, _, message_id, _ = receive(sync)
        sync.sendall(message(MessageType.DATA_END, message_id, b"#6102400" + block))
        sent.append(receive(sync))

    server, session = serve(script)
    transport = session.transport
    transport.write(b"CURV?\n")
    assert transport.read_exact(8) == b"#6102400"
    received = bytearray(len(block))
    transport.read_into(memoryview(received))
    assert received == block
    transport.write(b"*CLS\n")
    server.join()
    assert sent == [(MessageType.DATA_END, 1, FIRST + 2, b"*CLS\n")]  # RMT-delivered


def test_a_late_reply_larger_than_a_recv_is_dropped_while_reading_a_block(
    serve: Start,
) -> None:
    late = b"\xaa" * 200_000
    block = bytes(range(256)) * 300

    def script(sync: socket.socket, async_: socket.socket) -> None:
        receive(sync)  # A?: its reply comes late
        _, _, message_id, _ = receive(sync)
        sync.sendall(message(MessageType.DATA_END, FIRST, late) + message(
            MessageType.DATA_END, message_id, block
        ))  # fmt: skip

    transport = transport_of(serve, script)
    transport.write(b"A?\n")
    transport.write(b"CURV?\n")
    received = bytearray(len(block))
    transport.read_into(memoryview(received))
    assert received == block


def test_a_reply_that_timed_out_half_way_is_forgotten_at_the_next_message(
    serve: Start,
) -> None:
    def script(sync: socket.socket, async_: socket.socket) -> None:
        _, _, first_id, _ = receive(sync)
        sync.sendall(message(MessageType.DATA, first_id, b"stale "))  # its DataEnd never comes
        _, _, second_id, _ = receive(sync)
        sync.sendall(message(MessageType.DATA_END, second_id, b"fresh\n"))

    transport = transport_of(serve, script)
    transport.timeout = 0.3
    transport.write(b"A?\n")
    with pytest.raises(TimeoutError):
        transport.read_until(b"\n")
    transport.timeout = 2.0
    transport.write(b"B?\n")
    assert transport.read_until(b"\n") == b"fresh"


def test_the_rest_of_a_forgotten_reply_is_dropped_as_it_arrives(serve: Start) -> None:
    def script(sync: socket.socket, async_: socket.socket) -> None:
        _, _, first_id, _ = receive(sync)
        rest = b"x" * 99 + b"\n"
        sync.sendall(encode_header(MessageType.DATA_END, 0, first_id, 6 + len(rest)) + b"first\n")
        _, _, second_id, _ = receive(sync)  # sent with the rest of A's reply still to come
        sync.sendall(rest + message(MessageType.DATA_END, second_id, b"second\n"))

    transport = transport_of(serve, script)
    transport.write(b"A?\n")
    assert transport.read_until(b"\n") == b"first"
    transport.write(b"B?\n")
    assert transport.read_until(b"\n") == b"second"


# -- Data parts of 64 KiB and more go out as a header and the payload itself


def test_data_parts_of_64_kib_and_more_arrive_whole(serve: Start) -> None:
    parts: list[Message] = []

    def script(sync: socket.socket, async_: socket.socket) -> None:
        parts.extend(receive_program(sync))

    opening = (REAL_INITIALIZE_RESPONSE, REAL_ASYNC_INITIALIZE_RESPONSE,
               maximum_size(100_000 + 16))  # fmt: skip
    server, session = serve(script, opening=opening)
    data = bytes(range(251)) * 700  # 175700 bytes: 100000 + 75700
    session.transport.write(data)
    server.join()
    assert [(kind, parameter, len(payload)) for kind, _, parameter, payload in parts] == [
        (MessageType.DATA, FIRST, 100_000),
        (MessageType.DATA_END, FIRST, 75_700),
    ]
    assert b"".join(payload for _, _, _, payload in parts) == data


# -- the channels' end


def test_a_fatal_error_shuts_both_channels(serve: Start) -> None:
    ends: list[bytes] = []

    def script(sync: socket.socket, async_: socket.socket) -> None:
        receive(sync)
        sync.sendall(message(MessageType.FATAL_ERROR, 0, b"bye", 1))
        for sock in (sync, async_):
            sock.settimeout(2.0)
            ends.append(sock.recv(16))  # b"": the client shut the channel down

    server, session = serve(script)
    session.transport.write(b"READ?\n")
    with pytest.raises(ConnectionError, match="bye"):
        session.transport.read_until(b"\n")
    server.join()
    assert ends == [b"", b""]
    with pytest.raises(ConnectionError, match=r"fatal error 1 \(poorly formed message header\)"):
        session.transport.write(b"*IDN?\n")  # at once, saying why
    session.transport.abort()  # a run stopping now: the channels are shut already


def test_abort_shuts_both_channels_and_may_follow_close(serve: Start) -> None:
    ends: list[bytes] = []
    aborted = threading.Event()

    def script(sync: socket.socket, async_: socket.socket) -> None:
        aborted.wait(5)
        for sock in (sync, async_):
            sock.settimeout(2.0)
            ends.append(sock.recv(16))

    server, session = serve(script)
    transport = session.transport
    transport.abort()
    aborted.set()
    server.join()
    assert ends == [b"", b""]
    transport.close()
    transport.abort()  # a run stopping after the session closed: nothing to shut


def test_after_a_fatal_error_nothing_buffered_is_read(serve: Start) -> None:
    def script(sync: socket.socket, async_: socket.socket) -> None:
        _, _, message_id, _ = receive(sync)
        sync.sendall(
            message(MessageType.DATA_END, message_id, b"a\nb\n")
            + message(MessageType.FATAL_ERROR, 0, b"bye", 0)
        )

    transport = transport_of(serve, script)
    transport.write(b"A?\n")
    for read in (lambda: transport.read_until(b"\n"), lambda: transport.read_exact(2)) * 2:
        with pytest.raises(ConnectionError, match="ended the session with fatal error 0"):
            read()


def test_a_message_of_twice_the_maximum_goes_in_two_full_parts(serve: Start) -> None:
    parts: list[Message] = []

    def script(sync: socket.socket, async_: socket.socket) -> None:
        parts.extend(receive_program(sync))

    opening = (REAL_INITIALIZE_RESPONSE, REAL_ASYNC_INITIALIZE_RESPONSE, maximum_size(256))
    server, session = serve(script, opening=opening)
    session.transport.write(bytes(480))  # 2 x 240, the payload a 256-byte message holds
    server.join()
    assert [(kind, len(payload)) for kind, _, _, payload in parts] == [
        (MessageType.DATA, 240),
        (MessageType.DATA_END, 240),
    ]


def test_a_write_to_a_reset_connection_says_it_failed(serve: Start) -> None:
    reset = threading.Event()

    def script(sync: socket.socket, async_: socket.socket) -> None:
        sync.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        sync.close()
        reset.set()

    def write_until_refused() -> None:
        for _ in range(3):  # the first send may still be taken before the reset is seen
            transport.write(b"*IDN?\n")

    transport = transport_of(serve, script)
    reset.wait(5)
    with pytest.raises(ConnectionError, match=r"^write failed: \[Errno"):
        write_until_refused()


@pytest.mark.parametrize(
    ("answer", "parts"),
    [
        (struct.pack("!Q", 17), [b"a", b"b", b"\n"]),  # room for 1 byte: the least there is
        (struct.pack("!Q", 18) + b"\xff", [b"ab", b"\n"]),  # 8 bytes are the size, IVI-6.1
    ],
)
def test_the_servers_maximum_size_is_read_from_its_8_bytes(
    serve: Start, answer: bytes, parts: list[bytes]
) -> None:
    received: list[Message] = []

    def script(sync: socket.socket, async_: socket.socket) -> None:
        received.extend(receive_program(sync))

    size_answer = message(MessageType.ASYNC_MAXIMUM_MESSAGE_SIZE_RESPONSE, 0, answer)
    opening = (REAL_INITIALIZE_RESPONSE, REAL_ASYNC_INITIALIZE_RESPONSE, size_answer)
    server, session = serve(script, opening=opening)
    session.transport.write(b"ab\n")
    server.join()
    assert [payload for _, _, _, payload in received] == parts
