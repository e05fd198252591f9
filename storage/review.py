"""The review of submitted outlines: status changes with their audit rows, comments, the outline
as it was when returned, and the coordinators' list of outlines (migration 0012).

Every status change is a compare-and-set on the status the caller saw: a stale button or two
coordinators pressing at once change an outline once, and the loser is told.
"""

from __future__ import annotations

from dataclasses import dataclass

from storage.db import Database, Unit, utcnow
from storage.drafts import TITLE


@dataclass(frozen=True)
class Event:
    id: int
    draft_id: int
    actor_id: int | None
    via: str  # "chat" or "cli"; in the chat a NULL actor is a user who deleted their data
    from_status: str
    to_status: str
    created_at: str


@dataclass(frozen=True)
class Comment:
    id: int
    draft_id: int
    section_id: str | None  # None: on the whole outline
    author_id: int | None
    via: str
    body: str
    created_at: str


@dataclass(frozen=True)
class Listed:
    """One line of the coordinators' list."""

    id: int
    status: str
    title: str
    organisation: str
    subthemes: str
    changed_at: str


@dataclass(frozen=True)
class ListFilter:
    status: str | None = None  # one status (not "draft"), or None for all of them
    subtheme: str | None = None
    text: str = ""  # in the working title or the organisation, case and accents as typed


_EVENT = "id, draft_id, actor_id, via, from_status, to_status, created_at"
_COMMENT = "id, draft_id, section_id, author_id, via, body, created_at"


async def _record(
    conn: Unit, draft_id: int, source: str, target: str, actor_id: int | None, via: str, now: str
) -> int:
    event_id = await conn.insert(
        f"INSERT INTO review_events ({_EVENT.split(', ', 1)[1]}) VALUES (?, ?, ?, ?, ?, ?)",
        (draft_id, actor_id, via, source, target, now),
    )
    if target == "returned":
        # What the applicant is asked to revise, kept whole for the coordinator's diff.
        await conn.execute(
            "INSERT INTO review_snapshots (event_id, section_id, value) "
            "SELECT ?, section_id, value FROM draft_answers WHERE draft_id = ?",
            (event_id, draft_id),
        )
    return event_id


async def change_status(
    conn: Unit, draft_id: int, source: str, target: str, actor_id: int | None, via: str = "chat"
) -> bool:
    """A coordinator's decision, if the outline is still in `source`. Whether the change is
    allowed is the caller's to check (`bot.review.allowed`)."""
    now = utcnow()
    changed = await conn.change(
        "UPDATE drafts SET status = ? WHERE id = ? AND status = ?", (target, draft_id, source)
    )
    if changed != 1:
        return False
    await _record(conn, draft_id, source, target, actor_id, via, now)
    return True


async def submit(conn: Unit, draft_id: int, source: str, target: str, actor_id: int) -> bool:
    """The owner's submit (`bot.review.submitted_status` says to what), if the outline is still
    in `source`. The first submission's time stays in submitted_at."""
    now = utcnow()
    changed = await conn.change(
        "UPDATE drafts SET status = ?, submitted_at = COALESCE(submitted_at, ?), updated_at = ? "
        "WHERE id = ? AND status = ?",
        (target, now, now, draft_id, source),
    )
    if changed != 1:
        return False
    await _record(conn, draft_id, source, target, actor_id, "chat", now)
    return True


async def add_comment(
    conn: Unit,
    draft_id: int,
    section_id: str | None,
    author_id: int | None,
    body: str,
    via: str = "chat",
) -> int:
    return await conn.insert(
        f"INSERT INTO review_comments ({_COMMENT.split(', ', 1)[1]}) VALUES (?, ?, ?, ?, ?, ?)",
        (draft_id, section_id, author_id, via, body, utcnow()),
    )


async def comments(db: Database, draft_id: int) -> list[Comment]:
    rows = await db.fetchall(
        f"SELECT {_COMMENT} FROM review_comments WHERE draft_id = ? ORDER BY id", (draft_id,)
    )
    return [Comment(*row) for row in rows]


async def events(db: Database, draft_id: int) -> list[Event]:
    rows = await db.fetchall(
        f"SELECT {_EVENT} FROM review_events WHERE draft_id = ? ORDER BY id", (draft_id,)
    )
    return [Event(*row) for row in rows]


async def returned_as(db: Database, draft_id: int) -> tuple[Event, dict[str, str]] | None:
    """The latest return with comments and the outline as it was then."""
    row = await db.fetchone(
        f"SELECT {_EVENT} FROM review_events WHERE draft_id = ? AND to_status = 'returned' "
        "ORDER BY id DESC LIMIT 1",
        (draft_id,),
    )
    if row is None:
        return None
    event = Event(*row)
    values = await db.fetchall(
        "SELECT section_id, value FROM review_snapshots WHERE event_id = ?", (event.id,)
    )
    return event, {value["section_id"]: value["value"] for value in values}


async def reviewed(db: Database, draft_id: int) -> tuple[str, int | None] | None:
    """(status, owner) of an outline coordinators may see: any that was ever submitted."""
    row = await db.fetchone(
        "SELECT status, user_id FROM drafts WHERE id = ? AND status <> 'draft'", (draft_id,)
    )
    return (row[0], row[1]) if row else None


async def page(
    db: Database, selection: ListFilter, limit: int, offset: int
) -> tuple[list[Listed], int]:
    """One page of the outlines coordinators review, the most recently changed first, and how
    many match in all. The text search folds case beyond ASCII (`casefold`, a function the
    connection registers: SQLite's own lower() and LIKE fold ASCII only), so "äitiys" finds
    "ÄITIYS"."""
    params: list[object] = [TITLE]
    where = "d.status <> 'draft'"
    if selection.status:
        where += " AND d.status = ?"
        params.append(selection.status)
    if selection.subtheme:
        where += " AND ',' || COALESCE(s.value, '') || ',' LIKE ?"
        params.append(f"%,{selection.subtheme},%")
    wanted = selection.text.casefold().strip()
    if wanted:
        where += " AND (instr(casefold(t.value), ?) OR instr(casefold(o.value), ?))"
        params += [wanted, wanted]
    # The latest change is the outline's latest audit row: rows are written in time order, and
    # the highest id of a draft is one index lookup (review_events_draft), where the latest
    # time would read all its rows. Title and organisation are read for the page only.
    rows = await db.fetchall(
        "WITH chosen AS (SELECT d.id, d.status, d.submitted_at, d.updated_at, "
        "(SELECT max(e.id) FROM review_events e WHERE e.draft_id = d.id) AS last "
        "FROM drafts d "
        "LEFT JOIN draft_answers t ON t.draft_id = d.id AND t.section_id = ? "
        "LEFT JOIN draft_answers o ON o.draft_id = d.id AND o.section_id = 'organisation' "
        "LEFT JOIN draft_answers s ON s.draft_id = d.id AND s.section_id = 'subthemes' "
        f"WHERE {where}), "
        "paged AS (SELECT *, count(*) OVER () AS total FROM chosen "
        "ORDER BY last DESC NULLS LAST, id DESC LIMIT ? OFFSET ?) "
        "SELECT p.id, p.status, COALESCE(t.value, ''), COALESCE(o.value, ''), "
        "COALESCE(s.value, ''), COALESCE(e.created_at, p.submitted_at, p.updated_at), p.total "
        "FROM paged p LEFT JOIN review_events e ON e.id = p.last "
        "LEFT JOIN draft_answers t ON t.draft_id = p.id AND t.section_id = ? "
        "LEFT JOIN draft_answers o ON o.draft_id = p.id AND o.section_id = 'organisation' "
        "LEFT JOIN draft_answers s ON s.draft_id = p.id AND s.section_id = 'subthemes' "
        "ORDER BY p.last DESC NULLS LAST, p.id DESC",
        [*params, limit, offset, TITLE],
    )
    if not rows and offset:  # past the end: the count alone, for the last page
        _found, total = await page(db, selection, 1, 0)
        return [], total
    return [Listed(*row[:6]) for row in rows], int(rows[0][6]) if rows else 0


async def about_draft(db: Database, draft_id: int) -> dict[str, list[dict[str, object]]]:
    """For /mydata: the comments on an outline and its status changes. Who made a change is
    left out: a coordinator's Telegram id is not the applicant's data."""
    return {
        "comments": [
            {"section_id": c.section_id, "comment": c.body, "created_at": c.created_at}
            for c in await comments(db, draft_id)
        ],
        "status_changes": [
            {"from": e.from_status, "to": e.to_status, "at": e.created_at}
            for e in await events(db, draft_id)
        ],
    }
