"""The one SQLite connection of the process: WAL, foreign keys, versioned migrations.

Every statement runs on one thread of the database's own (a single-worker executor, reached
through asyncio's `run_in_executor`: what aiosqlite does inside, without its private API). Each
trip to that thread costs more than a short statement does (a queue, a thread switch, a wake-up
of the event loop, and for a commit an fsync), so work is grouped:

- A transaction (`Unit`) queues the statements whose result nobody waits for: a typical answer is
  one piece of work instead of six trips.
- Reads and such transactions from all users wait in one queue and go to the thread together, one
  batch per trip (group commit). The reads run first, outside any transaction, so no read sees a
  write that could still be undone. The writes run inside one transaction, each under its own
  savepoint so that one failure undoes only its own statements, and one COMMIT makes them all
  durable. Every writer is answered only after that COMMIT, so nothing is acknowledged that is not
  on disk. Under load this turns dozens of trips and fsyncs into one.
- A transaction that needs an answer before it can go on (`insert`, `fetchone`, ...) takes the
  connection for itself until it commits; a lock keeps it and the batches from interleaving.
  Where the whole of it can be written as one function of the connection (`Database.write`), it
  goes in the batch instead: one trip.
- Every write made while an update is handled records that update as handled, in the same
  transaction (`handling`): an update Telegram delivers again after a crash is then recognised
  (`storage.users.touch`) and not applied twice.
- Nothing is remembered between updates: every update reads what it needs from the database, so
  a change made by any other writer (another process through the CLI, a background job, another
  user on a shared draft) is what the next update sees. docs/storage.md explains why.
"""

from __future__ import annotations

import asyncio
import functools
import os
import re
import sqlite3
from collections.abc import AsyncIterator, Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib import resources
from pathlib import Path
from typing import Any, TypeVar

import aiosqlite

T = TypeVar("T")
_MIGRATION_NAME = re.compile(r"^(\d{4})_[a-z0-9_]+\.sql$")


# (user id, update id) of the update being handled, set once its user is loaded
# (handlers.common.load_user); every write made while handling it records it in handled_updates.
handling: ContextVar[tuple[int, int] | None] = ContextVar("handling", default=None)
# Nothing to record for a user the same update has just erased (/deletedata).
_HANDLED = (
    "INSERT OR IGNORE INTO handled_updates (user_id, update_id, handled_at) "
    "SELECT id, ?, ? FROM users WHERE id = ?"
)


class DatabaseError(Exception):
    """The database cannot be used (locked, unwritable, corrupt, or newer than this code)."""


def utcnow() -> str:
    """The current time as stored in the database: ISO 8601, UTC, seconds precision."""
    return datetime.now(UTC).isoformat(timespec="seconds")


def _private_file(path: Path) -> None:
    """The database holds personal data: readable by its owner only. SQLite gives its -wal and
    -shm files the database file's permissions."""
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        os.close(os.open(path, os.O_CREAT | os.O_WRONLY, 0o600))
        if path.stat().st_mode & 0o077:
            path.chmod(0o600)
    except OSError:  # not ours to change (another owner, a read-only mount): open() will say
        pass


def migrations() -> list[tuple[int, str, str]]:
    """All bundled migrations as (version, name, sql), in order."""
    found = []
    for entry in resources.files("storage").joinpath("migrations").iterdir():
        match = _MIGRATION_NAME.match(entry.name)
        if match:
            found.append((int(match.group(1)), entry.name, entry.read_text(encoding="utf-8")))
    found.sort()
    versions = [version for version, _, _ in found]
    if versions != list(range(1, len(found) + 1)):
        raise DatabaseError(f"migrations must be numbered 1..n without gaps, found {versions}")
    return found


LATEST_VERSION = len(migrations())


class Database:
    def __init__(self, path: Path | str, synchronous: str = "full") -> None:
        if synchronous not in ("full", "normal"):
            raise ValueError(f"synchronous must be full or normal, not {synchronous!r}")
        self.path = Path(path)
        self.synchronous = synchronous
        self.busy_timeout_ms = 5000
        # The database thread: every statement runs on it (sqlite3 connections belong to the
        # thread that made them), one piece of work at a time.
        self._thread: ThreadPoolExecutor | None = None
        self._conn: sqlite3.Connection | None = None
        # The connection: one batch, or one transaction of several trips, at a time.
        self._lock = asyncio.Lock()
        self._waiting: list[_Job] = []
        self._batcher: asyncio.Task[None] | None = None
        self._holder: asyncio.Task[Any] | None = None  # the task of the unit holding the lock

    async def open(self, *, target_version: int | None = None) -> None:
        if str(self.path) != ":memory:":
            await asyncio.to_thread(_private_file, self.path)
        self._thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="sqlite")
        try:
            self._conn = await asyncio.get_running_loop().run_in_executor(
                self._thread, self._connect
            )
            await self._refuse_newer_schema()  # before anything writes to the file
            await self._in_thread(_statement("PRAGMA journal_mode = WAL"))
            await self._in_thread(_statement("PRAGMA foreign_keys = ON"))
            # Deleted rows are overwritten, not just unlinked: /deletedata must not leave a
            # user's text in free pages of the file.
            await self._in_thread(_statement("PRAGMA secure_delete = ON"))
            # FULL (default): a committed answer survives a killed process and a power cut.
            # NORMAL: survives a killed process; a power cut may lose the last commits.
            await self._in_thread(_statement(f"PRAGMA synchronous = {self.synchronous.upper()}"))
            await self._migrate(LATEST_VERSION if target_version is None else target_version)
            # Find out now, not at the first user's answer, if another process holds the
            # database or the file cannot be written.
            await self._in_thread(_statement("BEGIN IMMEDIATE"))
            await self._in_thread(_statement("ROLLBACK"))
        except (sqlite3.DatabaseError, OSError) as exc:
            await self.close()
            raise DatabaseError(f"cannot use database {self.path}: {exc}") from exc
        except DatabaseError:
            await self.close()
            raise

    async def close(self) -> None:
        if self._batcher is not None:  # work already handed to us still gets its answer
            await asyncio.wait([self._batcher])
        thread, self._thread = self._thread, None
        if thread is None:
            return
        conn, self._conn = self._conn, None
        if conn is not None:
            await asyncio.get_running_loop().run_in_executor(thread, conn.close)
        thread.shutdown(wait=False)  # idle now: its worker ends without being waited for

    def _connect(self) -> sqlite3.Connection:
        """On the database thread: the connection, made there because it may be used only there."""
        # isolation_level=None: we issue BEGIN/COMMIT ourselves, nothing is implicit.
        conn = sqlite3.connect(self.path, isolation_level=None)
        try:
            conn.execute(f"PRAGMA busy_timeout = {self.busy_timeout_ms}")
            conn.row_factory = sqlite3.Row
            # Case-insensitive search beyond ASCII (SQLite's lower() and LIKE fold ASCII only):
            # the coordinators' list finds "ÄITIYS" for "äitiys" (storage.review.page).
            conn.create_function("casefold", 1, _casefold, deterministic=True)
        except BaseException:
            conn.close()
            raise
        return conn

    async def checkpoint(self) -> None:
        """Copy the WAL into the database file and empty it: after an erasure, so that the old
        pages holding the erased text do not linger in the WAL until enough other writes."""
        await self.fetchone("PRAGMA wal_checkpoint(TRUNCATE)")

    async def version(self) -> int:
        row = await self.fetchone("PRAGMA user_version")
        return int(row[0]) if row else 0

    async def _refuse_newer_schema(self) -> None:
        current = await self.version()
        if current > LATEST_VERSION:
            raise DatabaseError(
                f"database {self.path} has schema version {current}, newer than this code "
                f"({LATEST_VERSION}); upgrade the bot"
            )

    async def _migrate(self, target: int) -> None:
        current = await self.version()
        pending = [(v, sql) for v, _name, sql in migrations() if current < v <= target]
        if not pending:
            return
        # Foreign keys are off while migrating, as SQLite documents for rebuilding a table
        # (0012): with them on, dropping the old table would cascade-delete the rows that refer
        # to it. Each migration is checked with foreign_key_check before it commits instead.
        await self._in_thread(_statement("PRAGMA foreign_keys = OFF"))
        try:
            for version, sql in pending:
                await self._in_thread(functools.partial(_apply_migration, version, sql))
        finally:
            await self._in_thread(_statement("PRAGMA foreign_keys = ON"))

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[Unit]:
        """One unit of work, committed before the block's caller goes on (e.g. replies)."""
        unit = Unit(self)
        try:
            yield unit
        except BaseException:
            await unit.rollback()
            raise
        await unit.commit()

    async def read(self, work: Callable[[sqlite3.Connection], T]) -> T:
        """Run `work` with the raw connection on the database thread: several reads in one
        trip. `work` must only read."""
        return await self._batched(work, writes=False)

    async def write(self, work: Callable[[sqlite3.Connection], T]) -> T:
        """Run `work` with the raw connection on the database thread, inside the next batch's
        transaction under a savepoint of its own; its result once committed. For a write whose
        statements depend on each other's results, in one trip where a `Unit` would take two."""
        return await self._batched(work, writes=True)

    async def fetchone(self, sql: str, params: Params = ()) -> sqlite3.Row | None:
        rows = await self._batched(functools.partial(_fetchall, sql, params), writes=False)
        return rows[0] if rows else None

    async def fetchall(self, sql: str, params: Params = ()) -> list[sqlite3.Row]:
        return await self._batched(functools.partial(_fetchall, sql, params), writes=False)

    async def execute(self, sql: str, params: Params = ()) -> None:
        """A single statement in its own transaction."""
        async with self.transaction() as conn:
            await conn.execute(sql, params)

    async def insert(self, sql: str, params: Params = ()) -> int:
        """A single INSERT in its own transaction, batched like a queued one; the new row's id."""
        return await self._batched(functools.partial(_insert, sql, params), writes=True)

    # What a `Unit` uses while it keeps the connection for itself: these three and `write`.

    async def take_connection(self) -> None:
        """Keep the connection for the current task's unit, until `give_back_connection`."""
        self._refuse_if_holding()
        await self._lock.acquire()
        self._holder = asyncio.current_task()

    def give_back_connection(self) -> None:
        self._holder = None
        self._lock.release()

    async def run_held(self, work: Callable[[sqlite3.Connection], T]) -> T:
        """One trip to the database thread for the unit that keeps the connection."""
        return await self._in_thread(work)

    async def _batched(self, work: Callable[[sqlite3.Connection], T], *, writes: bool) -> T:
        """Run `work` in the next batch (see the module docstring)."""
        self._refuse_if_holding()
        if writes and (update := handling.get()) is not None:
            work = functools.partial(_marking_handled, work, update)
        future: asyncio.Future[T] = asyncio.get_running_loop().create_future()
        self._waiting.append(_Job(work, writes, future))
        if self._batcher is None or self._batcher.done():  # done: cancelled before it began
            self._batcher = asyncio.create_task(self._run_batches())
        return await future

    async def _in_thread(self, work: Callable[[sqlite3.Connection], T]) -> T:
        """Run `work` with the connection on the database thread: one trip."""
        conn, thread = self._conn, self._thread
        if conn is None or thread is None:
            raise DatabaseError("database is not open")
        return await asyncio.get_running_loop().run_in_executor(thread, work, conn)

    def _refuse_if_holding(self) -> None:
        """A task whose unit holds the connection would wait for itself forever."""
        if self._holder is not None and self._holder is asyncio.current_task():
            raise DatabaseError(
                "this task's transaction holds the connection: use the transaction's own methods"
            )

    async def _run_batches(self) -> None:
        try:
            while self._waiting:
                async with self._lock:
                    # A caller cancelled while it waited is not run at all.
                    jobs = [job for job in self._waiting if not job.future.done()]
                    self._waiting = []
                    if not jobs:
                        continue
                    try:
                        outcomes = await self._in_thread(functools.partial(_run_batch, jobs))
                    except Exception as exc:  # closed, or the database thread is gone
                        outcomes = [_Failed(exc)] * len(jobs)
                    except BaseException:  # this task is cancelled: so are its callers
                        for job in jobs:
                            job.future.cancel()
                        raise
                    for job, outcome in zip(jobs, outcomes, strict=True):
                        if job.future.done():
                            continue
                        if isinstance(outcome, _Failed):
                            job.future.set_exception(outcome.error)
                        else:
                            job.future.set_result(outcome)
        finally:
            self._batcher = None
            for job in self._waiting:  # left only if this task itself was cancelled
                job.future.cancel()
            self._waiting = []


Params = Sequence[Any]


@dataclass(slots=True)
class _Job:
    work: Callable[[sqlite3.Connection], Any]
    writes: bool
    future: asyncio.Future[Any]


@dataclass(slots=True)
class _Failed:
    error: Exception


def _run_batch(jobs: list[_Job], conn: sqlite3.Connection) -> list[Any]:
    """On the database thread: the reads, outside any transaction (so no read is ever given a
    write that might still be rolled back), then the writes inside one transaction with a
    savepoint each, so one job's failure undoes only that job; then one COMMIT for all."""
    outcomes: list[Any] = [None] * len(jobs)
    for index, job in enumerate(jobs):
        if not job.writes:
            try:
                outcomes[index] = job.work(conn)
            except Exception as exc:
                outcomes[index] = _Failed(exc)
    _rollback_if_open(conn)  # a read job must not have left a transaction open
    stored: list[int] = []  # the writing jobs done inside the open transaction
    refused: Exception | None = None
    for index, job in enumerate(jobs):
        if not job.writes:
            continue
        if refused is None and not conn.in_transaction:
            try:
                conn.execute("BEGIN IMMEDIATE")
            except Exception as exc:  # e.g. another process holds the database beyond the
                refused = exc  # busy timeout: fail every writer now, not after a wait each
        if refused is not None:
            outcomes[index] = _Failed(refused)
            continue
        try:
            conn.execute("SAVEPOINT unit")
            outcomes[index] = job.work(conn)
            conn.execute("RELEASE unit")
        except Exception as exc:
            outcomes[index] = _Failed(exc)
            try:
                conn.execute("ROLLBACK TO unit")
                conn.execute("RELEASE unit")
            except sqlite3.Error:  # the error ended the whole transaction (a full disk):
                _rollback_if_open(conn)  # the jobs before it were undone too
                for undone in stored:
                    outcomes[undone] = _Failed(exc)
                stored.clear()
        else:
            stored.append(index)
    if conn.in_transaction:
        # A deferred foreign key failing here would fail every writer of the batch: the schema
        # has none, and savepoints cannot isolate one.
        try:
            conn.execute("COMMIT")
        except Exception as exc:
            _rollback_if_open(conn)
            for index in stored:
                outcomes[index] = _Failed(exc)
    return outcomes


def _marking_handled(
    work: Callable[[sqlite3.Connection], T], update: tuple[int, int], conn: sqlite3.Connection
) -> T:
    result = work(conn)
    conn.execute(_HANDLED, (update[1], utcnow(), update[0]))
    return result


def _casefold(text: str | None) -> str | None:
    return text.casefold() if isinstance(text, str) else text


def _apply_migration(version: int, sql: str, conn: sqlite3.Connection) -> None:
    """One migration in one transaction: a failed one leaves the previous version intact."""
    try:
        # executescript runs outside our transaction helper; the script carries its own BEGIN.
        conn.executescript(f"BEGIN IMMEDIATE;\n{sql}\nPRAGMA user_version = {version};")
        broken = conn.execute("PRAGMA foreign_key_check").fetchall()
        if broken:
            raise DatabaseError(f"migration {version} breaks {len(broken)} foreign keys")
        conn.execute("COMMIT")
    except BaseException:
        _rollback_if_open(conn)
        raise


def _statement(sql: str) -> Callable[[sqlite3.Connection], Any]:
    return lambda conn: conn.execute(sql)


def _fetchall(sql: str, params: Params, conn: sqlite3.Connection) -> list[sqlite3.Row]:
    return conn.execute(sql, params).fetchall()


def _insert(sql: str, params: Params, conn: sqlite3.Connection) -> int:
    rowid = conn.execute(sql, params).lastrowid
    assert rowid is not None  # an INSERT always sets it
    return rowid


def _execute_all(
    statements: list[tuple[str, Params]], conn: sqlite3.Connection
) -> sqlite3.Cursor | None:
    """Run the statements in order; the last one's cursor."""
    cursor = None
    for sql, params in statements:
        cursor = conn.execute(sql, params)
    return cursor


class Unit:
    """The statements of one transaction (see the module docstring).

    `execute` only queues. A unit that only queues is committed in a batch with other callers'
    work. A statement that returns something (`insert`, `change`, `fetchone`, `fetchall`) needs a
    trip of its own: from then on the unit holds the connection, and each such statement takes
    the queue with it, until the commit. While it holds the connection, the unit's own methods
    are the only way to the database: anything else would wait for the unit, so it is refused
    (from another task, e.g. under `asyncio.wait_for`, it cannot be told apart and would hang).

    A statement that fails rolls the whole transaction back at once; the unit then refuses
    everything, its commit included, so a caller that catches the error cannot commit half a unit.
    """

    def __init__(self, db: Database) -> None:
        self._db = db
        self._queued: list[tuple[str, Params]] = []
        self._holding = False  # the connection, with a transaction begun
        self._failed = False

    @property
    def db(self) -> Database:
        return self._db

    async def execute(self, sql: str, params: Params = ()) -> None:
        self._refuse_if_failed()
        self._queued.append((sql, params))

    async def insert(self, sql: str, params: Params = ()) -> int:
        """Run an INSERT now; the new row's id."""
        return await self._trip(sql, params, lambda cursor: cursor.lastrowid)

    async def change(self, sql: str, params: Params = ()) -> int:
        """Run an UPDATE or DELETE now; how many rows it changed."""
        return await self._trip(sql, params, lambda cursor: cursor.rowcount)

    async def fetchone(self, sql: str, params: Params = ()) -> sqlite3.Row | None:
        return await self._trip(sql, params, lambda cursor: cursor.fetchone())

    async def fetchall(self, sql: str, params: Params = ()) -> list[sqlite3.Row]:
        return await self._trip(sql, params, lambda cursor: cursor.fetchall())

    async def commit(self) -> None:
        if self._holding:
            try:
                if (update := handling.get()) is not None:
                    await self._trip(
                        _HANDLED, (update[1], utcnow(), update[0]), lambda cursor: None
                    )
                await self._trip("COMMIT", (), lambda cursor: None)
            finally:
                self._release()
        elif self._queued:
            queued, self._queued = self._queued, []
            await self._db.write(functools.partial(_execute_all, queued))

    async def rollback(self) -> None:
        """Undo whatever reached the database. A trip whose caller was cancelled may still have
        run on the database thread, so the state there is checked rather than assumed."""
        self._queued.clear()
        if self._holding:
            try:
                await self._db.run_held(_rollback_if_open)
            finally:
                self._release()

    async def _trip(self, sql: str, params: Params, result: Any) -> Any:
        self._refuse_if_failed()
        begin = not self._holding
        if begin:
            await self._db.take_connection()
            self._holding = True
        queued, self._queued = [*self._queued, (sql, params)], []

        def work(conn: sqlite3.Connection) -> Any:
            if begin:
                conn.execute("BEGIN IMMEDIATE")
            try:
                return result(_execute_all(queued, conn))
            except BaseException:
                # Failed inside one trip: nothing of this transaction may stay, whatever the
                # caller does next.
                _rollback_if_open(conn)
                raise

        try:
            return await self._db.run_held(work)
        except BaseException:
            self._failed = True
            raise

    def _refuse_if_failed(self) -> None:
        if self._failed:
            raise DatabaseError("this transaction failed and was rolled back; begin a new one")

    def _release(self) -> None:
        self._holding = False
        self._db.give_back_connection()


def _rollback_if_open(conn: sqlite3.Connection) -> None:
    if conn.in_transaction:
        conn.execute("ROLLBACK")


async def backup_to(source: Path, target: Path) -> int:
    """Copy a live database with SQLite's online backup API: a consistent snapshot even while
    the bot writes. Returns the number of pages copied."""
    if not await asyncio.to_thread(source.exists):
        raise DatabaseError(f"no database at {source}")
    async with aiosqlite.connect(source) as conn, aiosqlite.connect(target) as copy:
        await conn.backup(copy)
        async with copy.execute("PRAGMA page_count") as cursor:
            row = await cursor.fetchone()
    return int(row[0]) if row else 0
