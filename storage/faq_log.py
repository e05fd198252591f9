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
    async with db.transaction() as conn:
        cursor = await conn.execute(
            "INSERT INTO faq_queries (token, created_at, language, matched_in, query, outcome, top)"
            " VALUES (?, ?, ?, ?, ?, ?, ?)",
            (token, utcnow(), language, matched_in, query[:500], outcome, json.dumps(top)),
        )
        query_id = cursor.lastrowid
        await cursor.close()
    assert query_id is not None
    return query_id, token


async def add_feedback(
    db: Database, *, entry_id: str, language: str, value: int, query: tuple[int, str] | None
) -> None:
    """Store 👍 (1) or 👎 (-1) for an entry; the query gets it too when id and token match."""
    async with db.transaction() as conn:
        query_id = None
        if query is not None:
            cursor = await conn.execute(
                "UPDATE faq_queries SET feedback = ? WHERE id = ? AND token = ?",
                (value, query[0], query[1]),
            )
            query_id = query[0] if cursor.rowcount == 1 else None
            await cursor.close()
        await conn.execute(
            "INSERT INTO faq_feedback (created_at, entry_id, language, value, query_id) "
            "VALUES (?, ?, ?, ?, ?)",
            (utcnow(), entry_id, language, value, query_id),
        )


async def set_chosen(db: Database, query_id: int, token: str, entry_id: str | None) -> bool:
    async with db.transaction() as conn:
        cursor = await conn.execute(
            "UPDATE faq_queries SET chosen = ? WHERE id = ? AND token = ?",
            (entry_id or "", query_id, token),
        )
        changed = cursor.rowcount
        await cursor.close()
    return changed == 1
