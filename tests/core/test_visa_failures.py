"""VisaTransport when the VISA library itself fails, as vendor VISAs do and loopback never does.

Each test opens a real pyvisa-sim session and makes one call of its VISA library (the
`visalib` pyvisa hands the transport) raise what a vendor library raises there: a
`VisaIOError` carrying a VISA status code, or pyvisa's `InvalidSession`. The double
replaces the library's call, never the transport; what is asserted is what the user sees
through `Session`: the project's errors naming the resource and the command, and an
exchange that works again once the library does.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import pyvisa
from pyvisa import constants
from pyvisa.errors import InvalidSession, VisaIOError

from instrumentkit import ConnectionFailed, Session, Timeout
from instrumentkit.drivers.keysight import Keysight34461A
from instrumentkit.visa_transport import VisaTransport, resource_manager

Status = constants.StatusCode
RESOURCE = Keysight34461A.sim_resource
IDN = "Keysight Technologies,34461A,MY57800001,A.03.01-02.40-03.01-00.52-03-01"
Fail = Callable[[str, Exception], list[Exception]]


def description(code: Status) -> str:
    return VisaIOError(code).description


@pytest.fixture
def dmm(sim_copy: str) -> Iterator[VisaTransport]:
    transport = VisaTransport(RESOURCE, backend=sim_copy, timeout=2)
    yield transport
    transport.close()


@pytest.fixture
def fail_once(dmm: VisaTransport, monkeypatch: pytest.MonkeyPatch) -> Fail:
    """Make the next call of the VISA library's `call` raise `error`; later calls work.

    Returns the list the error goes into once raised.
    """

    def arm(call: str, error: Exception) -> list[Exception]:
        real = getattr(dmm.visa.visalib, call)
        raised: list[Exception] = []

        def failing(*args: Any, **kwargs: Any) -> Any:
            monkeypatch.setattr(dmm.visa.visalib, call, real)
            raised.append(error)
            raise error

        monkeypatch.setattr(dmm.visa.visalib, call, failing)
        return raised

    return arm


LOST = f"connection lost: {{}} failed: {description(Status.error_connection_lost)}"
BUSY = f"I/O error: {{}} failed: {description(Status.error_resource_busy)}"
GONE = f"connection lost: {{}} failed: {InvalidSession()}"


@pytest.mark.parametrize(
    ("error", "kind", "message"),
    [
        (VisaIOError(Status.error_timeout), Timeout, "no complete reply within 2 s ({} failed)"),
        (VisaIOError(Status.error_connection_lost), ConnectionFailed, LOST),
        (VisaIOError(Status.error_resource_busy), ConnectionFailed, BUSY),
        (InvalidSession(), ConnectionFailed, GONE),
    ],
    ids=["timeout", "lost", "busy", "invalid-session"],
)
@pytest.mark.parametrize("call", ["write", "read"])
def test_a_failing_write_or_read_is_named_and_the_next_query_works(
    dmm: VisaTransport, fail_once: Fail, call: str, error: Exception, kind: type, message: str
) -> None:
    session = Session(dmm)
    fail_once(call, error)
    with pytest.raises(kind) as caught:
        session.query("*IDN?")
    assert type(caught.value) is kind
    assert str(caught.value).startswith(f"{RESOURCE}: command '*IDN?': {message.format(call)}")
    assert not session.in_step
    assert session.query("*IDN?") == IDN  # the resync drops the reply that was not read


CLEAR_TIMEOUT = "no complete reply within 2 s (device clear failed)"


@pytest.mark.parametrize(
    ("call", "step", "code", "kind", "detail"),
    [
        ("read", "drain", Status.error_connection_lost, ConnectionFailed, LOST.format("drain")),
        ("read", "drain", Status.error_resource_busy, ConnectionFailed, BUSY.format("drain")),
        ("clear", "device clear", Status.error_timeout, Timeout, CLEAR_TIMEOUT),
        (
            "clear",
            "device clear",
            Status.error_connection_lost,
            ConnectionFailed,
            LOST.format("device clear"),
        ),
        (
            "clear",
            "device clear",
            Status.error_io,
            ConnectionFailed,
            "connection lost: device clear failed: ",
        ),
    ],
)
def test_a_drain_or_device_clear_the_library_breaks_off_fails_the_resync(
    dmm: VisaTransport, fail_once: Fail, call: str, step: str, code: Status, kind: type, detail: str
) -> None:
    session = Session(dmm)
    fail_once(call, VisaIOError(code))
    with pytest.raises(kind) as caught:
        session.resync()
    assert type(caught.value) is kind
    assert str(caught.value).startswith(f"{RESOURCE}: command '({step})': {detail}")
    assert not session.in_step
    assert dmm.visa.timeout == 2000  # the drain's short read timeout undone
    assert session.query("*IDN?") == IDN  # resynced first, with a library that works again


def test_a_device_clear_the_interface_does_not_support_is_skipped(
    dmm: VisaTransport, fail_once: Fail
) -> None:
    """A vendor VISA answers viClear on a raw socket with VI_ERROR_NSUP_OPER."""
    session = Session(dmm)
    session.in_step = False
    dmm.write(b"*IDN?\n")  # a reply the resync must drop
    raised = fail_once("clear", VisaIOError(Status.error_nonsupported_operation))
    assert session.query("*IDN?") == IDN
    assert session.in_step
    assert len(raised) == 1  # the clear was tried, and its refusal let the resync go on


def test_closing_survives_a_library_that_fails_to_close(
    dmm: VisaTransport, fail_once: Fail
) -> None:
    raised = fail_once("close", VisaIOError(Status.error_closing_failed))
    dmm.close()  # nothing raised: there is nothing the caller could do about it
    assert len(raised) == 1
    dmm.close()  # the library's close, working again, now closes the session
    with pytest.raises(InvalidSession):
        dmm.visa.session  # noqa: B018


def test_an_open_the_library_refuses_is_named(
    sim_copy: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    def refuse(name: str, **options: Any) -> Any:
        raise pyvisa.errors.Error("no session class for this interface")

    monkeypatch.setattr(resource_manager(sim_copy), "open_resource", refuse)
    with pytest.raises(ConnectionError) as caught:
        VisaTransport(RESOURCE, backend=sim_copy, timeout=1)
    assert str(caught.value) == f"cannot open {RESOURCE}: no session class for this interface"


def test_a_resource_that_is_not_message_based_is_closed_and_refused(sim_copy: str) -> None:
    manager = resource_manager(sim_copy)
    with pytest.raises(ConnectionError) as caught:  # pyvisa opens it as a bare Resource
        VisaTransport(RESOURCE, backend=sim_copy, resource_pyclass=pyvisa.resources.Resource)
    assert str(caught.value) == f"{RESOURCE} is not a message-based resource"
    assert manager.list_opened_resources() == []


@pytest.mark.parametrize("close_fails", [False, True], ids=["closes", "close-fails"])
def test_a_resource_that_opens_after_the_caller_gave_up_is_closed(
    sim_copy: str, monkeypatch: pytest.MonkeyPatch, close_fails: bool
) -> None:
    manager = resource_manager(sim_copy)
    real_open = manager.open_resource
    release = threading.Event()
    opened: list[Any] = []
    workers: list[threading.Thread] = []
    refused: list[int] = []
    escaped: list[Any] = []  # exceptions nobody caught in a thread
    monkeypatch.setattr(threading, "excepthook", escaped.append)

    def refuse_close(session: int) -> Any:
        refused.append(session)
        raise VisaIOError(Status.error_closing_failed)

    def slow_open(name: str, **options: Any) -> Any:
        workers.append(threading.current_thread())
        release.wait(10)
        opened.append(real_open(name, **options))
        if close_fails:
            monkeypatch.setattr(opened[0].visalib, "close", refuse_close)
        return opened[0]

    monkeypatch.setattr(manager, "open_resource", slow_open)
    with pytest.raises(TimeoutError, match=r"^no answer while opening within 0\.5 s$"):
        VisaTransport(RESOURCE, backend=sim_copy, timeout=0.1)
    release.set()
    workers[0].join(10)
    assert not workers[0].is_alive()
    assert workers[0].daemon  # an open that never returns must not keep Python from exiting
    assert len(opened) == 1
    assert escaped == []  # a close that fails there has nobody to tell: it stays quiet
    if close_fails:
        assert refused == [opened[0].session]  # tried, refused; the session leaks
        monkeypatch.undo()
        opened[0].close()
    with pytest.raises(InvalidSession):  # the worker closed what nobody will use
        opened[0].session  # noqa: B018
    assert manager.list_opened_resources() == []
