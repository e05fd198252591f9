"""Reminders for drafts left untouched: which are due, claimed so that each goes once.

A draft is due when it is unsubmitted, its owner has not said "Don't remind me", it was last
edited before the cut-off, and it has not been reminded since that edit. Claiming sets
`reminded_at` in the same transaction that picks the drafts, before anything is sent: a restart
finds what is still due in the database and never what was already claimed. The query reads the
partial index `drafts_reminder_due` (migration 0013), which holds only drafts that could be due.
"""

from __future__ import annotations

import functools
import sqlite3

from storage.db import Database, utcnow

# INDEXED BY: without statistics the planner would take drafts_status and scan every unsubmitted
# draft; the partial index holds only those that could be due (and if it ever could not serve
# this query, SQLite fails it loudly instead of scanning).
_DUE = (
    "SELECT id FROM drafts INDEXED BY drafts_reminder_due WHERE status = 'draft' AND remind = 1 "
    "AND (reminded_at IS NULL OR reminded_at < updated_at) AND updated_at < ? "
    "ORDER BY updated_at LIMIT ?"
)


async def claim_due(db: Database, before: str, limit: int) -> list[tuple[int, int]]:
    """(draft id, owner id) of at most `limit` drafts due, claimed and committed."""
    return await db.write(functools.partial(_claim, before, limit))


def _claim(before: str, limit: int, conn: sqlite3.Connection) -> list[tuple[int, int]]:
    rows = conn.execute(
        f"UPDATE drafts SET reminded_at = ? WHERE id IN ({_DUE}) RETURNING id, user_id",
        (utcnow(), before, limit),
    ).fetchall()
    return sorted((row[0], row[1]) for row in rows if row[1] is not None)


async def stop(db: Database, draft_id: int, user_id: int) -> bool:
    """ "Don't remind me" for one draft of the user's own."""
    async with db.transaction() as conn:
        changed = await conn.change(
            "UPDATE drafts SET remind = 0 WHERE id = ? AND user_id = ?", (draft_id, user_id)
        )
    return changed == 1
