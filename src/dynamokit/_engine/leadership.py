"""Leadership: which of the engines sharing one database file runs each piece of background work.

Several processes may serve one database (`serve --workers`). Background work must run once, not once per
process, and must outlive the process that started it. Both rest on leases, rows of `leases` in the database:

- A job (an index backfill, a restore, an export, an import) is run by the engine that starts it, which holds
  the job's lease while it runs (`run`). A lease whose holder is gone (its process no longer exists on this
  host) or has expired is free: a job whose process died is orphaned, and `resume` runs the orphaned jobs
  (every job is resumable or can start over).
- The `leader` lease, whose expiry its holder renews every tick of its loop (`start`), makes one engine the
  leader: each tick it sweeps expired TTL items, now and then folds old point-in-time-recovery changes, and
  resumes orphaned jobs. When the leader dies or stops renewing, another engine's loop takes the lease over
  at its next tick (holder gone) or once the lease expires (holder stuck).

Stream shards need no leader: they roll over and are trimmed inside the writes and reads that find them due.
An engine alone on its file is the leader once its loop runs; one that never starts it (in-process use) runs
the jobs it starts, and when opened, the jobs left orphaned.
"""

from __future__ import annotations

import logging
import os
import socket
import sqlite3
import threading
import time
import uuid
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING

from . import backups, exports, imports, indexes, pitr
from .storage import alive

if TYPE_CHECKING:
    from .core import Engine

SCHEMA = """
CREATE TABLE IF NOT EXISTS leases (
  name TEXT PRIMARY KEY,
  holder TEXT NOT NULL,
  host TEXT NOT NULL,
  pid INTEGER NOT NULL,
  expires REAL
);
"""
LEADER = "leader"
LEASE = 5.0  # seconds the leader lease lasts unless its holder renews it
COMPACT_INTERVAL = 60.0  # seconds between folds of old point-in-time-recovery changes
HOST = socket.gethostname()
Job = tuple[str, Callable[[], None]]  # a job's lease name and the function that runs it

log = logging.getLogger("dynamokit.engine")


def pending(engine: Engine) -> Iterable[Job]:
    """Every unfinished job recorded in the database, whoever runs it."""
    yield from indexes.pending(engine)
    yield from backups.pending(engine)
    yield from exports.pending(engine)
    yield from imports.pending(engine)


class Leadership:
    """One engine's leases: the jobs it runs and, while its loop runs, perhaps the leader's."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.holder = f"{os.getpid()}-{uuid.uuid4().hex[:12]}"
        self.leading = False  # held the leader lease at the last tick
        self._running: set[str] = set()  # jobs this engine runs
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._stopping = threading.Event()
        self._compacted = 0.0

    # -- leases ------------------------------------------------------------------------------------------
    def claim(self, name: str, expires: float | None = None) -> bool:
        """Take (or renew) lease `name` unless a live holder has it; `expires`: a time.time() it lapses at,
        None for as long as this process lives."""
        if self._taken(self.engine.storage.connection(), name):  # read first: no write lock to learn that
            return False
        with self.engine.storage.write() as conn:
            if self._taken(conn, name):
                return False
            conn.execute("INSERT OR REPLACE INTO leases(name, holder, host, pid, expires) VALUES (?, ?, ?, ?, ?)",
                         (name, self.holder, HOST, os.getpid(), expires))
        return True

    def _taken(self, conn: sqlite3.Connection, name: str) -> bool:
        """Whether another engine holds lease `name` and may keep it."""
        row = conn.execute("SELECT holder, host, pid, expires FROM leases WHERE name = ?", (name,)).fetchone()
        return row is not None and row[0] != self.holder and not _free(*row[1:])

    def release(self, name: str | None = None) -> None:
        """Give up lease `name` (None: every lease of this engine)."""
        with self.engine.storage.write() as conn:
            if name is None:
                conn.execute("DELETE FROM leases WHERE holder = ?", (self.holder,))
            else:
                conn.execute("DELETE FROM leases WHERE name = ? AND holder = ?", (name, self.holder))

    def leader(self) -> tuple[str, int] | None:
        """The host and pid holding the leader lease, if any does."""
        row = self.engine.storage.connection().execute("SELECT host, pid FROM leases WHERE name = ?",
                                                       (LEADER,)).fetchone()
        return None if row is None else (row[0], row[1])

    # -- jobs --------------------------------------------------------------------------------------------
    def run(self, name: str, job: Callable[[], None]) -> None:
        """Run `job` in a daemon thread holding lease `name`, unless this engine runs it already or another
        live engine holds the lease."""
        with self._lock:
            if name in self._running:
                return
            self._running.add(name)
        claimed = False
        try:
            claimed = self.claim(name)
        finally:
            if not claimed:
                with self._lock:
                    self._running.discard(name)
        if claimed:
            thread = threading.Thread(target=self._job, args=(name, job), name=name, daemon=True)
            self.engine.backfills.append(thread)
            thread.start()

    def _job(self, name: str, job: Callable[[], None]) -> None:
        try:
            job()
        except Exception:  # the engine may be closing; the job's lease is free once it is gone
            log.exception("%s stopped", name)
        finally:
            with self._lock:
                self._running.discard(name)
            try:
                self.release(name)
            except (sqlite3.Error, OSError):  # the engine closed: close() released it
                pass

    def resume(self) -> None:
        """Run the jobs no live engine runs (their engine stopped or died)."""
        for name, job in list(pending(self.engine)):
            self.run(name, job)

    # -- the leader's loop ---------------------------------------------------------------------------------
    def start(self, interval: float = 1.0) -> None:
        """Every `interval` seconds, in a daemon thread until `stop()`: take or renew the leader lease and,
        while holding it, do the leader's work."""
        if self._thread is not None:
            return
        self._stopping.clear()
        self._thread = threading.Thread(target=self._loop, args=(interval,), name="dynamokit-leader", daemon=True)
        self._thread.start()

    def _loop(self, interval: float) -> None:
        while True:
            try:
                self.tick(max(LEASE, 3 * interval))
            except Exception:
                log.exception("background work failed")
            if self._stopping.wait(interval):
                return

    def tick(self, lease: float = LEASE) -> None:
        """Take or renew the leader lease (lasting `lease` seconds); as the leader, sweep expired TTL items,
        fold old PITR changes (every COMPACT_INTERVAL) and resume orphaned jobs."""
        self.leading = self.claim(LEADER, time.time() + lease)
        if not self.leading:
            return
        self.engine.ttl.sweep()
        if time.monotonic() - self._compacted > COMPACT_INTERVAL:
            self._compacted = time.monotonic()
            pitr.compact(self.engine)
        self.resume()

    def stop(self) -> None:
        """Stop the loop (the engine calls this on close, then releases its leases)."""
        if self._thread is None:
            return
        self._stopping.set()
        self._thread.join()
        self._thread = None
        self.leading = False


def _free(host: str, pid: int, expires: float | None) -> bool:
    """Whether a lease held by process `pid` on `host` until `expires` may be taken."""
    return (expires is not None and expires < time.time()) or (host == HOST and not alive(pid))
