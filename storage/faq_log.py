"""The FAQ query log: what was asked, what matched, and the feedback (no user ids)."""

from __future__ import annotations

import json
import secrets

from storage.db import Database, utcnow


async def record(
    db: Database,
    *,
    language: str,
    matched_in: str,
    query: str,
    outcome: str,
    top: list[tuple[str, float]],
) -> tuple[int, str]:
    """Log one query; returns (id, token) for the feedback buttons."""
    token = secrets.token_hex(4)
    query_id = await db.insert(
        "INSERT INTO faq_queries (token, created_at, language, matched_in, query, outcome, top)"
        " VALUES (?, ?, ?, ?, ?, ?, ?)",
        (token, utcnow(), language, matched_in, query[:500], outcome, json.dumps(top)),
    )
    return query_id, token


async def add_feedback(
    db: Database,
    *,
    user_id: int,
    entry_id: str,
    language: str,
    value: int,
    query: tuple[int, str] | None,
) -> None:
    """Store 👍 (1) or 👎 (-1) for an entry; the anonymous query gets a copy of the vote when its
    id and token match."""
    async with db.transaction() as conn:
        if query is not None:
            await conn.execute(
                "UPDATE faq_queries SET feedback = ? WHERE id = ? AND token = ?",
                (value, query[0], query[1]),
            )
        await conn.execute(
            "INSERT INTO faq_feedback (user_id, created_at, entry_id, language, value) "
            "VALUES (?, ?, ?, ?, ?)",
            (user_id, utcnow(), entry_id, language, value),
        )


async def set_chosen(db: Database, query_id: int, token: str, entry_id: str | None) -> bool:
    async with db.transaction() as conn:
        changed = await conn.change(
            "UPDATE faq_queries SET chosen = ? WHERE id = ? AND token = ?",
            (entry_id or "", query_id, token),
        )
    return changed == 1
