"""The one SQLite connection of the process: WAL, foreign keys, versioned migrations.

aiosqlite runs every statement on one worker thread, but two coroutines could still interleave their
statements inside each other's transactions. A lock around every read and every transaction keeps
each unit of work whole.

Each trip to that thread costs more than a short statement does (a queue, a thread switch, a
wake-up of the event loop), so a transaction (`Unit`) sends the statements whose result nobody
waits for together: a typical answer is committed in one trip instead of six.
"""

from __future__ import annotations

import asyncio
import re
import sqlite3
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from importlib import resources
from pathlib import Path
from typing import Any, TypeVar

import aiosqlite

T = TypeVar("T")
_MIGRATION_NAME = re.compile(r"^(\d{4})_[a-z0-9_]+\.sql$")


class DatabaseError(Exception):
    """The database cannot be used (locked, unwritable, corrupt, or newer than this code)."""


def utcnow() -> str:
    """The current time as stored in the database: ISO 8601, UTC, seconds precision."""
    return datetime.now(UTC).isoformat(timespec="seconds")


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
        self._conn: aiosqlite.Connection | None = None
        self._lock = asyncio.Lock()

    async def open(self, *, target_version: int | None = None) -> None:
        if str(self.path) != ":memory:":
            self.path.parent.mkdir(parents=True, exist_ok=True)
        try:
            # isolation_level=None: we issue BEGIN/COMMIT ourselves, nothing is implicit.
            self._conn = await aiosqlite.connect(self.path, isolation_level=None)
            await self._conn.execute(f"PRAGMA busy_timeout = {self.busy_timeout_ms}")
            self._conn.row_factory = aiosqlite.Row
            await self._refuse_newer_schema()  # before anything writes to the file
            await self._conn.execute("PRAGMA journal_mode = WAL")
            await self._conn.execute("PRAGMA foreign_keys = ON")
            # FULL (default): a committed answer survives a killed process and a power cut.
            # NORMAL: survives a killed process; a power cut may lose the last commits.
            await self._conn.execute(f"PRAGMA synchronous = {self.synchronous.upper()}")
            await self._migrate(LATEST_VERSION if target_version is None else target_version)
            # Find out now, not at the first user's answer, if another process holds the
            # database or the file cannot be written.
            await self._conn.execute("BEGIN IMMEDIATE")
            await self._conn.execute("ROLLBACK")
        except (sqlite3.DatabaseError, OSError) as exc:
            await self.close()
            raise DatabaseError(f"cannot use database {self.path}: {exc}") from exc
        except DatabaseError:
            await self.close()
            raise

    async def close(self) -> None:
        if self._conn is not None:
            conn, self._conn = self._conn, None
            await conn.close()

    @property
    def conn(self) -> aiosqlite.Connection:
        if self._conn is None:
            raise DatabaseError("database is not open")
        return self._conn

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
        for version, _name, sql in migrations():
            if current < version <= target:
                # executescript runs outside our transaction helper; the script carries its own
                # BEGIN/COMMIT so a failed migration leaves the previous version intact.
                await self.conn.executescript(
                    f"BEGIN IMMEDIATE;\n{sql}\nPRAGMA user_version = {version};\nCOMMIT;"
                )

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[Unit]:
        """One unit of work, committed before the block's caller goes on (e.g. replies)."""
        async with self._lock:
            unit = Unit(self.conn)
            try:
                yield unit
            except BaseException:
                await unit.rollback()
                raise
            await unit.commit()

    async def read(self, work: Callable[[sqlite3.Connection], T]) -> T:
        """Run `work` with the raw connection on the database thread: several reads in one
        trip. No transaction is opened; `work` must only read."""
        async with self._lock:
            return await _in_thread(self.conn, work)

    # execute_fetchall is one round trip to the database thread; cursor.execute + fetch + close
    # would be three, and every update does several reads.
    async def fetchone(self, sql: str, params: Sequence[Any] = ()) -> aiosqlite.Row | None:
        async with self._lock:
            rows = await self.conn.execute_fetchall(sql, params)
        return rows[0] if rows else None

    async def fetchall(self, sql: str, params: Sequence[Any] = ()) -> list[aiosqlite.Row]:
        async with self._lock:
            return list(await self.conn.execute_fetchall(sql, params))

    async def execute(self, sql: str, params: Sequence[Any] = ()) -> None:
        """A single statement in its own transaction."""
        async with self.transaction() as conn:
            await conn.execute(sql, params)


Params = Sequence[Any]


class Unit:
    """The statements of one transaction (see the module docstring).

    `execute` only queues; the queue goes to the database thread with the next statement that
    returns something (`insert`, `change`, `fetchone`, `fetchall`) or with the commit, each time
    in one trip. The transaction begins (BEGIN IMMEDIATE) in the first trip.
    """

    def __init__(self, conn: aiosqlite.Connection) -> None:
        self._conn = conn
        self._queued: list[tuple[str, Params]] = []
        self._begun = False
        self._sent = False

    async def execute(self, sql: str, params: Params = ()) -> None:
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
        if self._queued or self._begun:
            await self._trip("COMMIT", (), lambda cursor: None)

    async def rollback(self) -> None:
        """Undo whatever reached the database. A trip whose caller was cancelled still runs on
        the database thread, so the state there is checked rather than assumed."""
        self._queued.clear()
        if self._sent:
            await self._run(_rollback_if_open)
        self._begun = False

    async def _trip(self, sql: str, params: Params, result: Any) -> Any:
        queued, self._queued = [*self._queued, (sql, params)], []
        begin = not self._begun

        def work(conn: sqlite3.Connection) -> Any:
            if begin:
                conn.execute("BEGIN IMMEDIATE")
            try:
                cursor = None
                for statement, values in queued:
                    cursor = conn.execute(statement, values)
                assert cursor is not None
                return result(cursor)
            except BaseException:
                # Failed inside one trip: nothing of this transaction may stay, whatever the
                # caller does next.
                _rollback_if_open(conn)
                raise

        self._sent = True
        value = await self._run(work)
        self._begun = sql != "COMMIT"
        return value

    async def _run(self, work: Any) -> Any:
        return await _in_thread(self._conn, work)


def _rollback_if_open(conn: sqlite3.Connection) -> None:
    if conn.in_transaction:
        conn.execute("ROLLBACK")


async def _in_thread(conn: aiosqlite.Connection, work: Callable[[sqlite3.Connection], T]) -> T:
    # aiosqlite's own primitive for "call this on the connection's thread": every public
    # method is built on it. Public API would cost one trip per statement.
    return await conn._execute(work, conn._conn)


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
