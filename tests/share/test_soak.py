"""Soak: 8 clients on 3 shared instruments, mixed queries, writes, locks and clears.

5 s by default (the suite's budget); IK_SOAK_SECONDS=60 for the long run.
"""

from __future__ import annotations

import os
import random
import threading
import time
from pathlib import Path

import pytest
from pyvisa_py.protocols import hislip

from instrumentkit.share import InstrumentRules

from .conftest import MakeShare, wait_until

SECONDS = float(os.environ.get("IK_SOAK_SECONDS", "5"))


def _open_fds() -> int:
    return len(os.listdir("/proc/self/fd")) if Path("/proc/self/fd").exists() else 0


def _rss_kib() -> int:
    status = Path("/proc/self/status")
    if not status.exists():
        return 0
    line = next(line for line in status.read_text().splitlines() if line.startswith("VmRSS"))
    return int(line.split()[1])


def _share_threads() -> list[str]:
    """The server's threads (the simulated lab's come and go with its own connections)."""
    return sorted(t.name for t in threading.enumerate() if t.name.startswith("share-"))


class Tally:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.exchanges = 0
        self.misrouted: list[str] = []
        self.failures: list[str] = []

    def check(self, expected: bytes, got: bytes, what: str) -> None:
        with self.lock:
            self.exchanges += 1
            if got != expected:
                self.misrouted.append(f"{what}: expected {expected!r}, got {got!r}")


def _scpi_client(port: int, sub: str, number: int, end: float, tally: Tally) -> None:
    rng = random.Random(number)
    client = hislip.Instrument("127.0.0.1", port=port, sub_address=sub, timeout=10.0)
    count = 0
    try:
        while time.monotonic() < end:
            count += 1
            token = f"c{number}n{count}".encode()
            action = rng.random()
            if action < 0.6:
                client.send(b":ECHO? " + token + b"\n")
                tally.check(token + b"\n", client.receive(), "echo")
            elif action < 0.85:
                assert client.async_lock_request(5.0) == "success"
                value = f"{number}.{count}".encode()
                client.send(b":LEV " + value + b"\n")
                client.send(b":LEV?\n")
                tally.check(float(value), float(client.receive()), "level under lock")
                assert client.async_lock_release() == "success"
            elif action < 0.95:
                client.send(b"*IDN?\n")
                tally.check(b"Acme,BENCH,0001,1.0\n", client.receive(), "idn")
            else:
                client.device_clear()
    except Exception as error:  # recorded; the test fails on it
        tally.failures.append(f"client {number}: {error!r}")
    finally:
        client.close()


def _gauge_client(port: int, number: int, end: float, tally: Tally) -> None:
    client = hislip.Instrument("127.0.0.1", port=port, sub_address="hislip_gauge", timeout=10.0)
    try:
        while time.monotonic() < end:
            client.send(b"PR1\r\n")
            tally.check(b"\x06\r\n", client.receive(), "gauge ack")
            client.send(b"\x05")
            tally.check(b"0,1.2300E-05\r\n", client.receive(), "gauge reading")
    except Exception as error:
        tally.failures.append(f"gauge client {number}: {error!r}")
    finally:
        client.close()


@pytest.mark.slow
def test_soak(make_share: MakeShare) -> None:
    share = make_share(
        rules={"gauge": InstrumentRules(protocol="raw", timeout=2.0, quiet_time=0.01)}
    )
    threads_before = _share_threads()
    fds_before = _open_fds()
    tally = Tally()
    end = time.monotonic() + SECONDS
    workers = [
        threading.Thread(target=_scpi_client, args=(share.port, "hislip_bench", n, end, tally))
        for n in range(4)
    ]
    workers += [
        threading.Thread(target=_scpi_client, args=(share.port, "hislip_bench2", n, end, tally))
        for n in range(4, 6)
    ]
    workers += [
        threading.Thread(target=_gauge_client, args=(share.port, n, end, tally)) for n in (6, 7)
    ]
    for worker in workers:
        worker.start()
    time.sleep(SECONDS / 3)
    rss_warm = _rss_kib()
    for worker in workers:
        worker.join(SECONDS + 30)
    assert tally.failures == []
    assert tally.misrouted == []
    assert tally.exchanges > 8 * SECONDS  # every client kept going
    assert wait_until(lambda: share.clients == [], timeout=10.0), share.clients
    assert wait_until(lambda: _share_threads() == threads_before, timeout=10.0), (
        _share_threads(),
        threads_before,
    )
    assert _open_fds() <= fds_before + 2
    assert _rss_kib() - rss_warm < 20_000  # flat: no growth with the number of messages
