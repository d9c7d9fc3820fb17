"""More of what a HiSLIP server we did not write may send, on the scripted servers of
`test_hislip_foreign_servers.py`: the text of its errors and refusals, byte by byte."""

from __future__ import annotations

import contextlib
import socket
import struct
from collections.abc import Callable
from typing import Any

import pytest

from instrumentkit.connect import open_transport
from instrumentkit.errors import (
    ConfigError,
    ConnectionFailed,
    InstrumentError,
    ProtocolError,
    Timeout,
)
from instrumentkit.session import Session
from instrumentkit.share._protocol import MessageType

from .test_hislip_foreign_servers import (
    REAL_ASYNC_INITIALIZE_RESPONSE,
    REAL_MAXIMUM_SIZE_RESPONSE,
    ForeignServer,
    Start,
    answer_idn,
    initialize_response,
    lock_script,
    message,
    open_refused,
    receive,
)
from .test_hislip_foreign_servers import serve as serve  # the fixture

# -- the server's errors as the client words them (IVI-6.1's code tables)


@pytest.mark.parametrize(
    ("code", "payload", "said"),
    [
        (7, b"", "error 7 (reserved code)"),  # no text: nothing after the meaning
        (6, b"  \r\n", "error 6 (reserved code)"),  # blank text is none
        (127, b"", "error 127 (reserved code)"),
        (128, b"", "error 128 (device-defined)"),
        (4, b"", "error 4 (message too large)"),
    ],
)
def test_an_error_without_text_is_its_code_and_meaning_alone(
    serve: Start, code: int, payload: bytes, said: str
) -> None:
    def script(sync: socket.socket, async_: socket.socket) -> None:
        receive(sync)
        sync.sendall(message(MessageType.ERROR, 0, payload, code))

    server, session = serve(script)
    with pytest.raises(ProtocolError) as caught:
        session.query(":CONF:VOLT")
    assert caught.value.instrument == server.resource
    text = str(caught.value)
    assert f"reported {said} " in text or text.endswith(f"reported {said}"), text
    assert f"{said}:" not in text


def test_a_long_error_text_is_cut_at_300_bytes(serve: Start) -> None:
    # Latin-1 reads every byte: a device's own characters arrive as they were sent.
    sent = b"\xb5s " + b"a" * 147 + b"b" * 250

    def script(sync: socket.socket, async_: socket.socket) -> None:
        receive(sync)
        sync.sendall(message(MessageType.ERROR, 0, sent, 200))

    _, session = serve(script)
    with pytest.raises(ProtocolError) as caught:
        session.query("READ?")
    text = str(caught.value)
    assert "error 200 (device-defined): \u00b5s " + "a" * 147 + "b" * 150 in text
    assert "b" * 151 not in text


# -- refusals at the opening


@pytest.mark.parametrize(
    ("answer", "said"),
    [
        # A known message that is not InitializeResponse: its type's name, code and text.
        (
            message(MessageType.ASYNC_LOCK_INFO_RESPONSE, 0, b"\xb5 busy", 3),
            "refused to open 'hislip0': ASYNC_LOCK_INFO_RESPONSE (code 3): \u00b5 busy",
        ),
        # A type IVI-6.1 does not define, without text: its number, nothing after.
        (message(99, 0, b"", 5), "refused to open 'hislip0': 99 (code 5)"),
        # A long text: its first 300 bytes.
        (
            message(MessageType.ASYNC_LOCK_INFO_RESPONSE, 0, b"a" * 150 + b"b" * 250),
            "ASYNC_LOCK_INFO_RESPONSE (code 0): " + "a" * 150 + "b" * 150,
        ),
    ],
)
def test_initialize_answered_with_another_message_names_what_came(answer: bytes, said: str) -> None:
    _, error = open_refused((answer,))
    assert f"{said}; check the address" in str(error), str(error)


def test_a_server_below_version_1_is_asked_whether_it_is_hislip() -> None:
    opening = (initialize_response(version=0x0009), REAL_ASYNC_INITIALIZE_RESPONSE,
               REAL_MAXIMUM_SIZE_RESPONSE)  # fmt: skip
    server, error = open_refused(opening)
    assert (
        f"{server.resource}: the server answered Initialize with protocol version 0.9; "
        "HiSLIP servers speak 1.0 "
        "or later: is this port a HiSLIP server?"
    ) in str(error)


def test_a_server_requiring_encryption_is_told_how_to_turn_it_off() -> None:
    opening = (initialize_response(control=0b110, version=0x0200),
               REAL_ASYNC_INITIALIZE_RESPONSE, REAL_MAXIMUM_SIZE_RESPONSE)  # fmt: skip
    server, error = open_refused(opening)
    assert f"{server.resource}: the HiSLIP server requires an encrypted" in str(error)
    assert "InitializeResponse control code 0b110" in str(error)
    assert "or turn the instrument's HiSLIP encryption off" in str(error)


# -- locks: a release that fails, and pyvisa-py's client failing


def test_a_release_answered_with_error_names_the_release(serve: Start) -> None:
    def script(sync: socket.socket, async_: socket.socket) -> None:
        receive(async_)
        async_.sendall(message(MessageType.ASYNC_LOCK_RESPONSE, 0, control=1))
        answer_idn(sync, async_)
        receive(async_)  # the release
        async_.sendall(message(MessageType.ERROR, 0, b"lock table busy", 0))
        answer_idn(sync, async_)

    server, session = serve(script)
    with pytest.raises(ProtocolError) as caught, session.lock_instrument(timeout=0.5):
        session.query("*IDN?")
    assert caught.value.instrument == server.resource
    assert caught.value.command == "(release the exclusive lock)"
    assert "error 0 (unidentified error): lock table busy" in str(caught.value)
    assert session.query("*IDN?").startswith("Manufacturer")  # an error, still in step


@pytest.mark.parametrize("code", [3, 9])  # error, and a code IVI-6.1 does not define
def test_a_release_answered_error_says_what_to_check(serve: Start, code: int) -> None:
    server, session = serve(lock_script(1, code, []))
    with pytest.raises(InstrumentError) as caught, session.lock_instrument(timeout=0.5):
        session.query("*IDN?")
    assert caught.value.instrument == server.resource
    assert (
        "held no lock when releasing the exclusive lock: the lock was lost during the block "
        "(a device clear, a reconnect), so another client may have used the instrument in "
        "between; check the results of the block"
    ) in str(caught.value)


def lock_under_pyvisa_py(answer: Callable[[socket.socket], None]) -> ConnectionFailed:
    """The error of a lock request under `backend="@py"` that the server meets with
    `answer(async_)`."""

    def script(sync: socket.socket, async_: socket.socket) -> None:
        receive(async_)
        answer(async_)

    server = ForeignServer(script)
    session = Session(open_transport(server.resource, backend="@py", timeout=2.0))
    try:
        with pytest.raises(ConnectionFailed) as caught, session.lock_instrument(timeout=0.5):
            pytest.fail("the block ran without the lock")
        assert caught.value.instrument == session.name
        assert caught.value.command == "(request the exclusive lock)"
    finally:
        session.close()
        server.join()
    return caught.value


def test_a_lock_request_cut_off_under_pyvisa_py_is_a_lost_connection() -> None:
    error = lock_under_pyvisa_py(lambda async_: async_.shutdown(socket.SHUT_RDWR))
    assert ("connection lost: pyvisa-py's HiSLIP client: Connection was dropped by server") in str(
        error
    )


def test_a_lock_answer_out_of_step_under_pyvisa_py_is_an_io_error() -> None:
    error = lock_under_pyvisa_py(lambda async_: async_.sendall(b"XX" + bytes(14)))
    assert "I/O error: pyvisa-py's HiSLIP client: protocol synchronization error" in str(error)


def test_locks_under_pyvisa_py_need_a_hislip_resource(lab: Any) -> None:
    """pyvisa-py's raw socket session holds a socket where its HiSLIP session holds the
    protocol client: that is no client to lock with."""
    session = Session(open_transport(lab.resource("bench"), backend="@py"), name="bench")
    try:
        with (
            pytest.raises(ConfigError, match="locks are for HiSLIP resources"),
            session.lock_instrument(),
        ):
            pytest.fail("the block ran without the lock")
    finally:
        session.close()


# -- Interrupted (IVI-6.1 3.1.2 rule 4) whose AsyncInterrupted never comes


def test_interrupted_without_async_interrupted_times_out_the_next_message(serve: Start) -> None:
    sent: list[bytes] = []

    def script(sync: socket.socket, async_: socket.socket) -> None:
        receive(sync)  # A?
        _, _, message_id, _ = receive(sync)  # B?, before A's reply was read
        sync.sendall(
            message(MessageType.INTERRUPTED, message_id)
            + message(MessageType.DATA_END, message_id, b"B\n")
        )
        sync.settimeout(0.6)  # past the client's timeout: it gave up, sending nothing
        with contextlib.suppress(TimeoutError):
            sent.append(sync.recv(64))
        async_.close()  # a client that would wait for ever reads the end instead

    server, session = serve(script)
    session.transport.timeout = 0.3
    session.write("A?")
    session.write("B?")
    assert session.read() == "B"
    with pytest.raises(Timeout) as caught:
        session.write("C")
    assert caught.value.instrument == server.resource
    assert caught.value.command == "C"
    assert "the server sent Interrupted but no AsyncInterrupted within 0.3 s" in str(caught.value)
    server.join()
    assert sent == []


# -- AsyncLockResponse codes IVI-6.1 does not define are errors


def test_a_lock_request_answered_with_an_unknown_code_is_refused(serve: Start) -> None:
    server, session = serve(lock_script(7, None, []))
    with pytest.raises(InstrumentError) as caught, session.lock_instrument(timeout=0.5):
        pytest.fail("the block ran without the lock")
    assert caught.value.instrument == server.resource
    assert "the server refused the exclusive lock (error)" in str(caught.value)


def test_after_a_fatal_error_a_lock_request_says_why_the_session_ended(serve: Start) -> None:
    def script(sync: socket.socket, async_: socket.socket) -> None:
        receive(sync)
        sync.sendall(message(MessageType.FATAL_ERROR, 0, b"firmware fault", 129))

    server, session = serve(script)
    with pytest.raises(ConnectionFailed):
        session.query("READ?")
    with pytest.raises(ConnectionFailed) as caught, session.lock_instrument(timeout=0.5):
        pytest.fail("the block ran without the lock")
    assert caught.value.instrument == server.resource
    assert "ended the session with fatal error 129 (device-defined): firmware fault" in str(
        caught.value
    )


def test_a_fatal_error_after_the_sync_channel_was_reset_still_says_why(serve: Start) -> None:
    def script(sync: socket.socket, async_: socket.socket) -> None:
        receive(async_)  # the lock request
        sync.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        sync.close()  # reset: shutting it down fails on the client's side
        async_.sendall(message(MessageType.FATAL_ERROR, 0, b"crashed", 0))

    server, session = serve(script)
    with pytest.raises(ConnectionFailed) as caught, session.lock_instrument(timeout=0.5):
        pytest.fail("the block ran without the lock")
    assert caught.value.instrument == server.resource
    assert "ended the session with fatal error 0 (unidentified error): crashed" in str(caught.value)


def test_a_port_that_does_not_speak_hislip_is_named() -> None:
    server, error = open_refused((b"HTTP/1.1 400 Bad Request\r\n\r\n",))
    assert f"{server.resource} does not speak HiSLIP (no 'HS' prologue)" in str(error)
