"""Malformed and hostile input: the server stays up and the other clients never notice."""

from __future__ import annotations

import contextlib
import random
import socket
import threading
from collections.abc import Iterator

import pytest
import pyvisa

from instrumentkit.share import Limits, ShareServer
from instrumentkit.share._protocol import ErrorCode, FatalCode, MessageType, encode_header

from .conftest import MakeShare, RawClient, wait_until


class Bystander:
    """A polite pyvisa-py client asking numbered questions the whole time."""

    def __init__(self, share: ShareServer) -> None:
        self.rm = pyvisa.ResourceManager("@py")
        self.resource = self.rm.open_resource(
            share.resource("bench2"), read_termination="\n", timeout=5000
        )
        self.answers = 0
        self.wrong: list[tuple[str, str]] = []
        self.failures: list[BaseException] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._ask, daemon=True)
        self._thread.start()

    def _ask(self) -> None:
        number = 0
        while not self._stop.is_set():
            number += 1
            try:
                answer = self.resource.query(f":ECHO? {number}")
            except BaseException as error:  # recorded; the test fails on it
                self.failures.append(error)
                return
            if answer != str(number):
                self.wrong.append((str(number), answer))
            self.answers += 1

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(10)
        self.rm.close()


@pytest.fixture
def hostile_share(make_share: MakeShare) -> Iterator[tuple[ShareServer, Bystander]]:
    share = make_share(limits=Limits(io_timeout=1.0, max_message_size=65536))
    bystander = Bystander(share)
    assert wait_until(lambda: bystander.answers > 0)
    yield share, bystander
    before = bystander.answers
    assert wait_until(lambda: bystander.answers > before + 5)  # still answered after it all
    bystander.stop()
    assert bystander.failures == []
    assert bystander.wrong == []


def _connect(share: ShareServer) -> socket.socket:
    return socket.create_connection(("127.0.0.1", share.port), timeout=5.0)


def _closed(sock: socket.socket) -> bool:
    try:
        while sock.recv(65536):
            pass
    except OSError:
        pass
    return True


def test_wrong_prologue_is_fatal(hostile_share: tuple[ShareServer, Bystander]) -> None:
    share, _ = hostile_share
    sock = _connect(share)
    sock.sendall(b"GET / HTTP/1.1\r\n\r\n")
    kind, code, _, text = RawClient.receive(sock)
    assert (kind, code) == (MessageType.FATAL_ERROR, FatalCode.POORLY_FORMED_HEADER)
    assert b"HS" in text
    assert _closed(sock)


def test_random_bytes_after_initialize(hostile_share: tuple[ShareServer, Bystander]) -> None:
    share, _ = hostile_share
    rng = random.Random(13)
    for _ in range(20):
        client = RawClient(share.port)
        client.sync.sendall(bytes(rng.randrange(256) for _ in range(rng.randrange(1, 64))))
        with contextlib.suppress(OSError):  # the server may have closed it already
            client.sync.shutdown(socket.SHUT_WR)
        _closed(client.sync)
        client.close()
    assert wait_until(lambda: len(share.clients) == 1)  # only the bystander is left


def test_truncated_headers_and_dropped_connections(
    hostile_share: tuple[ShareServer, Bystander],
) -> None:
    share, _ = hostile_share
    whole = encode_header(MessageType.INITIALIZE, 0, 0x0100_0000, 12) + b"hislip_bench"
    for cut in range(len(whole)):
        sock = _connect(share)
        sock.sendall(whole[:cut])
        sock.close()
    client = RawClient(share.port)
    client.sync.sendall(encode_header(MessageType.DATA_END, 0, 0xFFFF_FF00, 20)[:9])
    client.close()
    assert wait_until(lambda: len(share.clients) == 1)


def test_unknown_message_types_are_errors_not_fatal(
    hostile_share: tuple[ShareServer, Bystander],
) -> None:
    share, _ = hostile_share
    client = RawClient(share.port)
    try:
        for kind in (200, MessageType.ASYNC_LOCK, MessageType.INITIALIZE_RESPONSE):
            client.sync.sendall(encode_header(kind, 0, 0, 3) + b"abc")
            reply = client.receive(client.sync)
            assert reply[:2] == (MessageType.ERROR, ErrorCode.UNRECOGNIZED_MESSAGE_TYPE)
        client.async_.sendall(encode_header(MessageType.DATA_END, 0, 0, 0))
        assert client.receive(client.async_)[0] == MessageType.ERROR
        assert client.query(b":ECHO? still") == b"still\n"  # the connection carries on
    finally:
        client.close()


def test_absurd_payload_lengths_are_fatal(hostile_share: tuple[ShareServer, Bystander]) -> None:
    share, _ = hostile_share
    for channel in ("sync", "async"):
        client = RawClient(share.port)
        sock = client.sync if channel == "sync" else client.async_
        sock.sendall(encode_header(MessageType.DATA, 0, 0, 1 << 62))
        kind, _, _, text = RawClient.receive(sock)
        assert kind == MessageType.FATAL_ERROR
        assert str(1 << 62).encode() in text
        client.close()


def test_a_flood_of_data_is_fatal(make_share: MakeShare) -> None:
    share = make_share(limits=Limits(max_message_size=4096, max_program_size=16384))
    client = RawClient(share.port)
    part = encode_header(MessageType.DATA, 0, 0xFFFF_FF00, 4096) + b"z" * 4096
    try:
        with contextlib.suppress(OSError):  # the server may close while we still push
            for _ in range(5):  # 20 kB of one program message: over 16 kB
                client.sync.sendall(part)
        try:
            kind, _, _, text = client.receive(client.sync)
        except ConnectionError:
            pass  # the FatalError was lost in the reset: the close is what matters
        else:
            assert kind == MessageType.FATAL_ERROR
            assert b"16384" in text
    finally:
        client.close()
    assert wait_until(lambda: share.clients == [])


def test_initialization_errors(hostile_share: tuple[ShareServer, Bystander]) -> None:
    share, _ = hostile_share
    cases = [
        encode_header(MessageType.ASYNC_INITIALIZE, 0, 0xBEEF),  # no such session
        encode_header(MessageType.DATA_END, 0, 0, 0),  # data before Initialize
        encode_header(MessageType.INITIALIZE, 0, 0x0100_0000, 100_000),  # absurd sub-address
    ]
    for message in cases:
        sock = _connect(share)
        sock.sendall(message)
        kind, code, _, _ = RawClient.receive(sock)
        assert (kind, code) == (MessageType.FATAL_ERROR, FatalCode.INVALID_INITIALIZATION)
        sock.close()


def test_a_client_that_never_reads(hostile_share: tuple[ShareServer, Bystander]) -> None:
    share, _ = hostile_share
    client = RawClient(share.port, b"hislip_bench")
    client.sync.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    query = b":BLOC? 2000000"
    for number in range(8):  # 16 MB of replies that nobody reads
        client.sync.sendall(
            encode_header(MessageType.DATA_END, 0, 0xFFFF_FF00 + 2 * number, len(query)) + query
        )
    # The server gives up on it after io_timeout; the bystander went on meanwhile.
    assert wait_until(lambda: len(share.clients) == 1, timeout=20.0)
    client.close()
