"""The database: migrations from any version, WAL, foreign keys, refusal of unusable files, group
commit, and writes that race a purge. (Other writers between two updates of a user, through the
real Application: tests/test_other_writers.py.)"""

from __future__ import annotations

import asyncio
import sqlite3

import pytest

from storage import LATEST_VERSION, Database, DatabaseError, conversations, drafts, privacy
from storage import users as users_repo
from storage.conversations import Conversation


async def test_a_fresh_database_is_migrated_to_the_latest_version(tmp_path):
    db = Database(tmp_path / "sub" / "dir" / "bot.sqlite3")  # folders are created
    await db.open()
    try:
        assert await db.version() == LATEST_VERSION
        assert (await db.fetchone("PRAGMA journal_mode"))[0] == "wal"
        assert (await db.fetchone("PRAGMA foreign_keys"))[0] == 1
    finally:
        await db.close()


async def test_an_old_database_is_upgraded_and_keeps_its_rows(tmp_path):
    path = tmp_path / "bot.sqlite3"
    old = Database(path)
    await old.open(target_version=1)
    try:
        assert await old.version() == 1
        # Rows as version 1 code wrote them (today's code expects today's schema).
        await old.execute(
            "INSERT INTO users (id, language, telegram_language, first_seen, last_seen) "
            "VALUES (42, 'en', 'sv', '2026-01-01T00:00:00+00:00', '2026-01-01T00:00:00+00:00')"
        )
    finally:
        await old.close()

    db = Database(path)
    await db.open()
    try:
        assert await db.version() == LATEST_VERSION
        user = await users_repo.get(db, 42)
        assert user is not None and user.language == "en" and user.telegram_language == "sv"
        tables = {row[0] for row in await db.fetchall("SELECT name FROM sqlite_master")}
        assert {"users", "conversations"} <= tables
    finally:
        await db.close()


async def test_a_database_from_newer_code_is_refused_and_left_alone(tmp_path):
    path = tmp_path / "bot.sqlite3"
    with sqlite3.connect(path) as conn:
        conn.execute(f"PRAGMA user_version = {LATEST_VERSION + 1}")
    before = path.read_bytes()
    with pytest.raises(DatabaseError, match="newer than this code"):
        await Database(path).open()
    assert path.read_bytes() == before


async def test_a_file_that_is_not_a_database_is_refused_and_not_overwritten(tmp_path):
    path = tmp_path / "bot.sqlite3"
    path.write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(DatabaseError, match="cannot use database"):
        await Database(path).open()
    assert path.read_bytes() == b"this is not sqlite" * 100


INSERT_USER = "INSERT INTO users (id, first_seen, last_seen) VALUES (?, 'x', 'x')"


@pytest.fixture
async def db(tmp_path):
    database = Database(tmp_path / "bot.sqlite3")
    await database.open()
    yield database
    await database.close()


async def _user_ids(db: Database) -> list[int]:
    return [row[0] for row in await db.fetchall("SELECT id FROM users ORDER BY id")]


async def test_a_failed_transaction_leaves_nothing_behind(db):
    with pytest.raises(RuntimeError):
        async with db.transaction() as conn:
            await conn.execute(INSERT_USER, (1,))
            raise RuntimeError("boom")
    assert await users_repo.get(db, 1) is None


async def test_a_transaction_commits_whole_or_not_at_all_however_its_trips_fall(db):
    """Queued statements, statements that return something, and a failure in either."""
    async with db.transaction() as conn:
        await conn.execute(INSERT_USER, (1,))
        await conn.execute(INSERT_USER, (2,))
        assert await conn.change("UPDATE users SET role = 'coordinator' WHERE id < 3") == 2
        await conn.execute(INSERT_USER, (3,))
        assert [r[0] for r in await conn.fetchall("SELECT id FROM users")] == [1, 2, 3]
    assert await _user_ids(db) == [1, 2, 3]

    # The second statement of a batch fails: the first of the same batch is undone too.
    with pytest.raises(sqlite3.IntegrityError):
        async with db.transaction() as conn:
            await conn.execute(INSERT_USER, (4,))
            await conn.execute(INSERT_USER, (1,))  # already there
    # A failure after an earlier trip has begun the transaction.
    with pytest.raises(sqlite3.IntegrityError):
        async with db.transaction() as conn:
            assert await conn.insert(INSERT_USER, (5,)) == 5
            await conn.execute(INSERT_USER, (2,))
    assert await _user_ids(db) == [1, 2, 3]

    # The connection is usable afterwards, not left inside a transaction.
    async with db.transaction() as conn:
        await conn.execute(INSERT_USER, (6,))
    assert await _user_ids(db) == [1, 2, 3, 6]


async def test_a_transaction_cancelled_during_a_trip_is_undone(db):
    """The trip still runs on the database thread after its caller is cancelled."""

    async def interrupted() -> None:
        async with db.transaction() as conn:
            await conn.execute(INSERT_USER, (1,))
            await conn.insert(INSERT_USER, (2,))
            await asyncio.sleep(10)

    for pause in (0, 0.05):  # cancelled during the trip, and after it
        task = asyncio.create_task(interrupted())
        await asyncio.sleep(pause)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        assert await _user_ids(db) == []
    async with db.transaction() as conn:
        await conn.execute(INSERT_USER, (3,))
    assert await _user_ids(db) == [3]


async def test_concurrent_transactions_share_one_commit_and_fail_alone(db):
    """Group commit: one COMMIT for everyone waiting; a failing unit undoes only its own rows."""
    statements: list[str] = []
    await db.read(lambda conn: conn.set_trace_callback(statements.append))

    async def answer(user_id: int, *, duplicate: bool) -> None:
        async with db.transaction() as conn:
            await conn.execute(INSERT_USER, (user_id,))
            await conn.execute(INSERT_USER, (user_id if duplicate else user_id + 100,))

    results = await asyncio.gather(
        *(answer(n, duplicate=n == 3) for n in range(1, 6)), return_exceptions=True
    )
    await db.read(lambda conn: conn.set_trace_callback(None))
    assert isinstance(results[2], sqlite3.IntegrityError)
    assert [r for n, r in enumerate(results) if n != 2] == [None] * 4
    assert await _user_ids(db) == [1, 2, 4, 5, 101, 102, 104, 105]
    assert statements.count("COMMIT") == 1


async def test_a_transaction_cancelled_while_it_waits_for_its_batch_never_runs(db):
    async with db.transaction() as holder:
        await holder.insert(INSERT_USER, (1,))  # holds the connection until it commits
        waiting = asyncio.create_task(db.execute(INSERT_USER, (2,)))
        await asyncio.sleep(0.05)
        waiting.cancel()
        with pytest.raises(asyncio.CancelledError):
            await waiting
    assert await _user_ids(db) == [1]


async def test_when_the_disk_fills_during_a_batch_only_stored_answers_are_acknowledged(db):
    """A full disk can end the whole shared transaction: then the units already run in it are
    reported failed too, never acknowledged without being stored."""
    pages = (await db.fetchone("PRAGMA page_count"))[0]
    await db.fetchone(f"PRAGMA max_page_count = {pages + 3}")  # room for a few rows only

    async def answer(user_id: int) -> None:
        async with db.transaction() as conn:
            await conn.execute(
                "INSERT INTO users (id, first_seen, last_seen) VALUES (?, ?, 'x')",
                (user_id, "x" * 3000),
            )

    *results, seen = await asyncio.gather(
        *(answer(n) for n in range(1, 21)), _user_ids(db), return_exceptions=True
    )
    acknowledged = [n for n, result in enumerate(results, start=1) if result is None]
    assert all(isinstance(r, sqlite3.Error) for r in results if r is not None)
    assert len(acknowledged) < 20
    assert await _user_ids(db) == acknowledged
    assert set(seen) <= set(acknowledged)  # a read in the batch never saw what was undone

    await db.fetchone("PRAGMA max_page_count = 1000000")  # the disk has room again
    await answer(99)
    assert await _user_ids(db) == [*acknowledged, 99]


async def test_a_transaction_that_failed_cannot_be_committed_in_part(db):
    """The failed statement rolled everything back; going on after catching it is refused."""
    await db.execute(INSERT_USER, (1,))
    with pytest.raises(DatabaseError, match="failed and was rolled back"):
        async with db.transaction() as conn:
            await conn.execute(INSERT_USER, (2,))
            with pytest.raises(sqlite3.IntegrityError):
                await conn.insert(INSERT_USER, (1,))
            await conn.execute(INSERT_USER, (3,))
    assert await _user_ids(db) == [1]


async def test_waiting_for_the_database_inside_a_transaction_holding_it_is_refused(db):
    """It would wait for itself forever; a clear error instead of a hang."""
    with pytest.raises(DatabaseError, match="holds the connection"):
        async with db.transaction() as conn:
            await conn.insert(INSERT_USER, (1,))
            await db.fetchone("SELECT 1")
    assert await _user_ids(db) == []


# -- writes that fail or race a purge ------------------------------------------------------------


async def test_a_write_that_fails_leaves_what_the_database_has(db):
    await users_repo.touch(db, 7, "en")
    before = Conversation("checklist", "1", {})
    await conversations.set_state(db, 7, before)
    with pytest.raises(RuntimeError):
        async with db.transaction() as conn:
            await conversations.put(conn, 7, Conversation("outline", "0", {}))
            raise RuntimeError("the handler failed before the commit")
    assert await conversations.get(db, 7) == before
    with pytest.raises(sqlite3.IntegrityError):
        async with db.transaction() as conn:  # the commit itself fails: no such draft
            await conversations.put(conn, 7, Conversation("outline", "0", {}))
            await drafts.save_answer(conn, 404, "title", "x")
    assert await conversations.get(db, 7) == before


async def test_a_user_arriving_while_the_purge_deletes_them_comes_back_new(db, monkeypatch):
    """The arrival joins the purge's batch after the purge's delete: the user is created anew."""
    old = "2020-01-01T00:00:00+00:00"
    await db.execute("INSERT INTO users (id, first_seen, last_seen) VALUES (7, ?, ?)", (old, old))
    await conversations.set_state(db, 7, Conversation("outline", "3", {"draft": 1}))
    inactive = privacy.inactive

    async def inactive_then_a_busy_database(db_, before):
        found = await inactive(db_, before)
        await db._lock.acquire()  # as if a batch were on the database thread: what is queued
        asyncio.get_running_loop().call_later(0.05, db._lock.release)  # meanwhile goes together
        return found

    monkeypatch.setattr(privacy, "inactive", inactive_then_a_busy_database)
    purge = asyncio.create_task(
        privacy.purge(db, "2025-01-01T00:00:00+00:00", keep_submitted=False)
    )
    await asyncio.sleep(0.01)
    arrival = asyncio.create_task(users_repo.touch(db, 7, "en"))
    assert await purge == (1, 0)
    user = await arrival
    assert user.is_new and await conversations.get(db, 7) is None
    assert await users_repo.touch(db, 7, "en") == await users_repo.get(db, 7)


async def test_a_user_read_just_before_the_purge_deletes_them_arrives_new_next_time(db):
    """The arrival goes in the batch before the purge's delete and still sees the user; their
    next arrival, after the purge, finds nothing of them."""
    old = "2020-01-01T00:00:00+00:00"
    await db.execute("INSERT INTO users (id, first_seen, last_seen) VALUES (7, ?, ?)", (old, old))
    await conversations.set_state(db, 7, Conversation("outline", "3", {"draft": 1}))
    await db._lock.acquire()  # as if a batch were on the database thread
    arrival = asyncio.create_task(users_repo.touch(db, 7, "en"))
    await asyncio.sleep(0.01)
    purge = asyncio.create_task(
        privacy.purge(db, "2025-01-01T00:00:00+00:00", keep_submitted=False)
    )
    await asyncio.sleep(0.01)
    db._lock.release()
    assert not (await arrival).is_new
    assert await purge == (1, 0)
    assert (await users_repo.touch(db, 7, "en")).is_new
    assert await conversations.get(db, 7) is None


async def test_migration_7_makes_a_drafts_name_its_working_title_and_loses_neither(tmp_path):
    path = tmp_path / "bot.sqlite3"
    old = Database(path)
    await old.open(target_version=6)
    try:
        await old.execute(
            "INSERT INTO users (id, language, first_seen, last_seen) VALUES (7, 'en', 'x', 'x')"
        )
        for draft_id, name in ((1, "Renamed"), (2, None), (3, "Named, no title")):
            await old.execute(
                "INSERT INTO drafts (id, user_id, name, language, created_at, updated_at) "
                "VALUES (?, 7, ?, 'en', 't0', 't1')",
                (draft_id, name),
            )
        for draft_id, title in ((1, "Old title"), (2, "Only a title")):
            await old.execute(
                "INSERT INTO draft_answers VALUES (?, 'title', ?, 't0')", (draft_id, title)
            )
            await old.execute(
                "INSERT INTO draft_history (draft_id, section_id, value, saved_at) "
                "VALUES (?, 'title', ?, 't0')",
                (draft_id, title),
            )
    finally:
        await old.close()

    db = Database(path)
    await db.open()
    try:
        titles = {r[0]: r[1] for r in await db.fetchall(
            "SELECT draft_id, value FROM draft_answers WHERE section_id = 'title'"
        )}  # fmt: skip
        assert titles == {1: "Renamed", 2: "Only a title", 3: "Named, no title"}
        history = await db.fetchall(
            "SELECT value FROM draft_history WHERE draft_id = 1 ORDER BY id"
        )
        assert [r[0] for r in history] == ["Old title", "Renamed"]
        assert (await db.fetchone("SELECT COUNT(*) FROM drafts WHERE name IS NOT NULL"))[0] == 0
    finally:
        await db.close()
