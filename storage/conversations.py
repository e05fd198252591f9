"""Conversation state: which flow and step a user is in, and the flow's own small data."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from storage.db import Database, Memo, Unit, utcnow


@dataclass(frozen=True)
class Conversation:
    flow: str
    step: str
    data: dict[str, Any] = field(default_factory=dict)


# The state as stored: flow, step and data as JSON. Remembered so, no handler can change the
# remembered state by changing the dict it was given.
Stored = tuple[str, str, str]


def arrivals(db: Database) -> Memo[int, tuple[Any, Stored | None]]:
    """Users seen lately with their state, by user id (`storage.users.touch`): a few thousand
    entries of a few hundred bytes."""
    return db.memo("arrivals", 4096)


def stored(row: Any) -> Stored | None:
    """The state as stored in a row with flow, step and data columns (all NULL: no state)."""
    return (row["flow"], row["step"], row["data"]) if row["flow"] else None


def from_row(row: Any) -> Conversation | None:
    return from_stored(stored(row))


def from_stored(state: Stored | None) -> Conversation | None:
    """A state from (flow, step, data JSON) as stored, or None."""
    return Conversation(state[0], state[1], json.loads(state[2])) if state else None


async def get(db: Database, user_id: int) -> Conversation | None:
    row = await db.fetchone(
        "SELECT flow, step, data FROM conversations WHERE user_id = ?", (user_id,)
    )
    return from_row(row) if row else None


async def put(conn: Unit, user_id: int, conversation: Conversation) -> None:
    """Set the state in the caller's transaction: an answer and the next step commit together."""
    state: Stored = (
        conversation.flow,
        conversation.step,
        json.dumps(conversation.data, ensure_ascii=False),
    )
    await conn.execute(
        "INSERT INTO conversations (user_id, flow, step, data, updated_at) VALUES (?, ?, ?, ?, ?) "
        "ON CONFLICT (user_id) DO UPDATE SET flow = excluded.flow, step = excluded.step, "
        "data = excluded.data, updated_at = excluded.updated_at",
        (user_id, *state, utcnow()),
    )
    arrivals(conn.db).write(conn, user_id, lambda remembered: (remembered[0], state))


async def clear(conn: Unit, user_id: int) -> None:
    await conn.execute("DELETE FROM conversations WHERE user_id = ?", (user_id,))
    arrivals(conn.db).write(conn, user_id, lambda remembered: (remembered[0], None))


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
