"""Session behaviour over real transports and the exact-protocol transport."""

from __future__ import annotations

import threading

import numpy as np
import pytest

from instrumentkit import ConnectionFailed, ProtocolError, Session, Timeout
from instrumentkit.socket_transport import SocketTransport
from instrumentkit.testing import ProtocolTransport
from instrumentkit.transport import PeerReportedError


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


def test_a_timeout_says_what_arrived_and_what_to_check():
    session, _ = session_for([("CURV?", b"#220" + bytes(10))])
    session.timeout = 0.3
    with pytest.raises(Timeout) as caught:
        session.query_block("CURV?")
    assert str(caught.value) == (
        "bench-dmm: command 'CURV?': no complete reply within 0.3 s (driver read 20 bytes, "
        "only 10 are left); check the command is a query, the read terminator ('\\n') and "
        "the instrument's connection settings"
    )
    assert session.in_step is False  # the rest of the block may still come

    class Silent(ProtocolTransport):
        def read_until(self, terminator: bytes) -> bytes:
            raise TimeoutError  # no detail of its own

    session = Session(Silent([("MEAS?", None)]), name="dmm")
    with pytest.raises(Timeout) as caught:
        session.query("MEAS?")
    assert str(caught.value) == (
        "dmm: command 'MEAS?': no complete reply within 1 s; check the command is a query, "
        "the read terminator ('\\n') and the instrument's connection settings"
    )


@pytest.mark.parametrize(
    ("reply", "step"),
    [
        (b":CURVE ", "prefix before '#'"),
        (b"#", "header digit"),
        (b"#3", "length field"),
        (b"#14ab", "payload"),
        (b"#0ab", "indefinite payload"),
    ],
)
def test_a_block_cut_short_anywhere_is_a_timeout_naming_the_command(reply, step):
    session, _ = session_for([("CURV?", reply)])
    with pytest.raises(Timeout) as caught:
        session.query_block("CURV?")
    assert (caught.value.instrument, caught.value.command) == ("bench-dmm", "CURV?"), step


def test_a_block_without_its_terminator_is_a_timeout_naming_the_command():
    session, _ = session_for([("CURV?", b"#14abcd")])
    with pytest.raises(Timeout) as caught:
        session.query_block("CURV?")
    assert caught.value.command == "CURV?"


def test_write_and_io_failures_name_the_command():
    class Broken(ProtocolTransport):
        def write(self, data: bytes) -> None:
            raise OSError(5, "Input/output error")

    session = Session(Broken([]), name="dmm")
    with pytest.raises(ConnectionFailed) as caught:
        session.write("OUTP ON")
    assert str(caught.value) == "dmm: command 'OUTP ON': I/O error: [Errno 5] Input/output error"
    assert session.in_step is False


def test_an_error_the_far_end_reported_names_the_command_and_keeps_the_session_in_step():
    class Refusing(ProtocolTransport):  # as a HiSLIP server's Error reaches the session
        def read_until(self, terminator: bytes) -> bytes:
            raise PeerReportedError("the HiSLIP server reported error 128: read-only")

    session = Session(Refusing([("LEV 1", None), ("LEV 1", None)]), name="dmm")
    with pytest.raises(ProtocolError) as caught:
        session.query("LEV 1")
    assert str(caught.value) == (
        "dmm: command 'LEV 1': the HiSLIP server reported error 128: read-only"
    )
    assert session.in_step is True  # the transport kept the link in step: no resync
    session.abort()
    with pytest.raises(ConnectionFailed, match="closed to stop the run"):
        session.query("LEV 1")


def test_after_abort_every_failure_says_the_run_was_stopped():
    session, _ = session_for([("MEAS?", None)])
    session.abort()
    with pytest.raises(ConnectionFailed) as caught:
        session.query("MEAS?")
    assert str(caught.value) == (
        "bench-dmm: command 'MEAS?': the connection was closed to stop the run"
    )


def test_block_header_errors_say_what_came():
    prefix = b"x" * 64  # the most skipped before '#'
    session, _ = session_for([("CURV?", prefix + b"#14abcd\n"), ("CURV?", b"y" + prefix + b"#")])
    np.testing.assert_array_equal(session.query_block("CURV?"), list(b"abcd"))
    with pytest.raises(ProtocolError) as caught:
        session.query_block("CURV?")
    assert str(caught.value) == (
        "bench-dmm: command 'CURV?': expected an IEEE 488.2 block starting with '#', got "
        + repr(b"y" + b"x" * 63)
        + "... (truncated)"
    )
    cases = {
        b"#X": "malformed block header: '#' followed by b'X', not a digit",
        b"#3a12": "malformed block header: length field b'a12' is not a number",
        b"#13abc": "block of 3 bytes is not a whole number of int16 values",
        b"#0abc\n": "indefinite block of 3 bytes is not a whole number of int16 values",
        b"#12abX": "block longer than its header says: expected the terminator b'\\n' after "
        "it, got b'X'",
    }
    for reply, message in cases.items():
        session, _ = session_for([("CURV?", reply)])
        with pytest.raises(ProtocolError) as caught:
            session.query_block("CURV?", dtype=np.int16)
        assert str(caught.value) == f"bench-dmm: command 'CURV?': {message}"
        assert session.in_step is False


def test_read_block_defaults_little_endian_and_reads_the_terminator():
    session, transport = session_for(
        [("CURV?", block(np.array([1, 256], "<i2").tobytes())), ("MEAS?", "+1")]
    )
    session.write("CURV?")
    np.testing.assert_array_equal(session.read_block(dtype=np.int16), [1, 256])
    assert session.query("MEAS?") == "+1"  # the block's terminator was consumed
    transport.check_done()


def test_a_block_without_terminator_is_read_when_told_so():
    reply = block(b"abcd", terminator=b"")
    session, transport = session_for([("CURV?", reply), ("MEAS?", "+1")])
    values = session.query_block("CURV?", expect_termination=False)
    np.testing.assert_array_equal(values, list(b"abcd"))
    assert session.query("MEAS?") == "+1"
    transport.check_done()


def test_a_compound_reply_with_fields_then_a_block():
    session, transport = session_for([("WAV?", b"1,2;#14abcd\n")])
    session.write("WAV?")
    assert session.read_raw_until(b"#") == b"1,2;"
    np.testing.assert_array_equal(session.read_block(header_begun=True), list(b"abcd"))
    transport.check_done()


def test_structured_blocks_take_the_instruments_byte_order():
    pairs = np.array([(1, 2), (3, 4)], dtype=[("x", ">i2"), ("y", ">i2")])
    session, _ = session_for([("PAIR?", block(pairs.tobytes()))])
    values = session.query_block("PAIR?", dtype=[("x", "i2"), ("y", "i2")], byte_order=">")
    assert values["x"].tolist() == [1, 3]
    assert values["y"].tolist() == [2, 4]


@pytest.mark.parametrize(
    ("order", "expected"),
    [
        # 01 02 03 04 | ff ff ff fe, read as 32-bit integers worked out by hand
        ("big", [0x01020304, -2]),
        (">", [0x01020304, -2]),
        ("little", [0x04030201, -0x01000001]),
        ("<", [0x04030201, -0x01000001]),
    ],
)
def test_block_byte_order_names_and_symbols_read_hand_built_bytes(order, expected):
    session, transport = session_for([("CURV?", block(b"\x01\x02\x03\x04\xff\xff\xff\xfe"))])
    values = session.query_block("CURV?", dtype=np.int32, byte_order=order)
    assert values.tolist() == expected
    transport.check_done()


def test_block_of_floats_in_the_instruments_byte_order():
    # IEEE 754 single 1.5 is 3f c0 00 00, -0.25 is be 80 00 00 (most significant byte first)
    payload = bytes.fromhex("3fc00000be800000")
    session, _ = session_for([("CURV?", block(payload)), ("CURV?", block(payload[::-1]))])
    assert session.query_block("CURV?", dtype="f4", byte_order="big").tolist() == [1.5, -0.25]
    # the same bytes reversed are the two values in the other order, little-endian
    assert session.query_block("CURV?", dtype="f4", byte_order="little").tolist() == [-0.25, 1.5]


def test_parse_values_defaults_types_and_errors():
    session, _ = session_for([("TRAC?", "1;2;+1.000E+03")])
    np.testing.assert_array_equal(session.parse_values("1.5,2"), [1.5, 2.0])
    assert session.parse_values("  ").shape == (0,)  # an empty reply is no values
    counts = session.parse_values("+1.000E+03,2", dtype=np.int64)  # NR3 for an integer
    assert counts.dtype == np.int64
    assert counts.tolist() == [1000, 2]
    values = session.query_values("TRAC?", dtype=np.int32, separator=";")
    assert values.dtype == np.int32
    assert values.tolist() == [1, 2, 1000]
    with pytest.raises(ProtocolError) as caught:
        session.parse_values("1,x", command="TRAC?")
    assert str(caught.value) == (
        "bench-dmm: command 'TRAC?': expected ','-separated numbers, got b'1,x'"
    )
    with pytest.raises(ProtocolError) as caught:
        session.parse_values("1,x", hint="check FORM:DATA ASC")
    assert str(caught.value) == (
        "bench-dmm: expected ','-separated numbers, got b'1,x'; check FORM:DATA ASC"
    )


def test_a_non_text_reply_names_instrument_and_command():
    session, _ = session_for([("*IDN?", b"\xff\xfe\n")])
    with pytest.raises(ProtocolError) as caught:
        session.query("*IDN?")
    assert str(caught.value) == "bench-dmm: command '*IDN?': reply is not ascii text: b'\\xff\\xfe'"


class Calls(ProtocolTransport):
    """Records drain and clear among the writes."""

    def __init__(self, pairs) -> None:
        super().__init__(pairs)
        self.calls: list[str] = []

    def drain(self, quiet: float, limit: float) -> int:
        self.calls.append("drain")
        return 0

    def clear(self) -> None:
        self.calls.append("clear")

    def write(self, data: bytes) -> None:
        self.calls.append(data.decode())
        super().write(data)


def test_a_new_session_is_in_step_and_resyncs_only_after_a_failure():
    transport = Calls([("MEAS?", "+1"), ("MEAS?", "+2")])
    session = Session(transport, name="dmm")  # no on_resync: a plain session
    assert session.query("MEAS?") == "+1"
    assert transport.calls == ["MEAS?\n"]
    session.in_step = False
    assert session.query("MEAS?") == "+2"
    assert transport.calls == ["MEAS?\n", "drain", "clear", "MEAS?\n"]


def test_io_logging_is_off_by_default_and_shows_block_bytes_when_on(caplog):
    caplog.set_level("DEBUG", logger="instrumentkit.io")
    quiet, _ = session_for([("*IDN?", "ACME")])
    quiet.query("*IDN?")
    assert caplog.records == []
    session = Session(ProtocolTransport([("CURV?", block(b"ab"))]), name="bench-dmm", log_io=True)
    session.query_block("CURV?")
    assert [r.getMessage() for r in caplog.records] == [
        "bench-dmm << b'CURV?\\n'",
        "bench-dmm >> b'2'",
        "bench-dmm >> b'\\n'",
    ]
