"""Ask an unknown instrument `*IDN?` in the framings the registered drivers declare.

Most instruments answer `*IDN?\\n` at the port's default framing. Some need CR LF, and
serial ones often another baud rate, word length or parity. When the first attempt gets no
usable reply, the attempts go on through the distinct terminators and (for serial lines)
framings of the drivers that match on `*IDN?`, each with a short timeout, at most
`MAX_ATTEMPTS` in all (decision 0006).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from instrumentkit.connect import _SERIAL_KEYS, open_transport, parse_resource
from instrumentkit.errors import (
    ConfigError,
    DriverNotFound,
    InstrumentError,
    ProtocolError,
    Timeout,
)
from instrumentkit.instrument import Instrument
from instrumentkit.session import Session
from instrumentkit.transport import Transport

__all__ = ["ATTEMPT_TIMEOUT", "MAX_ATTEMPTS", "Attempt", "Identified", "identify_transport"]

MAX_ATTEMPTS = 6
ATTEMPT_TIMEOUT = 1.0
"""Seconds each attempt waits at most (less if the caller's timeout is shorter)."""
_DEFAULT_FRAMING = {"baudrate": 9600, "bytesize": 8, "parity": "N", "stopbits": 1}


@dataclass(frozen=True)
class Attempt:
    """One way of asking: terminators, and serial framing where one applies."""

    write_termination: str
    read_termination: str
    serial: tuple[tuple[str, Any], ...] = ()

    def describe(self) -> str:
        text = f"write {self.write_termination!r}, read {self.read_termination!r}"
        if self.serial:
            framing = dict(self.serial)
            text += (
                f", {framing.get('baudrate')} {framing.get('bytesize')}"
                f"{framing.get('parity')}{framing.get('stopbits')}"
            )
        return text


@dataclass
class Identified:
    """The outcome: an open transport, the reply, the driver (None if none serves it)."""

    transport: Transport
    idn: str
    driver: type[Instrument] | None
    attempt: Attempt


def _serial_framing(options: dict[str, Any]) -> tuple[tuple[str, Any], ...]:
    merged = {**_DEFAULT_FRAMING, **{k: v for k, v in options.items() if k in _SERIAL_KEYS}}
    return tuple(sorted(merged.items()))


def _attempts(
    serial_line: bool,
    options: dict[str, Any],
    terminators: tuple[str, str] | None,
    drivers: Iterable[type[Instrument]],
) -> list[Attempt]:
    """The first attempt is what the caller asked for; the rest come from the drivers."""
    identifiable = [cls for cls in drivers if cls.idn_patterns]
    first_terms = terminators or ("\n", "\n")
    term_choices = [first_terms]
    if terminators is None:
        term_choices += [
            (cls.write_termination, cls.read_termination)
            for cls in identifiable
            if cls.write_termination and cls.read_termination
        ]
    framings: list[tuple[tuple[str, Any], ...]] = [()]
    if serial_line:
        framings = [_serial_framing(options)]
        if not any(key in options for key in _SERIAL_KEYS):  # the caller's framing is final
            framings += [_serial_framing(dict(cls.connection_defaults)) for cls in identifiable]
    unique: list[Attempt] = []
    for framing in dict.fromkeys(framings):
        for write, read in dict.fromkeys(term_choices):
            attempt = Attempt(write, read, framing)
            if attempt not in unique:
                unique.append(attempt)
    return unique[:MAX_ATTEMPTS]


def _replies(session: Session, attempt_timeout: float, flush: bool) -> Iterator[str]:
    """Ask `*IDN?` and yield the replies that come within the attempt's time.

    After an earlier attempt the instrument may hold a partial command (`*IDN?\\n` is not a
    whole message to a CR LF instrument): a lone terminator ends it first, and the answer
    to that (an error message on some instruments) may come before the identity.
    """
    session.timeout = attempt_timeout
    if flush:
        session.write_raw(session.write_termination.encode(session.encoding), command="*IDN?")
    session.write("*IDN?")
    yield session.read(command="*IDN?").strip()
    if flush:
        yield session.read(command="*IDN?").strip()


def _outcome(replies: list[str], error: InstrumentError | None, waited: float) -> str:
    if replies:
        return f"replied {replies[0]!r}, which no driver serves"
    if isinstance(error, ProtocolError):
        return "garbled reply"
    if error is not None:
        cause = error.__cause__  # the transport's TimeoutError says what came, if anything
        came = str(cause) if isinstance(cause, TimeoutError) and str(cause) else ""
        if came:
            return f"no complete reply within {waited:g} s ({came})"
        return f"no reply within {waited:g} s"
    return "empty reply"


def identify_transport(
    resource: Any,
    options: dict[str, Any],
    *,
    name: str | None,
    terminators: tuple[str, str] | None,
    drivers: tuple[type[Instrument], ...],
    match: Callable[[str], type[Instrument] | None],
) -> Identified:
    """Open `resource` and identify it, trying the drivers' framings when the first fails.

    Returns with the transport open. A reply to the first attempt is taken even if no
    driver serves it (the caller says so); later attempts must find a driver. Raises
    DriverNotFound listing every attempt when none succeeds; connection errors end the
    search at once.
    """
    timeout = float(options.get("timeout", 5.0))
    try:
        serial_line = isinstance(resource, str) and (
            parse_resource(resource, backend=options.get("backend")).serial_line
        )
    except ConfigError:
        serial_line = False  # the open itself says what is wrong with the string
    attempts = _attempts(serial_line, options, terminators, drivers)
    attempt_timeout = timeout if len(attempts) == 1 else min(timeout, ATTEMPT_TIMEOUT)
    failures: list[str] = []
    answered = False
    last_error: InstrumentError | None = None
    transport: Transport | None = None
    framing: tuple[tuple[str, Any], ...] | None = None
    try:
        for index, attempt in enumerate(attempts):
            if transport is None or attempt.serial != framing:
                if transport is not None:
                    transport.close()
                    transport = None
                transport = open_transport(resource, **{**options, **dict(attempt.serial)})
                framing = attempt.serial
            session = Session(
                transport,
                name=name,
                write_termination=attempt.write_termination,
                read_termination=attempt.read_termination,
            )
            replies: list[str] = []
            error: InstrumentError | None = None
            try:
                for reply in _replies(session, attempt_timeout, flush=index > 0):
                    if not reply:
                        continue
                    replies.append(reply)
                    driver = match(reply)
                    # Line noise at a wrong baud rate is not an identity, even first.
                    if driver is not None or (index == 0 and reply.isprintable()):
                        transport.timeout = timeout
                        found = Identified(transport, reply, driver, attempt)
                        transport = None  # handed over to the caller
                        return found
            except (Timeout, ProtocolError) as caught:
                error = last_error = caught
            answered = answered or bool(replies)
            failures.append(f"{attempt.describe()}: {_outcome(replies, error, attempt_timeout)}")
    finally:
        if transport is not None:
            transport.close()
    tried = "; ".join(f"({n}) {text}" for n, text in enumerate(failures, 1))
    what = "no driver serves its replies" if answered else "it did not answer *IDN?"
    raise DriverNotFound(
        f"cannot identify the instrument: {what}; tried {len(failures)} ways: {tried}. Pass "
        "write_termination/read_termination or the serial framing if you know them, or name "
        "its driver with driver=... if it does not answer *IDN?",
        instrument=name or str(resource),
        command="*IDN?",
    ) from last_error
