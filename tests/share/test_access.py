"""Who may do what: allowed networks, operators and observers, read-only instruments, limits."""

from __future__ import annotations

import ipaddress
import socket
import struct

import pytest
from pyvisa_py.protocols import hislip

from instrumentkit.errors import ConfigError
from instrumentkit.share import InstrumentRules, Limits, SharedInstrument, ShareServer, UsageRecord
from instrumentkit.share._protocol import ErrorCode, FatalCode, MessageType, encode_header

from .conftest import MakeShare, RawClient, wait_until

ELSEWHERE = (ipaddress.ip_network("10.0.0.0/8"),)


def _observer_rules() -> dict[str, InstrumentRules]:
    return {"bench": InstrumentRules(timeout=2.0, operators=ELSEWHERE)}


def test_observers_query_but_may_not_write(make_share: MakeShare) -> None:
    usage = UsageRecord(None)
    share = make_share(rules=_observer_rules(), usage=usage)
    client = RawClient(share.port)
    try:
        before = client.query(b":LEV?", 0xFFFF_FF00)
        client.sync.sendall(encode_header(MessageType.DATA_END, 0, 0xFFFF_FF02, 9) + b":LEV 12.5")
        kind, code, _, text = client.receive(client.sync)
        assert (kind, code) == (MessageType.ERROR, ErrorCode.REFUSED)
        assert b"observer" in text
        assert b"127.0.0.1" in text
        assert client.query(b":LEV?", 0xFFFF_FF04) == before  # nothing reached the instrument
        # A compound message with one command in it is a write too.
        compound = b":LEV?;:LEV 3.0"
        client.sync.sendall(
            encode_header(MessageType.DATA_END, 0, 0xFFFF_FF06, len(compound)) + compound
        )
        assert client.receive(client.sync)[:2] == (MessageType.ERROR, ErrorCode.REFUSED)
    finally:
        client.close()
    refused = usage.query("SELECT kind, detail FROM events WHERE kind = 'refused'")
    assert len(refused) == 2
    assert "LEV 12.5" in refused[0][1]
    usage.close()


def test_observers_may_not_lock(make_share: MakeShare) -> None:
    share = make_share(rules=_observer_rules())
    observer = hislip.Instrument("127.0.0.1", port=share.port, sub_address="hislip_bench")
    try:
        assert observer.async_lock_request(0.2) == "error"
        assert observer.async_lock_info() == 0
    finally:
        observer.close()


def test_read_only_takes_no_writes_from_anyone(make_share: MakeShare) -> None:
    share = make_share(rules={"bench": InstrumentRules(timeout=2.0, read_only=True)})
    client = RawClient(share.port)
    try:
        client.sync.sendall(encode_header(MessageType.DATA_END, 0, 0xFFFF_FF00, 4) + b"*RST")
        kind, code, _, text = client.receive(client.sync)
        assert (kind, code) == (MessageType.ERROR, ErrorCode.REFUSED)
        assert b"read-only" in text
        assert client.query(b"*IDN?", 0xFFFF_FF02) == b"Acme,BENCH,0001,1.0\n"
    finally:
        client.close()


def test_clients_outside_allow_are_closed_at_accept(lab: object) -> None:
    from instrumentkit.connect import open_transport

    usage = UsageRecord(None)
    bench = SharedInstrument("bench", open_transport(lab.resource("bench")))  # type: ignore[attr-defined]
    try:
        with ShareServer({"bench": bench}, port=0, allow=ELSEWHERE, usage=usage) as share:
            sock = socket.create_connection(("127.0.0.1", share.port), timeout=5.0)
            sock.sendall(encode_header(MessageType.INITIALIZE, 0, 0x0100_0000, 7) + b"hislip0")
            try:
                answer = sock.recv(16)
            except ConnectionResetError:  # closed with our Initialize unread: a reset
                answer = b""
            assert answer == b""  # closed without a word
            sock.close()
            assert wait_until(lambda: len(usage.query("SELECT * FROM events")) == 1)
            ((kind, client),) = usage.query("SELECT kind, client FROM events")
            assert (kind, client) == ("rejected", "127.0.0.1")
    finally:
        bench.close()
        usage.close()


def test_a_public_host_without_allow_is_refused(lab: object) -> None:
    from instrumentkit.connect import open_transport

    bench = SharedInstrument("bench", open_transport(lab.resource("bench")))  # type: ignore[attr-defined]
    try:
        with pytest.raises(ConfigError, match="allow"):
            ShareServer({"bench": bench}, host="0.0.0.0", port=0)
    finally:
        bench.close()


def test_too_many_clients_get_fatal_error(make_share: MakeShare) -> None:
    share = make_share(rules={"bench": InstrumentRules(timeout=2.0, max_clients=2)})
    first, second = RawClient(share.port), RawClient(share.port)
    try:
        sock = socket.create_connection(("127.0.0.1", share.port), timeout=5.0)
        sock.sendall(encode_header(MessageType.INITIALIZE, 0, 0x0100_0000, 12) + b"hislip_bench")
        kind, code, _, text = RawClient.receive(sock)
        assert (kind, code) == (MessageType.FATAL_ERROR, FatalCode.TOO_MANY_CLIENTS)
        assert b"maximum of 2 clients" in text
        sock.close()
        assert first.query(b":ECHO? 1") == b"1\n"  # those in stay in
        second.close()
        assert wait_until(lambda: len(share.clients) == 1)
        third = RawClient(share.port)  # a place freed
        assert third.query(b":ECHO? 3") == b"3\n"
        third.close()
    finally:
        first.close()


def test_maximum_message_size_is_announced_and_enforced(make_share: MakeShare) -> None:
    share = make_share(limits=Limits(max_message_size=4096))
    client = hislip.Instrument("127.0.0.1", port=share.port, sub_address="hislip_bench")
    try:
        assert client.max_msg_size == 4096  # AsyncMaximumMessageSizeResponse
        client.send(b":ECHO? '" + b"x" * 10_000 + b"'\n")  # pyvisa-py splits it into Data parts
        assert client.receive(20_000) == b"'" + b"x" * 10_000 + b"'\n"
    finally:
        client.close()
    raw = RawClient(share.port)
    try:
        raw.sync.sendall(encode_header(MessageType.DATA_END, 0, 0xFFFF_FF00, 5000) + b"x" * 5000)
        kind, _, _, text = raw.receive(raw.sync)
        assert kind == MessageType.FATAL_ERROR
        assert b"5000 bytes" in text
    finally:
        raw.close()


def test_idle_clients_are_closed(make_share: MakeShare) -> None:
    share = make_share(limits=Limits(idle_timeout=0.3))
    client = RawClient(share.port)
    try:
        kind, _, _, text = client.receive(client.sync)  # nothing sent: the server speaks last
        assert kind == MessageType.FATAL_ERROR
        assert b"idle" in text
        assert client.sync.recv(1) == b""
    finally:
        client.close()


def test_message_size_response_layout(make_share: MakeShare) -> None:
    share = make_share(limits=Limits(max_message_size=8192))
    client = RawClient(share.port)
    try:
        client.async_.sendall(
            encode_header(MessageType.ASYNC_MAXIMUM_MESSAGE_SIZE, 0, 0, 8) + struct.pack("!Q", 100)
        )
        kind, control, parameter, payload = client.receive(client.async_)
        assert (kind, control, parameter) == (MessageType.ASYNC_MAXIMUM_MESSAGE_SIZE_RESPONSE, 0, 0)
        assert struct.unpack("!Q", payload) == (8192,)
        # The client said it takes 100 bytes at most: a longer reply comes in Data parts.
        text = b"y" * 300
        client.sync.sendall(
            encode_header(MessageType.DATA_END, 0, 0xFFFF_FF00, 9 + len(text))
            + b":ECHO? '" + text + b"'"
        )  # fmt: skip
        parts = []
        while True:
            kind, _, parameter, payload = client.receive(client.sync)
            assert parameter == 0xFFFF_FF00
            assert len(payload) <= 100
            parts.append(payload)
            if kind == MessageType.DATA_END:
                break
            assert kind == MessageType.DATA
        assert b"".join(parts) == b"'" + text + b"'\n"
    finally:
        client.close()
