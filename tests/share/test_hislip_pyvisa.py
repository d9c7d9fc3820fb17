"""The share as pyvisa-py's own HiSLIP client sees it (a client we did not write)."""

from __future__ import annotations

import time

import pytest
import pyvisa
from pyvisa_py.protocols import hislip

from instrumentkit.share import InstrumentRules, ShareServer

from .conftest import MakeShare, block_payload, wait_until


@pytest.fixture
def rm() -> pyvisa.ResourceManager:
    manager = pyvisa.ResourceManager("@py")
    yield manager
    manager.close()


def test_idn_through_the_share(share: ShareServer, rm: pyvisa.ResourceManager) -> None:
    bench = rm.open_resource(share.resource("bench"), read_termination="\n")
    assert bench.query("*IDN?") == "Acme,BENCH,0001,1.0"
    bench.write(":LEV 2.5")
    assert float(bench.query(":LEV?")) == 2.5
    assert bench.query(":ECHO? 'a;b?'") == "'a;b?'"  # a quoted ';' and '?' are data


def test_hislip0_is_the_first_instrument(share: ShareServer, rm: pyvisa.ResourceManager) -> None:
    first = rm.open_resource(f"TCPIP::127.0.0.1::hislip0,{share.port}::INSTR")
    assert first.query("*IDN?").strip() == "Acme,BENCH,0001,1.0"
    other = rm.open_resource(share.resource("bench2"), read_termination="\n")
    other.write(":LEV 7")
    assert float(other.query(":LEV?")) == 7.0
    assert float(first.query(":LEV?")) != 7.0  # another instrument, another connection


def test_binary_block_passes_untouched(make_share: MakeShare, rm: pyvisa.ResourceManager) -> None:
    # 10 MB on a loaded 2-core machine: timeouts (share and client) sized for the load,
    # since what is checked is the bytes, not how fast they come.
    share = make_share(rules={"bench": InstrumentRules(timeout=60.0)})
    bench = rm.open_resource(share.resource("bench"), timeout=60_000)
    size = 10_000_000
    bench.write(f":BLOC? {size}")
    raw = bench.read_raw()  # the whole reply, every byte as the instrument sent it
    header = f"#8{size:08d}".encode()
    assert raw[: len(header)] == header
    assert raw[len(header) : len(header) + size] == block_payload(size)
    assert raw[len(header) + size :] == b"\n"
    assert bench.query("*IDN?").strip() == "Acme,BENCH,0001,1.0"  # nothing left behind


def test_exclusive_lock_between_two_clients(share: ShareServer) -> None:
    first = hislip.Instrument("127.0.0.1", port=share.port, sub_address="hislip_bench")
    second = hislip.Instrument("127.0.0.1", port=share.port, sub_address="hislip_bench")
    try:
        assert first.async_lock_request(2.0) == "success"
        assert first.async_lock_info() == 1
        started = time.monotonic()
        assert second.async_lock_request(0.5) == "failure"
        assert time.monotonic() - started >= 0.45  # it waited out its timeout
        assert first.async_lock_release() == "success"
        assert second.async_lock_request(0.5) == "success"
        assert second.async_lock_release() == "success"
        assert second.async_lock_release() == "error"  # nothing left to release
    finally:
        first.close()
        second.close()


def test_shared_locks_by_key(share: ShareServer) -> None:
    clients = [
        hislip.Instrument("127.0.0.1", port=share.port, sub_address="hislip_bench")
        for _ in range(3)
    ]
    one, two, three = clients
    try:
        assert one.async_lock_request(0.5, "team") == "success"
        assert two.async_lock_request(0.5, "team") == "success"
        assert three.async_lock_request(0.2, "other") == "failure"
        assert three.async_lock_request(0.2) == "failure"  # exclusive waits for every shared
        assert one.async_lock_release() == "success shared"
        assert two.async_lock_release() == "success shared"
        assert three.async_lock_request(0.2) == "success"
    finally:
        for client in clients:
            client.close()


def test_a_locked_instrument_serves_its_holder_only(
    share: ShareServer, rm: pyvisa.ResourceManager
) -> None:
    holder = hislip.Instrument("127.0.0.1", port=share.port, sub_address="hislip_bench")
    other = rm.open_resource(share.resource("bench"), read_termination="\n", timeout=300)
    try:
        assert holder.async_lock_request(1.0) == "success"
        holder.send(b":ECHO? 1\n")
        assert holder.receive() == b"1\n"
        with pytest.raises(pyvisa.errors.VisaIOError):
            other.query(":ECHO? 2")  # waits for the lock: its read times out
        other.clear()  # gives up the waiting message: "2" never comes
        holder.async_lock_release()
        other.timeout = 2000
        assert other.query(":ECHO? 3") == "3"
    finally:
        holder.close()


def test_a_client_killed_holding_a_lock_releases_it(share: ShareServer) -> None:
    holder = hislip.Instrument("127.0.0.1", port=share.port, sub_address="hislip_bench")
    waiter = hislip.Instrument("127.0.0.1", port=share.port, sub_address="hislip_bench")
    try:
        assert holder.async_lock_request(1.0) == "success"
        holder.close()  # the process dies: its sockets close
        assert waiter.async_lock_request(3.0) == "success"
    finally:
        waiter.close()


def test_clear_drops_only_the_clearing_clients_reply(
    share: ShareServer, rm: pyvisa.ResourceManager
) -> None:
    slow = rm.open_resource(share.resource("bench"), read_termination="\n", timeout=200)
    bystander = rm.open_resource(share.resource("bench"), read_termination="\n")
    with pytest.raises(pyvisa.errors.VisaIOError):
        slow.query(":SLOW? 0.6")
    slow.clear()  # the late "done" must never reach it
    slow.timeout = 3000
    assert slow.query(":ECHO? after") == "after"
    assert bystander.query(":ECHO? mine") == "mine"


def test_timeouts_and_status(share: ShareServer, rm: pyvisa.ResourceManager) -> None:
    bench = rm.open_resource(share.resource("bench"), read_termination="\n", timeout=3000)
    assert bench.read_stb() == 0
    bench.write("*CLS")
    assert bench.query(":ECHO? ok") == "ok"


def test_raw_protocol_gauge(share: ShareServer, rm: pyvisa.ResourceManager) -> None:
    gauge = rm.open_resource(share.resource("gauge"))
    gauge.write_raw(b"PR1\r\n")
    assert gauge.read_raw() == b"\x06\r\n"
    gauge.write_raw(b"\x05")
    assert gauge.read_raw() == b"0,1.2300E-05\r\n"


def test_unknown_sub_address_lists_the_known(share: ShareServer) -> None:
    with pytest.raises(RuntimeError) as caught:
        hislip.Instrument("127.0.0.1", port=share.port, sub_address="hislip_nothing")
    assert "hislip_bench" in str(caught.value)
    assert "hislip_nothing" in str(caught.value)
    assert wait_until(lambda: share.clients == [])


def test_lock_instrument_needs_a_hislip_resource(lab: object) -> None:
    from instrumentkit.connect import open_transport
    from instrumentkit.errors import ConfigError
    from instrumentkit.session import Session

    session = Session(open_transport(lab.resource("bench")), name="bench")  # type: ignore[attr-defined]
    try:
        with pytest.raises(ConfigError, match="HiSLIP"), session.lock_instrument():
            pass
    finally:
        session.close()
