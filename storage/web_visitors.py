"""Web chat visitors: a browser's cookie (stored hashed) mapped to a user id of its own range.

A visitor's user id is `WEB_USER_ID_MIN` + the row id. Telegram's user ids have at most 52
significant bits and its group chats are negative, so an id at or above 2**53 is never a Telegram
chat: a reply's chat id alone says which channel it goes to, and a web visitor can never be taken
for a coordinator listed by Telegram id.
"""

from __future__ import annotations

import functools
import hashlib
import sqlite3
from datetime import UTC, datetime, timedelta

from storage.db import Database, utcnow

WEB_USER_ID_MIN = 2**53


def is_web_user(user_id: object) -> bool:
    """Whether a user (or private chat) id belongs to a web visitor."""
    return isinstance(user_id, int) and user_id >= WEB_USER_ID_MIN


def _hash(secret: str) -> bytes:
    # The cookie is 32 random bytes and a code lives ten minutes: a fast hash is enough; what it
    # prevents is a copy of the database being usable as a set of logins.
    return hashlib.sha256(secret.encode("utf-8")).digest()


async def visitor_of(db: Database, token: str) -> int | None:
    """The user id of the visitor holding this cookie, or None."""
    row = await db.fetchone(
        "SELECT visitor_id FROM web_sessions WHERE token_hash = ?", (_hash(token),)
    )
    return WEB_USER_ID_MIN + int(row[0]) if row else None


async def visitor_and_language(
    db: Database, token: str
) -> tuple[int, str | None, str | None] | None:
    """The visitor holding this cookie with their chosen and reported languages, in one read:
    after each request the page learns both (None: the visitor was erased meanwhile)."""
    row = await db.fetchone(
        "SELECT s.visitor_id, u.language, u.telegram_language FROM web_sessions s "
        "LEFT JOIN users u ON u.id = s.visitor_id + ? WHERE s.token_hash = ?",
        (WEB_USER_ID_MIN, _hash(token)),
    )
    return (WEB_USER_ID_MIN + int(row[0]), row[1], row[2]) if row else None


async def new_visitor(db: Database, token: str) -> int:
    """A new visitor with this cookie; their user id."""
    return await db.write(functools.partial(_new_visitor, _hash(token)))


def _new_visitor(token_hash: bytes, conn: sqlite3.Connection) -> int:
    now = utcnow()
    visitor = conn.execute("INSERT INTO web_visitors (created_at) VALUES (?)", (now,)).lastrowid
    conn.execute(
        "INSERT INTO web_sessions (token_hash, visitor_id, created_at) VALUES (?, ?, ?)",
        (token_hash, visitor, now),
    )
    return WEB_USER_ID_MIN + int(visitor or 0)


async def new_device_code(db: Database, user_id: int, code: str, minutes: int) -> None:
    """Store a one-time code for `user_id`; an earlier unused code of theirs stops working."""
    expires = (datetime.now(UTC) + timedelta(minutes=minutes)).isoformat(timespec="seconds")
    await db.write(functools.partial(_new_code, _hash(code), user_id - WEB_USER_ID_MIN, expires))


def _new_code(code_hash: bytes, visitor: int, expires: str, conn: sqlite3.Connection) -> None:
    conn.execute("DELETE FROM web_device_codes WHERE visitor_id = ?", (visitor,))
    conn.execute(
        "INSERT INTO web_device_codes (code_hash, visitor_id, expires_at) VALUES (?, ?, ?)",
        (code_hash, visitor, expires),
    )


async def claim_device_code(db: Database, code: str, token: str) -> int | None:
    """Use a one-time code: this cookie joins the code's visitor. The code is gone either way
    once used; an expired or unknown code gives None."""
    return await db.write(functools.partial(_claim, _hash(code), _hash(token)))


def _claim(code_hash: bytes, token_hash: bytes, conn: sqlite3.Connection) -> int | None:
    now = utcnow()
    conn.execute("DELETE FROM web_device_codes WHERE expires_at < ?", (now,))
    row = conn.execute(
        "DELETE FROM web_device_codes WHERE code_hash = ? RETURNING visitor_id", (code_hash,)
    ).fetchone()
    if row is None:
        return None
    conn.execute(
        "INSERT INTO web_sessions (token_hash, visitor_id, created_at) VALUES (?, ?, ?) "
        "ON CONFLICT (token_hash) DO UPDATE SET visitor_id = excluded.visitor_id",
        (token_hash, row[0], now),
    )
    return WEB_USER_ID_MIN + int(row[0])


async def forget_session(db: Database, token: str) -> None:
    await db.execute("DELETE FROM web_sessions WHERE token_hash = ?", (_hash(token),))


async def forget_idle_visitors(db: Database, before: str) -> int:
    """Visitors created before `before` who never sent the bot anything (no user row: e.g. they
    only asked for a device code) and their cookies; how many. A visitor who did is erased with
    their user (/deletedata, the retention purge) by the trigger of migration 14."""
    return await db.write(functools.partial(_forget_idle_visitors, before))


def _forget_idle_visitors(before: str, conn: sqlite3.Connection) -> int:
    return conn.execute(
        "DELETE FROM web_visitors WHERE created_at < ? AND NOT EXISTS "
        "(SELECT 1 FROM users u WHERE u.id = web_visitors.id + ?)",
        (before, WEB_USER_ID_MIN),
    ).rowcount
