"""Users: who has talked to the bot, their chosen language and role.

Every update reads the user's row afresh (`touch`): nothing is kept between updates, so a role
given on the command line or a purge counts from the next update on.
"""

from __future__ import annotations

import functools
import sqlite3
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from storage.db import Database, utcnow

_COLUMNS = "id, language, telegram_language, first_seen, last_seen, role, privacy_seen_at"
_SELECT = f"SELECT {_COLUMNS} FROM users WHERE id = ?"


@dataclass(frozen=True)
class User:
    id: int
    language: str | None
    telegram_language: str | None
    first_seen: str
    last_seen: str
    role: str
    privacy_seen_at: str | None = None
    is_new: bool = False
    handled_before: bool = False  # the update being handled was: a redelivery after a crash


# last_seen is kept to the quarter hour: writing it on every message would cost a committed
# transaction per update for a figure only retention needs.
LAST_SEEN_PRECISION = timedelta(minutes=15)


async def touch(
    db: Database, user_id: int, telegram_language: str | None, update_id: int | None = None
) -> User:
    """The user's row, created on first contact, with last_seen and Telegram's language kept
    fresh: one trip to the database per update, which writes only on first contact, when
    Telegram's language changed, or once per `LAST_SEEN_PRECISION`. It goes with the batch's
    writes, in their order: an arrival queued after a purge's delete finds the user gone.
    With `update_id`, it also tells whether that update was handled before."""
    return await db.write(functools.partial(_arrive, user_id, telegram_language, update_id))


def _arrive(
    user_id: int, telegram_language: str | None, update_id: int | None, conn: sqlite3.Connection
) -> User:
    """On the database thread: `touch`."""
    now = utcnow()
    row = conn.execute(_SELECT, (user_id,)).fetchone()
    if row is not None and update_id is not None:
        handled = conn.execute(
            "SELECT 1 FROM handled_updates WHERE user_id = ? AND update_id = ?",
            (user_id, update_id),
        ).fetchone()
        if handled is not None:
            return User(*row, handled_before=True)
    if row is None:
        conn.execute(
            "INSERT INTO users (id, telegram_language, first_seen, last_seen) VALUES (?, ?, ?, ?)",
            (user_id, telegram_language, now, now),
        )
        return User(*conn.execute(_SELECT, (user_id,)).fetchone(), is_new=True)
    user = User(*row)
    stale = datetime.fromisoformat(now) - datetime.fromisoformat(user.last_seen)
    language_changed = telegram_language is not None and telegram_language != user.telegram_language
    if stale < LAST_SEEN_PRECISION and not language_changed:
        return user  # nothing written: the batch's commit costs no fsync for it
    # Only these two columns: the statement writes nothing else of the row.
    conn.execute(
        "UPDATE users SET last_seen = ?, telegram_language = COALESCE(?, telegram_language) "
        "WHERE id = ?",
        (now, telegram_language, user_id),
    )
    return replace(
        user, last_seen=now, telegram_language=telegram_language or user.telegram_language
    )


async def get(db: Database, user_id: int) -> User | None:
    row = await db.fetchone(_SELECT, (user_id,))
    return User(*row) if row else None


async def set_language(db: Database, user_id: int, language: str) -> None:
    await db.execute("UPDATE users SET language = ? WHERE id = ?", (language, user_id))


async def coordinators(db: Database) -> list[int]:
    """Users given the coordinator role in the database (COORDINATOR_IDS come on top)."""
    rows = await db.fetchall("SELECT id FROM users WHERE role = 'coordinator'")
    return [row["id"] for row in rows]


async def set_role(db: Database, user_id: int, role: str) -> None:
    """Give a role, creating the user's row if they have not talked to the bot yet."""
    now = utcnow()
    await db.execute(
        "INSERT INTO users (id, first_seen, last_seen, role) VALUES (?, ?, ?, ?) "
        "ON CONFLICT (id) DO UPDATE SET role = excluded.role",
        (user_id, now, now, role),
    )


async def mark_privacy_seen(db: Database, user_id: int) -> None:
    now = utcnow()
    await db.execute("UPDATE users SET privacy_seen_at = ? WHERE id = ?", (now, user_id))


async def forget_handled_updates(db: Database, before: str) -> None:
    """Updates handled before `before` can no longer come again: Telegram redelivers only
    what the bot had not confirmed when it stopped."""
    await db.execute("DELETE FROM handled_updates WHERE handled_at < ?", (before,))
