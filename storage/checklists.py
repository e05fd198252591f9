"""Checklist runs and their answers."""

from __future__ import annotations

from dataclasses import dataclass

from storage.db import Database, Unit, utcnow


@dataclass(frozen=True)
class Run:
    id: int
    user_id: int
    started_at: str
    finished_at: str | None


async def start(conn: Unit, user_id: int) -> int:
    return await conn.insert(
        "INSERT INTO checklist_runs (user_id, started_at) VALUES (?, ?)", (user_id, utcnow())
    )


async def get(db: Database, run_id: int, user_id: int) -> Run | None:
    """The run, only if it belongs to this user: callback data is never trusted."""
    row = await db.fetchone(
        "SELECT id, user_id, started_at, finished_at FROM checklist_runs "
        "WHERE id = ? AND user_id = ?",
        (run_id, user_id),
    )
    return Run(*row) if row else None


async def unfinished(db: Database, user_id: int) -> Run | None:
    row = await db.fetchone(
        "SELECT id, user_id, started_at, finished_at FROM checklist_runs "
        "WHERE user_id = ? AND finished_at IS NULL ORDER BY id DESC LIMIT 1",
        (user_id,),
    )
    return Run(*row) if row else None


async def answers(db: Database, run_id: int) -> dict[str, str]:
    rows = await db.fetchall(
        "SELECT item_id, answer FROM checklist_answers WHERE run_id = ?", (run_id,)
    )
    return {row["item_id"]: row["answer"] for row in rows}


async def save_answer(conn: Unit, run_id: int, item_id: str, answer: str) -> None:
    await conn.execute(
        "INSERT INTO checklist_answers (run_id, item_id, answer, answered_at) VALUES (?, ?, ?, ?) "
        "ON CONFLICT (run_id, item_id) DO UPDATE SET answer = excluded.answer, "
        "answered_at = excluded.answered_at",
        (run_id, item_id, answer, utcnow()),
    )


async def finish(conn: Unit, run_id: int) -> None:
    await conn.execute(
        "UPDATE checklist_runs SET finished_at = ? WHERE id = ? AND finished_at IS NULL",
        (utcnow(), run_id),
    )
