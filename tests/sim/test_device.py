"""The Device base: messages split at message_end, unprompted output, clocks, latency."""

from __future__ import annotations

import pytest

from instrumentkit.errors import Timeout
from instrumentkit.sim import Device, ManualClock, create


class Echo(Device):
    """Answers each line with itself upper-cased, after `latency`."""

    def handle(self, message: bytes) -> None:
        self.reply(message.upper())


def test_lines_are_split_at_message_end_and_crlf_is_accepted(connect):
    session = connect(Echo())
    session.write_raw(b"one\r\ntw")
    session.write_raw(b"o\nthree\n")
    assert [session.read() for _ in range(3)] == ["ONE", "TWO", "THREE"]


def test_latency_delays_every_reply_on_the_clock(connect):
    clock = ManualClock()
    session = connect(Echo(clock=clock, latency=0.25))
    assert session.query("a") == "A"
    assert session.query("b") == "B"
    assert clock.now() == pytest.approx(0.5)


def test_a_device_without_handle_says_what_to_override():
    with pytest.raises(NotImplementedError, match="handle"):
        Device().receive(b"x\n")


def test_unprompted_output_streams_on_the_device_clock(connect):
    clock = ManualClock()
    session = connect(create("test-ticker", clock=clock))
    assert [session.read() for _ in range(3)] == ["tick 1", "tick 2", "tick 3"]
    assert clock.now() >= 0.3 - 1e-9  # ticks left no earlier than due


def test_unprompted_output_waits_for_a_manual_clock(connect):
    clock = ManualClock(auto_advance=False)
    session = connect(create("test-ticker", clock=clock), timeout=0.2)
    with pytest.raises(Timeout):
        session.read()
    clock.advance(0.1)
    assert session.read() == "tick 1"


def test_faults_apply_to_unprompted_output(connect):
    device = create("test-ticker", clock=ManualClock())
    device.faults.inject("no_reply", on="tick")  # before connecting: ticks start at once
    session = connect(device)
    assert session.read() == "tick 2"
