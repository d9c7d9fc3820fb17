"""HislipTransport's asynchronous channel against scripted servers (`test_hislip_foreign_servers`):
device clear when the server errs or never acknowledges, and lock requests left unanswered."""

from __future__ import annotations

import contextlib
import socket

import pytest

from instrumentkit.hislip_transport import HislipTransport
from instrumentkit.share._protocol import MessageType

from .test_hislip_foreign_servers import (
    FIRST,
    ForeignServer,
    Message,
    Start,
    message,
    receive,
    transport_of,
)
from .test_hislip_foreign_servers import serve as serve  # the fixture


def test_an_error_during_device_clear_is_dropped_with_what_the_clear_ends(serve: Start) -> None:
    """IVI-6.1: the server may still report an error for a message the clear abandons; the
    clear completes anyway (message IDs start again), the error is not raised later."""
    seen: list[Message] = []

    def script(sync: socket.socket, async_: socket.socket) -> None:
        receive(sync)  # A?
        seen.append(receive(async_))  # AsyncDeviceClear
        async_.sendall(message(MessageType.ASYNC_DEVICE_CLEAR_ACKNOWLEDGE, 0))
        sync.sendall(message(MessageType.ERROR, 0, b"query interrupted", 0))
        seen.append(receive(sync))  # DeviceClearComplete
        sync.sendall(message(MessageType.DEVICE_CLEAR_ACKNOWLEDGE, 0))
        seen.append(receive(sync))
        sync.sendall(message(MessageType.DATA_END, FIRST, b"1\n"))

    transport = transport_of(serve, script)
    transport.write(b"A?\n")
    transport.clear()
    assert transport.drain(0.05, 1.0) == 0  # nothing of the error left behind
    transport.write(b"*OPC?\n")
    assert transport.read_until(b"\n") == b"1"
    assert seen == [
        (MessageType.ASYNC_DEVICE_CLEAR, 0, 0, b""),
        (MessageType.DEVICE_CLEAR_COMPLETE, 0, 0, b""),
        (MessageType.DATA_END, 0, FIRST, b"*OPC?\n"),  # numbered from the start again
    ]


def test_a_fatal_error_during_device_clear_ends_the_session(serve: Start) -> None:
    def script(sync: socket.socket, async_: socket.socket) -> None:
        receive(async_)
        async_.sendall(message(MessageType.ASYNC_DEVICE_CLEAR_ACKNOWLEDGE, 0))
        sync.sendall(message(MessageType.FATAL_ERROR, 0, b"clear failed", 0))

    transport = transport_of(serve, script)
    with pytest.raises(ConnectionError, match="ended the session with fatal error 0"):
        transport.clear()
    with pytest.raises(ConnectionError, match="clear failed"):
        transport.write(b"*IDN?\n")


def test_a_device_clear_never_acknowledged_says_what_it_waited_for(serve: Start) -> None:
    def script(sync: socket.socket, async_: socket.socket) -> None:
        receive(async_)
        async_.sendall(message(MessageType.ASYNC_DEVICE_CLEAR_ACKNOWLEDGE, 0))
        receive(sync)  # DeviceClearComplete, never acknowledged
        sync.settimeout(2.0)
        sync.recv(1)  # until the client closes

    transport = transport_of(serve, script)
    transport.timeout = 0.2
    with pytest.raises(TimeoutError, match=r"^waiting for DeviceClearAcknowledge$"):
        transport.clear()
    assert transport.drain(0.05, 1.0) == 0  # a resync may go on from here


def test_a_lock_request_never_answered_times_out_after_its_wait(serve: Start) -> None:
    def script(sync: socket.socket, async_: socket.socket) -> None:
        receive(async_)  # the request, never answered
        async_.settimeout(2.0)
        with contextlib.suppress(TimeoutError):
            async_.recv(1)  # until the client closes
        async_.close()  # a client that would wait for ever reads the end instead

    transport = transport_of(serve, script)
    transport.timeout = 0.2
    with pytest.raises(TimeoutError):
        transport.async_lock_request(0.1)  # the answer may take 0.1 s, plus the timeout
    assert transport.timeout == 0.2


def test_a_lock_released_before_any_message_names_the_id_before_the_first(
    serve: Start,
) -> None:
    seen: list[Message] = []

    def locks(async_: socket.socket) -> None:
        for _ in range(2):
            seen.append(receive(async_))
            async_.sendall(message(MessageType.ASYNC_LOCK_RESPONSE, 0, control=1))

    def script(sync: socket.socket, async_: socket.socket) -> None:
        locks(async_)
        receive(sync)  # *CLS
        receive(async_)  # AsyncDeviceClear: message IDs start again
        async_.sendall(message(MessageType.ASYNC_DEVICE_CLEAR_ACKNOWLEDGE, 0))
        receive(sync)
        sync.sendall(message(MessageType.DEVICE_CLEAR_ACKNOWLEDGE, 0))
        locks(async_)

    transport = transport_of(serve, script)
    for cleared in (False, True):
        assert transport.async_lock_request(1.5) == "success"
        assert transport.async_lock_release() == "success"
        if not cleared:
            transport.write(b"*CLS\n")
            transport.clear()
    # Message IDs go up by 2 from 0xffffff00: "none sent yet" is the one before it.
    request = (MessageType.ASYNC_LOCK, 1, 1500, b"")  # the wait in ms; exclusive: no key
    release = (MessageType.ASYNC_LOCK, 0, FIRST - 2, b"")
    assert seen == [request, release, request, release]


def test_the_defaults_name_hislip0_and_wait_5_s() -> None:
    server = ForeignServer(lambda sync, async_: None)
    transport = HislipTransport("127.0.0.1", server.port)
    try:
        assert transport.timeout == 5.0
        assert transport.resource == f"TCPIP::127.0.0.1::hislip0,{server.port}::INSTR"
        assert transport.drain(0.05, 1.0) == 0  # nothing sent, nothing to drop
    finally:
        transport.close()
        server.join()
    assert server.opening[0][3] == b"hislip0"


def test_after_close_the_asynchronous_channel_says_it_is_closed(serve: Start) -> None:
    transport = transport_of(serve, lambda sync, async_: None)
    transport.close()
    with pytest.raises(ConnectionError, match=r"^the HiSLIP asynchronous channel is closed$"):
        transport.async_lock_request(0.5)
    with pytest.raises(ConnectionError, match=r"^the HiSLIP asynchronous channel is closed$"):
        transport.clear()
