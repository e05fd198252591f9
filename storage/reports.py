"""Read-only queries for coordinators: outlines to export, statistics, unanswered questions.

Exports page through the drafts by id (keyset pagination), so 10,000 outlines never sit in memory
at once; every page is one short read on the database thread.
"""

from __future__ import annotations

import functools
import sqlite3
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from storage.db import Database

PAGE = 500
NO_SUBTHEME = "-"  # Filter.subtheme: the outlines where none was chosen


@dataclass(frozen=True)
class Filter:
    # "submitted" (every outline ever submitted, whatever its review status), "all" (drafts
    # too), or one status of bot.review.STATUSES
    status: str = "submitted"
    since: str | None = None  # ISO date, inclusive (on submitted_at, else created_at)
    until: str | None = None  # ISO date, inclusive
    subtheme: str | None = None  # a sub-theme id, NO_SUBTHEME, or None for any


@dataclass(frozen=True)
class Outline:
    id: int
    status: str
    language: str
    created_at: str
    updated_at: str
    submitted_at: str | None
    name: str | None
    latest_comment: str | None  # a coordinator's, on the whole outline or one section
    answers: dict[str, str]


def _where(selection: Filter) -> tuple[str, list[Any]]:
    clauses, params = [], []
    if selection.status == "submitted":
        clauses.append("d.status <> 'draft'")
    elif selection.status != "all":
        clauses.append("d.status = ?")
        params.append(selection.status)
    when = "COALESCE(d.submitted_at, d.created_at)"
    if selection.since:
        clauses.append(f"{when} >= ?")
        params.append(selection.since)
    if selection.until:
        clauses.append(f"substr({when}, 1, 10) <= ?")
        params.append(selection.until)
    if selection.subtheme == NO_SUBTHEME:
        clauses.append(
            "NOT EXISTS (SELECT 1 FROM draft_answers s WHERE s.draft_id = d.id AND "
            "s.section_id = 'subthemes' AND s.value <> '')"
        )
    elif selection.subtheme:
        clauses.append(
            "EXISTS (SELECT 1 FROM draft_answers s WHERE s.draft_id = d.id AND "
            "s.section_id = 'subthemes' AND ',' || s.value || ',' LIKE ?)"
        )
        params.append(f"%,{selection.subtheme},%")
    return (" AND ".join(clauses) or "1"), params


_META = (
    "d.id, d.status, d.language, d.created_at, d.updated_at, d.submitted_at, d.name, "
    "(SELECT c.body FROM review_comments c WHERE c.draft_id = d.id ORDER BY c.id DESC LIMIT 1)"
)
_WIDTH = 8  # the columns of _META


async def outlines(
    db: Database, selection: Filter, section_ids: list[str]
) -> AsyncIterator[Outline]:
    """`outline_rows` as Outline objects, for the exports that look answers up by section."""
    async for row in outline_rows(db, selection, section_ids):
        yield Outline(*row[:_WIDTH], answers=dict(zip(section_ids, row[_WIDTH:], strict=True)))


async def outline_rows(
    db: Database, selection: Filter, section_ids: list[str]
) -> AsyncIterator[list[Any]]:
    """The selected outlines as flat rows, in id order: the columns of `_META`, then the answer
    to each of `section_ids` ("" where there is none). One trip to the database thread per page,
    the rows assembled there as plain lists (no dictionary per outline).

    Pages are read one after another, not ahead: reading the next page on the database thread
    while this one is formatted was slower, as both threads then wait for the GIL."""
    where, params = _where(selection)
    position = {section_id: _WIDTH + i for i, section_id in enumerate(section_ids)}
    blank = [""] * len(section_ids)

    chosen = f"FROM drafts d WHERE d.id > ? AND {where} ORDER BY d.id LIMIT {PAGE}"

    def page(conn: sqlite3.Connection, after: int) -> list[list[Any]]:
        cursor = conn.cursor()
        cursor.row_factory = None  # plain tuples: cheaper than rows with names
        drafts = cursor.execute(f"SELECT {_META} {chosen}", [after, *params]).fetchall()
        if not drafts:
            return []
        rows = {draft[0]: [*draft, *blank] for draft in drafts}
        # The answers of this page's outlines only (not of every id in its range: with a
        # sub-theme filter most ids in between belong to other outlines).
        for draft_id, section_id, value in cursor.execute(
            "SELECT draft_id, section_id, value FROM draft_answers "
            f"WHERE draft_id IN (SELECT d.id {chosen})",
            [after, *params],
        ):
            row = rows.get(draft_id)
            if row is not None and section_id in position:
                row[position[section_id]] = value
        return list(rows.values())

    last = 0
    while rows := await db.read(functools.partial(page, after=last)):
        for row in rows:
            yield row
        last = rows[-1][0]


async def count_outlines(db: Database, selection: Filter) -> dict[str, int]:
    where, params = _where(selection)
    rows = await db.fetchall(
        f"SELECT d.status, COUNT(*) FROM drafts d WHERE {where} GROUP BY d.status", params
    )
    return {row[0]: row[1] for row in rows}


async def subtheme_counts(db: Database, selection: Filter) -> dict[str, int]:
    where, params = _where(selection)
    rows = await db.fetchall(
        "SELECT s.value FROM drafts d JOIN draft_answers s ON s.draft_id = d.id "
        f"AND s.section_id = 'subthemes' WHERE {where}",
        params,
    )
    counts: dict[str, int] = {}
    for row in rows:
        for subtheme in filter(None, row[0].split(",")):
            counts[subtheme] = counts.get(subtheme, 0) + 1
    return counts


async def submissions_per_week(db: Database, selection: Filter) -> list[tuple[str, int]]:
    """(ISO week like "2027-W09", submissions) in order, for the report's bar chart."""
    where, params = _where(selection)
    rows = await db.fetchall(
        f"SELECT d.submitted_at FROM drafts d WHERE d.submitted_at IS NOT NULL AND {where}",
        params,
    )
    weeks: dict[str, int] = {}
    for row in rows:
        year, week, _ = datetime.fromisoformat(row[0]).isocalendar()
        key = f"{year}-W{week:02d}"
        weeks[key] = weeks.get(key, 0) + 1
    return sorted(weeks.items())


# -- statistics ---------------------------------------------------------------------------------


async def statistics(db: Database, week_ago: str) -> dict[str, Any]:
    async def scalar(sql: str, params: tuple[Any, ...] = ()) -> int:
        row = await db.fetchone(sql, params)
        return int(row[0]) if row and row[0] is not None else 0

    async def pairs(sql: str) -> list[tuple[Any, ...]]:
        return [tuple(row) for row in await db.fetchall(sql)]

    return {
        "users_total": await scalar("SELECT COUNT(*) FROM users"),
        "users_new_week": await scalar(
            "SELECT COUNT(*) FROM users WHERE first_seen >= ?", (week_ago,)
        ),
        "drafts_by_status": await pairs("SELECT status, COUNT(*) FROM drafts GROUP BY status"),
        "subthemes": await subtheme_counts(db, Filter(status="all")),
        "checklist_runs": await scalar("SELECT COUNT(*) FROM checklist_runs"),
        "checklist_finished": await scalar(
            "SELECT COUNT(*) FROM checklist_runs WHERE finished_at IS NOT NULL"
        ),
        "checklist_gaps": await pairs(
            "SELECT item_id, COUNT(*) AS n FROM checklist_answers "
            "WHERE answer IN ('no', 'unsure', 'none') GROUP BY item_id ORDER BY n DESC, item_id"
        ),
        "faq_outcomes": await pairs(
            "SELECT language, outcome, COUNT(*) FROM faq_queries GROUP BY language, outcome "
            "ORDER BY language, outcome"
        ),
        "feedback": await pairs(
            "SELECT entry_id, SUM(value = 1), SUM(value = -1) FROM faq_feedback "
            "GROUP BY entry_id ORDER BY SUM(value = -1) DESC, entry_id"
        ),
    }


async def unanswered(db: Database, since: str | None) -> list[tuple[int, str, str, str]]:
    """(id, language, normalized query, why) for queries that got "none" or a 👎, except those a
    coordinator has already attached to an entry or marked out of scope."""
    rows = await db.fetchall(
        "SELECT q.id, q.language, q.query, "
        "CASE WHEN q.outcome = 'none' THEN 'none' ELSE 'thumbs-down' END "
        "FROM faq_queries q WHERE (q.outcome = 'none' OR q.feedback = -1 OR q.chosen = '') "
        "AND q.created_at >= ? "
        "AND NOT EXISTS (SELECT 1 FROM faq_learned l WHERE l.query = q.query) ORDER BY q.id",
        (since or "",),
    )
    return [tuple(row) for row in rows]
