"""The FAQ query log: what was asked, what matched, and the feedback.

A question is linked to whoever asked it only so that it is part of their data (/mydata,
/deletedata); what coordinators see of the log never says who asked."""

from __future__ import annotations

import json
import re
import secrets

from storage.db import Database, utcnow

# A button's reference to a logged query: its token, plus the id for buttons sent by versions
# that quoted both (their 32-bit tokens were not meant to be unique on their own).
QueryRef = tuple[int | None, str]

_QUOTED = "token = ? AND id = COALESCE(?, id)"


_TOKEN = re.compile(r"[0-9a-f]{16}")  # as new_token makes them
_EARLIER_TOKEN = re.compile(r"[0-9a-f]{8}")
_EARLIER_ID = re.compile(r"[1-9][0-9]{0,17}")  # ASCII digits only, within SQLite's integers


def new_token() -> str:
    """The token for a query about to be logged. It is known before the row exists, so the
    buttons that quote it can be sent while the query is still being logged."""
    return secrets.token_hex(8)


def quote(query: QueryRef) -> list[str]:
    """A query as a button quotes it: its token (the parts `quoted` reads back)."""
    return [query[1]]


def quoted(parts: list[str]) -> QueryRef | None:
    """The query that a button's parts quote, or None if they quote none the way a button
    does: a token, or the id and token that buttons of earlier versions carry."""
    if len(parts) == 1 and _TOKEN.fullmatch(parts[0]):
        return None, parts[0]
    if len(parts) == 2 and _EARLIER_ID.fullmatch(parts[0]) and _EARLIER_TOKEN.fullmatch(parts[1]):
        return int(parts[0]), parts[1]
    return None


async def record(
    db: Database,
    *,
    user_id: int | None,
    token: str,
    language: str,
    matched_in: str,
    query: str,
    outcome: str,
    top: list[tuple[str, float]],
) -> None:
    """Log one query under `token` (from `new_token`)."""
    await db.insert(
        "INSERT INTO faq_queries "
        "(user_id, token, created_at, language, matched_in, query, outcome, top)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        (user_id, token, utcnow(), language, matched_in, query[:500], outcome, json.dumps(top)),
    )


async def add_feedback(
    db: Database,
    *,
    user_id: int,
    entry_id: str,
    language: str,
    value: int,
    query: QueryRef | None,
) -> None:
    """Store 👍 (1) or 👎 (-1) for an entry: one vote per person and entry, a second one
    replaces the first. The query gets a copy of the vote when the button quoted one of the
    voter's own questions."""
    async with db.transaction() as conn:
        if query is not None:
            await conn.execute(
                f"UPDATE faq_queries SET feedback = ? WHERE {_QUOTED} AND user_id = ?",
                (value, query[1], query[0], user_id),
            )
        await conn.execute(
            "INSERT INTO faq_feedback (user_id, created_at, entry_id, language, value) "
            "VALUES (?, ?, ?, ?, ?) ON CONFLICT (user_id, entry_id) DO UPDATE SET "
            "value = excluded.value, language = excluded.language, "
            "created_at = excluded.created_at",
            (user_id, utcnow(), entry_id, language, value),
        )


async def set_chosen(db: Database, query: QueryRef, entry_id: str | None) -> bool:
    async with db.transaction() as conn:
        changed = await conn.change(
            f"UPDATE faq_queries SET chosen = ? WHERE {_QUOTED}",
            (entry_id or "", query[1], query[0]),
        )
    return changed == 1
