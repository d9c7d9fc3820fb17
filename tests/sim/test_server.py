"""The loopback TCP server: several devices, sequential clients, pyvisa-py, clean shutdown."""

from __future__ import annotations

import socket
import threading
from contextlib import closing

import numpy as np
import pytest

from instrumentkit.connect import open_transport
from instrumentkit.errors import ConnectionFailed, Timeout
from instrumentkit.session import Session
from instrumentkit.sim import LabServer, ScpiDevice, create, serve


def _iksim_threads() -> set[threading.Thread]:
    return {t for t in threading.enumerate() if t.name.startswith("iksim-")}


def test_several_devices_each_on_its_own_port():
    devices = {"meter": create("test-meter"), "scope": create("test-scope", seed=1)}
    with serve(devices) as lab:
        assert set(lab.resources) == {"meter", "scope"}
        assert len({lab.port(name) for name in devices}) == 2
        for name, idn in (("meter", "Acme,METER1"), ("scope", "Acme,SCOPE2")):
            assert lab.resource(name) == f"TCPIP::127.0.0.1::{lab.port(name)}::SOCKET"
            with closing(Session(open_transport(lab.resource(name)))) as session:
                assert session.query("*IDN?").startswith(idn)
        assert lab.device("scope") is devices["scope"]


def test_sequential_clients_share_the_device_state():
    with serve({"meter": create("test-meter")}) as lab:
        for expected in ("+1.000000000E+01", "+2.000000000E+00", "+2.000000000E+00"):
            with closing(Session(open_transport(lab.resource("meter")))) as session:
                assert session.query("VOLT:RANG?") == expected
                session.write("VOLT:RANG 2")


def test_client_that_vanishes_mid_reply_does_not_stop_the_server():
    with serve({"meter": create("test-meter")}) as lab:
        raw = socket.create_connection(("127.0.0.1", lab.port("meter")))
        raw.sendall(b":WAV:DATA? float64\n")
        raw.recv(10)
        raw.close()
        with closing(Session(open_transport(lab.resource("meter")))) as session:
            assert session.query("*IDN?") == "Acme,METER1,0001,1.0"


def test_a_new_client_does_not_get_the_previous_clients_unread_reply():
    with serve({"meter": create("test-meter")}) as lab:
        raw = socket.create_connection(("127.0.0.1", lab.port("meter")))
        raw.sendall(b"*IDN?\n")
        raw.close()
        with closing(Session(open_transport(lab.resource("meter")))) as session:
            assert session.query("VOLT:RANG?") == "+1.000000000E+01"


def test_close_hangs_up_and_joins_every_thread():
    before = _iksim_threads()
    lab = serve({"a": create("test-meter"), "b": create("test-meter")})
    session = Session(open_transport(lab.resource("a"), timeout=0.5))
    assert session.query("*OPC?") == "1"
    assert len(_iksim_threads() - before) >= 2
    lab.close()
    assert _iksim_threads() - before == set()
    with pytest.raises(ConnectionFailed):
        session.query("*IDN?")
    session.close()


def test_pinned_port_and_bound_to_loopback():
    probe = socket.create_server(("127.0.0.1", 0))
    port = probe.getsockname()[1]
    probe.close()
    with LabServer({"m": create("test-meter")}, ports={"m": port}) as lab:
        assert lab.port("m") == port
        assert lab._servers["m"]._listener.getsockname()[0] == "127.0.0.1"


def test_pyvisa_py_opens_the_socket_resource():
    import pyvisa

    manager = pyvisa.ResourceManager("@py")
    with serve({"meter": create("test-meter")}) as lab:
        resource = manager.open_resource(
            lab.resource("meter"), read_termination="\n", write_termination="\n", timeout=2000
        )
        try:
            assert resource.query("*IDN?") == "Acme,METER1,0001,1.0"
            values = resource.query_binary_values(
                ":WAV:DATA? int16", datatype="h", container=np.array
            )
            assert values.size == 5000
            assert values[:3].tolist() == [-125, -124, -123]
        finally:
            resource.close()
    manager.close()


@pytest.mark.filterwarnings("ignore::pyvisa.errors.VisaIOWarning")
def test_instrumentkit_over_pyvisa_py_gets_blocks_and_fault_errors():
    device = create("test-meter")
    with serve({"meter": device}) as lab:
        transport = open_transport(lab.resource("meter"), backend="@py", timeout=0.3)
        with closing(Session(transport)) as session:
            values = session.query_block(":WAV:DATA? float32,>", dtype=np.float32, byte_order=">")
            assert values[:2].tolist() == [-187.5, -186.0]
            device.faults.inject("no_reply", on="*IDN?")
            with pytest.raises(Timeout):
                session.query("*IDN?")
            device.faults.inject("drop", on="*IDN?", keep=0.0)
            # pyvisa-py 0.8 reads a closed socket as silence, so a hang-up shows as a
            # timeout there; the direct SocketTransport reports ConnectionFailed.
            with pytest.raises((Timeout, ConnectionFailed)):
                session.query("*IDN?")


class Broken(ScpiDevice):
    def receive(self, data: bytes) -> None:
        if b"boom" in data:
            raise RuntimeError("model bug")
        super().receive(data)


def test_a_model_bug_hangs_up_on_the_client_but_keeps_serving(caplog):
    with serve({"b": Broken()}) as lab:
        with closing(Session(open_transport(lab.resource("b"), timeout=1.0))) as session:
            session.write("boom")
            with pytest.raises(ConnectionFailed):
                session.query("*IDN?")
        with closing(Session(open_transport(lab.resource("b")))) as session:
            assert session.query("*IDN?").startswith("instrumentkit,")
    assert "model bug" in caplog.text


def test_a_port_already_taken_names_the_device():
    with serve({"first": create("test-meter")}) as lab:
        taken = lab.port("first")
        with pytest.raises(OSError, match=rf"'second' cannot listen on 127\.0\.0\.1:{taken}"):
            LabServer({"second": create("test-meter")}, ports={"second": taken}).start()


def test_late_and_due_replies_of_one_burst_arrive_in_order_on_the_system_clock():
    # The serving thread sends what is due and wakes the reply thread only for the rest:
    # READ? is due after the integration time, the *IDN? behind it must wait its turn.
    meter = create("test-meter")
    meter.integration_time = 0.05
    with serve({"meter": meter}) as lab:
        raw = socket.create_connection(("127.0.0.1", lab.port("meter")))
        with closing(raw):
            raw.settimeout(5.0)
            raw.sendall(b"*IDN?\nREAD?\n*IDN?\n")
            received = b""
            while received.count(b"\n") < 3:
                received += raw.recv(4096)
    first, reading, last = received.decode().splitlines()
    assert first == last == "Acme,METER1,0001,1.0"
    assert abs(float(reading) - 1.0) < 0.01


def test_a_packet_put_while_wakeups_are_held_reaches_a_waiting_taker():
    from instrumentkit.sim import ManualClock
    from instrumentkit.sim._device import Output, Packet

    clock = ManualClock(auto_advance=False)
    outbox = Output(clock)
    taken: list[Packet | None] = []
    # No timeout: only a wakeup ends the taker's wait for a packet to appear.
    taker = threading.Thread(target=lambda: taken.append(outbox.take(timeout=None)), daemon=True)
    taker.start()
    outbox.hold_wakeups()
    outbox.put(Packet(b"late\n", release=1.0))
    outbox.release_wakeups()  # a packet is left: the taker is woken and waits for its time
    clock.advance(1.0)
    taker.join(timeout=5.0)
    assert not taker.is_alive()
    assert [p.data for p in taken if p is not None] == [b"late\n"]
