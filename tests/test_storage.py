"""The database: migrations from any version, WAL, foreign keys, refusal of unusable files."""

from __future__ import annotations

import sqlite3

import pytest

from storage import LATEST_VERSION, Database, DatabaseError
from storage import users as users_repo


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
    assert await old.version() == 1
    await users_repo.touch(old, 42, "sv")
    await users_repo.set_language(old, 42, "en")
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


async def test_a_failed_transaction_leaves_nothing_behind(tmp_path):
    db = Database(tmp_path / "bot.sqlite3")
    await db.open()
    try:
        with pytest.raises(RuntimeError):
            async with db.transaction() as conn:
                await conn.execute(
                    "INSERT INTO users (id, first_seen, last_seen) VALUES (1, 'x', 'x')"
                )
                raise RuntimeError("boom")
        assert await users_repo.get(db, 1) is None
    finally:
        await db.close()
