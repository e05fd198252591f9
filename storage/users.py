"""Users: who has talked to the bot, their chosen language and role."""

from __future__ import annotations

from dataclasses import dataclass

from storage.db import Database, utcnow

_COLUMNS = "id, language, telegram_language, first_seen, last_seen, role, privacy_seen_at"


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


async def touch(db: Database, user_id: int, telegram_language: str | None) -> User:
    """Record that the user is active now and return their row; creates it on first contact."""
    now = utcnow()
    async with db.transaction() as conn:
        async with conn.execute(f"SELECT {_COLUMNS} FROM users WHERE id = ?", (user_id,)) as cur:
            row = await cur.fetchone()
        if row is None:
            await conn.execute(
                "INSERT INTO users (id, telegram_language, first_seen, last_seen) "
                "VALUES (?, ?, ?, ?)",
                (user_id, telegram_language, now, now),
            )
            return User(user_id, None, telegram_language, now, now, "applicant", is_new=True)
        await conn.execute(
            "UPDATE users SET last_seen = ?, "
            "telegram_language = COALESCE(?, telegram_language) WHERE id = ?",
            (now, telegram_language, user_id),
        )
    return User(
        row["id"],
        row["language"],
        telegram_language or row["telegram_language"],
        row["first_seen"],
        now,
        row["role"],
        row["privacy_seen_at"],
    )


async def get(db: Database, user_id: int) -> User | None:
    row = await db.fetchone(f"SELECT {_COLUMNS} FROM users WHERE id = ?", (user_id,))
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
    await db.execute("UPDATE users SET privacy_seen_at = ? WHERE id = ?", (utcnow(), user_id))
