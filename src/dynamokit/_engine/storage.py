"""SQLite storage: one database file (or memory) holds every table, index entry and stream record."""

from __future__ import annotations

import os
import shutil
import sqlite3
import tempfile
import threading
import time
import weakref
from collections.abc import Iterator
from contextlib import contextmanager

from .errors import DatabaseLocked, DynamoDBError

_SCHEMA = """
CREATE TABLE IF NOT EXISTS catalog (
  name TEXT PRIMARY KEY,
  tid INTEGER NOT NULL UNIQUE,
  description BLOB NOT NULL
);
CREATE TABLE IF NOT EXISTS items (
  tid INTEGER NOT NULL,
  phash INTEGER NOT NULL,
  hk BLOB NOT NULL,
  rk BLOB NOT NULL,
  size INTEGER NOT NULL,
  item BLOB NOT NULL,
  PRIMARY KEY (tid, phash, hk, rk)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS index_entries (
  tid INTEGER NOT NULL,
  iid INTEGER NOT NULL,
  phash INTEGER NOT NULL,
  ihk BLOB NOT NULL,
  irk BLOB NOT NULL,
  tphash INTEGER NOT NULL,
  hk BLOB NOT NULL,
  rk BLOB NOT NULL,
  PRIMARY KEY (tid, iid, phash, ihk, irk, tphash, hk, rk)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS counters (name TEXT PRIMARY KEY, value INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS resource_policies (tid INTEGER PRIMARY KEY, policy TEXT NOT NULL, revision TEXT NOT NULL);
"""
BUSY_TIMEOUT = 30.0  # seconds a write waits for another connection's or process's write lock
_CHECKPOINT_COMMITS = 200  # commits between background checkpoints
_CHECKPOINT_IDLE = 1.0  # seconds after which an idle database with new commits is checkpointed anyway
_AUTOCHECKPOINT_PAGES = 20_000  # SQLite's own checkpoint, only as a backstop if the background one lags


class _NoWait(threading.local):
    """Per thread: `on` for a thread that must never wait for the write lock (the HTTP server's event loop).
    Its first write transaction of a request raises DatabaseLocked instead of waiting, so the request can be
    handed to a thread that may wait; once a transaction began (`began`), later ones in the same request
    wait, because the request can no longer run again from the start."""

    on = False
    began = False


NO_WAIT = _NoWait()


class Storage:
    """Per-thread SQLite connections to one database, with serialized write transactions.

    Writers in this process take a lock before `BEGIN IMMEDIATE` so that threads queue instead of
    spinning in SQLite's busy handler; other processes on the same file are serialized by SQLite itself.
    """

    def __init__(self, path: str = ":memory:", schemas: tuple[str, ...] = ()) -> None:
        """Open (creating if needed) the database; `schemas` are the extra SQL scripts of engine modules."""
        self._discard: weakref.finalize | None = None
        if path == ":memory:":
            # A throwaway file (in RAM where /dev/shm exists) gives threads the same WAL semantics as disk;
            # it is removed on close, or when the storage is garbage-collected or the interpreter exits.
            scratch = scratch_dir()
            self._discard = weakref.finalize(self, shutil.rmtree, scratch, ignore_errors=True)
            path = os.path.join(scratch, "engine.db")
        self.path = path
        self.durable = self._discard is None
        self._local = threading.local()
        self._write_lock = threading.RLock()
        self._all: weakref.WeakSet[_Held] = weakref.WeakSet()
        self._all_lock = threading.Lock()
        self._closed = False
        with self._write_lock:
            self.connection().executescript("BEGIN IMMEDIATE;" + _SCHEMA + "".join(schemas) + "COMMIT;")
        self._checkpointer = _Checkpointer(path)
        weakref.finalize(self, self._checkpointer.stop)

    def connection(self) -> sqlite3.Connection:
        """This thread's connection (closed when the thread ends or the storage closes)."""
        held: _Held | None = getattr(self._local, "held", None)
        if held is None:
            if self._closed:
                raise sqlite3.ProgrammingError("the storage is closed")
            no_wait = NO_WAIT.on
            conn = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False,
                                   timeout=0.0 if no_wait else BUSY_TIMEOUT, cached_statements=256)
            conn.execute("PRAGMA journal_mode=WAL")
            # NORMAL: a commit survives the process being killed; OFF for throwaway databases.
            conn.execute("PRAGMA synchronous=" + ("NORMAL" if self.durable else "OFF"))
            conn.execute(f"PRAGMA wal_autocheckpoint={_AUTOCHECKPOINT_PAGES}")
            held = _Held(conn, no_wait)
            self._local.held = held
            with self._all_lock:
                self._all.add(held)
        return held.conn

    def write(self) -> _Write:
        """A write transaction (`with storage.write() as conn:`): all or nothing, serialized against every
        other writer; nested use joins the outer transaction."""
        held = getattr(self._local, "held", None)
        if held is None:
            self.connection()
            held = self._local.held
        return _Write(held.conn, self._write_lock, self._checkpointer, held.no_wait)

    @contextmanager
    def snapshot(self) -> Iterator[sqlite3.Connection]:
        """A read transaction: every read inside sees one consistent state."""
        conn = self.connection()
        if conn.in_transaction:
            yield conn
            return
        conn.execute("BEGIN")
        try:
            yield conn
        finally:
            if conn.in_transaction:
                conn.execute("COMMIT")

    def next_counter(self, conn: sqlite3.Connection, name: str) -> int:
        """Increment and return a named counter (inside a write transaction)."""
        row = conn.execute(
            "INSERT INTO counters(name, value) VALUES (?, 1) "
            "ON CONFLICT(name) DO UPDATE SET value = value + 1 RETURNING value",
            (name,),
        ).fetchone()
        return int(row[0])

    def close(self) -> None:
        """Close every connection. No new one opens, and a write transaction still running in another
        thread (a backfill chunk, a TTL sweep) ends first."""
        self._closed = True
        self._checkpointer.stop()
        with self._write_lock, self._all_lock:
            for held in list(self._all):
                held.close()
            self._all.clear()
        self._local = threading.local()
        if self._discard is not None:
            self._discard()


class _Write:
    """The context manager of `Storage.write` (a class: it is entered on every write)."""

    __slots__ = ("checkpointer", "conn", "lock", "no_wait", "outermost")

    def __init__(self, conn: sqlite3.Connection, lock: threading.RLock, checkpointer: _Checkpointer,
                 no_wait: bool) -> None:
        self.conn = conn
        self.lock = lock
        self.checkpointer = checkpointer
        self.no_wait = no_wait
        self.outermost = False

    def __enter__(self) -> sqlite3.Connection:
        no_wait = self.no_wait
        if not no_wait:
            self.lock.acquire()
        elif not self.lock.acquire(blocking=False):
            if not NO_WAIT.began:
                raise DatabaseLocked
            self.lock.acquire()
        try:
            if not self.conn.in_transaction:
                try:
                    self.conn.execute("BEGIN IMMEDIATE")
                except sqlite3.OperationalError as error:
                    _wait_to_begin(self.conn, no_wait, error)
                if no_wait:
                    NO_WAIT.began = True
                self.outermost = True
        except BaseException:
            self.lock.release()
            raise
        return self.conn

    def __exit__(self, kind: type[BaseException] | None, *rest: object) -> None:
        try:
            if self.outermost:
                if kind is not None:
                    self.conn.execute("ROLLBACK")
                else:
                    self.conn.execute("COMMIT")
                    self.checkpointer.committed()
        finally:
            self.lock.release()


def _wait_to_begin(conn: sqlite3.Connection, no_wait: bool, error: sqlite3.OperationalError) -> None:
    """After BEGIN IMMEDIATE failed with `error`: when the database was locked by another connection, on a
    NO_WAIT thread (whose connection has no busy timeout) DatabaseLocked for a request's first transaction,
    else a polled wait for the lock; elsewhere SQLite's busy handler has already waited BUSY_TIMEOUT. A wait
    that runs out is DynamoDB's retryable internal error."""
    if error.sqlite_errorcode not in _BUSY:
        raise error
    if no_wait and not NO_WAIT.began:
        raise DatabaseLocked
    deadline = time.monotonic() + BUSY_TIMEOUT
    delay = 0.001
    while no_wait and time.monotonic() < deadline:
        time.sleep(delay)
        delay = min(delay * 2, 0.05)
        try:
            conn.execute("BEGIN IMMEDIATE")
            return
        except sqlite3.OperationalError as again:
            if again.sqlite_errorcode not in _BUSY:
                raise
    raise DynamoDBError("InternalServerError", "Internal server error: the database stayed locked by another "
                        f"connection or process for {BUSY_TIMEOUT:.0f} s", 500)


_BUSY = (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED, 261, 517)  # 261, 517: SQLITE_BUSY_RECOVERY, _SNAPSHOT


class _Checkpointer:
    """Copies the WAL back into the database file from a background thread, so no request pays for it:
    SQLite's automatic checkpoint runs inside the commit that crosses its threshold, and on a durable
    database its fsync costs that request milliseconds. Holds no reference to the storage."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.pending = 0  # commits since the last checkpoint (written under the storage's write lock)
        self._wake = threading.Event()
        self._stopped = False
        self._thread = threading.Thread(target=self._run, name="dynamokit-checkpoint", daemon=True)
        self._thread.start()

    def committed(self) -> None:
        self.pending += 1
        if self.pending >= _CHECKPOINT_COMMITS:
            self._wake.set()

    def stop(self) -> None:
        self._stopped = True
        self._wake.set()

    def _run(self) -> None:
        conn: sqlite3.Connection | None = None
        try:
            while not self._stopped:
                self._wake.wait(_CHECKPOINT_IDLE)
                self._wake.clear()
                if self.pending and not self._stopped:
                    self.pending = 0
                    if conn is None:
                        conn = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False,
                                               timeout=60.0)
                    conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
        except sqlite3.Error:  # the database went away (a throwaway one removed): nothing left to do
            pass
        finally:
            if conn is not None:
                conn.close()


class _Held:
    """A thread's connection, closed when the thread's local storage is dropped."""

    __slots__ = ("__weakref__", "conn", "no_wait")

    def __init__(self, conn: sqlite3.Connection, no_wait: bool) -> None:
        self.conn = conn
        self.no_wait = no_wait  # NO_WAIT.on of the thread that opened it

    def close(self) -> None:
        try:
            self.conn.close()
        except sqlite3.ProgrammingError:
            pass

    def __del__(self) -> None:
        self.close()


def _scratch_root() -> str:
    return "/dev/shm" if os.path.isdir("/dev/shm") and os.access("/dev/shm", os.W_OK) else tempfile.gettempdir()


def scratch_dir() -> str:
    """A new directory for a throwaway database, named after this process; the directories of processes
    that died without cleaning up (killed with SIGKILL, say) are removed first, so RAM is not lost to them."""
    root = _scratch_root()
    try:
        entries = list(os.scandir(root))
    except OSError:
        entries = []
    for entry in entries:
        parts = entry.name.split("-")
        if len(parts) == 3 and parts[0] == "dynamokit" and parts[1].isdigit() and not alive(int(parts[1])):
            shutil.rmtree(entry.path, ignore_errors=True)
    return tempfile.mkdtemp(prefix=f"dynamokit-{os.getpid()}-", dir=root)


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process
        return True
    return True
