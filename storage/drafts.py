"""Project outline drafts, their answers and the history of every saved value.

Every outline step reads its draft with the answers afresh (`get_with_answers`), and a saved
answer writes only its own section: what another writer changed meanwhile is neither hidden nor
overwritten.
"""

from __future__ import annotations

from dataclasses import dataclass

from storage.db import Database, Unit, utcnow

VERSIONS_KEPT = 20  # per section of a draft, the current value included
TITLE = "title"  # the outline section whose answer is the draft's name (migration 0007)
_COLUMNS = (
    "id, user_id, name, status, language, created_at, updated_at, submitted_at, reopened_from"
)
_WIDTH = len(_COLUMNS.split(", "))
_WITH_ANSWERS = (
    f"SELECT {', '.join('d.' + c for c in _COLUMNS.split(', '))}, a.section_id, a.value "
    "FROM drafts d LEFT JOIN draft_answers a ON a.draft_id = d.id WHERE d.id = ? AND d.user_id = ?"
)


@dataclass(frozen=True)
class Draft:
    id: int
    user_id: int
    name: str | None  # no longer written: the name is the TITLE answer (migration 0007)
    status: str
    language: str
    created_at: str
    updated_at: str
    submitted_at: str | None
    reopened_from: int | None

    @property
    def editable(self) -> bool:
        # A draft, or an outline the coordinators returned with comments (bot.review.EDITABLE).
        return self.status in ("draft", "returned")


async def create(conn: Unit, user_id: int, language: str) -> int:
    now = utcnow()
    draft_id = await conn.insert(
        "INSERT INTO drafts (user_id, language, created_at, updated_at) VALUES (?, ?, ?, ?)",
        (user_id, language, now, now),
    )
    return draft_id


async def get(db: Database, draft_id: int, user_id: int) -> Draft | None:
    """The draft only if it belongs to this user: ids from buttons are never trusted."""
    row = await db.fetchone(
        f"SELECT {_COLUMNS} FROM drafts WHERE id = ? AND user_id = ?", (draft_id, user_id)
    )
    return Draft(*row) if row else None


async def get_with_answers(
    db: Database, draft_id: int, user_id: int
) -> tuple[Draft, dict[str, str]] | None:
    """`get` and `answers` in one read: an outline step needs both."""
    rows = await db.fetchall(_WITH_ANSWERS, (draft_id, user_id))
    if not rows:
        return None
    draft = Draft(*rows[0][:_WIDTH])
    return draft, {row["section_id"]: row["value"] for row in rows if row["section_id"]}


# -- shared drafts: the owner (drafts.user_id) and the partners (draft_members) -----------------

OWNER, PARTNER = "owner", "partner"
_MEMBER = "EXISTS (SELECT 1 FROM draft_members m WHERE m.draft_id = d.id AND m.user_id = ?)"
_ROLE = f"CASE WHEN d.user_id = ? THEN '{OWNER}' ELSE '{PARTNER}' END"
_D_COLUMNS = ", ".join("d." + c for c in _COLUMNS.split(", "))


async def access(db: Database, draft_id: int, user_id: int) -> tuple[Draft, str] | None:
    """The draft and the user's role in it (OWNER or PARTNER); None for anyone else. Where
    partners may act; `get` stays the owner's only."""
    row = await db.fetchone(
        f"SELECT {_D_COLUMNS}, {_ROLE} FROM drafts d "
        f"WHERE d.id = ? AND (d.user_id = ? OR {_MEMBER})",
        (user_id, draft_id, user_id, user_id),
    )
    return (Draft(*row[:_WIDTH]), row[_WIDTH]) if row else None


async def shared_with_answers(
    db: Database, draft_id: int, user_id: int
) -> tuple[Draft, dict[str, str]] | None:
    """`get_with_answers` for the owner or a partner: an outline step of a shared draft."""
    rows = await db.fetchall(
        f"SELECT {_D_COLUMNS}, a.section_id, a.value FROM drafts d "
        "LEFT JOIN draft_answers a ON a.draft_id = d.id "
        f"WHERE d.id = ? AND (d.user_id = ? OR {_MEMBER})",
        (draft_id, user_id, user_id),
    )
    if not rows:
        return None
    draft = Draft(*rows[0][:_WIDTH])
    return draft, {row["section_id"]: row["value"] for row in rows if row["section_id"]}


async def page_visible_to(
    db: Database, user_id: int, limit: int, offset: int
) -> tuple[list[Draft], int]:
    """`page_of_user` with the drafts shared with the user as a partner among them."""
    mine = f"(d.user_id = ? OR {_MEMBER})"
    rows = await db.fetchall(
        f"SELECT {_D_COLUMNS}, count(*) OVER () FROM drafts d WHERE {mine} "
        "ORDER BY d.updated_at DESC, d.id DESC LIMIT ? OFFSET ?",
        (user_id, user_id, limit, offset),
    )
    if not rows and offset:
        row = await db.fetchone(f"SELECT count(*) FROM drafts d WHERE {mine}", (user_id, user_id))
        return [], int(row[0]) if row else 0
    return [Draft(*row[:_WIDTH]) for row in rows], int(rows[0][_WIDTH]) if rows else 0


async def page_of_user(
    db: Database, user_id: int, limit: int, offset: int
) -> tuple[list[Draft], int]:
    """One page of a user's drafts, latest first, and how many they have in all."""
    rows = await db.fetchall(
        f"SELECT {_COLUMNS}, count(*) OVER () FROM drafts WHERE user_id = ? "
        "ORDER BY updated_at DESC, id DESC LIMIT ? OFFSET ?",
        (user_id, limit, offset),
    )
    if not rows and offset:  # past the end (drafts deleted meanwhile): the count alone
        row = await db.fetchone("SELECT count(*) FROM drafts WHERE user_id = ?", (user_id,))
        return [], int(row[0]) if row else 0
    return [Draft(*row[:_WIDTH]) for row in rows], int(rows[0][_WIDTH]) if rows else 0


async def latest_editable(db: Database, user_id: int) -> Draft | None:
    """The draft /outline offers to continue: a returned outline is being revised, too."""
    row = await db.fetchone(
        f"SELECT {_COLUMNS} FROM drafts WHERE user_id = ? AND status IN ('draft', 'returned') "
        "ORDER BY updated_at DESC, id DESC LIMIT 1",
        (user_id,),
    )
    return Draft(*row) if row else None


async def count_of_user(db: Database, user_id: int) -> int:
    row = await db.fetchone("SELECT count(*) FROM drafts WHERE user_id = ?", (user_id,))
    return int(row[0]) if row else 0


async def answers_of(db: Database, draft_ids: list[int]) -> dict[int, dict[str, str]]:
    """The answers of several drafts (a page of /mydrafts) in one trip."""
    marks = ",".join("?" * len(draft_ids))
    rows = await db.fetchall(
        f"SELECT draft_id, section_id, value FROM draft_answers WHERE draft_id IN ({marks})",
        draft_ids,
    )
    found: dict[int, dict[str, str]] = {draft_id: {} for draft_id in draft_ids}
    for row in rows:
        found[row["draft_id"]][row["section_id"]] = row["value"]
    return found


async def answers(db: Database, draft_id: int) -> dict[str, str]:
    rows = await db.fetchall(
        "SELECT section_id, value FROM draft_answers WHERE draft_id = ?", (draft_id,)
    )
    return {row["section_id"]: row["value"] for row in rows}


async def save_answer(
    conn: Unit, draft_id: int, section_id: str, value: str, editor: int | None = None
) -> None:
    """Save one section's value with a version naming its `editor` (the owner if not given)."""
    for sql, params in saving(draft_id, section_id, value, editor, utcnow()):
        await conn.execute(sql, params)


def saving(
    draft_id: int, section_id: str, value: str, editor: int | None, now: str
) -> list[tuple[str, tuple[object, ...]]]:
    """The statements that save a section, for a `Unit` or for a write done in one trip
    (`storage.partners.save_section`)."""
    return [
        (
            "INSERT INTO draft_answers (draft_id, section_id, value, updated_at) "
            "VALUES (?, ?, ?, ?) ON CONFLICT (draft_id, section_id) DO UPDATE SET "
            "value = excluded.value, updated_at = excluded.updated_at",
            (draft_id, section_id, value, now),
        ),
        (
            "INSERT INTO draft_history (draft_id, section_id, value, saved_at, editor_id) "
            "VALUES (?, ?, ?, ?, COALESCE(?, (SELECT user_id FROM drafts WHERE id = ?)))",
            (draft_id, section_id, value, now, editor, draft_id),
        ),
        # The oldest versions beyond VERSIONS_KEPT go: a script saving one section in a loop
        # must not grow the database (and /mydata) without bound.
        (
            "DELETE FROM draft_history WHERE draft_id = ? AND section_id = ? AND id <= "
            "(SELECT id FROM draft_history WHERE draft_id = ? AND section_id = ? "
            "ORDER BY id DESC LIMIT 1 OFFSET ?)",
            (draft_id, section_id, draft_id, section_id, VERSIONS_KEPT),
        ),
        ("UPDATE drafts SET updated_at = ? WHERE id = ?", (now, draft_id)),
    ]


async def rename(conn: Unit, draft_id: int, name: str) -> None:
    """A draft's name is its working title (the "title" answer): one value, so the review, the
    DOCX and the exports never disagree. Saved as any answer is, with its history."""
    await save_answer(conn, draft_id, TITLE, name)


async def delete(conn: Unit, draft_id: int) -> None:
    await conn.execute("DELETE FROM drafts WHERE id = ?", (draft_id,))


async def submit(conn: Unit, draft_id: int) -> bool:
    now = utcnow()
    changed = await conn.change(
        "UPDATE drafts SET status = 'submitted', submitted_at = ?, updated_at = ? "
        "WHERE id = ? AND status = 'draft'",
        (now, now, draft_id),
    )
    return changed == 1


async def reopen(conn: Unit, draft: Draft) -> int:
    """A new editable copy of a submitted draft; the submitted one stays as it was."""
    now = utcnow()
    copy_id = await conn.insert(
        "INSERT INTO drafts (user_id, name, language, created_at, updated_at, reopened_from) "
        "VALUES (?, ?, ?, ?, ?, ?)",
        (draft.user_id, draft.name, draft.language, now, now, draft.id),
    )
    await conn.execute(
        "INSERT INTO draft_answers (draft_id, section_id, value, updated_at) "
        "SELECT ?, section_id, value, ? FROM draft_answers WHERE draft_id = ?",
        (copy_id, now, draft.id),
    )
    return copy_id
