"""HislipTransport.drain on the scripted servers of `test_hislip_foreign_servers.py`: what
it counts (every reply payload it drops, whatever its message ID), what it raises, and what
it leaves as it was."""

from __future__ import annotations

import contextlib
import socket
import threading
import time

import pytest

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

# -- drain: what it counts, what it keeps


def test_drain_takes_in_the_servers_error_but_ends_at_its_fatal_error(serve: Start) -> None:
    read = threading.Event()

    def script(sync: socket.socket, async_: socket.socket) -> None:
        _, _, message_id, _ = receive(sync)
        sync.sendall(message(MessageType.DATA_END, message_id, b"12\n"))
        read.wait(5)
        sync.sendall(
            message(MessageType.ERROR, 0, b"not counted", 2)
            + message(MessageType.DATA_END, message_id, b"3456\n")
        )
        receive(sync)
        sync.sendall(message(MessageType.FATAL_ERROR, 0, b"gone", 0))

    transport = transport_of(serve, script)
    transport.write(b"A?\n")
    assert transport.read_until(b"\n") == b"12"
    read.set()
    assert transport.drain(0.5, 2.0) == 5  # the payloads of Data messages, not the Error's
    transport.write(b"B?\n")
    with pytest.raises(ConnectionError, match=r"fatal error 0 \(unidentified error\): gone"):
        transport.drain(0.5, 2.0)


def test_drain_counts_only_its_own_drops(serve: Start) -> None:
    def script(sync: socket.socket, async_: socket.socket) -> None:
        receive(sync)  # A?: answered late
        _, _, message_id, _ = receive(sync)
        sync.sendall(
            message(MessageType.DATA_END, FIRST, b"late reply\n")
            + message(MessageType.DATA_END, message_id, b"B\n")
        )
        receive(sync)
        sync.sendall(message(MessageType.DATA_END, FIRST + 4, b"xyz\n"))

    transport = transport_of(serve, script)
    transport.write(b"A?\n")
    transport.write(b"B?\n")
    assert transport.read_until(b"\n") == b"B"  # A's late reply was dropped on the way
    transport.write(b"C?\n")
    assert transport.drain(0.2, 2.0) == 4


def test_drain_counts_a_reply_tagged_with_any_message_id(serve: Start) -> None:
    def script(sync: socket.socket, async_: socket.socket) -> None:
        receive(sync)
        sync.sendall(message(MessageType.DATA_END, ANY, b"12345\n"))

    transport = transport_of(serve, script)
    transport.write(b"A?\n")
    assert transport.drain(0.2, 2.0) == 6


def test_after_a_drain_the_last_message_is_still_the_last(serve: Start) -> None:
    sent: list[Message] = []

    def script(sync: socket.socket, async_: socket.socket) -> None:
        _, _, message_id, _ = receive(sync)
        sync.sendall(message(MessageType.DATA_END, message_id, b"1\n"))
        sent.append(receive(sync))
        sent.append(receive(async_))  # the lock release
        async_.sendall(message(MessageType.ASYNC_LOCK_RESPONSE, 0, control=1))
        sync.sendall(
            message(MessageType.DATA, sent[0][2], b"after ")
            + message(MessageType.DATA_END, sent[0][2], b"the drain\n")
        )

    server, session = serve(script)
    transport = session.transport
    assert session.query("*OPC?") == "1"
    assert transport.drain(0.05, 2.0) == 0
    assert transport.drain(0.05, 2.0) == 0  # and again: a resync may drain twice
    transport.write(b"*ESR?\n")
    assert transport.async_lock_release() == "success"
    # A reply to the last message that comes once the drain is over is read.
    assert transport.read_until(b"\n") == b"after the drain"
    server.join()
    assert sent == [
        (MessageType.DATA_END, 1, FIRST + 2, b"*ESR?\n"),  # the reply read before: delivered
        (MessageType.ASYNC_LOCK, 0, FIRST + 2, b""),  # released after the last message sent
    ]


def test_drain_of_a_server_that_keeps_sending_says_so(serve: Start) -> None:
    def script(sync: socket.socket, async_: socket.socket) -> None:
        _, _, message_id, _ = receive(sync)
        sync.sendall(message(MessageType.DATA_END, message_id, b"a\nbcd\n"))
        with contextlib.suppress(OSError):  # until the client closes
            while True:
                sync.sendall(message(MessageType.DATA_END, message_id, b"0.5\n"))
                time.sleep(0.02)

    transport = transport_of(serve, script)
    transport.write(b"READ?\n")
    assert transport.read_until(b"\n") == b"a"  # "bcd\n" still pending
    assert transport.drain(0.5, 0.3) == -1


def test_drain_counts_the_rest_of_a_reply_it_met_half_received(serve: Start) -> None:
    read = threading.Event()

    def script(sync: socket.socket, async_: socket.socket) -> None:
        _, _, message_id, _ = receive(sync)
        rest = b"x" * 99 + b"\n"
        sync.sendall(encode_header(MessageType.DATA_END, 0, message_id, 6 + len(rest)) + b"first\n")
        read.wait(5)
        sync.sendall(rest)

    transport = transport_of(serve, script)
    transport.write(b"A?\n")
    assert transport.read_until(b"\n") == b"first"
    read.set()
    assert transport.drain(0.5, 2.0) == 100
