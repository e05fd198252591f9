"""A user's own data: everything stored about them, its deletion, and retention."""

from __future__ import annotations

import json
from typing import Any

from storage import review
from storage.db import Database, Unit

# Sections that identify a person; removed from a submitted outline that is kept after its
# author deleted their data.
CONTACT_SECTIONS = ("contact_name", "email", "phone")


async def _rows(db: Database, sql: str, params: tuple[Any, ...]) -> list[dict[str, Any]]:
    return [dict(row) for row in await db.fetchall(sql, params)]


async def everything_about(db: Database, user_id: int) -> dict[str, Any]:
    """The user's profile, drafts with every saved version, checklist runs, questions,
    feedback, state."""
    [profile] = await _rows(db, "SELECT * FROM users WHERE id = ?", (user_id,)) or [{}]
    drafts = await _rows(db, "SELECT * FROM drafts WHERE user_id = ? ORDER BY id", (user_id,))
    for draft in drafts:
        draft["answers"] = await _rows(
            db,
            "SELECT section_id, value, updated_at FROM draft_answers WHERE draft_id = ? "
            "ORDER BY section_id",
            (draft["id"],),
        )
        draft["history"] = await _rows(
            db,
            "SELECT section_id, value, saved_at FROM draft_history WHERE draft_id = ? ORDER BY id",
            (draft["id"],),
        )
        draft.update(await review.about_draft(db, draft["id"]))  # comments, status changes
    runs = await _rows(db, "SELECT * FROM checklist_runs WHERE user_id = ? ORDER BY id", (user_id,))
    for run in runs:
        run["answers"] = await _rows(
            db,
            "SELECT item_id, answer, answered_at FROM checklist_answers WHERE run_id = ?",
            (run["id"],),
        )
    conversation = await _rows(db, "SELECT * FROM conversations WHERE user_id = ?", (user_id,))
    # As a partner in others' drafts: the memberships and what the user saved there (their own
    # drafts' versions are under "drafts"). Partners in the user's drafts are not the user's data.
    memberships = await _rows(
        db,
        "SELECT m.draft_id, m.display_name, m.joined_at, d.status FROM draft_members m "
        "JOIN drafts d ON d.id = m.draft_id WHERE m.user_id = ? ORDER BY m.draft_id",
        (user_id,),
    )
    edits = await _rows(
        db,
        "SELECT h.draft_id, h.section_id, h.value, h.saved_at FROM draft_history h "
        "JOIN drafts d ON d.id = h.draft_id WHERE h.editor_id = ? AND d.user_id IS NOT ? "
        "ORDER BY h.id",
        (user_id, user_id),
    )
    invitations = await _rows(
        db,
        "SELECT draft_id, created_at, expires_at, used_at, revoked_at FROM draft_invitations "
        "WHERE created_by = ? ORDER BY id",
        (user_id,),
    )
    for state in conversation:
        state["data"] = json.loads(state["data"])
    return {
        "profile": profile,
        "drafts": drafts,
        "checklist_runs": runs,
        "questions": await _rows(
            db,
            "SELECT created_at, language, query, outcome, chosen, feedback FROM faq_queries "
            "WHERE user_id = ? ORDER BY id",
            (user_id,),
        ),
        "feedback": await _rows(
            db,
            "SELECT entry_id, language, value, created_at FROM faq_feedback WHERE user_id = ? "
            "ORDER BY id",
            (user_id,),
        ),
        "conversation": conversation[0] if conversation else None,
        "partner_memberships": memberships,
        "edits_in_others_drafts": edits,
        "invitations_sent": invitations,
        # Call news (/subscribe) and what was addressed to the user (storage/outbox.py).
        "subscription": (
            await _rows(db, "SELECT * FROM subscriptions WHERE user_id = ?", (user_id,)) or [None]
        )[0],
        "announcements": await _rows(
            db,
            "SELECT a.kind, a.created_at, o.status, o.done_at FROM outbox o "
            "JOIN announcements a ON a.id = o.announcement_id WHERE o.user_id = ? ORDER BY o.id",
            (user_id,),
        ),
    }


async def delete_user(conn: Unit, user_id: int, *, keep_submitted: bool) -> None:
    """Delete the user and all that is theirs, inside the caller's transaction.

    Everything hangs off users with ON DELETE CASCADE. A submitted outline that the programme
    keeps is first detached from the user and stripped of contact details and old versions, and
    its partners lose it. What the user saved in others' drafts as a partner stays there, its
    versions' editor set to NULL ("a removed user") by the foreign key.
    """
    await conn.execute(
        "DELETE FROM draft_members WHERE draft_id IN (SELECT id FROM drafts WHERE user_id = ?)",
        (user_id,),
    )
    if keep_submitted:
        # Any outline ever submitted, whatever the coordinators have made of it since.
        kept = "SELECT id FROM drafts WHERE user_id = ? AND status <> 'draft'"
        marks = ",".join("?" * len(CONTACT_SECTIONS))
        await conn.execute(
            f"DELETE FROM draft_answers WHERE draft_id IN ({kept}) AND section_id IN ({marks})",
            (user_id, *CONTACT_SECTIONS),
        )
        await conn.execute(f"DELETE FROM draft_history WHERE draft_id IN ({kept})", (user_id,))
        await conn.execute(  # the outline as it was when returned: old versions too
            "DELETE FROM review_snapshots WHERE event_id IN (SELECT id FROM review_events "
            f"WHERE draft_id IN ({kept}))",
            (user_id,),
        )
        await conn.execute(
            "UPDATE drafts SET user_id = NULL, name = NULL, reopened_from = NULL "
            "WHERE user_id = ? AND status <> 'draft'",
            (user_id,),
        )
    await conn.execute("DELETE FROM users WHERE id = ?", (user_id,))


async def inactive(db: Database, before: str) -> tuple[list[int], list[int]]:
    """(users last seen before `before`, unsubmitted drafts last edited before it)."""
    users = [
        r[0]
        for r in await db.fetchall(
            "SELECT id FROM users WHERE last_seen < ? AND role <> 'coordinator'", (before,)
        )
    ]
    drafts = [
        r[0]
        for r in await db.fetchall(
            "SELECT id FROM drafts WHERE status = 'draft' AND updated_at < ?", (before,)
        )
    ]
    return users, drafts


async def purge(db: Database, before: str, *, keep_submitted: bool) -> tuple[int, int]:
    """Delete inactive users (with their data), stale unsubmitted drafts and questions asked
    before `before`, in one transaction."""
    users, drafts = await inactive(db, before)
    async with db.transaction() as conn:
        await conn.execute("DELETE FROM faq_queries WHERE created_at < ?", (before,))
        for draft_id in drafts:
            await conn.execute("DELETE FROM drafts WHERE id = ?", (draft_id,))
        for user_id in users:
            await delete_user(conn, user_id, keep_submitted=keep_submitted)
    await db.checkpoint()
    return len(users), len(drafts)
