"""Session behaviour over real transports and the exact-protocol transport."""

from __future__ import annotations

import threading

import numpy as np
import pytest

from instrumentkit import ConnectionFailed, ProtocolError, Session, Timeout
from instrumentkit.socket_transport import SocketTransport
from instrumentkit.testing import ProtocolTransport


def block(payload: bytes, terminator: bytes = b"\n") -> bytes:
    length = str(len(payload)).encode()
    return b"#" + str(len(length)).encode() + length + payload + terminator


def session_for(pairs, **options) -> tuple[Session, ProtocolTransport]:
    transport = ProtocolTransport(pairs, **options)
    return Session(transport, name="bench-dmm"), transport


def test_query_strips_terminator_and_blanks():
    session, transport = session_for([("MEAS?", " +1.25E+00 ")])
    assert session.query("MEAS?") == "+1.25E+00"
    assert transport.written == [b"MEAS?\n"]
    transport.check_done()


def test_query_values_parses_a_list_into_float64():
    session, _ = session_for([("TRAC?", "1.5,-2.25e-3,+7,1E3")])
    values = session.query_values("TRAC?")
    assert values.dtype == np.float64
    np.testing.assert_array_equal(values, [1.5, -2.25e-3, 7.0, 1000.0])


def test_query_values_rejects_malformed_reply_naming_command():
    session, _ = session_for([("TRAC?", "1.5,abc,3")])
    with pytest.raises(ProtocolError, match=r"bench-dmm: command 'TRAC\?'.*'1.5,abc,3'"):
        session.query_values("TRAC?")


@pytest.mark.parametrize(
    ("dtype", "order"),
    [("<i2", "<"), (">i2", ">"), ("<f8", "<"), (">f4", ">"), ("u1", "<"), (">u2", ">")],
)
def test_definite_block_any_dtype_and_byte_order(dtype, order):
    expected = (np.arange(-50, 50) * 3).astype(dtype)
    session, transport = session_for([("CURV?", block(expected.tobytes()))])
    values = session.query_block("CURV?", dtype=np.dtype(dtype).newbyteorder("="), byte_order=order)
    np.testing.assert_array_equal(values, expected)
    assert values.dtype.byteorder in ("=", "|", order, "<" if order == "<" else ">")
    transport.check_done()


def test_block_is_received_into_the_array_memory():
    expected = np.arange(1000, dtype="<i2")
    session, _ = session_for([("CURV?", block(expected.tobytes()))])
    values = session.query_block("CURV?", dtype=np.int16)
    assert values.flags.owndata
    assert values.flags.writeable


def test_header_prefix_before_block_is_skipped():
    payload = np.arange(4, dtype="u1").tobytes()
    session, _ = session_for([("CURV?", b":CURVE " + block(payload))])
    np.testing.assert_array_equal(session.query_block("CURV?"), [0, 1, 2, 3])


def test_indefinite_block_reads_to_terminator():
    payload = np.array([1, 2, 3], dtype="<i2").tobytes()
    session, _ = session_for([("DATA?", b"#0" + payload + b"\n")])
    np.testing.assert_array_equal(session.query_block("DATA?", dtype=np.int16), [1, 2, 3])


@pytest.mark.parametrize(
    ("reply", "message"),
    [
        (b"NO BLOCK HERE" * 10 + b"\n", "starting with '#'"),
        (b"#X123\n", "not a digit"),
        (b"#3a12xyz\n", "length field"),
        (b"#15abcde\n", "not a whole number"),
        (b"#14abcdEXTRA\n", "longer than its header"),
    ],
)
def test_malformed_blocks_raise_protocol_error(reply, message):
    session, _ = session_for([("CURV?", reply)])
    with pytest.raises(ProtocolError, match=message) as caught:
        session.query_block("CURV?", dtype=np.int16 if b"#15" in reply else np.uint8)
    assert caught.value.instrument == "bench-dmm"
    assert caught.value.command == "CURV?"


def test_timeout_names_instrument_command_and_terminator(line_server):
    server = line_server(lambda line: None)  # never answers
    session = Session(SocketTransport("127.0.0.1", server.port, timeout=0.2), name="scope-1")
    with pytest.raises(Timeout) as caught:
        session.query("*IDN?")
    error = caught.value
    assert (error.instrument, error.command, error.timeout) == ("scope-1", "*IDN?", 0.2)
    assert "read terminator ('\\n')" in str(error)
    assert isinstance(error, TimeoutError)


def test_lost_connection_raises_connection_failed(line_server):
    server = line_server(lambda line: b"<close>")
    session = Session(SocketTransport("127.0.0.1", server.port, timeout=1), name="scope-1")
    with pytest.raises(ConnectionFailed, match=r"scope-1: command 'MEAS\?': connection lost"):
        session.query("MEAS?")


def test_concurrent_queries_never_interleave(line_server):
    server = line_server(lambda line: line + b"-reply\n")
    session = Session(SocketTransport("127.0.0.1", server.port, timeout=5), name="dmm")
    failures: list[str] = []

    def worker(tag: str) -> None:
        for i in range(200):
            command = f"{tag}{i}"
            reply = session.query(command)
            if reply != f"{command}-reply":
                failures.append(f"{command} got {reply}")

    threads = [threading.Thread(target=worker, args=(t,)) for t in "ABCD"]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failures == []
    assert len(server.received) == 800


def test_timeout_set_to_restores_previous(line_server):
    server = line_server(lambda line: b"1\n")
    session = Session(SocketTransport("127.0.0.1", server.port, timeout=3), name="dmm")
    with session.timeout_set_to(0.5):
        assert session.timeout == 0.5
        assert session.query("*OPC?") == "1"
    assert session.timeout == 3


def test_non_ascii_reply_is_a_protocol_error():
    session, _ = session_for([("*IDN?", b"\xff\xfe\n")])
    with pytest.raises(ProtocolError, match="not ascii text"):
        session.query("*IDN?")


def test_io_log_records_both_directions(caplog):
    session, _ = session_for([("*IDN?", "ACME,1,2,3")])
    session.log_io = True
    with caplog.at_level("DEBUG", logger="instrumentkit.io"):
        session.query("*IDN?")
    assert [r.getMessage() for r in caplog.records] == [
        "bench-dmm << b'*IDN?\\n'",
        "bench-dmm >> b'ACME,1,2,3'",
    ]
