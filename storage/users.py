"""Users: who has talked to the bot, their chosen language and role.

Every update reads the user with their conversation state (`touch`); the pair is remembered between
updates (`storage.db.Memo`), so the functions here and in `storage.conversations` that write either
keep that memory true.
"""

from __future__ import annotations

import functools
import sqlite3
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from storage import conversations
from storage.conversations import Conversation, arrivals
from storage.db import Database, utcnow

_COLUMNS = "id, language, telegram_language, first_seen, last_seen, role, privacy_seen_at"
_WIDTH = len(_COLUMNS.split(", "))
_ARRIVAL = (
    f"SELECT {', '.join('u.' + c for c in _COLUMNS.split(', '))}, c.flow, c.step, c.data "
    "FROM users u LEFT JOIN conversations c ON c.user_id = u.id WHERE u.id = ?"
)


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


# last_seen is kept to the quarter hour: writing it on every message would cost a committed
# transaction per update for a figure only retention needs.
LAST_SEEN_PRECISION = timedelta(minutes=15)


async def touch(
    db: Database, user_id: int, telegram_language: str | None
) -> tuple[User, Conversation | None]:
    """The user's row, created on first contact, with last_seen and Telegram's language kept
    fresh; and the state of their conversation. Every update needs both: one trip reads them
    (and creates the row of a new user), or none when they are remembered."""
    memo = arrivals(db)
    remembered = memo.get(user_id)
    if remembered is None:
        stamp = memo.stamp()
        row, created = await db.write(functools.partial(_arrive, user_id, telegram_language))
        remembered = (User(*row[:_WIDTH]), conversations.stored(row))
        memo.put(user_id, remembered, stamp)
        if created:
            return replace(remembered[0], is_new=True), None
    user, state = remembered
    now = utcnow()
    stale = datetime.fromisoformat(now) - datetime.fromisoformat(user.last_seen)
    language_changed = telegram_language is not None and telegram_language != user.telegram_language
    if stale >= LAST_SEEN_PRECISION or language_changed:

        def seen(user: User) -> User:
            return replace(
                user, last_seen=now, telegram_language=telegram_language or user.telegram_language
            )

        async with db.transaction() as conn:
            memo.write(conn, user_id, lambda remembered: (seen(remembered[0]), remembered[1]))
            await conn.execute(
                "UPDATE users SET last_seen = ?, "
                "telegram_language = COALESCE(?, telegram_language) WHERE id = ?",
                (now, telegram_language, user_id),
            )
        user = seen(user)
    return user, conversations.from_stored(state)


def _arrive(
    user_id: int, telegram_language: str | None, conn: sqlite3.Connection
) -> tuple[sqlite3.Row, bool]:
    """On the database thread: the user's row with their state, created on first contact. One
    trip either way; for a known user it writes nothing, so its commit costs no fsync."""
    row = conn.execute(_ARRIVAL, (user_id,)).fetchone()
    if row is not None:
        return row, False
    now = utcnow()
    conn.execute(
        "INSERT INTO users (id, telegram_language, first_seen, last_seen) VALUES (?, ?, ?, ?)",
        (user_id, telegram_language, now, now),
    )
    return conn.execute(_ARRIVAL, (user_id,)).fetchone(), True


async def get(db: Database, user_id: int) -> User | None:
    row = await db.fetchone(f"SELECT {_COLUMNS} FROM users WHERE id = ?", (user_id,))
    return User(*row) if row else None


async def role(db: Database, user_id: int) -> str | None:
    """The user's role as the database has it now (`touch` may answer from memory)."""
    row = await db.fetchone("SELECT role FROM users WHERE id = ?", (user_id,))
    return row["role"] if row else None


async def set_language(db: Database, user_id: int, language: str) -> None:
    async with db.transaction() as conn:
        arrivals(db).write(conn, user_id, lambda r: (replace(r[0], language=language), r[1]))
        await conn.execute("UPDATE users SET language = ? WHERE id = ?", (language, user_id))


async def coordinators(db: Database) -> list[int]:
    """Users given the coordinator role in the database (COORDINATOR_IDS come on top)."""
    rows = await db.fetchall("SELECT id FROM users WHERE role = 'coordinator'")
    return [row["id"] for row in rows]


async def set_role(db: Database, user_id: int, role: str) -> None:
    """Give a role, creating the user's row if they have not talked to the bot yet."""
    now = utcnow()
    async with db.transaction() as conn:
        arrivals(db).write(conn, user_id)
        await conn.execute(
            "INSERT INTO users (id, first_seen, last_seen, role) VALUES (?, ?, ?, ?) "
            "ON CONFLICT (id) DO UPDATE SET role = excluded.role",
            (user_id, now, now, role),
        )


async def mark_privacy_seen(db: Database, user_id: int) -> None:
    now = utcnow()
    async with db.transaction() as conn:
        arrivals(db).write(conn, user_id, lambda r: (replace(r[0], privacy_seen_at=now), r[1]))
        await conn.execute("UPDATE users SET privacy_seen_at = ? WHERE id = ?", (now, user_id))
