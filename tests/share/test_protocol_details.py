"""Message layouts the polite clients do not show: status, trigger, lock info, remote/local,
and the instrument's own timeouts."""

from __future__ import annotations

import time

import pytest
import pyvisa
from pyvisa_py.protocols import hislip

from instrumentkit.share import InstrumentRules
from instrumentkit.share._protocol import ErrorCode, LockResult, MessageType, encode_header

from .conftest import MakeShare, RawClient


def test_status_query_asks_the_instrument(make_share: MakeShare) -> None:
    share = make_share()
    rm = pyvisa.ResourceManager("@py")
    try:
        bench = rm.open_resource(share.resource("bench"), read_termination="\n")
        bench.write("*CLS")
        assert bench.read_stb() == 0
        bench.write(":NO:SUCH:COMMand")  # a command error: error queue (bit 2) and ESB (bit 5)
        assert bench.read_stb() == 4 | 32
        bench.write("*CLS")
        assert bench.read_stb() == 0
    finally:
        rm.close()


def test_status_query_waits_for_the_message_it_names(make_share: MakeShare) -> None:
    """The query may overtake the message on the other channel: it names that message
    (pyvisa-py: the next MessageID), so the answer waits until the message has run."""
    share = make_share()
    client = RawClient(share.port)
    try:
        client.sync.sendall(encode_header(MessageType.DATA_END, 0, 0xFFFF_FF00, 4) + b"*CLS")
        client.async_.sendall(encode_header(MessageType.ASYNC_STATUS_QUERY, 0, 0xFFFF_FF04))
        time.sleep(0.3)  # the query is waiting; only now does the message it names go out
        bad = b":NO:SUCH:COMMand"
        client.sync.sendall(encode_header(MessageType.DATA_END, 0, 0xFFFF_FF02, len(bad)) + bad)
        kind, status, _, _ = client.receive(client.async_)
        assert (kind, status) == (MessageType.ASYNC_STATUS_RESPONSE, 4 | 32)
    finally:
        client.close()


def test_status_query_before_any_message_answers_at_once(make_share: MakeShare) -> None:
    share = make_share()
    client = RawClient(share.port)
    try:
        client.query(b"*CLS;*OPC?")  # a clean status byte, then a fresh session
        fresh = RawClient(share.port)
        started = time.monotonic()
        fresh.async_.sendall(encode_header(MessageType.ASYNC_STATUS_QUERY, 0, 0xFFFF_FF00))
        kind, status, _, _ = fresh.receive(fresh.async_)
        assert (kind, status) == (MessageType.ASYNC_STATUS_RESPONSE, 0)
        assert time.monotonic() - started < 1.5  # not the 2 s bound on waiting for order
        fresh.close()
    finally:
        client.close()


def test_trigger_reaches_scpi_instruments_as_trg(make_share: MakeShare) -> None:
    share = make_share()
    client = RawClient(share.port)
    try:
        before = int(client.query(b":TRIG?"))
        client.sync.sendall(encode_header(MessageType.TRIGGER, 0, 0xFFFF_FF02))
        assert int(client.query(b":TRIG?", 0xFFFF_FF04)) == before + 1
    finally:
        client.close()
    gauge = RawClient(share.port, b"hislip_gauge")
    try:
        gauge.sync.sendall(encode_header(MessageType.TRIGGER, 0, 0xFFFF_FF00))
        kind, code, _, text = gauge.receive(gauge.sync)
        assert (kind, code) == (MessageType.ERROR, ErrorCode.REFUSED)
        assert b"SCPI" in text
    finally:
        gauge.close()


def test_lock_info_counts_the_holders(make_share: MakeShare) -> None:
    share = make_share()
    one, two, asker = (RawClient(share.port) for _ in range(3))
    try:
        for client in (one, two):
            client.async_.sendall(encode_header(MessageType.ASYNC_LOCK, 1, 500, 4) + b"team")
            assert client.receive(client.async_)[:2] == (
                MessageType.ASYNC_LOCK_RESPONSE,
                LockResult.SUCCESS,
            )
        asker.async_.sendall(encode_header(MessageType.ASYNC_LOCK_INFO))
        kind, exclusive, holders, payload = asker.receive(asker.async_)
        assert (kind, exclusive, holders, payload) == (
            MessageType.ASYNC_LOCK_INFO_RESPONSE, 0, 2, b"",
        )  # fmt: skip
        one.async_.sendall(encode_header(MessageType.ASYNC_LOCK, 0, 0xFFFF_FF00))
        assert one.receive(one.async_)[:2] == (
            MessageType.ASYNC_LOCK_RESPONSE,
            LockResult.SUCCESS_SHARED,
        )
    finally:
        for client in (one, two, asker):
            client.close()


def test_remote_local_control_is_answered(make_share: MakeShare) -> None:
    share = make_share()
    client = hislip.Instrument("127.0.0.1", port=share.port, sub_address="hislip_bench")
    try:
        client.async_remote_local_control("enableRemote")  # raises unless answered right
        client.async_remote_local_control("justGTL")
        client.send(b":ECHO? fine\n")
        assert client.receive() == b"fine\n"
    finally:
        client.close()


@pytest.mark.parametrize("slow", [b":SLOW? 0.8", b":SLOWIDN? 0.8"])
def test_an_instrument_timeout_is_an_error_and_its_late_reply_is_dropped(
    make_share: MakeShare, slow: bytes
) -> None:
    share = make_share(rules={"bench": InstrumentRules(timeout=0.5)})
    client = RawClient(share.port)
    try:
        client.sync.sendall(encode_header(MessageType.DATA_END, 0, 0xFFFF_FF00, len(slow)) + slow)
        kind, code, _, text = client.receive(client.sync)
        assert (kind, code) == (MessageType.ERROR, ErrorCode.INSTRUMENT_FAILED)
        assert b"bench" in text
        assert slow in text
        # The late reply arrives while the next query waits; it must not be its answer,
        # even when it reads exactly like the instrument's *IDN? reply.
        assert client.query(b":ECHO? next", 0xFFFF_FF02) == b"next\n"
        assert client.query(b"*IDN?", 0xFFFF_FF04) == b"Acme,BENCH,0001,1.0\n"
    finally:
        client.close()


@pytest.mark.parametrize("version", [0x0100, 0x0200, 0x0001])
def test_initialize_response_layout(make_share: MakeShare, version: int) -> None:
    """Synchronized mode (control 0); the version is the lower of the client's and 1.0."""
    import socket

    share = make_share()
    sock = socket.create_connection(("127.0.0.1", share.port), timeout=5.0)
    try:
        sock.sendall(
            encode_header(MessageType.INITIALIZE, 0, version << 16 | 0x5859, 7) + b"hislip0"
        )
        kind, control, parameter, payload = RawClient.receive(sock)
        assert (kind, control, payload) == (MessageType.INITIALIZE_RESPONSE, 0, b"")
        assert parameter >> 16 == min(version, 0x0100)
        assert parameter & 0xFFFF != 0  # the session id the async channel must name
    finally:
        sock.close()


def test_a_status_query_waiting_for_its_message_answers_once_it_has_run(
    make_share: MakeShare,
) -> None:
    """The synchronous thread wakes the waiting query when the message is done: the answer
    does not wait out the 2 s bound on waiting for order."""
    share = make_share()
    client = RawClient(share.port)
    try:
        client.async_.sendall(encode_header(MessageType.ASYNC_STATUS_QUERY, 0, 0xFFFF_FF02))
        time.sleep(0.2)  # the query waits for MessageID 0xFFFFFF00, not yet sent
        started = time.monotonic()
        assert client.query(b"*IDN?\n") == b"Acme,BENCH,0001,1.0\n"
        kind, _, _, _ = client.receive(client.async_)
        assert kind == MessageType.ASYNC_STATUS_RESPONSE
        assert time.monotonic() - started < 1.5
    finally:
        client.close()
