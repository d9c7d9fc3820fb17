"""A share of simulated instruments on loopback, driven by pyvisa-py's own HiSLIP client."""

from __future__ import annotations

import socket
import time
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np
import pytest

from instrumentkit.connect import open_transport
from instrumentkit.share import InstrumentRules, Limits, SharedInstrument, ShareServer, UsageRecord
from instrumentkit.share._protocol import HEADER, MessageType, encode_header
from instrumentkit.sim import Device, Reply, ScpiDevice, Setting, binary_block, command, serve


class Bench(ScpiDevice):
    """A meter that counts, echoes, sends blocks full of terminator bytes, and dawdles."""

    idn = "Acme,BENCH,0001,1.0"
    level = Setting(":LEVel", 0.0, limits=(-1e9, 1e9))

    @command(":ECHO?")
    def echo(self, text: str) -> str:
        return text

    @command(":BLOCk?")
    def block(self, size: str) -> bytes:
        payload = (np.arange(int(size)) % 251).astype(np.uint8)  # holds every byte, \n too
        return binary_block(payload)

    @command("*TRG")
    def trigger(self) -> None:
        self.triggers = getattr(self, "triggers", 0) + 1

    @command(":TRIGgers?")
    def trigger_count(self) -> str:
        return str(getattr(self, "triggers", 0))

    @command(":SLOWIDN?")
    def slow_idn(self, seconds: str) -> Reply:
        return Reply(self.idn, delay=float(seconds))  # a late reply that looks like *IDN?'s

    @command(":SLOW?")
    def slow(self, seconds: str) -> Reply:
        return Reply("done", delay=float(seconds))


class Gauge(Device):
    """ENQ/ACK: any line -> ACK CR LF; ENQ -> the reading; bytes pass as they are."""

    def receive(self, data: bytes) -> None:
        for line in data.split(b"\r\n"):
            if line == b"\x05":
                self.send(b"0,1.2300E-05\r\n", command="ENQ")
            elif line:
                self.send(b"\x06\r\n", command=line.decode("latin-1"))


def block_payload(size: int) -> bytes:
    return (np.arange(size) % 251).astype(np.uint8).tobytes()


@pytest.fixture(scope="module")
def lab() -> Iterator[Any]:
    with serve({"bench": Bench(seed=1), "bench2": Bench(seed=2), "gauge": Gauge()}) as served:
        yield served


MakeShare = Callable[..., ShareServer]


@pytest.fixture
def make_share(lab: Any) -> Iterator[MakeShare]:
    """`make_share(rules={"bench": InstrumentRules(...)}, limits=Limits(...))`."""
    servers: list[ShareServer] = []
    instruments: list[SharedInstrument] = []

    def make(
        *,
        rules: dict[str, InstrumentRules] | None = None,
        limits: Limits | None = None,
        usage: UsageRecord | None = None,
        names: tuple[str, ...] = ("bench", "bench2", "gauge"),
    ) -> ShareServer:
        given = rules or {}
        default = {"gauge": InstrumentRules(protocol="raw", timeout=2.0)}
        shared = {
            name: SharedInstrument(
                name,
                open_transport(lab.resource(name), timeout=2.0),
                given.get(name) or default.get(name) or InstrumentRules(timeout=2.0),
            )
            for name in names
        }
        instruments.extend(shared.values())
        server = ShareServer(shared, port=0, limits=limits, usage=usage).start()
        servers.append(server)
        return server

    yield make
    for server in servers:
        server.close()
    for instrument in instruments:
        instrument.close()


@pytest.fixture
def share(make_share: MakeShare) -> ShareServer:
    return make_share()


class RawClient:
    """Bytes on the wire, for what no polite client sends."""

    def __init__(self, port: int, sub_address: bytes = b"hislip_bench") -> None:
        self.sync = socket.create_connection(("127.0.0.1", port), timeout=5.0)
        self.sync.sendall(
            encode_header(MessageType.INITIALIZE, 0, 0x0100_4142, len(sub_address)) + sub_address
        )
        reply = self.receive(self.sync)
        assert reply[0] == MessageType.INITIALIZE_RESPONSE, reply
        self.session_id = reply[2] & 0xFFFF
        self.async_ = socket.create_connection(("127.0.0.1", port), timeout=5.0)
        self.async_.sendall(encode_header(MessageType.ASYNC_INITIALIZE, 0, self.session_id))
        assert self.receive(self.async_)[0] == MessageType.ASYNC_INITIALIZE_RESPONSE

    @staticmethod
    def receive(sock: socket.socket) -> tuple[int, int, int, bytes]:
        raw = _exact(sock, HEADER.size)
        prologue, kind, control, parameter, length = HEADER.unpack(raw)
        assert prologue == b"HS"
        return kind, control, parameter, _exact(sock, length)

    def query(self, text: bytes, message_id: int = 0xFFFF_FF00) -> bytes:
        self.sync.sendall(encode_header(MessageType.DATA_END, 0, message_id, len(text)) + text)
        kind, _, parameter, payload = self.receive(self.sync)
        assert (kind, parameter) == (MessageType.DATA_END, message_id), (kind, payload)
        return payload

    def close(self) -> None:
        self.sync.close()
        self.async_.close()


def _exact(sock: socket.socket, count: int) -> bytes:
    data = b""
    while len(data) < count:
        chunk = sock.recv(count - len(data))
        if not chunk:
            raise ConnectionError(f"closed after {len(data)} of {count} bytes")
        data += chunk
    return data


def wait_until(condition: Callable[[], bool], timeout: float = 5.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.01)
    return condition()


__all__ = ["RawClient", "block_payload", "wait_until"]
