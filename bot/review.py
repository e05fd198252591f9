"""Coordinators' review of submitted outlines: statuses, who may move an outline where, and what
changed since it was returned. No Telegram here; handlers.review and the command line use it.

    draft ──applicant──▶ submitted ──▶ in_review ──▶ returned ──applicant──▶ resubmitted
                              │              │            ▲                        │
                              └──────────────┴────────────┴── coordinator ─────────┘
                                             ▼
                               accepted / not_proceeding (a coordinator can take either back
                               into review: a mis-tap must be correctable, and the audit keeps both)

A returned outline is the same outline made editable again for its owner, not a copy: the
comments, the audit and the coordinator's diff all belong to one outline number.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from bot.rendering import escape

STATUSES = (
    "draft",
    "submitted",
    "in_review",
    "returned",
    "resubmitted",
    "accepted",
    "not_proceeding",
)
# What coordinators review: every status an outline can have once it was first submitted.
REVIEWED = STATUSES[1:]
EDITABLE = ("draft", "returned")  # the owner edits these; every other status is read-only
DECIDED = ("accepted", "not_proceeding")

APPLICANT = "applicant"
COORDINATOR = "coordinator"

# (from, to) → who may make the change.
_TRANSITIONS: dict[tuple[str, str], str] = {
    ("draft", "submitted"): APPLICANT,
    ("returned", "resubmitted"): APPLICANT,
}
for _source in ("submitted", "resubmitted"):
    for _target in ("in_review", "returned", *DECIDED):
        _TRANSITIONS[(_source, _target)] = COORDINATOR
for _target in ("returned", *DECIDED):
    _TRANSITIONS[("in_review", _target)] = COORDINATOR
for _source in DECIDED:
    _TRANSITIONS[(_source, "in_review")] = COORDINATOR


def allowed(source: str, target: str, role: str) -> bool:
    return _TRANSITIONS.get((source, target)) == role


def next_statuses(source: str, role: str = COORDINATOR) -> list[str]:
    """Where `role` may move an outline from `source`, in the order of STATUSES."""
    return [target for target in STATUSES if allowed(source, target, role)]


def submitted_status(current: str) -> str | None:
    """What the applicant's submit makes of an outline: submitted, or resubmitted after a
    return; None when it cannot be submitted now."""
    for target in ("submitted", "resubmitted"):
        if allowed(current, target, APPLICANT):
            return target
    return None


def status_names(gettext: Callable[[str], str]) -> dict[str, str]:
    """Statuses as people read them: the chat, the DOCX and every export say the same."""
    _ = gettext
    return {
        "draft": _("draft"),
        "submitted": _("submitted"),
        "in_review": _("in review"),
        "returned": _("returned with comments"),
        "resubmitted": _("resubmitted"),
        "accepted": _("accepted for application"),
        "not_proceeding": _("not proceeding"),
    }


@dataclass(frozen=True)
class Change:
    """One section that differs between the returned outline and the outline now."""

    section_id: str
    old: str  # "" = empty then
    new: str  # "" = empty now


def changes(section_ids: list[str], before: dict[str, str], after: dict[str, str]) -> list[Change]:
    """Section by section, in the outline's order: what the applicant changed since the
    outline was returned. Sections no longer in the outline (content changed) come last."""
    order = list(section_ids) + sorted((set(before) | set(after)) - set(section_ids))
    return [
        Change(section_id, before.get(section_id, ""), after.get(section_id, ""))
        for section_id in order
        if before.get(section_id, "") != after.get(section_id, "")
    ]


COMMENT_LIMIT = 2000  # characters: a comment is read in the chat beside its section


def applicant_notice(gettext: Callable[[str], str], status: str, name: str) -> str:
    """What the applicant is told of a coordinator's decision, in Telegram HTML: `gettext` is
    the applicant's, `name` the outline's working title as typed."""
    _ = gettext
    messages = {
        "in_review": _("🔎 The coordinators are now reviewing your outline <b>{name}</b>."),
        "returned": _(
            "↩️ The coordinators have returned your outline <b>{name}</b> with comments. "
            "Open it to read them beside the sections, revise the outline and resubmit it."
        ),
        "accepted": _(
            "✅ The coordinators have accepted your outline <b>{name}</b> for application. "
            "The official application is made in EURA 2021."
        ),
        "not_proceeding": _(
            "The coordinators have decided that your outline <b>{name}</b> will not "
            "proceed. Open it to read their comments."
        ),
    }
    return messages[status].format(name=escape(name))
