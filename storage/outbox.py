"""Announcements and reminders, and the durable outbox that delivers them once per person.

An announcement is stored as the HTML each language will receive; confirming it queues one
outbox row per subscriber in the same transaction. The sender (bot/channels/broadcast.py) then
works through the rows one at a time: each step settles the row just sent and claims the next
in one committed write, before that row's message goes out. A row still claimed when the process
starts again was in flight when it died: it is marked 'uncertain' and never sent again, so nobody
gets a message twice (docs/announcements.md says why this and not the other way round).
"""

from __future__ import annotations

import functools
import sqlite3
from dataclasses import dataclass
from datetime import datetime

from bot.calls import Progress
from storage.calls import changed_rows, stamp
from storage.db import Database, utcnow

SETTLED = ("sent", "failed", "blocked", "uncertain")
_SUBSCRIBERS = "SELECT user_id FROM subscriptions WHERE unsubscribed_at IS NULL"
# Reminders go to subscribers and to everyone with an unsubmitted draft who has not said no.
_REMINDER_RECIPIENTS = (
    f"{_SUBSCRIBERS} UNION SELECT user_id FROM drafts WHERE status = 'draft' "
    "AND user_id IS NOT NULL AND user_id NOT IN (SELECT user_id FROM subscriptions "
    "WHERE unsubscribed_at IS NOT NULL)"
)


@dataclass(frozen=True)
class Announcement:
    id: int
    kind: str
    status: str
    html: dict[str, str]
    created_by: int | None
    created_at: str
    queued_at: str | None
    finished_at: str | None


_COLUMNS = (
    "id, kind, status, html_fi, html_sv, html_en, created_by, created_at, queued_at, finished_at"
)


def _announcement(row: sqlite3.Row) -> Announcement:
    return Announcement(
        id=row["id"],
        kind=row["kind"],
        status=row["status"],
        html={"fi": row["html_fi"], "sv": row["html_sv"], "en": row["html_en"]},
        created_by=row["created_by"],
        created_at=row["created_at"],
        queued_at=row["queued_at"],
        finished_at=row["finished_at"],
    )


async def create(db: Database, html: dict[str, str], created_by: int | None) -> int:
    """A draft announcement: stored for the preview, sent to nobody until `queue`."""
    return await db.insert(
        "INSERT INTO announcements (kind, html_fi, html_sv, html_en, created_by, created_at) "
        "VALUES ('announcement', ?, ?, ?, ?, ?)",
        (html["fi"], html["sv"], html["en"], created_by, utcnow()),
    )


async def get(db: Database, announcement_id: int) -> Announcement | None:
    row = await db.fetchone(
        f"SELECT {_COLUMNS} FROM announcements WHERE id = ?", (announcement_id,)
    )
    return _announcement(row) if row else None


async def queue(db: Database, announcement_id: int) -> int | None:
    """Confirm a draft: one outbox row per subscriber, in the same transaction. None if it is
    no longer a draft (a second tap on "Send", or a draft cancelled)."""
    return await db.write(functools.partial(_queue, announcement_id, utcnow()))


def _queue(announcement_id: int, now: str, conn: sqlite3.Connection) -> int | None:
    changed = conn.execute(
        "UPDATE announcements SET status = 'sending', queued_at = ? "
        "WHERE id = ? AND status = 'draft' AND kind = 'announcement'",
        (now, announcement_id),
    ).rowcount
    if changed != 1:
        return None
    return conn.execute(
        "INSERT INTO outbox (announcement_id, user_id) "
        f"SELECT ?, user_id FROM ({_SUBSCRIBERS}) ORDER BY user_id",
        (announcement_id,),
    ).rowcount


async def drop(db: Database, announcement_id: int) -> bool:
    """Discard a draft; False if it was confirmed (or dropped) already."""
    return (
        await changed_rows(
            db, "DELETE FROM announcements WHERE id = ? AND status = 'draft'", (announcement_id,)
        )
        == 1
    )


async def add_reminder(
    db: Database, call_id: int, days: int, html: dict[str, str], now: datetime
) -> int | None:
    """The call's reminder `days` before closing, queued to its recipients at once; None if
    it was made before (the unique (call, days) pair keeps it to once, across restarts)."""
    return await db.write(functools.partial(_add_reminder, call_id, days, html, stamp(now)))


def _add_reminder(
    call_id: int, days: int, html: dict[str, str], now: str, conn: sqlite3.Connection
) -> int | None:
    cursor = conn.execute(
        "INSERT INTO announcements (kind, status, html_fi, html_sv, html_en, created_at, "
        "queued_at, call_id, reminder_days) VALUES ('reminder', 'sending', ?, ?, ?, ?, ?, ?, ?) "
        "ON CONFLICT (call_id, reminder_days) DO NOTHING",
        (html["fi"], html["sv"], html["en"], now, now, call_id, days),
    )
    if cursor.rowcount != 1:
        return None
    conn.execute(
        f"INSERT INTO outbox (announcement_id, user_id) SELECT ?, user_id "
        f"FROM ({_REMINDER_RECIPIENTS}) ORDER BY user_id",
        (cursor.lastrowid,),
    )
    return cursor.lastrowid


async def reminders_made(db: Database, call_id: int) -> set[int]:
    rows = await db.fetchall(
        "SELECT reminder_days FROM announcements WHERE call_id = ? AND kind = 'reminder'",
        (call_id,),
    )
    return {row[0] for row in rows}


# -- the sender's steps -------------------------------------------------------------------------


@dataclass(frozen=True)
class Claimed:
    """A row claimed for sending, with what is needed to send it."""

    id: int
    announcement_id: int
    user_id: int
    attempts: int
    language: str | None  # chosen with /language
    telegram_language: str | None
    html: dict[str, str]


@dataclass(frozen=True)
class Outcome:
    """How sending a claimed row went: `status` one of SETTLED, or 'pending' to try again
    after `retry_at` (a 429, or a failure with attempts left)."""

    row: int
    status: str
    error: str | None = None
    retry_at: datetime | None = None
    counts_attempt: bool = True
    user_id: int | None = None  # a 'blocked' row: this user is unsubscribed


async def recover(db: Database) -> int:
    """At start-up: rows claimed when the process died become 'uncertain' (their message may
    or may not have gone out; sending again could send it twice)."""
    return await changed_rows(
        db,
        "UPDATE outbox SET status = 'uncertain', done_at = ?, "
        "error = 'the bot stopped while sending' WHERE status = 'claimed'",
        (utcnow(),),
    )


async def has_work(db: Database, now: datetime) -> bool:
    """Whether a row is due or an announcement is still open: an idle sender then writes
    nothing (`step` always writes)."""
    row = await db.fetchone(
        "SELECT EXISTS (SELECT 1 FROM outbox WHERE status = 'pending' "
        "AND (not_before IS NULL OR not_before <= ?)) "
        "OR EXISTS (SELECT 1 FROM announcements WHERE status = 'sending')",
        (stamp(now),),
    )
    return bool(row and row[0])


async def step(db: Database, outcome: Outcome | None, now: datetime) -> Claimed | None:
    """Settle the row just sent and claim the next one due, in one committed write."""
    return await db.write(functools.partial(_step, outcome, stamp(now)))


def _step(outcome: Outcome | None, now: str, conn: sqlite3.Connection) -> Claimed | None:
    if outcome is not None:
        retry = stamp(outcome.retry_at) if outcome.retry_at else None
        conn.execute(
            "UPDATE outbox SET status = ?, error = ?, not_before = ?, "
            "attempts = attempts + ?, done_at = CASE WHEN ? = 'pending' THEN NULL ELSE ? END "
            "WHERE id = ? AND status = 'claimed'",
            (
                outcome.status,
                outcome.error,
                retry,
                1 if outcome.counts_attempt else 0,
                outcome.status,
                now,
                outcome.row,
            ),
        )
        if outcome.status == "blocked" and outcome.user_id is not None:
            conn.execute(
                "UPDATE subscriptions SET unsubscribed_at = ? "
                "WHERE user_id = ? AND unsubscribed_at IS NULL",
                (now, outcome.user_id),
            )
    row = conn.execute(
        "SELECT o.id, o.announcement_id, o.user_id, o.attempts, u.language, u.telegram_language, "
        "a.html_fi, a.html_sv, a.html_en FROM outbox o "
        "JOIN users u ON u.id = o.user_id JOIN announcements a ON a.id = o.announcement_id "
        "WHERE o.status = 'pending' AND (o.not_before IS NULL OR o.not_before <= ?) "
        "ORDER BY o.id LIMIT 1",
        (now,),
    ).fetchone()
    if row is None:
        _finish(conn, now)
        return None
    conn.execute("UPDATE outbox SET status = 'claimed' WHERE id = ?", (row["id"],))
    return Claimed(
        id=row["id"],
        announcement_id=row["announcement_id"],
        user_id=row["user_id"],
        attempts=row["attempts"],
        language=row["language"],
        telegram_language=row["telegram_language"],
        html={"fi": row["html_fi"], "sv": row["html_sv"], "en": row["html_en"]},
    )


def _finish(conn: sqlite3.Connection, now: str) -> None:
    conn.execute(
        "UPDATE announcements SET status = 'done', finished_at = ? WHERE status = 'sending' "
        "AND NOT EXISTS (SELECT 1 FROM outbox WHERE announcement_id = announcements.id "
        "AND status IN ('pending', 'claimed'))",
        (now,),
    )


async def next_retry(db: Database) -> str | None:
    """When the earliest row waiting out a back-off is due."""
    row = await db.fetchone("SELECT min(not_before) FROM outbox WHERE status = 'pending'")
    return row[0] if row else None


async def to_report(db: Database) -> list[Announcement]:
    """Finished announcements whose sender has not been told the outcome yet."""
    rows = await db.fetchall(
        f"SELECT {_COLUMNS} FROM announcements WHERE status = 'done' AND reported_at IS NULL "
        "ORDER BY id"
    )
    return [_announcement(row) for row in rows]


async def mark_reported(db: Database, announcement_id: int) -> None:
    await db.execute(
        "UPDATE announcements SET reported_at = ? WHERE id = ?", (utcnow(), announcement_id)
    )


async def progress(db: Database, announcement_id: int) -> Progress:
    rows = await db.fetchall(
        "SELECT status, count(*) FROM outbox WHERE announcement_id = ? GROUP BY status",
        (announcement_id,),
    )
    counts = {row[0]: row[1] for row in rows}
    return Progress(total=sum(counts.values()), counts=counts)


async def recent(db: Database, limit: int = 3) -> list[Announcement]:
    """The latest confirmed announcements and reminders, newest first."""
    rows = await db.fetchall(
        f"SELECT {_COLUMNS} FROM announcements WHERE status <> 'draft' ORDER BY id DESC LIMIT ?",
        (limit,),
    )
    return [_announcement(row) for row in rows]
