"""Our HiSLIP client against servers we did not write: scripted loopback servers that play
what a real instrument sent, and the corners of IVI-6.1 a real server may use (decision 0803).

The opening and the `*IDN?` reply of the first test are the bytes a real instrument exchanged
with a client, as recorded in MSL-Equipment's HiSLIP test (MSLNZ/msl-equipment,
tests/test_interfaces_hislip.py: InitializeResponse with session ID 0x1c, the server's vendor
ID "XX", a 1 MiB maximum message size, a DataEnd reply numbered 0xffffff00). The server here
is our own script; the byte values are protocol facts.
"""

from __future__ import annotations

import contextlib
import socket
import struct
import threading
import time
from collections.abc import Callable, Iterator

import pytest
from pyvisa_py.protocols import hislip

import instrumentkit as ik
from instrumentkit.connect import open_transport
from instrumentkit.errors import (
    ConnectionFailed,
    DriverNotFound,
    InstrumentError,
    ProtocolError,
    Timeout,
)
from instrumentkit.hislip_transport import HislipTransport
from instrumentkit.session import Session
from instrumentkit.share._protocol import MessageType, encode_header

from .conftest import RawClient

Message = tuple[int, int, int, bytes]  # type, control code, parameter, payload
Script = Callable[[socket.socket, socket.socket], None]

FIRST = 0xFFFF_FF00
ANY = 0xFFFF_FFFF

# What the instrument sent (MSL-Equipment's capture), byte for byte.
REAL_INITIALIZE_RESPONSE = b"HS\x01\x00\x01\x00\x00\x1c" + bytes(8)
REAL_ASYNC_INITIALIZE_RESPONSE = b"HS\x12\x00\x00\x00XX" + bytes(8)
REAL_MAXIMUM_SIZE_RESPONSE = (
    b"HS\x10\x00\x00\x00\x00\x00" + b"\x00" * 7 + b"\x08" + (b"\x00\x00\x00\x00\x00\x10\x00\x00")
)
REAL_IDN = b"Manufacturer of the Device,Model,Serial,X.01.23-45.67-89.ab-cd.ef-gh-ij\n"
REAL_IDN_REPLY = b"HS\x07\x00\xff\xff\xff\x00" + b"\x00" * 7 + b"H" + REAL_IDN  # 0x48 bytes


def message(kind: int, parameter: int, payload: bytes = b"", control: int = 0) -> bytes:
    return encode_header(kind, control, parameter, len(payload)) + payload


def initialize_response(control: int = 0, version: int = 0x0100, session: int = 0x1C) -> bytes:
    return message(MessageType.INITIALIZE_RESPONSE, (version << 16) | session, control=control)


def maximum_size(size: int) -> bytes:
    return message(MessageType.ASYNC_MAXIMUM_MESSAGE_SIZE_RESPONSE, 0, struct.pack("!Q", size))


class ForeignServer:
    """One HiSLIP session on loopback: plays `opening` (InitializeResponse, then
    AsyncInitializeResponse and AsyncMaximumMessageSizeResponse, each sent once the client's
    message arrived), records what the client sent, then runs `script(sync, async_)`."""

    def __init__(
        self,
        script: Script,
        opening: tuple[bytes, ...] = (
            REAL_INITIALIZE_RESPONSE,
            REAL_ASYNC_INITIALIZE_RESPONSE,
            REAL_MAXIMUM_SIZE_RESPONSE,
        ),
    ) -> None:
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.resource = f"TCPIP::127.0.0.1::hislip0,{self.port}::INSTR"
        self.opening: list[Message] = []
        self.error: BaseException | None = None
        self._sockets: list[socket.socket] = []
        self._thread = threading.Thread(target=self._serve, args=(script, opening), daemon=True)
        self._thread.start()

    def _serve(self, script: Script, opening: tuple[bytes, ...]) -> None:
        try:
            sync, _ = self.listener.accept()
            self._sockets.append(sync)
            sync.settimeout(5.0)
            self.opening.append(RawClient.receive(sync))
            sync.sendall(opening[0])
            if len(opening) == 1:  # the server refused the session
                sync.close()
                return
            async_, _ = self.listener.accept()
            self._sockets.append(async_)
            async_.settimeout(5.0)
            self.opening.append(RawClient.receive(async_))
            async_.sendall(opening[1])
            self.opening.append(RawClient.receive(async_))
            async_.sendall(opening[2])
            script(sync, async_)
        except BaseException as error:  # reported by join()
            self.error = error

    def abandon(self) -> None:
        """Stop waiting for a connection the client will not make (it refused the session)."""
        with contextlib.suppress(OSError):
            self.listener.shutdown(socket.SHUT_RDWR)  # wakes the blocked accept (Linux)
        self._thread.join(5)
        self.error = None
        self.join()

    def join(self) -> None:
        self._thread.join(5)
        for sock in self._sockets:
            sock.close()
        self.listener.close()
        if self.error is not None:
            raise self.error


Start = Callable[..., tuple[ForeignServer, Session]]


@pytest.fixture
def serve() -> Iterator[Start]:
    """`serve(script, opening=...)`: the server and a Session opened on it with
    `open_transport` (timeout 2 s)."""
    opened: list[tuple[ForeignServer, Session]] = []

    def start(script: Script, **options: tuple[bytes, ...]) -> tuple[ForeignServer, Session]:
        server = ForeignServer(script, **options)
        session = Session(open_transport(server.resource, timeout=2.0))
        opened.append((server, session))
        return server, session

    yield start
    for server, session in opened:
        session.close()
        server.join()


def transport_of(start: Start, script: Script, **options: tuple[bytes, ...]) -> HislipTransport:
    """The HislipTransport of a Session that `start` opened on `script`'s server."""
    _, session = start(script, **options)
    transport = session.transport
    assert isinstance(transport, HislipTransport)
    return transport


def receive(sock: socket.socket) -> Message:
    return RawClient.receive(sock)


def receive_program(sync: socket.socket) -> list[Message]:
    """The parts of one program message: Data messages up to its DataEnd."""
    parts = [receive(sync)]
    while parts[-1][0] == MessageType.DATA:
        parts.append(receive(sync))
    return parts


# -- 1. a real instrument's bytes


def test_a_real_instruments_opening_and_idn_reply(serve: Start) -> None:
    sent: list[Message] = []

    def script(sync: socket.socket, async_: socket.socket) -> None:
        sent.append(receive(sync))
        sync.sendall(REAL_IDN_REPLY)
        sent.append(receive(sync))
        sync.sendall(message(MessageType.DATA_END, FIRST + 2, b"+1\n"))

    server, session = serve(script)
    assert session.query("*IDN?") == REAL_IDN.decode().strip()
    assert session.query("*OPC?") == "+1"
    transport = session.transport
    assert isinstance(transport, HislipTransport)
    assert transport.session_id == 0x1C
    assert transport.max_payload == 0x100000 - 16  # the server's size holds the header too
    assert transport.protocol_version == 0x0100
    server.join()
    # Initialize: version 1.0 and our vendor ID "IK" in the parameter, the sub-address as
    # payload; AsyncInitialize: the session ID; AsyncMaximumMessageSize: 8 bytes, ours.
    assert server.opening == [
        (MessageType.INITIALIZE, 0, 0x0100_0000 | int.from_bytes(b"IK", "big"), b"hislip0"),
        (MessageType.ASYNC_INITIALIZE, 0, 0x1C, b""),
        (MessageType.ASYNC_MAXIMUM_MESSAGE_SIZE, 0, 0, struct.pack("!Q", 1 << 24)),
    ]
    # Program messages: DataEnd numbered from 0xffffff00 in steps of 2; the second says the
    # first reply was delivered whole (RMT-delivered, control bit 0).
    assert sent == [
        (MessageType.DATA_END, 0, FIRST, b"*IDN?\n"),
        (MessageType.DATA_END, 1, FIRST + 2, b"*OPC?\n"),
    ]


def test_the_exact_bytes_of_our_opening(serve: Start) -> None:
    raw: list[bytes] = []

    def script(sync: socket.socket, async_: socket.socket) -> None:
        raw.append(sync.recv(64))
        sync.sendall(REAL_IDN_REPLY)

    server, session = serve(script)
    session.query("*IDN?")
    server.join()
    assert raw == [b"HS\x07\x00\xff\xff\xff\x00" + b"\x00" * 7 + b"\x06*IDN?\n"]


# -- RMT-delivered (IVI-6.1 3.1.1): once per reply read whole, never otherwise


def test_rmt_delivered_is_set_once_per_reply_read_whole(serve: Start) -> None:
    sent: list[Message] = []

    def script(sync: socket.socket, async_: socket.socket) -> None:
        for reply in (b"1\n", b"a\nb\n", None, b"2\n", b"3\n", None):
            sent.extend(receive_program(sync))
            if reply is not None:
                sync.sendall(message(MessageType.DATA_END, sent[-1][2], reply))

    server, session = serve(script)
    session.query("A?")  # read whole
    session.write("B?")
    assert session.read() == "a"  # "b" left unread: not delivered
    session.write("C")  # no reply
    session.query("D?")
    session.query("E?")
    session.transport.max_payload = 4  # type: ignore[attr-defined]
    session.write("LONG 123")  # in parts: only the first carries the flag
    server.join()
    assert [(kind, control) for kind, control, _, _ in sent] == [
        (MessageType.DATA_END, 0),
        (MessageType.DATA_END, 1),
        (MessageType.DATA_END, 0),
        (MessageType.DATA_END, 0),
        (MessageType.DATA_END, 1),
        (MessageType.DATA, 1),
        (MessageType.DATA, 0),
        (MessageType.DATA_END, 0),
    ]


# -- 2. the opening: versions, modes, sizes


def answer_idn(sync: socket.socket, async_: socket.socket) -> None:
    _, _, message_id, _ = receive(sync)
    sync.sendall(message(MessageType.DATA_END, message_id, REAL_IDN))


@pytest.mark.parametrize("version", [0x0101, 0x0200, 0x0305])
def test_a_newer_servers_version_is_met_at_ours(serve: Start, version: int) -> None:
    # IVI-6.1: both ends use the smaller of the two versions, here our 1.0.
    opening = (initialize_response(version=version), REAL_ASYNC_INITIALIZE_RESPONSE,
               REAL_MAXIMUM_SIZE_RESPONSE)  # fmt: skip
    _, session = serve(answer_idn, opening=opening)
    assert session.query("*IDN?").startswith("Manufacturer of the Device")
    assert session.transport.protocol_version == 0x0100  # type: ignore[attr-defined]


def open_refused(opening: tuple[bytes, ...]) -> tuple[ForeignServer, ConnectionFailed]:
    server = ForeignServer(lambda sync, async_: None, opening=opening)
    try:
        with pytest.raises(ConnectionFailed) as caught:
            open_transport(server.resource, timeout=2.0)
    finally:
        server.abandon()
    assert caught.value.instrument == server.resource
    return server, caught.value


def test_a_server_below_version_1_is_refused_by_name() -> None:
    opening = (initialize_response(version=0x0009), REAL_ASYNC_INITIALIZE_RESPONSE,
               REAL_MAXIMUM_SIZE_RESPONSE)  # fmt: skip
    _, error = open_refused(opening)
    assert "protocol version 0.9" in str(error)


@pytest.mark.parametrize("control", [0b010, 0b100])
def test_a_server_that_requires_encryption_is_refused_clearly(control: int) -> None:
    opening = (initialize_response(control=control, version=0x0200),
               REAL_ASYNC_INITIALIZE_RESPONSE, REAL_MAXIMUM_SIZE_RESPONSE)  # fmt: skip
    _, error = open_refused(opening)
    assert "encrypted connection" in str(error)
    assert "backend=" in str(error)


def overlap_script(agreed: int, seen: list[Message]) -> Script:
    def script(sync: socket.socket, async_: socket.socket) -> None:
        seen.append(receive(async_))  # AsyncDeviceClear
        async_.sendall(message(MessageType.ASYNC_DEVICE_CLEAR_ACKNOWLEDGE, 0, control=1))
        seen.append(receive(sync))  # DeviceClearComplete: the mode asked for
        sync.sendall(message(MessageType.DEVICE_CLEAR_ACKNOWLEDGE, 0, control=agreed))
        if agreed == 0:
            answer_idn(sync, async_)

    return script


def test_a_server_preferring_overlap_is_asked_for_synchronized_mode(serve: Start) -> None:
    seen: list[Message] = []
    opening = (initialize_response(control=1), REAL_ASYNC_INITIALIZE_RESPONSE,
               REAL_MAXIMUM_SIZE_RESPONSE)  # fmt: skip
    server, session = serve(overlap_script(0, seen), opening=opening)
    assert session.query("*IDN?").startswith("Manufacturer of the Device")
    server.join()
    assert seen == [
        (MessageType.ASYNC_DEVICE_CLEAR, 0, 0, b""),
        (MessageType.DEVICE_CLEAR_COMPLETE, 0, 0, b""),  # feature bit 0 clear: synchronized
    ]


def test_a_server_that_keeps_overlapped_mode_is_refused_clearly() -> None:
    seen: list[Message] = []
    server = ForeignServer(
        overlap_script(1, seen),
        opening=(initialize_response(control=1), REAL_ASYNC_INITIALIZE_RESPONSE,
                 REAL_MAXIMUM_SIZE_RESPONSE),
    )  # fmt: skip
    try:
        with pytest.raises(ConnectionFailed, match="overlapped mode") as caught:
            open_transport(server.resource, timeout=2.0)
    finally:
        server.join()
    assert caught.value.instrument == server.resource
    assert f"{server.resource}: the HiSLIP server keeps overlapped mode" in str(caught.value)
    assert "backend=" in str(caught.value)


def test_device_clear_asks_for_synchronized_mode_whatever_the_server_prefers(
    serve: Start,
) -> None:
    seen: list[Message] = []

    def script(sync: socket.socket, async_: socket.socket) -> None:
        answer_idn(sync, async_)
        seen.append(receive(async_))  # AsyncDeviceClear
        async_.sendall(message(MessageType.ASYNC_DEVICE_CLEAR_ACKNOWLEDGE, 0, control=1))
        seen.append(receive(sync))  # DeviceClearComplete: the mode asked for
        sync.sendall(message(MessageType.DEVICE_CLEAR_ACKNOWLEDGE, 0))
        seen.append(receive(sync))

    server, session = serve(script)
    session.query("*IDN?")  # read whole, then the clear: the server expects no RMT now
    session.transport.clear()  # type: ignore[attr-defined]
    session.write("*CLS")
    server.join()
    assert seen == [
        (MessageType.ASYNC_DEVICE_CLEAR, 0, 0, b""),
        (MessageType.DEVICE_CLEAR_COMPLETE, 0, 0, b""),  # not the server's preference, 1
        (MessageType.DATA_END, 0, FIRST, b"*CLS\n"),  # no RMT-delivered; IDs from the start
    ]


def test_a_long_message_fits_a_small_maximum_message_size(serve: Start) -> None:
    parts: list[Message] = []

    def script(sync: socket.socket, async_: socket.socket) -> None:
        parts.extend(receive_program(sync))

    opening = (REAL_INITIALIZE_RESPONSE, REAL_ASYNC_INITIALIZE_RESPONSE, maximum_size(256))
    server, session = serve(script, opening=opening)
    values = ",".join(f"{i % 1000:03d}" for i in range(512))  # 2047 bytes
    session.write(f":DATA {values}")
    server.join()
    assert [kind for kind, _, _, _ in parts] == [MessageType.DATA] * 8 + [MessageType.DATA_END]
    assert all(16 + len(payload) <= 256 for _, _, _, payload in parts)
    assert {parameter for _, _, parameter, _ in parts} == {FIRST}  # one message, one ID
    assert b"".join(payload for _, _, _, payload in parts) == f":DATA {values}\n".encode()


# -- replies in pieces, late, interrupted


def test_a_reply_in_data_parts_cut_across_segments(serve: Start) -> None:
    reply = b"1.5," * 100 + b"9\n"

    def script(sync: socket.socket, async_: socket.socket) -> None:
        _, _, message_id, _ = receive(sync)
        wire = (
            message(MessageType.DATA, ANY, reply[:150])  # IVI-6.1 lets Data parts use ANY
            + message(MessageType.DATA, message_id, reply[150:300])
            + message(MessageType.DATA_END, message_id, reply[300:])
        )
        for start in range(0, len(wire), 7):  # 7-byte segments: headers cut everywhere
            sync.sendall(wire[start : start + 7])

    _, session = serve(script)
    assert session.query("READ?") == reply.decode().strip()


def test_a_late_reply_and_its_data_parts_are_dropped(serve: Start) -> None:
    def script(sync: socket.socket, async_: socket.socket) -> None:
        for _ in range(2):  # the second time, a read counting drops must still see it
            _, _, late_id, _ = receive(sync)  # A?: its reply comes too late
            _, _, message_id, _ = receive(sync)
            sync.sendall(message(MessageType.DATA, ANY, b"stale, the first part of A's "))
            time.sleep(0.2)  # the client has searched that part for the terminator, mostly
            sync.sendall(
                message(MessageType.DATA_END, late_id, b"reply\n")
                + message(MessageType.DATA, message_id, b"B's reply\nX")
            )
            time.sleep(0.2)  # the client finds B's terminator before its DataEnd, mostly
            sync.sendall(message(MessageType.DATA_END, message_id, b"Y"))

    _, session = serve(script)
    for _ in range(2):
        session.write("A?")
        session.write("B?")
        assert session.read() == "B's reply"  # whole, and cut at its terminator


def test_interrupted_drops_the_reply_in_progress(serve: Start) -> None:
    window: list[bytes] = []

    def script(sync: socket.socket, async_: socket.socket) -> None:
        receive(sync)  # A?
        _, _, message_id, _ = receive(sync)  # B? sent before A's reply was read
        sync.sendall(
            message(MessageType.DATA, ANY, b"part of A's reply")
            + message(MessageType.INTERRUPTED, message_id)
            + message(MessageType.DATA_END, message_id, b"B\n")
        )
        # IVI-6.1 3.1.2 rule 4: having seen Interrupted, the client sends nothing more
        # until AsyncInterrupted arrives.
        sync.settimeout(0.3)
        with contextlib.suppress(TimeoutError):
            window.append(sync.recv(64))
        sync.settimeout(5.0)
        async_.sendall(message(MessageType.ASYNC_INTERRUPTED, message_id))
        answer_idn(sync, async_)

    server, session = serve(script)
    session.write("A?")
    session.write("B?")
    assert session.read() == "B"
    assert session.query("*IDN?").startswith("Manufacturer")
    server.join()
    assert window == []


def test_async_interrupted_first_drops_data_until_interrupted(serve: Start) -> None:
    def script(sync: socket.socket, async_: socket.socket) -> None:
        receive(sync)  # A?
        _, _, message_id, _ = receive(sync)  # B?
        async_.sendall(message(MessageType.ASYNC_INTERRUPTED, message_id))
        receive(async_)  # the lock request: the client reads AsyncInterrupted on the way
        async_.sendall(message(MessageType.ASYNC_LOCK_RESPONSE, 0, control=1))
        sync.sendall(message(MessageType.DATA_END, message_id, b"discarded\n"))
        time.sleep(0.2)  # the client reads that, mostly, before Interrupted comes
        sync.sendall(
            message(MessageType.INTERRUPTED, message_id)
            + message(MessageType.DATA_END, message_id, b"B\n")
        )
        receive(async_)  # release
        async_.sendall(message(MessageType.ASYNC_LOCK_RESPONSE, 0, control=1))

    _, session = serve(script)
    session.write("A?")
    session.write("B?")
    with session.lock_instrument(timeout=1.0):
        assert session.read() == "B"


# -- the server's errors


def test_a_non_fatal_error_names_the_instrument_and_the_session_goes_on(serve: Start) -> None:
    def script(sync: socket.socket, async_: socket.socket) -> None:
        receive(sync)
        sync.sendall(message(MessageType.ERROR, 0, b"Message too large for the parser", 4))
        answer_idn(sync, async_)

    server, session = serve(script)
    with pytest.raises(ProtocolError) as caught:
        session.query(":CONF:VOLT")
    assert caught.value.instrument == server.resource
    assert caught.value.command == ":CONF:VOLT"
    text = str(caught.value)
    assert "error 4 (message too large)" in text
    assert "Message too large for the parser" in text
    assert session.in_step  # the message IDs keep the session in step: no resync needed
    assert session.query("*IDN?").startswith("Manufacturer of the Device")


def test_a_fatal_error_mid_query_ends_the_session_by_name(serve: Start) -> None:
    def script(sync: socket.socket, async_: socket.socket) -> None:
        receive(sync)
        sync.sendall(
            message(MessageType.DATA, ANY, b"1,2,")
            + message(MessageType.FATAL_ERROR, 0, b"instrument firmware fault", 128)
        )
        sync.close()

    server, session = serve(script)
    with pytest.raises(ConnectionFailed) as caught:
        session.query("READ?")
    assert caught.value.instrument == server.resource
    assert caught.value.command == "READ?"
    assert "fatal error 128 (device-defined): instrument firmware fault" in str(caught.value)
    with pytest.raises(ConnectionFailed, match="instrument firmware fault"):  # at once
        session.query("*IDN?")
    session.in_step = True  # no resync on the way: the read itself says why
    with pytest.raises(ConnectionFailed, match="instrument firmware fault"):
        session.read()


def test_initialize_answered_with_fatal_error_fails_the_open_by_name() -> None:
    text = b"no instrument at sub-address 'hislip0'; known: hislip1"
    _, error = open_refused((message(MessageType.FATAL_ERROR, 0, text, 3),))
    assert "fatal error 3 (invalid initialization sequence)" in str(error)
    assert text.decode() in str(error)


def test_async_initialize_answered_with_fatal_error_fails_the_open_by_name() -> None:
    text = b"too many clients"
    opening = (REAL_INITIALIZE_RESPONSE, message(MessageType.FATAL_ERROR, 0, text, 4), b"")
    server = ForeignServer(lambda sync, async_: None, opening=opening)
    with pytest.raises(ConnectionFailed, match="too many clients") as caught:
        open_transport(server.resource, timeout=2.0)
    server.abandon()  # its script stops at the AsyncMaximumMessageSize never sent
    assert caught.value.instrument == server.resource


# -- locks


def lock_script(request: int, release: int | None, seen: list[Message]) -> Script:
    def script(sync: socket.socket, async_: socket.socket) -> None:
        seen.append(receive(async_))
        async_.sendall(message(MessageType.ASYNC_LOCK_RESPONSE, 0, control=request))
        if release is None:
            return
        answer_idn(sync, async_)
        seen.append(receive(async_))
        async_.sendall(message(MessageType.ASYNC_LOCK_RESPONSE, 0, control=release))

    return script


@pytest.mark.parametrize(("request_answer", "release_answer"), [(1, 1), (1, 2), (2, 2)])
def test_a_granted_lock_runs_the_block_and_is_released(
    serve: Start, request_answer: int, release_answer: int
) -> None:
    seen: list[Message] = []
    _, session = serve(lock_script(request_answer, release_answer, seen))
    with session.lock_instrument(timeout=0.5, shared_key="team" if release_answer == 2 else ""):
        assert session.query("*IDN?").startswith("Manufacturer")
    key = b"team" if release_answer == 2 else b""
    assert seen == [
        (MessageType.ASYNC_LOCK, 1, 500, key),  # request: timeout in ms, the shared key
        (MessageType.ASYNC_LOCK, 0, FIRST, b""),  # release: the last message's ID
    ]


@pytest.mark.parametrize(
    ("answer", "raised", "match"),
    [
        (0, Timeout, r"exclusive lock was not granted within 0\.5 s"),  # failure: not in time
        (3, InstrumentError, "refused the exclusive lock"),  # error
    ],
)
def test_a_lock_not_granted_never_runs_the_block(
    serve: Start, answer: int, raised: type[InstrumentError], match: str
) -> None:
    server, session = serve(lock_script(answer, None, []))
    with pytest.raises(raised, match=match) as caught, session.lock_instrument(timeout=0.5):
        pytest.fail("the block ran without the lock")
    assert caught.value.instrument == server.resource


def test_a_release_answered_error_says_the_lock_was_not_held(serve: Start) -> None:
    server, session = serve(lock_script(1, 3, []))
    with (
        pytest.raises(InstrumentError, match="held no lock when releasing") as caught,
        session.lock_instrument(timeout=0.5),
    ):
        session.query("*IDN?")
    assert caught.value.instrument == server.resource


def test_a_server_without_locks_answers_error_and_the_session_goes_on(serve: Start) -> None:
    def script(sync: socket.socket, async_: socket.socket) -> None:
        receive(async_)
        async_.sendall(message(MessageType.ERROR, 0, b"AsyncLock not supported", 1))
        answer_idn(sync, async_)

    server, session = serve(script)
    with (
        pytest.raises(ProtocolError, match="AsyncLock not supported") as caught,
        session.lock_instrument(timeout=0.5),
    ):
        pytest.fail("the block ran without the lock")
    assert caught.value.instrument == server.resource
    assert "error 1 (unrecognized message type)" in str(caught.value)
    assert session.query("*IDN?").startswith("Manufacturer")


# -- a server that goes away


@pytest.mark.parametrize("cut", [4, 16 + 40, 16 + 300 + 10])
def test_a_server_closing_mid_reply_is_a_connection_failure(serve: Start, cut: int) -> None:
    def script(sync: socket.socket, async_: socket.socket) -> None:
        _, _, message_id, _ = receive(sync)
        wire = message(MessageType.DATA, message_id, bytes(300)) + message(
            MessageType.DATA_END, message_id, b"#0\n"
        )
        sync.sendall(wire[:cut])
        sync.shutdown(socket.SHUT_RDWR)
        sync.close()

    server, session = serve(script)
    with pytest.raises(ConnectionFailed, match="closed") as caught:
        session.query("CURV?")
    assert caught.value.instrument == server.resource
    assert caught.value.command == "CURV?"


def test_a_server_closing_mid_block_read_is_a_connection_failure(serve: Start) -> None:
    def script(sync: socket.socket, async_: socket.socket) -> None:
        _, _, message_id, _ = receive(sync)
        sync.sendall(message(MessageType.DATA_END, message_id, b"#6100000" + bytes(70000))[:-5])
        sync.close()

    _, session = serve(script)
    with pytest.raises(ConnectionFailed, match="closed"):
        session.query_block("CURV?", dtype="u1")


def test_a_service_request_before_the_clear_acknowledge_is_not_taken_for_it(
    serve: Start,
) -> None:
    seen: list[Message] = []

    def script(sync: socket.socket, async_: socket.socket) -> None:
        seen.append(receive(async_))  # AsyncDeviceClear
        async_.sendall(
            message(MessageType.ASYNC_SERVICE_REQUEST, 0, control=0x40)  # status byte: RQS
            + message(MessageType.ASYNC_DEVICE_CLEAR_ACKNOWLEDGE, 0)
        )
        seen.append(receive(sync))
        sync.sendall(message(MessageType.DEVICE_CLEAR_ACKNOWLEDGE, 0))
        seen.append(receive(async_))  # the lock request finds its own answer
        async_.sendall(message(MessageType.ASYNC_LOCK_RESPONSE, 0, control=1))

    _, session = serve(script)
    session.transport.clear()  # type: ignore[attr-defined]
    assert session.transport.async_lock_request(0.5) == "success"  # type: ignore[attr-defined]
    assert [kind for kind, _, _, _ in seen] == [
        MessageType.ASYNC_DEVICE_CLEAR,
        MessageType.DEVICE_CLEAR_COMPLETE,
        MessageType.ASYNC_LOCK,
    ]
    assert seen[1][1] == 0  # not the status byte taken for the server's features


def test_a_drained_reply_is_not_delivered(serve: Start) -> None:
    sent: list[Message] = []

    def script(sync: socket.socket, async_: socket.socket) -> None:
        _, _, message_id, _ = receive(sync)
        sync.sendall(message(MessageType.DATA_END, message_id, b"a\nb\n"))
        sent.append(receive(sync))

    server, session = serve(script)
    session.write("A?")
    assert session.read() == "a"
    session.drain(quiet=0.05)  # drops "b\n", the end of the reply: not read by anyone
    session.write("B")
    server.join()
    assert sent[0][:2] == (MessageType.DATA_END, 0)


def test_pyvisa_pys_client_reads_the_same_scripted_instrument() -> None:
    """A second client on the scripted server: pyvisa-py's protocol client opens it and
    reads the captured reply, so the script is a server another HiSLIP client accepts."""
    sent: list[Message] = []

    def script(sync: socket.socket, async_: socket.socket) -> None:
        sent.append(receive(sync))
        sync.sendall(REAL_IDN_REPLY)

    server = ForeignServer(script)
    client = hislip.Instrument("127.0.0.1", port=server.port, sub_address="hislip0", timeout=2.0)
    try:
        client.send(b"*IDN?\n")
        assert bytes(client.receive()) == REAL_IDN
    finally:
        client.close()
        server.join()
    assert client._async_init.vendor_id == (b"\x00\x00XX",)  # the server's "XX"
    assert sent == [(MessageType.DATA_END, 0, FIRST, b"*IDN?\n")]  # as ours sends it


def test_rmt_delivered_as_pyvisa_pys_client_sets_it() -> None:
    """The same program through pyvisa-py's protocol client and ours: the same flags."""

    def run(program: Callable[[ForeignServer], None]) -> list[tuple[int, int]]:
        sent: list[Message] = []

        def script(sync: socket.socket, async_: socket.socket) -> None:
            for _ in range(4):
                sent.append(receive(sync))
                if sent[-1][3].endswith(b"?\n"):
                    sync.sendall(message(MessageType.DATA_END, sent[-1][2], b"1\n"))

        server = ForeignServer(script)
        program(server)
        server.join()
        return [(kind, control) for kind, control, _, _ in sent]

    def theirs(server: ForeignServer) -> None:
        client = hislip.Instrument("127.0.0.1", port=server.port, timeout=2.0)
        client.send(b"A?\n")
        client.receive()
        for text in (b"B\n", b"C\n", b"D?\n"):
            client.send(text)
        client.close()

    def ours(server: ForeignServer) -> None:
        with open_transport(server.resource, timeout=2.0) as transport:
            session = Session(transport)
            session.query("A?")
            for text in ("B", "C", "D?"):
                session.write(text)

    assert run(ours) == run(theirs) == [(MessageType.DATA_END, c) for c in (0, 1, 0, 0)]


def test_ik_open_identifies_the_real_instrument_over_hislip() -> None:
    """`ik.open` asks `*IDN?` through our client; no driver serves the captured
    instrument, so the error names what it answered."""

    def script(sync: socket.socket, async_: socket.socket) -> None:
        kind, _, message_id, payload = receive(sync)
        assert (kind, message_id, payload) == (MessageType.DATA_END, FIRST, b"*IDN?\n")
        sync.sendall(REAL_IDN_REPLY)

    server = ForeignServer(script)
    try:
        with pytest.raises(DriverNotFound, match="Manufacturer of the Device,Model,Serial"):
            ik.open(server.resource, timeout=2.0)
    finally:
        server.join()


def test_a_server_without_locks_under_pyvisa_py_is_our_error_too() -> None:
    """With `backend="@py"` the lock goes through pyvisa-py's protocol client, which raises a
    bare RuntimeError for an Error answer; the session says it as ours, naming the
    instrument, never as a RuntimeError."""

    def script(sync: socket.socket, async_: socket.socket) -> None:
        receive(async_)
        async_.sendall(message(MessageType.ERROR, 0, b"AsyncLock not supported", 1))

    server = ForeignServer(script)
    session = Session(open_transport(server.resource, backend="@py", timeout=2.0))
    try:
        with (
            pytest.raises(ProtocolError, match="AsyncLock not supported") as caught,
            session.lock_instrument(timeout=0.5),
        ):
            pytest.fail("the block ran without the lock")
        assert caught.value.instrument == session.name  # pyvisa spells it TCPIP0::...
        assert f"hislip0,{server.port}" in session.name
        assert "exclusive lock" in str(caught.value)
    finally:
        session.close()
        server.join()


def test_a_lost_hislip_session_is_not_reopened_as_a_bare_socket(serve: Start) -> None:
    """Decision 0010: raw sockets reconnect, a HiSLIP session does not (yet): the exchange
    after the loss says so, and nothing reaches the server without an Initialize."""

    def script(sync: socket.socket, async_: socket.socket) -> None:
        receive(sync)
        sync.close()  # the instrument goes away mid-query

    server, session = serve(script)
    with pytest.raises(ConnectionFailed):
        session.query("READ?")
    assert session.link_lost
    with pytest.raises(ConnectionFailed, match="HiSLIP session is not reopened") as caught:
        session.query("*IDN?")
    assert caught.value.command == "(reconnect)"
    assert caught.value.instrument == server.resource
