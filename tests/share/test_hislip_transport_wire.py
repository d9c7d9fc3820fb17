"""HislipTransport against a scripted server: the exact bytes each way, replies split,
joined, late, ended without a terminator, and the server's errors."""

from __future__ import annotations

import socket
import struct
import threading
from collections.abc import Callable, Iterator

import pytest

from instrumentkit.hislip_transport import HislipTransport
from instrumentkit.share._protocol import MessageType, encode_header
from instrumentkit.transport import PeerReportedError

from .conftest import RawClient

Script = Callable[[socket.socket, socket.socket], None]


class ScriptedServer:
    """Accepts one HiSLIP session (both channels), then runs `script(sync, async_)`."""

    def __init__(self, script: Script) -> None:
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.initialize: tuple[int, int, int, bytes] | None = None
        self.error: BaseException | None = None
        self._thread = threading.Thread(target=self._serve, args=(script,), daemon=True)
        self._thread.start()

    def _serve(self, script: Script) -> None:
        try:
            sync, _ = self.listener.accept()
            self.initialize = RawClient.receive(sync)
            sync.sendall(encode_header(MessageType.INITIALIZE_RESPONSE, 0, 0x0100_0007))
            async_, _ = self.listener.accept()
            assert RawClient.receive(async_)[:3] == (MessageType.ASYNC_INITIALIZE, 0, 7)
            async_.sendall(encode_header(MessageType.ASYNC_INITIALIZE_RESPONSE, 0, 0x4142))
            kind, _, _, size = RawClient.receive(async_)
            assert kind == MessageType.ASYNC_MAXIMUM_MESSAGE_SIZE
            assert struct.unpack("!Q", size) == (1 << 24,)
            reply = struct.pack("!Q", 1040)  # room for 1024-byte payloads
            async_.sendall(
                encode_header(MessageType.ASYNC_MAXIMUM_MESSAGE_SIZE_RESPONSE, 0, 0, 8) + reply
            )
            script(sync, async_)
        except BaseException as error:  # reported by the test
            self.error = error

    def join(self) -> None:
        self._thread.join(5)
        self.listener.close()
        if self.error is not None:
            raise self.error


def data(kind: int, message_id: int, payload: bytes) -> bytes:
    return encode_header(kind, 0, message_id, len(payload)) + payload


FIRST = 0xFFFF_FF00


Start = Callable[[Script], tuple["ScriptedServer", HislipTransport]]


@pytest.fixture
def scripted() -> Iterator[Start]:
    opened: list[tuple[ScriptedServer, HislipTransport]] = []

    def start(script: Script) -> tuple[ScriptedServer, HislipTransport]:
        server = ScriptedServer(script)
        transport = HislipTransport("127.0.0.1", server.port, "hislip_x", timeout=2.0)
        opened.append((server, transport))
        return server, transport

    yield start
    for server, transport in opened:
        transport.close()
        server.join()


def test_the_opening_and_a_message_are_the_specs_bytes(scripted: Start) -> None:
    received: list[tuple[int, int, int, bytes]] = []

    def script(sync: socket.socket, async_: socket.socket) -> None:
        received.append(RawClient.receive(sync))
        received.append(RawClient.receive(sync))
        sync.sendall(data(MessageType.DATA_END, FIRST + 2, b"1\n"))

    server, transport = scripted(script)
    assert server.initialize == (MessageType.INITIALIZE, 0, 0x0100_494B, b"hislip_x")
    assert transport.session_id == 7
    assert transport.max_payload == 1024
    transport.write(b"*RST\n")
    transport.write(b"*OPC?\n")
    assert transport.read_until(b"\n") == b"1"
    assert received == [
        (MessageType.DATA_END, 0, FIRST, b"*RST\n"),
        (MessageType.DATA_END, 0, FIRST + 2, b"*OPC?\n"),
    ]


def test_a_long_message_goes_in_data_parts_of_the_servers_size(scripted: Start) -> None:
    parts: list[tuple[int, int, int, bytes]] = []

    def script(sync: socket.socket, async_: socket.socket) -> None:
        while not parts or parts[-1][0] != MessageType.DATA_END:
            parts.append(RawClient.receive(sync))

    server, transport = scripted(script)
    transport.write(bytes(range(256)) * 10)  # 2560 bytes: 1024 + 1024 + 512
    server.join()
    assert [(kind, parameter, len(payload)) for kind, _, parameter, payload in parts] == [
        (MessageType.DATA, FIRST, 1024),
        (MessageType.DATA, FIRST, 1024),
        (MessageType.DATA_END, FIRST, 512),
    ]
    assert b"".join(part[3] for part in parts) == bytes(range(256)) * 10


def test_replies_split_joined_late_and_unterminated(scripted: Start) -> None:
    go = threading.Event()

    def script(sync: socket.socket, async_: socket.socket) -> None:
        RawClient.receive(sync)
        # A reply in pieces: a late one (an earlier ID) first, then Data + DataEnd, the
        # header of the second cut across two segments.
        wire = (
            data(MessageType.DATA_END, FIRST - 2, b"late\n")
            + data(MessageType.DATA, FIRST, b"ab")
            + data(MessageType.DATA_END, FIRST, b"c\nsecond\n")
        )
        sync.sendall(wire[:30])
        go.wait(2)
        sync.sendall(wire[30:])
        RawClient.receive(sync)
        sync.sendall(data(MessageType.DATA_END, FIRST + 2, b"no terminator"))
        RawClient.receive(sync)
        sync.sendall(data(MessageType.DATA_END, FIRST + 4, b"#15hello\n"))

    _, transport = scripted(script)
    transport.write(b"A?\n")
    go.set()
    assert transport.read_until(b"\n") == b"abc"
    assert transport.read_until(b"\n") == b"second"
    transport.write(b"B?\n")
    assert transport.read_until(b"\n") == b"no terminator"  # the DataEnd ends it
    transport.write(b"C?\n")
    head = bytearray(3)
    transport.read_into(memoryview(head))
    assert head == b"#15"
    assert transport.read_exact(6) == b"hello\n"


def test_an_unread_reply_is_forgotten_at_the_next_message(scripted: Start) -> None:
    def script(sync: socket.socket, async_: socket.socket) -> None:
        RawClient.receive(sync)
        sync.sendall(data(MessageType.DATA_END, FIRST, b"first\nand more\n"))
        RawClient.receive(sync)
        sync.sendall(data(MessageType.DATA_END, FIRST + 2, b"second\n"))

    _, transport = scripted(script)
    transport.write(b"A?\n")
    assert transport.read_until(b"\n") == b"first"
    transport.write(b"B?\n")
    assert transport.read_until(b"\n") == b"second"


def test_the_servers_error_and_fatal_error_are_raised(scripted: Start) -> None:
    def script(sync: socket.socket, async_: socket.socket) -> None:
        RawClient.receive(sync)
        sync.sendall(encode_header(MessageType.ERROR, 128, 0, 7) + b"refused")
        RawClient.receive(sync)
        sync.sendall(data(MessageType.DATA_END, FIRST + 2, b"fine\n"))
        RawClient.receive(sync)
        sync.sendall(encode_header(MessageType.FATAL_ERROR, 1, 0, 3) + b"bye")

    _, transport = scripted(script)
    transport.write(b"W 1\n")
    with pytest.raises(PeerReportedError, match=r"reported error 128 \(device-defined\): refused"):
        transport.read_until(b"\n")
    transport.write(b"A?\n")
    assert transport.read_until(b"\n") == b"fine"
    transport.write(b"B?\n")
    with pytest.raises(
        ConnectionError, match=r"with fatal error 1 \(poorly formed message header\): bye"
    ):
        transport.read_until(b"\n")


def test_a_reply_that_does_not_come_times_out(scripted: Start) -> None:
    def script(sync: socket.socket, async_: socket.socket) -> None:
        RawClient.receive(sync)
        sync.sendall(data(MessageType.DATA, FIRST, b"part"))  # no DataEnd follows
        sync.recv(1)  # until the client closes

    _, transport = scripted(script)
    transport.timeout = 0.3
    transport.write(b"A?\n")
    with pytest.raises(TimeoutError):
        transport.read_until(b"\n")


def test_device_clear_and_locks_on_the_asynchronous_channel(scripted: Start) -> None:
    seen: list[tuple[int, int, int, bytes]] = []

    def script(sync: socket.socket, async_: socket.socket) -> None:
        RawClient.receive(sync)
        seen.append(RawClient.receive(async_))  # AsyncDeviceClear
        async_.sendall(encode_header(MessageType.ASYNC_DEVICE_CLEAR_ACKNOWLEDGE, 1))
        sync.sendall(data(MessageType.DATA_END, FIRST, b"stale\n"))
        seen.append(RawClient.receive(sync))  # DeviceClearComplete
        sync.sendall(encode_header(MessageType.DEVICE_CLEAR_ACKNOWLEDGE, 0))
        seen.append(RawClient.receive(sync))  # the next message, numbered from the start
        sync.sendall(data(MessageType.DATA_END, FIRST, b"fresh\n"))
        seen.append(RawClient.receive(async_))  # lock request
        async_.sendall(encode_header(MessageType.ASYNC_LOCK_RESPONSE, 0))
        seen.append(RawClient.receive(async_))  # release
        async_.sendall(encode_header(MessageType.ASYNC_LOCK_RESPONSE, 2))

    _, transport = scripted(script)
    transport.write(b"A?\n")
    transport.clear()
    transport.write(b"B?\n")
    assert transport.read_until(b"\n") == b"fresh"
    assert transport.async_lock_request(0.25, "team") == "failure"
    assert transport.async_lock_release() == "success"
    assert seen == [
        (MessageType.ASYNC_DEVICE_CLEAR, 0, 0, b""),
        (MessageType.DEVICE_CLEAR_COMPLETE, 0, 0, b""),  # synchronized, whatever preferred
        (MessageType.DATA_END, 0, FIRST, b"B?\n"),
        (MessageType.ASYNC_LOCK, 1, 250, b"team"),
        (MessageType.ASYNC_LOCK, 0, FIRST, b""),
    ]


def test_drain_drops_whole_messages_and_counts_their_payload(scripted: Start) -> None:
    def script(sync: socket.socket, async_: socket.socket) -> None:
        RawClient.receive(sync)
        sync.sendall(data(MessageType.DATA_END, FIRST, b"12345\n"))
        sync.sendall(data(MessageType.DATA_END, FIRST, b"67\n"))
        RawClient.receive(sync)
        sync.sendall(data(MessageType.DATA_END, FIRST + 2, b"kept\n"))

    _, transport = scripted(script)
    transport.write(b"A?\n")
    assert transport.read_until(b"\n") == b"12345"
    assert transport.drain(0.2, 2.0) == 3  # "67\n": payload bytes, not headers
    transport.write(b"B?\n")
    assert transport.read_until(b"\n") == b"kept"


def test_drain_counts_what_was_already_received(scripted: Start) -> None:
    def script(sync: socket.socket, async_: socket.socket) -> None:
        RawClient.receive(sync)
        sync.sendall(data(MessageType.DATA_END, FIRST, b"12345\n67\n"))
        sync.recv(1)  # until the client closes

    _, transport = scripted(script)
    transport.write(b"A?\n")
    assert transport.read_until(b"\n") == b"12345"
    assert transport.drain(0.1, 2.0) == 3  # "67\n", already in the buffer
