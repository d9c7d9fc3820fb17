"""Our own HiSLIP client transport against the share (and pyvisa-py's client beside it)."""

from __future__ import annotations

import numpy as np
import pytest
from pyvisa_py.protocols import hislip

from instrumentkit.connect import open_transport, parse_resource
from instrumentkit.errors import ConnectionFailed, InstrumentError, Timeout
from instrumentkit.hislip_transport import HislipTransport
from instrumentkit.session import Session
from instrumentkit.share import InstrumentRules, Limits
from instrumentkit.share._protocol import MessageType
from instrumentkit.visa_transport import VisaTransport

from .conftest import MakeShare, RawClient, block_payload


def _open(port: int, name: str = "bench", **options: float) -> Session:
    return Session(open_transport(f"TCPIP::127.0.0.1::hislip_{name},{port}::INSTR", **options))


def test_hislip_resources_open_our_transport_unless_a_backend_is_given(
    make_share: MakeShare,
) -> None:
    port = make_share().port
    resource = f"TCPIP0::127.0.0.1::hislip_bench,{port}::INSTR"
    assert parse_resource(resource).transport == "hislip"
    assert parse_resource(resource, backend="@py").transport == "visa"
    with open_transport(resource) as ours, open_transport(resource, backend="@py") as theirs:
        assert isinstance(ours, HislipTransport)
        assert ours.resource == resource
        assert isinstance(theirs, VisaTransport)
        assert Session(ours).query("*IDN?") == "Acme,BENCH,0001,1.0"


def test_messages_and_replies_are_framed_as_hislip_data_with_message_ids(
    make_share: MakeShare,
) -> None:
    session = _open(make_share().port)
    try:
        assert session.query(":ECHO? 'a;b?'") == "'a;b?'"
        session.write(":LEVel 2.5")
        assert float(session.query(":LEVel?")) == 2.5
        # Three messages sent: the IDs went 0xFFFFFF00, 02, 04; the next is 06.
        assert session.transport._next_id == 0xFFFF_FF06  # type: ignore[attr-defined]
    finally:
        session.close()


def test_a_block_split_into_many_data_messages_arrives_whole(make_share: MakeShare) -> None:
    # The server's maximum message size makes a 300 kB block 19 Data messages and a DataEnd.
    session = _open(make_share(limits=Limits(max_message_size=16 * 1024)).port)
    try:
        assert session.transport.max_payload == 16 * 1024 - 16  # type: ignore[attr-defined]
        block = session.query_block(":BLOC? 300000", dtype=np.uint8)
        assert block.tobytes() == block_payload(300000)
        long_message = ":ECHO? '" + "x" * 40000 + "'"  # our message in three Data parts
        assert session.query(long_message) == long_message[7:]
    finally:
        session.close()


def test_a_late_reply_to_a_timed_out_query_is_never_read_as_the_next_answer(
    make_share: MakeShare,
) -> None:
    rules = {"bench": InstrumentRules(timeout=5.0)}
    session = _open(make_share(rules=rules).port, timeout=0.3)
    try:
        with pytest.raises(Timeout):
            session.query(":SLOW? 0.6")
        session.in_step = True  # no resync: the message IDs alone must keep replies apart
        session.timeout = 5.0
        assert session.query(":ECHO? 'next'") == "'next'"
    finally:
        session.close()


def test_a_refusal_from_the_share_is_an_error_with_its_message(make_share: MakeShare) -> None:
    rules = {"bench": InstrumentRules(timeout=2.0, read_only=True)}
    session = _open(make_share(rules=rules).port)
    try:
        session.write(":LEVel 1")  # refused: the share answers Error, read at the next read
        with pytest.raises(
            InstrumentError, match=r"reported error 128 \(device-defined\): .*read-only"
        ):
            session.query("*IDN?")
        assert session.query(":ECHO? 'after'") == "'after'"
    finally:
        session.close()


def test_device_clear_and_drain_keep_the_session_in_step(make_share: MakeShare) -> None:
    session = _open(make_share().port)
    try:
        session.write(":ECHO? 'unread'")
        session.transport.clear()  # type: ignore[attr-defined]
        assert session.transport._next_id == 0xFFFF_FF00  # type: ignore[attr-defined]
        assert session.query("*IDN?") == "Acme,BENCH,0001,1.0"
        session.write(":ECHO? 'dropped'")
        assert session.drain(quiet=0.2) == len("'dropped'\n")
        assert session.query(":ECHO? 'kept'") == "'kept'"
        session.resync()
        assert session.query(":ECHO? 'again'") == "'again'"
    finally:
        session.close()


def test_locks_between_our_transport_and_pyvisa_pys_client(make_share: MakeShare) -> None:
    port = make_share().port
    session = _open(port)
    other = hislip.Instrument("127.0.0.1", port=port, sub_address="hislip_bench")
    try:
        with session.lock_instrument(timeout=1.0):
            assert other.async_lock_request(0.3) == "failure"
            assert session.query("*IDN?") == "Acme,BENCH,0001,1.0"
        assert other.async_lock_request(0.3) == "success"
        with (
            pytest.raises(Timeout, match=r"not granted within 0\.3 s"),
            session.lock_instrument(timeout=0.3),
        ):
            pass
        other.async_lock_release()
        transport = session.transport
        assert transport.async_lock_request(0.5, "key") == "success"  # type: ignore[attr-defined]
        assert other.async_lock_request(0.3, "key") == "success"  # shared by key
        assert transport.async_lock_release() == "success"  # type: ignore[attr-defined]
        assert transport.async_lock_release() == "error"  # type: ignore[attr-defined]
    finally:
        other.close()
        session.close()


def test_an_unknown_sub_address_names_the_known_ones(make_share: MakeShare) -> None:
    port = make_share().port
    with pytest.raises(ConnectionFailed, match=r"fatal error 3 .*hislip_nothere.*hislip_bench"):
        open_transport(f"TCPIP::127.0.0.1::hislip_nothere,{port}::INSTR")


def test_the_server_sees_our_vendor_and_version(make_share: MakeShare) -> None:
    """The Initialize we send is the spec's layout: what RawClient reads back as a server
    would. Checked by talking to the share both ways on one instrument."""
    port = make_share().port
    raw = RawClient(port)
    session = _open(port)
    try:
        assert raw.query(b"*IDN?\n") == session.query("*IDN?").encode() + b"\n"
        assert session.transport.session_id != raw.session_id  # type: ignore[attr-defined]
        raw.async_.sendall(b"HS" + bytes([MessageType.ASYNC_LOCK_INFO]) + bytes(13))
        kind, exclusive, holders, _ = RawClient.receive(raw.async_)
        assert (kind, exclusive, holders) == (MessageType.ASYNC_LOCK_INFO_RESPONSE, 0, 0)
    finally:
        raw.close()
        session.close()
