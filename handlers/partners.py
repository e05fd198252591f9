"""Partners in a draft: the owner invites with a one-time link, lists and removes partners; a
partner joins with the link, edits sections (handlers.outline) and may leave.

Who may do what: a partner reads, edits and downloads the draft; submitting, reopening,
renaming, deleting, inviting and removing are the owner's (`storage.drafts.access` gives the
role; the owner's buttons are not shown to partners, and a press of one is refused).
"""

from __future__ import annotations

import re
from collections.abc import Callable

from markupsafe import Markup
from telegram import Update
from telegram.ext import CallbackQueryHandler, CommandHandler, filters

from bot import i18n
from bot.channels import notices
from bot.channels.context import BotContext
from bot.content import Section
from bot.outline import display
from bot.rendering import escape, render
from handlers.common import (
    PRIVATE,
    Handlers,
    Keyboard,
    answer_button,
    button_data,
    button_data_parts,
    send,
    shorten,
    show,
)
from storage import drafts
from storage import partners as store
from storage.drafts import Draft

PREFIX = "pt"  # callback data of this module's buttons
JOIN = "join_"  # /start join_<token>
_TOKEN = re.compile(r"^[A-Za-z0-9_-]{16,60}$")


def _name(answers: dict[str, str], draft_id: int, _: Callable[[str], str]) -> str:
    """The draft's name as handlers.outline.draft_name gives it, with any gettext (a notice is
    written in its recipient's language)."""
    return answers.get(drafts.TITLE) or _("Untitled draft {number}").format(number=draft_id)


async def _tell(context: BotContext, user_id: int, compose: notices.Compose) -> None:
    settings = context.services.settings
    await notices.notify(context.bot, context.db, settings, user_id, compose)


async def tell_draft_gone(
    context: BotContext, partner_ids: list[int], answers: dict[str, str]
) -> None:
    """After the owner deleted a shared draft: each partner is told, in their language."""

    def compose(_: Callable[[str], str]) -> str:
        name = answers.get(drafts.TITLE) or _("a draft")
        return _(
            "The owner deleted the draft <b>{name}</b>, so it is no longer shared with you."
        ).format(name=escape(name))

    for partner in partner_ids:
        await _tell(context, partner, compose)


async def tell_submitted(context: BotContext, draft_id: int, answers: dict[str, str]) -> None:
    """After the owner submitted a shared draft: its partners can no longer edit it."""

    def compose(_: Callable[[str], str]) -> str:
        return _(
            "The owner submitted the draft <b>{name}</b> to the coordinators. It can no "
            "longer be edited; you can still read and download it in /mydrafts."
        ).format(name=escape(_name(answers, draft_id, _)))

    for member in await store.members(context.db, draft_id):
        await _tell(context, member.user_id, compose)


async def tell_owner_deleted_data(
    context: BotContext, shared: list[tuple[int, int]], names: dict[int, dict[str, str]]
) -> None:
    """After an owner's /deletedata: the partners of their drafts are told that the drafts are
    no longer shared with them (deleted, or kept for the programme without partners)."""
    for draft_id, partner in shared:

        def compose(_: Callable[[str], str], draft_id: int = draft_id) -> str:
            return _(
                "The owner of the draft <b>{name}</b> deleted their data, so the draft is no "
                "longer shared with you."
            ).format(name=escape(_name(names.get(draft_id, {}), draft_id, _)))

        await _tell(context, partner, compose)


async def conflict_message(
    context: BotContext,
    draft_id: int,
    index: int,
    section: Section,
    mine: str,
    conflict: store.Conflict,
) -> tuple[str, Keyboard] | None:
    """What handlers.outline shows when someone else saved the section after the user was shown
    it: both versions, and the choice (its "ol" buttons: keep theirs, save mine, edit again).
    None when the user no longer has the draft."""
    _ = context.gettext
    content = context.services.content
    found = await drafts.access(context.db, draft_id, context.user.id if context.user else 0)
    if found is None:
        return None
    if conflict.editor_id is None:
        who = _("A removed user")
    elif conflict.editor_id == found[0].user_id:
        who = _("The draft's owner")
    else:
        named = {m.user_id: m.display_name for m in await store.members(context.db, draft_id)}
        who = named.get(conflict.editor_id) or _("A partner")
    html = render(
        "outline_conflict.html",
        intro=_("While you were editing this section, someone else saved a newer version."),
        section=section.text[context.lang].title,
        who=Markup(_("{who} saved:", who=who)),  # gettext escaped the name
        theirs=shorten(display(content, section, conflict.value, context.lang) or "–", 1500),
        yours=_("Your version:"),
        mine=shorten(display(content, section, mine, context.lang) or "–", 1500),
        question=_("Which one should stay?"),
    )
    d, i = draft_id, index
    return html, [
        [(_("👥 Keep theirs"), button_data("ol", "ct", d, i))],
        [(_("💾 Save mine"), button_data("ol", "cm", d, i))],
        [(_("✏️ Edit again"), button_data("ol", "ce", d, i))],
    ]


# -- the owner: partners and invitations ----------------------------------------------------------


async def _owned(update: Update, context: BotContext, parts: list[str]) -> Draft | None:
    """The draft of a pt:<action>:<draft>[...] press, if the user owns it; else the press is
    answered (stale, or the owner's only) and None returned."""
    assert context.user is not None
    found = (
        await drafts.access(context.db, int(parts[2]), context.user.id)
        if len(parts) >= 3 and parts[2].isdigit()
        else None
    )
    if found is None:
        await _stale(update, context)
        return None
    draft, role = found
    if role != drafts.OWNER:
        await answer_button(update, context.gettext("Only the draft's owner can do this."), True)
        return None
    return draft


async def list_partners(update: Update, context: BotContext, draft: Draft, intro: str = "") -> None:
    """pt:l:<draft>: the partners and the links not used yet, with invite, remove and withdraw."""
    _ = context.gettext
    answers = await drafts.answers(context.db, draft.id)
    members = await store.members(context.db, draft.id)
    invitations = await store.open_invitations(context.db, draft.id)
    html = render(
        "draft_partners.html",
        intro=intro,
        # Markup: gettext has escaped what people typed (names) already.
        heading=Markup(_("Partners: {name}", name=_name(answers, draft.id, _))),
        explain=_(
            "Partners can read and edit this draft's sections. Only you can submit it, invite "
            "and remove partners, rename it or delete it."
        ),
        members=[
            Markup(
                _(
                    "{name}, joined {when}",
                    name=m.display_name or _("A partner"),
                    when=i18n.format_date(m.joined_at, context.lang),
                )
            )
            for m in members
        ],
        empty=_("No partners yet."),
        invitations=[
            _("A link not used yet, valid until {when}", when=_day(i.expires_at, context))
            for i in invitations
        ],
    )
    d = draft.id
    rows: Keyboard = []
    if draft.editable:
        rows.append([(_("➕ Invite a partner"), button_data(PREFIX, "i", d))])
    for member in members:
        label = _("❌ Remove {name}").format(name=shorten(member.display_name or "?", 30))
        rows.append([(label, button_data(PREFIX, "rm", d, member.user_id))])
    for invitation in invitations:
        label = _("🚫 Withdraw the link valid until {when}").format(
            when=_day(invitation.expires_at, context)
        )
        rows.append([(label, button_data(PREFIX, "rv", d, invitation.id))])
    rows.append([(_("⬅️ Back"), button_data("dr", "o", d))])
    await show(update, context, html, rows)


def _day(stamp: str, context: BotContext) -> str:
    return i18n.format_datetime(stamp, context.lang)


async def _invite(update: Update, context: BotContext, draft: Draft) -> None:
    _ = context.gettext
    assert context.user is not None
    if not draft.editable:
        await _stale(update, context)
        return
    if len(await store.members(context.db, draft.id)) >= store.MAX_PARTNERS:
        await answer_button(
            update,
            _("This draft already has {count} partners, the most it can have.").format(
                count=store.MAX_PARTNERS
            ),
            True,
        )
        return
    async with context.db.transaction() as conn:
        made = await store.invite(conn, draft.id, context.user.id)
    if made is None:
        await answer_button(
            update,
            _("This draft has {count} links not used yet. Withdraw one first.").format(
                count=store.MAX_OPEN_INVITATIONS
            ),
            True,
        )
        return
    token, expires = made
    link = f"https://t.me/{context.bot.username}?start={JOIN}{token}"
    await send(
        update,
        context,
        _(
            "Send this link to your partner. It works once, for one person, until {when}. "
            "Anyone who has the link can join, so send it only to the person you mean.",
            when=_day(expires, context),
        )
        + f"\n\n<code>{escape(link)}</code>",
        [[(_("👥 Partners"), button_data(PREFIX, "l", draft.id))]],
    )


async def _confirm_remove(update: Update, context: BotContext, draft: Draft, who: int) -> None:
    _ = context.gettext
    member = next((m for m in await store.members(context.db, draft.id) if m.user_id == who), None)
    if member is None:
        await _stale(update, context)
        return
    await show(
        update,
        context,
        _(
            "Remove <b>{name}</b> from this draft? They can no longer open or edit it. What "
            "they wrote stays in the draft.",
            name=member.display_name or _("A partner"),
        ),
        [
            [(_("❌ Yes, remove"), button_data(PREFIX, "rmok", draft.id, who))],
            [(_("↩️ No"), button_data(PREFIX, "l", draft.id))],
        ],
    )


async def _remove(update: Update, context: BotContext, draft: Draft, who: int) -> None:
    _ = context.gettext
    async with context.db.transaction() as conn:
        removed = await store.remove(conn, draft.id, who)
    if not removed:
        await _stale(update, context)
        return
    answers = await drafts.answers(context.db, draft.id)

    def compose(_: Callable[[str], str]) -> str:
        return _(
            "The owner of the draft <b>{name}</b> removed you from it. What you wrote stays in "
            "the draft."
        ).format(name=escape(_name(answers, draft.id, _)))

    await _tell(context, who, compose)
    await list_partners(update, context, draft, _("The partner was removed."))


async def _withdraw(update: Update, context: BotContext, draft: Draft, invitation: int) -> None:
    async with context.db.transaction() as conn:
        withdrawn = await store.revoke(conn, draft.id, invitation)
    if not withdrawn:
        await _stale(update, context)
        return
    await list_partners(update, context, draft, context.gettext("The link was withdrawn."))


# -- the partner: joining and leaving -------------------------------------------------------------


async def join(update: Update, context: BotContext) -> None:
    """/start join_<token>, from the owner's link."""
    _ = context.gettext
    assert context.user is not None and update.effective_message is not None
    token = (update.effective_message.text or "").split(maxsplit=1)[-1][len(JOIN) :]
    person = update.effective_user
    name = person.full_name if person is not None else ""
    joined = None
    if _TOKEN.match(token):
        async with context.db.transaction() as conn:
            joined = await store.join(conn, token, context.user.id, name)
    if joined is None:
        await _refused(
            update,
            context,
            _(
                "This invitation link is not valid. Check that you copied the whole link, or "
                "ask the draft's owner for a new one."
            ),
        )
        return
    if joined.problem == store.EXPIRED:
        await _refused(
            update,
            context,
            _(
                "This invitation link expired on {when}. Ask the draft's owner for a new one.",
                when=_day(joined.expires_at, context),
            ),
        )
    elif joined.problem == store.SPENT:
        await _refused(
            update,
            context,
            _(
                "This invitation link has already been used or was withdrawn. Each link works "
                "once; ask the draft's owner for a new one."
            ),
        )
    elif joined.problem == store.OWN:
        await _refused(
            update,
            context,
            _("This is an invitation to your own draft: send the link to your partner."),
        )
    elif joined.problem == store.FULL:
        await _refused(
            update,
            context,
            _("This draft already has {count} partners, the most it can have.").format(
                count=store.MAX_PARTNERS
            ),
        )
    else:
        await _joined(update, context, joined, name, already=joined.problem == store.ALREADY)


async def _refused(update: Update, context: BotContext, text: str) -> None:
    await send(update, context, text, [[(context.gettext("⬅️ Menu"), button_data("menu", "main"))]])


async def _joined(
    update: Update, context: BotContext, joined: store.Joined, name: str, *, already: bool
) -> None:
    _ = context.gettext
    answers = await drafts.answers(context.db, joined.draft_id)
    title = _name(answers, joined.draft_id, _)
    organisation = answers.get("organisation")
    if already:
        text = _("You are already a partner in <b>{name}</b>.", name=title)
    elif organisation:
        text = _(
            "Welcome! You are now a partner in <b>{name}</b> by {organisation}. You can edit "
            "its sections; only its owner can submit it.",
            name=title,
            organisation=organisation,
        )
    else:
        text = _(
            "Welcome! You are now a partner in <b>{name}</b>. You can edit its sections; only "
            "its owner can submit it.",
            name=title,
        )
    d = joined.draft_id
    await send(
        update,
        context,
        text,
        [
            [
                (_("▶️ Continue"), button_data("ol", "go", d)),
                (_("👁 Review"), button_data("ol", "r", d)),
            ],
            [(_("📂 My drafts"), button_data("dr", "l"))],
        ],
    )
    if already or joined.owner_id is None:
        return

    def compose(_: Callable[[str], str]) -> str:
        return _("{partner} joined your draft <b>{name}</b> as a partner.").format(
            partner=escape(name or _("A partner")), name=escape(_name(answers, d, _))
        )

    await _tell(context, joined.owner_id, compose)


async def _confirm_leave(update: Update, context: BotContext, draft: Draft) -> None:
    _ = context.gettext
    name = _name(await drafts.answers(context.db, draft.id), draft.id, _)
    await show(
        update,
        context,
        _(
            "Leave <b>{name}</b>? You can no longer open or edit it; what you wrote stays in "
            "the draft.",
            name=name,
        ),
        [
            [(_("🚪 Yes, leave"), button_data(PREFIX, "lvok", draft.id))],
            [(_("↩️ No"), button_data("dr", "o", draft.id))],
        ],
    )


async def _leave(update: Update, context: BotContext, draft: Draft) -> None:
    _ = context.gettext
    assert context.user is not None
    async with context.db.transaction() as conn:
        left = await store.remove(conn, draft.id, context.user.id)
    if not left:
        await _stale(update, context)
        return
    await show(
        update,
        context,
        _("You left the draft."),
        [[(_("📂 My drafts"), button_data("dr", "l"))]],
    )
    if draft.user_id is None:
        return
    answers = await drafts.answers(context.db, draft.id)
    person = update.effective_user
    who = person.full_name if person is not None else ""

    def compose(_: Callable[[str], str]) -> str:
        return _("{partner} left your draft <b>{name}</b>.").format(
            partner=escape(who or _("A partner")), name=escape(_name(answers, draft.id, _))
        )

    await _tell(context, draft.user_id, compose)


# -- buttons ------------------------------------------------------------------------------------


async def button(update: Update, context: BotContext) -> None:
    """pt:l|i:<draft> · pt:rm|rmok:<draft>:<user> · pt:rv:<draft>:<invitation> (the owner's);
    pt:lv|lvok:<draft> (a partner's)."""
    assert context.user is not None
    parts = button_data_parts(update)
    action = parts[1] if len(parts) > 1 else ""
    if action in ("lv", "lvok") and len(parts) == 3 and parts[2].isdigit():
        found = await drafts.access(context.db, int(parts[2]), context.user.id)
        if found is None or found[1] != drafts.PARTNER:
            await _stale(update, context)
        elif action == "lv":
            await _confirm_leave(update, context, found[0])
        else:
            await _leave(update, context, found[0])
        return
    two = len(parts) == 3
    three = len(parts) == 4 and parts[3].isdigit()
    if action not in ("l", "i", "rm", "rmok", "rv") or not (two or three):
        await _stale(update, context)
        return
    draft = await _owned(update, context, parts)
    if draft is None:
        return
    if action == "l" and two:
        await list_partners(update, context, draft)
    elif action == "i" and two:
        await _invite(update, context, draft)
    elif action == "rm" and three:
        await _confirm_remove(update, context, draft, int(parts[3]))
    elif action == "rmok" and three:
        await _remove(update, context, draft, int(parts[3]))
    elif action == "rv" and three:
        await _withdraw(update, context, draft, int(parts[3]))
    else:
        await _stale(update, context)


async def _stale(update: Update, context: BotContext) -> None:
    await answer_button(update, context.gettext("This button is no longer valid."), True)


def deep_links() -> Handlers:
    """`/start join_<token>`: before the plain /start (handlers.start)."""
    return [CommandHandler("start", join, filters=PRIVATE & filters.Regex(rf"^/start {JOIN}"))]


def handlers() -> Handlers:
    return [CallbackQueryHandler(button, pattern=rf"^{PREFIX}:")]
