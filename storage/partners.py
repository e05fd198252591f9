"""Partners in a draft: memberships, one-time invitations, and saving a section without
overwriting a partner's newer version unseen.

The owner is `drafts.user_id`; a partner is a row in `draft_members`. `storage.drafts.access`
tells who may do what. An invitation's token is random and only its SHA-256 is stored, so the
database never holds a link that still works.
"""

from __future__ import annotations

import functools
import hashlib
import json
import secrets
import sqlite3
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from storage import drafts
from storage.conversations import Conversation
from storage.db import Database, Unit, utcnow

INVITATION_DAYS = 7
MAX_PARTNERS = 10  # per draft: a group project has a handful of organisations
MAX_OPEN_INVITATIONS = 10  # per draft, so that nobody fills the database with links
TOKEN_BYTES = 16  # 22 characters of URL-safe base64: /start payloads take at most 64


@dataclass(frozen=True)
class Member:
    user_id: int
    display_name: str
    joined_at: str


@dataclass(frozen=True)
class Invitation:
    id: int
    draft_id: int
    created_at: str
    expires_at: str


@dataclass(frozen=True)
class Conflict:
    """A newer version of the section than the one the user was shown, saved by someone else."""

    version: int
    value: str
    editor_id: int | None  # None: a user who has since deleted their data


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _in_days(days: int) -> str:
    return (datetime.now(UTC) + timedelta(days=days)).isoformat(timespec="seconds")


# -- memberships --------------------------------------------------------------------------------


async def members(db: Database, draft_id: int) -> list[Member]:
    rows = await db.fetchall(
        "SELECT user_id, display_name, joined_at FROM draft_members WHERE draft_id = ? "
        "ORDER BY joined_at, user_id",
        (draft_id,),
    )
    return [Member(*row) for row in rows]


async def remove(conn: Unit, draft_id: int, user_id: int) -> bool:
    """End a membership; a step of that draft the person was in ends with it."""
    removed = await conn.change(
        "DELETE FROM draft_members WHERE draft_id = ? AND user_id = ?", (draft_id, user_id)
    )
    await conn.execute(
        "DELETE FROM conversations WHERE user_id = ? AND json_extract(data, '$.draft') = ?",
        (user_id, draft_id),
    )
    return removed == 1


async def shared_drafts_of_owner(db: Database, owner_id: int) -> list[tuple[int, int]]:
    """(draft id, partner id) of every partner in the owner's drafts."""
    rows = await db.fetchall(
        "SELECT m.draft_id, m.user_id FROM draft_members m JOIN drafts d ON d.id = m.draft_id "
        "WHERE d.user_id = ? ORDER BY m.draft_id, m.user_id",
        (owner_id,),
    )
    return [(row[0], row[1]) for row in rows]


async def involvement(db: Database, user_id: int) -> tuple[int, int]:
    """(drafts the user is a partner in, partners in the user's own drafts)."""
    row = await db.fetchone(
        "SELECT (SELECT count(*) FROM draft_members WHERE user_id = ?), "
        "(SELECT count(*) FROM draft_members m JOIN drafts d ON d.id = m.draft_id "
        "WHERE d.user_id = ?)",
        (user_id, user_id),
    )
    return (int(row[0]), int(row[1])) if row else (0, 0)


# -- invitations --------------------------------------------------------------------------------


async def invite(conn: Unit, draft_id: int, owner_id: int) -> tuple[str, str] | None:
    """A new one-time token for the draft and when it expires; None at MAX_OPEN_INVITATIONS."""
    now = utcnow()
    row = await conn.fetchone(
        "SELECT count(*) FROM draft_invitations WHERE draft_id = ? AND used_at IS NULL "
        "AND revoked_at IS NULL AND expires_at > ?",
        (draft_id, now),
    )
    if row is not None and row[0] >= MAX_OPEN_INVITATIONS:
        return None
    token = secrets.token_urlsafe(TOKEN_BYTES)
    expires = _in_days(INVITATION_DAYS)
    await conn.execute(
        "INSERT INTO draft_invitations (draft_id, token_hash, created_by, created_at, expires_at) "
        "VALUES (?, ?, ?, ?, ?)",
        (draft_id, _hash(token), owner_id, now, expires),
    )
    return token, expires


async def open_invitations(db: Database, draft_id: int) -> list[Invitation]:
    rows = await db.fetchall(
        "SELECT id, draft_id, created_at, expires_at FROM draft_invitations "
        "WHERE draft_id = ? AND used_at IS NULL AND revoked_at IS NULL AND expires_at > ? "
        "ORDER BY id",
        (draft_id, utcnow()),
    )
    return [Invitation(*row) for row in rows]


async def revoke(conn: Unit, draft_id: int, invitation_id: int) -> bool:
    changed = await conn.change(
        "UPDATE draft_invitations SET revoked_at = ? WHERE id = ? AND draft_id = ? "
        "AND used_at IS NULL AND revoked_at IS NULL",
        (utcnow(), invitation_id, draft_id),
    )
    return changed == 1


# Why a token did not let someone join (a forged or mistyped one has no invitation at all).
EXPIRED, SPENT, OWN, ALREADY, FULL = "expired", "spent", "own", "already", "full"


@dataclass(frozen=True)
class Joined:
    draft_id: int
    owner_id: int | None
    problem: str | None = None  # one of the reasons above; None: joined now
    expires_at: str = ""


async def join(conn: Unit, token: str, user_id: int, display_name: str) -> Joined | None:
    """Use a token: the membership and the token's one use commit together. None for a token
    no invitation has; otherwise who owns the draft and, if the user did not join, why."""
    row = await conn.fetchone(
        "SELECT i.id, i.draft_id, i.expires_at, i.used_at, i.revoked_at, d.user_id "
        "FROM draft_invitations i JOIN drafts d ON d.id = i.draft_id WHERE i.token_hash = ?",
        (_hash(token),),
    )
    if row is None:
        return None
    invitation, draft_id, expires, used, revoked, owner = row
    if used is not None or revoked is not None:
        return Joined(draft_id, owner, SPENT)
    if expires <= utcnow():
        return Joined(draft_id, owner, EXPIRED, expires)
    if owner == user_id:
        return Joined(draft_id, owner, OWN)  # the link stays usable for the partner it was for
    known = await conn.fetchone(
        "SELECT (SELECT count(*) FROM draft_members WHERE draft_id = ? AND user_id = ?), "
        "(SELECT count(*) FROM draft_members WHERE draft_id = ?)",
        (draft_id, user_id, draft_id),
    )
    assert known is not None
    if known[0]:
        return Joined(draft_id, owner, ALREADY)
    if known[1] >= MAX_PARTNERS:
        return Joined(draft_id, owner, FULL)
    now = utcnow()
    await conn.execute(
        "UPDATE draft_invitations SET used_by = ?, used_at = ? WHERE id = ?",
        (user_id, now, invitation),
    )
    await conn.execute(
        "INSERT INTO draft_members (draft_id, user_id, display_name, joined_at) "
        "VALUES (?, ?, ?, ?)",
        (draft_id, user_id, display_name[:64], now),
    )
    return Joined(draft_id, owner)


# -- saving a section of a draft others may edit too --------------------------------------------

# The latest version of the section when a step is entered: a save compares against it. The
# stamp is written with the step's state, before the step's text is read, so a version saved in
# between shows as a conflict (the user then sees it) and never slips through unseen.
_STAMP = (
    "UPDATE conversations SET data = json_set(data, '$.seen', "
    "(SELECT coalesce(max(id), 0) FROM draft_history WHERE draft_id = ? AND section_id = ?)) "
    "WHERE user_id = ?"
)
_NEWER = (
    "SELECT id, value, editor_id FROM draft_history WHERE draft_id = ? AND section_id = ? "
    "AND id > ? AND editor_id IS NOT ? ORDER BY id DESC LIMIT 1"
)
_PUT = (
    "INSERT INTO conversations (user_id, flow, step, data, updated_at) VALUES (?, ?, ?, ?, ?) "
    "ON CONFLICT (user_id) DO UPDATE SET flow = excluded.flow, step = excluded.step, "
    "data = excluded.data, updated_at = excluded.updated_at"
)


async def enter_step(
    conn: Unit, user_id: int, state: Conversation, draft_id: int, section_id: str
) -> None:
    """Put the user at a step, noting the section's latest version as the one they see."""
    await conn.execute(_PUT, _put_params(user_id, state))
    await conn.execute(_STAMP, (draft_id, section_id, user_id))


def _put_params(user_id: int, state: Conversation) -> tuple[Any, ...]:
    return (user_id, state.flow, state.step, json.dumps(state.data, ensure_ascii=False), utcnow())


@dataclass(frozen=True)
class Next:
    """Where the user goes after a save: a step (its state and section), or out of the flow."""

    state: Conversation | None = None
    section_id: str = ""


async def save_section(
    db: Database,
    user_id: int,
    draft_id: int,
    section_id: str,
    value: str | None,
    seen: int,
    after: Next,
    waiting: Conversation,
) -> Conflict | None:
    """Save the user's value (None: keep the stored one) unless someone else saved a version
    newer than `seen`: then nothing is saved, the user stays at the step in `waiting` (noting
    the newer version as seen), and the newer version is returned. Check and writes are one
    transaction in one trip, committed before the caller replies."""
    return await db.write(
        functools.partial(_save_section, user_id, draft_id, section_id, value, seen, after, waiting)
    )


def _save_section(
    user_id: int,
    draft_id: int,
    section_id: str,
    value: str | None,
    seen: int,
    after: Next,
    waiting: Conversation,
    conn: sqlite3.Connection,
) -> Conflict | None:
    """On the database thread: `save_section`."""
    newer = conn.execute(_NEWER, (draft_id, section_id, seen, user_id)).fetchone()
    if newer is not None and newer[1] != value:
        data = {**waiting.data, "seen": newer[0]}
        conn.execute(_PUT, _put_params(user_id, Conversation(waiting.flow, waiting.step, data)))
        return Conflict(*newer)
    if value is not None:
        for sql, params in drafts.saving(draft_id, section_id, value, user_id, utcnow()):
            conn.execute(sql, params)
    if after.state is None:
        conn.execute("DELETE FROM conversations WHERE user_id = ?", (user_id,))
    else:
        conn.execute(_PUT, _put_params(user_id, after.state))
        conn.execute(_STAMP, (draft_id, after.section_id, user_id))
    return None


async def version_value(db: Database, draft_id: int, section_id: str, version: int) -> str | None:
    """The value of one saved version of a section, if it is still kept."""
    row = await db.fetchone(
        "SELECT value FROM draft_history WHERE id = ? AND draft_id = ? AND section_id = ?",
        (version, draft_id, section_id),
    )
    return row[0] if row else None
