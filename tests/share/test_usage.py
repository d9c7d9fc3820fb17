"""The usage record: connections, locks, refusals and clears in SQLite, summed by --usage."""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path

from click.testing import CliRunner
from pyvisa_py.protocols import hislip

from instrumentkit.cli import main
from instrumentkit.share import UsageRecord, summarize

from .conftest import MakeShare, RawClient, wait_until


def test_connections_locks_and_traffic_are_recorded(make_share: MakeShare, tmp_path: Path) -> None:
    path = tmp_path / "usage.sqlite"
    usage = UsageRecord(path)
    share = make_share(usage=usage)
    first = hislip.Instrument("127.0.0.1", port=share.port, sub_address="hislip_bench")
    first.send(b"*IDN?\n")
    assert first.receive() == b"Acme,BENCH,0001,1.0\n"
    first.send(b":LEV 4\n")
    assert first.async_lock_request(1.0) == "success"
    time.sleep(0.2)
    assert first.async_lock_release() == "success"
    first.device_clear()
    first.close()
    second = RawClient(share.port, b"hislip_bench2")
    assert second.query(b":ECHO? 12345") == b"12345\n"
    second.close()
    killed = hislip.Instrument("127.0.0.1", port=share.port, sub_address="hislip_bench")
    assert killed.async_lock_request(1.0) == "success"
    killed.close()  # dies holding its lock
    assert wait_until(lambda: share.clients == [])
    usage.close()

    with sqlite3.connect(path) as db:
        connections = db.execute(
            "SELECT instrument, client, role, messages, bytes_in, bytes_out, closed IS NOT NULL"
            " FROM connections ORDER BY id"
        ).fetchall()
        locks = db.execute(
            "SELECT kind, released - granted, release_reason FROM locks ORDER BY id"
        ).fetchall()
        events = [kind for (kind,) in db.execute("SELECT kind FROM events ORDER BY id")]
        everything = " ".join(
            str(row)
            for table in ("connections", "locks", "events")
            for row in db.execute(f"SELECT * FROM {table}")
        )
    assert connections == [
        ("bench", "127.0.0.1", "operator", 2, len(b"*IDN?\n:LEV 4\n"), 20, 1),
        ("bench2", "127.0.0.1", "operator", 1, 12, 6, 1),
        ("bench", "127.0.0.1", "operator", 0, 0, 0, 1),
    ]
    assert [(kind, reason) for kind, _, reason in locks] == [
        ("exclusive", "released"),
        ("exclusive", "disconnected"),
    ]
    assert locks[0][1] >= 0.15
    assert "clear" in events
    assert "Acme" not in everything  # what instruments said is never recorded

    rows = {(row.instrument, row.client): row for row in summarize(path)}
    bench = rows[("bench", "127.0.0.1")]
    assert bench.sessions == 2
    assert bench.messages == 2
    assert bench.locked_s >= 0.15
    assert rows[("bench2", "127.0.0.1")].bytes_out == 6

    result = CliRunner().invoke(main, ["share", "--usage", str(path)])
    assert result.exit_code == 0, result.output
    assert "bench2" in result.output
    assert "127.0.0.1" in result.output
    later = CliRunner().invoke(main, ["share", "--usage", str(path), "--since", "2999-01-01"])
    assert later.exit_code == 0
    assert "bench" not in later.output.split("Usage in", 1)[1].split("\n", 1)[1]
    wrong = CliRunner().invoke(main, ["share", "--usage", str(path), "--since", "yesterday"])
    assert wrong.exit_code == 2
    assert "not a date" in wrong.output
