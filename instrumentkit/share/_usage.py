"""The usage record: every connection, lock, refusal, device clear and error, in SQLite.

One writer thread owns the database connection; the server's threads hand it rows
through a queue, so a slow disk never holds an instrument. Nothing here stores what
instruments measured: only who connected, when, for how long, and how much they sent.
Times are seconds since the epoch (UTC).
"""

from __future__ import annotations

import queue
import sqlite3
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = ["SCHEMA", "UsageRecord", "UsageRow", "summarize"]

SCHEMA = """
CREATE TABLE IF NOT EXISTS connections (
    id INTEGER PRIMARY KEY,
    instrument TEXT NOT NULL,
    client TEXT NOT NULL,          -- the client's address
    client_port INTEGER NOT NULL,
    session_id INTEGER NOT NULL,   -- the HiSLIP session id
    role TEXT NOT NULL,            -- operator or observer
    opened REAL NOT NULL,
    closed REAL,                   -- NULL while connected (or if the server died)
    messages INTEGER NOT NULL DEFAULT 0,
    bytes_in INTEGER NOT NULL DEFAULT 0,
    bytes_out INTEGER NOT NULL DEFAULT 0,
    close_reason TEXT
);
CREATE TABLE IF NOT EXISTS locks (
    id INTEGER PRIMARY KEY,
    connection INTEGER NOT NULL REFERENCES connections(id),
    instrument TEXT NOT NULL,
    kind TEXT NOT NULL,            -- exclusive or shared
    lock_key TEXT NOT NULL,        -- the shared lock's key ('' for exclusive)
    granted REAL NOT NULL,
    released REAL,
    release_reason TEXT            -- released, disconnected, server stopped
);
CREATE TABLE IF NOT EXISTS events (
    id INTEGER PRIMARY KEY,
    at REAL NOT NULL,
    connection INTEGER REFERENCES connections(id),
    instrument TEXT,
    client TEXT NOT NULL,
    kind TEXT NOT NULL,            -- refused, rejected, clear, error, fatal, lock_failed
    detail TEXT NOT NULL
);
"""


@dataclass
class UsageRow:
    instrument: str
    client: str
    sessions: int
    connected_s: float
    locked_s: float
    messages: int
    bytes_in: int
    bytes_out: int


_Job = Callable[[sqlite3.Connection], None]


class UsageRecord:
    """Writes the record at `path` (None: an in-memory database, for tests)."""

    def __init__(self, path: str | Path | None) -> None:
        self.path = str(path) if path is not None else ":memory:"
        self._jobs: queue.SimpleQueue[tuple[_Job, queue.SimpleQueue[Any] | None] | None] = (
            queue.SimpleQueue()
        )
        self._ready = threading.Event()
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name="share-usage", daemon=True)
        self._thread.start()
        self._ready.wait()
        if self._error is not None:
            raise self._error

    def _run(self) -> None:
        try:
            db = sqlite3.connect(self.path)
            db.executescript(SCHEMA)
            db.commit()
        except BaseException as error:  # reported to the constructor
            self._error = error
            self._ready.set()
            return
        self._ready.set()
        while (job := self._jobs.get()) is not None:
            work, answer = job
            try:
                result = work(db)
                db.commit()
            except sqlite3.Error as error:
                result = error
            if answer is not None:
                answer.put(result)
        db.close()

    def _submit(self, work: _Job, *, wait: bool = False) -> Any:
        answer: queue.SimpleQueue[Any] | None = queue.SimpleQueue() if wait else None
        self._jobs.put((work, answer))
        if answer is None:
            return None
        result = answer.get()
        if isinstance(result, sqlite3.Error):
            raise result
        return result

    # -- rows
    def connection_opened(
        self, instrument: str, client: str, port: int, session_id: int, role: str
    ) -> int:
        opened = time.time()

        def insert(db: sqlite3.Connection) -> int:
            cursor = db.execute(
                "INSERT INTO connections (instrument, client, client_port, session_id, role,"
                " opened) VALUES (?, ?, ?, ?, ?, ?)",
                (instrument, client, port, session_id, role, opened),
            )
            return int(cursor.lastrowid or 0)

        return int(self._submit(insert, wait=True))

    def connection_closed(
        self, connection: int, messages: int, bytes_in: int, bytes_out: int, reason: str
    ) -> None:
        closed = time.time()
        self._submit(
            lambda db: db.execute(
                "UPDATE connections SET closed = ?, messages = ?, bytes_in = ?, bytes_out = ?,"
                " close_reason = ? WHERE id = ?",
                (closed, messages, bytes_in, bytes_out, reason, connection),
            )
        )

    def lock_granted(self, connection: int, instrument: str, kind: str, key: str) -> None:
        granted = time.time()
        self._submit(
            lambda db: db.execute(
                "INSERT INTO locks (connection, instrument, kind, lock_key, granted)"
                " VALUES (?, ?, ?, ?, ?)",
                (connection, instrument, kind, key, granted),
            )
        )

    def lock_released(self, connection: int, kind: str, reason: str) -> None:
        released = time.time()
        self._submit(
            lambda db: db.execute(
                "UPDATE locks SET released = ?, release_reason = ? WHERE id = (SELECT max(id)"
                " FROM locks WHERE connection = ? AND kind = ? AND released IS NULL)",
                (released, reason, connection, kind),
            )
        )

    def event(
        self,
        kind: str,
        detail: str,
        *,
        client: str,
        instrument: str | None = None,
        connection: int | None = None,
    ) -> None:
        at = time.time()
        self._submit(
            lambda db: db.execute(
                "INSERT INTO events (at, connection, instrument, client, kind, detail)"
                " VALUES (?, ?, ?, ?, ?, ?)",
                (at, connection, instrument, client, kind, detail),
            )
        )

    def query(self, sql: str, parameters: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        """Rows of `sql`, read after every row handed in before it was written."""
        return list(self._submit(lambda db: db.execute(sql, parameters).fetchall(), wait=True))

    def close(self) -> None:
        if self._thread.is_alive():
            self._jobs.put(None)
            self._thread.join()


def summarize(path: str | Path, since: float | None = None) -> list[UsageRow]:
    """Per instrument and client address: sessions, connected and locked time, traffic.

    A connection still open (or left open by a server that died) counts up to now.
    """
    db = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        now = time.time()
        start = since if since is not None else 0.0
        rows = db.execute(
            "SELECT instrument, client, count(*), sum(coalesce(closed, ?) - opened),"
            " sum(messages), sum(bytes_in), sum(bytes_out) FROM connections"
            " WHERE opened >= ? GROUP BY instrument, client ORDER BY instrument, client",
            (now, start),
        ).fetchall()
        locked = dict(
            ((instrument, client), seconds)
            for instrument, client, seconds in db.execute(
                "SELECT l.instrument, c.client, sum(coalesce(l.released, c.closed, ?)"
                " - l.granted) FROM locks l JOIN connections c ON c.id = l.connection"
                " WHERE c.opened >= ? GROUP BY l.instrument, c.client",
                (now, start),
            )
        )
    finally:
        db.close()
    return [
        UsageRow(
            instrument,
            client,
            sessions,
            connected or 0.0,
            locked.get((instrument, client)) or 0.0,
            messages or 0,
            bytes_in or 0,
            bytes_out or 0,
        )
        for instrument, client, sessions, connected, messages, bytes_in, bytes_out in rows
    ]
