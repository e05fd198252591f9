"""Conversation state: which flow and step a user is in, and the flow's own small data."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from storage.db import Database, Unit, utcnow


@dataclass(frozen=True)
class Conversation:
    flow: str
    step: str
    data: dict[str, Any] = field(default_factory=dict)


def from_row(row: Any) -> Conversation | None:
    """A state from a row with flow, step and data (JSON) columns; None when there is none."""
    return Conversation(row["flow"], row["step"], json.loads(row["data"])) if row["flow"] else None


async def get(db: Database, user_id: int) -> Conversation | None:
    row = await db.fetchone(
        "SELECT flow, step, data FROM conversations WHERE user_id = ?", (user_id,)
    )
    return from_row(row) if row else None


async def put(conn: Unit, user_id: int, conversation: Conversation) -> None:
    """Set the state in the caller's transaction: an answer and the next step commit together."""
    await conn.execute(
        "INSERT INTO conversations (user_id, flow, step, data, updated_at) VALUES (?, ?, ?, ?, ?) "
        "ON CONFLICT (user_id) DO UPDATE SET flow = excluded.flow, step = excluded.step, "
        "data = excluded.data, updated_at = excluded.updated_at",
        (
            user_id,
            conversation.flow,
            conversation.step,
            json.dumps(conversation.data, ensure_ascii=False),
            utcnow(),
        ),
    )


async def clear(conn: Unit, user_id: int) -> None:
    await conn.execute("DELETE FROM conversations WHERE user_id = ?", (user_id,))


async def set_state(db: Database, user_id: int, conversation: Conversation | None) -> None:
    async with db.transaction() as conn:
        if conversation is None:
            await clear(conn, user_id)
        else:
            await put(conn, user_id, conversation)


async def get_in(conn: Unit, user_id: int) -> Conversation | None:
    """Like `get`, inside the caller's transaction."""
    row = await conn.fetchone(
        "SELECT flow, step, data FROM conversations WHERE user_id = ?", (user_id,)
    )
    return from_row(row) if row else None
