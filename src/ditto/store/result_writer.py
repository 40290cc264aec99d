"""Results committed in small groups, from a thread of their own.

One SQLite commit per result cost about a millisecond of the main thread's time, which at a
few hundred results a second was most of what ditto added on top of HTTP (issue 17,
BENCHMARKS.md "Pipeline at scale"). Here `add` only queues a row; a writer thread with its
own connection waits up to `GROUP_SECONDS` for more to arrive and commits them all in one
transaction. A row is durable a few milliseconds after it arrives. A run killed in between
loses at most those rows, which were never reported as saved: the re-run finds them missing
and asks for them again, so nothing is lost and nothing is stored twice (INSERT OR IGNORE on
the request key).

`flush` waits until every queued row is committed; the store calls it before it reads, so a
reader always sees what was put, and `complete` calls it before it returns or raises.
"""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path

GROUP_SECONDS = 0.005
"""How long the writer lets rows gather before it commits them together."""

INSERT_RESULT = (
    "INSERT OR IGNORE INTO requests (key, model, request, sample_index, text, finish_reason,"
    " prompt_tokens, completion_tokens, latency_s, endpoint, structured)"
    " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
)


def connect(path: Path) -> sqlite3.Connection:
    """A connection as every connection of a run store is made: WAL, NORMAL sync (a commit
    survives a killed process; only a power cut can take the last ones), waiting on a
    busy database rather than failing."""
    db = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=NORMAL")
    db.execute("PRAGMA busy_timeout=10000")
    return db


def commit_group(db: sqlite3.Connection, rows: list[tuple]) -> None:
    """Insert `rows` in one transaction (the connection is in autocommit mode otherwise)."""
    db.execute("BEGIN")
    try:
        db.executemany(INSERT_RESULT, rows)
    except BaseException:
        db.execute("ROLLBACK")
        raise
    db.execute("COMMIT")


class ResultWriter:
    def __init__(self, path: Path) -> None:
        self.path = path
        self._pending: list[tuple] = []
        self._committing = False
        self._waiters = 0
        self._closing = False
        self._error: BaseException | None = None
        self._condition = threading.Condition()
        self._thread: threading.Thread | None = None
        self.groups = 0
        """Transactions committed so far (each holds every row that gathered before it)."""

    def add(self, row: tuple) -> None:
        """Queue one row of INSERT_RESULT's columns for the next group commit."""
        with self._condition:
            self._raise_failure()
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._run, name="ditto-store", daemon=True)
                self._thread.start()
            self._pending.append(row)
            self._condition.notify_all()

    def flush(self) -> None:
        """Return once every row added so far is committed; raise what stopped the writer."""
        with self._condition:
            self._waiters += 1
            self._condition.notify_all()
            try:
                self._condition.wait_for(lambda: self._error or not (self._pending or self._committing))
            finally:
                self._waiters -= 1
            self._raise_failure()

    def close(self) -> None:
        """Commit what is queued and stop the thread."""
        with self._condition:
            self._closing = True
            self._condition.notify_all()
        if self._thread is not None:
            self._thread.join()
            self._thread = None
        self._raise_failure()

    def _raise_failure(self) -> None:
        if self._error is not None:
            error, self._error = self._error, None
            raise error

    def _run(self) -> None:
        try:
            db = connect(self.path)
        except BaseException as exc:  # handed on, as a failed commit is; a later add starts a new writer
            with self._condition:
                self._error = exc
                self._pending.clear()
                self._condition.notify_all()
            return
        try:
            while True:
                with self._condition:
                    self._condition.wait_for(lambda: self._pending or self._closing)
                    if not self._pending:
                        return
                    # Let more rows join this group, unless someone is waiting for it.
                    self._condition.wait_for(lambda: self._waiters or self._closing, timeout=GROUP_SECONDS)
                    rows, self._pending = self._pending, []
                    self._committing = True
                try:
                    commit_group(db, rows)
                    self.groups += 1
                except BaseException as exc:  # handed to the thread that adds or flushes next
                    with self._condition:
                        self._error = exc
                        self._pending.clear()
                finally:
                    with self._condition:
                        self._committing = False
                        self._condition.notify_all()
        finally:
            db.close()
