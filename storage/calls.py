"""Calls for applications and who subscribed to hear about them."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime

from bot.calls import Call, CallFields
from storage.db import Database, utcnow

_COLUMNS = (
    "id, title_fi, title_sv, title_en, opens_at, closes_at, subthemes, link, closed_at, updated_at"
)


def stamp(moment: datetime) -> str:
    """A moment as stored: ISO 8601 in UTC, seconds precision (ordered as text)."""
    return moment.astimezone(UTC).isoformat(timespec="seconds")


def _call(row: sqlite3.Row) -> Call:
    def when(value: str | None) -> datetime | None:
        return datetime.fromisoformat(value) if value else None

    opens, closes = when(row["opens_at"]), when(row["closes_at"])
    assert opens is not None and closes is not None
    return Call(
        id=row["id"],
        title={"fi": row["title_fi"], "sv": row["title_sv"], "en": row["title_en"]},
        opens_at=opens,
        closes_at=closes,
        subthemes=tuple(row["subthemes"].split()),
        link=row["link"],
        closed_at=when(row["closed_at"]),
        updated_at=when(row["updated_at"]),
    )


async def all_calls(db: Database) -> list[Call]:
    """Every call, the latest to close first."""
    rows = await db.fetchall(f"SELECT {_COLUMNS} FROM calls ORDER BY closes_at DESC, id DESC")
    return [_call(row) for row in rows]


async def current(db: Database, now: datetime) -> list[Call]:
    """Calls not yet over: open now or announced."""
    rows = await db.fetchall(
        f"SELECT {_COLUMNS} FROM calls WHERE closed_at IS NULL AND closes_at > ? "
        "ORDER BY closes_at",
        (stamp(now),),
    )
    return [_call(row) for row in rows]


async def get(db: Database, call_id: int) -> Call | None:
    row = await db.fetchone(f"SELECT {_COLUMNS} FROM calls WHERE id = ?", (call_id,))
    return _call(row) if row else None


def _values(fields: CallFields) -> tuple[str, ...]:
    return (
        fields.title["fi"],
        fields.title["sv"],
        fields.title["en"],
        stamp(fields.opens_at),
        stamp(fields.closes_at),
        " ".join(fields.subthemes),
        fields.link,
    )


async def add(db: Database, fields: CallFields) -> int:
    now = utcnow()
    return await db.insert(
        "INSERT INTO calls (title_fi, title_sv, title_en, opens_at, closes_at, subthemes, link, "
        "created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (*_values(fields), now, now),
    )


async def update(db: Database, call_id: int, fields: CallFields) -> bool:
    return (
        await changed_rows(
            db,
            "UPDATE calls SET title_fi = ?, title_sv = ?, title_en = ?, opens_at = ?, "
            "closes_at = ?, subthemes = ?, link = ?, updated_at = ? WHERE id = ?",
            (*_values(fields), utcnow(), call_id),
        )
        == 1
    )


async def close(db: Database, call_id: int) -> bool:
    """Close a call now (cancelled, or closed early); False if it was closed already."""
    now = utcnow()
    return (
        await changed_rows(
            db,
            "UPDATE calls SET closed_at = ?, updated_at = ? WHERE id = ? AND closed_at IS NULL",
            (now, now, call_id),
        )
        == 1
    )


# -- subscriptions ------------------------------------------------------------------------------


async def subscribe(db: Database, user_id: int) -> bool:
    """Subscribe the user; False if they were subscribed already."""
    return (
        await changed_rows(
            db,
            "INSERT INTO subscriptions (user_id, subscribed_at) VALUES (?, ?) "
            "ON CONFLICT (user_id) DO UPDATE SET subscribed_at = excluded.subscribed_at, "
            "unsubscribed_at = NULL WHERE unsubscribed_at IS NOT NULL",
            (user_id, utcnow()),
        )
        == 1
    )


async def unsubscribe(db: Database, user_id: int) -> bool:
    """End the subscription (kept as a no, so that draft reminders stop too); False if the
    user was not subscribed."""
    return (
        await changed_rows(
            db,
            "INSERT INTO subscriptions (user_id, subscribed_at, unsubscribed_at) VALUES (?, ?, ?) "
            "ON CONFLICT (user_id) DO UPDATE SET unsubscribed_at = excluded.unsubscribed_at "
            "WHERE unsubscribed_at IS NULL",
            (user_id, utcnow(), utcnow()),
        )
        == 1
    )


async def is_subscribed(db: Database, user_id: int) -> bool:
    row = await db.fetchone(
        "SELECT 1 FROM subscriptions WHERE user_id = ? AND unsubscribed_at IS NULL", (user_id,)
    )
    return row is not None


async def subscriber_count(db: Database) -> int:
    row = await db.fetchone("SELECT count(*) FROM subscriptions WHERE unsubscribed_at IS NULL")
    return int(row[0]) if row else 0


async def changed_rows(db: Database, sql: str, params: tuple[object, ...]) -> int:
    """One statement in one trip to the database (a `Unit` would hold the connection between
    two): how many rows it changed."""
    return await db.write(lambda conn: conn.execute(sql, params).rowcount)
