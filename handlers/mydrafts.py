"""/mydrafts: a user's outlines, and opening, renaming, downloading or deleting one."""

from __future__ import annotations

from markupsafe import Markup
from telegram import Update
from telegram.ext import CallbackQueryHandler, CommandHandler

from bot import i18n, review
from bot.channels.context import BotContext
from bot.intent import Expect
from bot.outline import progress, validate
from bot.rendering import render
from handlers import flows, outline, partners, start
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
    typed_text,
)
from handlers.flows import Flow
from storage import conversations, drafts
from storage import partners as partners_store
from storage.conversations import Conversation
from storage.drafts import Draft

PREFIX = "dr"  # callback data of this module's buttons

RENAME_FLOW = "rename"
PAGE_SIZE = 8


async def list_drafts(update: Update, context: BotContext, page: int = 0) -> None:
    """One page of the user's drafts (Telegram refuses keyboards of more than about 100
    buttons, and nobody reads a list of hundreds), latest first."""
    _ = context.gettext
    assert context.user is not None
    mine, total = await drafts.page_visible_to(
        context.db, context.user.id, PAGE_SIZE, page * PAGE_SIZE
    )
    if total == 0:
        await show(
            update,
            context,
            _("You have no drafts yet."),
            [
                [(_("📝 Draft a project outline"), button_data("ol", "new"))],
                [(_("⬅️ Menu"), button_data("menu", "main"))],
            ],
        )
        return
    pages = (total + PAGE_SIZE - 1) // PAGE_SIZE
    if not mine:  # a page that no longer exists: the last one
        await list_drafts(update, context, pages - 1)
        return
    rows = []
    every_answer = await drafts.answers_of(context.db, [draft.id for draft in mine])
    for draft in mine:
        answers = every_answer[draft.id]
        filled, total_sections = progress(context.services.content, answers)
        rows.append(
            {
                "name": outline.draft_name(context, draft, answers),
                "status": _status_word(context, draft),
                "progress": f"{filled}/{total_sections}",
                "edited": i18n.format_datetime(draft.updated_at, context.lang),
                "shared": Markup(_shared_by(context, draft, answers)),
            }
        )
    first = page * PAGE_SIZE + 1
    html = render(
        "drafts_list.html",
        heading=_("My drafts"),
        drafts=rows,
        first=first,
        page=_("Page {page}/{pages}", page=page + 1, pages=pages) if pages > 1 else "",
        edited_label=_("edited"),
        _=_,
    )
    buttons: Keyboard = [
        [(f"{n}. {shorten(row['name'], 40)}", button_data(PREFIX, "o", draft.id))]
        for n, (row, draft) in enumerate(zip(rows, mine, strict=True), first)
    ]
    paging = []
    if page > 0:
        paging.append((_("◀️ Newer"), button_data(PREFIX, "l", page - 1)))
    if page + 1 < pages:
        paging.append((_("Older ▶️"), button_data(PREFIX, "l", page + 1)))
    if paging:
        buttons.append(paging)
    buttons.append(
        [(_("➕ New draft"), button_data("ol", "new")), (_("⬅️ Menu"), button_data("menu", "main"))]
    )
    await show(update, context, html, buttons)


def _shared_by(context: BotContext, draft: Draft, answers: dict[str, str]) -> str:
    """For a draft the user is a partner in: whose it is (the organisation, if written yet)."""
    assert context.user is not None
    if draft.user_id == context.user.id:
        return ""
    organisation = answers.get("organisation")
    if organisation:
        return context.gettext("👥 shared with you by {organisation}", organisation=organisation)
    return context.gettext("👥 shared with you")


def _status_word(context: BotContext, draft: Draft) -> str:
    return review.status_names(context.gettext).get(draft.status, draft.status)


async def send_card(
    update: Update, context: BotContext, draft: Draft, *, new_message: bool = False
) -> None:
    _ = context.gettext
    answers = await drafts.answers(context.db, draft.id)
    filled, total = progress(context.services.content, answers)
    html = render(
        "draft_card.html",
        name=outline.draft_name(context, draft, answers),
        status=_status_word(context, draft),
        progress=_("{filled}/{total} sections filled", filled=filled, total=total),
        created=i18n.format_datetime(draft.created_at, context.lang),
        edited=i18n.format_datetime(draft.updated_at, context.lang),
        submitted=i18n.format_datetime(draft.submitted_at, context.lang)
        if draft.submitted_at
        else None,
        shared=Markup(_shared_by(context, draft, answers)),  # gettext escaped the organisation
        _=_,
    )
    d = draft.id
    rows: list[list[tuple[str, str]]] = []
    assert context.user is not None
    if draft.user_id != context.user.id:  # a partner: edit, read, download, or leave
        rows = partner_rows(context, draft)
    elif draft.editable:
        rows.append(
            [
                (_("▶️ Continue"), button_data("ol", "go", d)),
                (_("👁 Review"), button_data("ol", "r", d)),
            ]
        )
        rows.append(
            [
                (_("✏️ Rename"), button_data(PREFIX, "n", d)),
                (_("🗑 Delete"), button_data(PREFIX, "del", d)),
            ]
        )
        rows.append([(_("👥 Partners"), button_data("pt", "l", d))])
    else:
        rows.append([(_("👁 Review"), button_data("ol", "r", d))])
        rows.append([(_("🔁 Reopen as a new draft"), button_data("ol", "re", d))])
    if draft.user_id == context.user.id:
        rows.append([(_("📄 Download (DOCX)"), button_data("ol", "doc", d))])
    rows.append([(_("📂 My drafts"), button_data(PREFIX, "l"))])
    if new_message:
        await send(update, context, html, rows)
    else:
        await show(update, context, html, rows)


async def _partners_lose_it(context: BotContext, draft: Draft) -> str:
    if not await partners_store.members(context.db, draft.id):
        return ""
    return "\n\n" + context.gettext("Its partners lose access to it, and they are told so.")


def partner_rows(context: BotContext, draft: Draft) -> Keyboard:
    """A partner's buttons on a shared draft: no rename, delete, submit or invitations."""
    _ = context.gettext
    d = draft.id
    rows: Keyboard = []
    if draft.editable:
        rows.append(
            [
                (_("▶️ Continue"), button_data("ol", "go", d)),
                (_("👁 Review"), button_data("ol", "r", d)),
            ]
        )
    else:
        rows.append([(_("👁 Review"), button_data("ol", "r", d))])
    rows.append([(_("📄 Download (DOCX)"), button_data("ol", "doc", d))])
    rows.append([(_("🚪 Leave this draft"), button_data("pt", "lv", d))])
    return rows


async def button(update: Update, context: BotContext) -> None:
    """dr:l[:<page>] · dr:o:<draft> · dr:n:<draft> · dr:del:<draft> · dr:delok:<draft>"""
    _ = context.gettext
    assert context.user is not None
    parts = button_data_parts(update)
    action = parts[1] if len(parts) > 1 else ""
    if action == "l" and len(parts) == 2:
        await list_drafts(update, context)
        return
    if action == "l" and len(parts) == 3 and parts[2].isdigit():
        await list_drafts(update, context, int(parts[2]))
        return
    found = (
        await drafts.access(context.db, int(parts[2]), context.user.id)
        if len(parts) == 3 and parts[2].isdigit()
        else None
    )
    if found is None:
        await answer_button(update, _("This button is no longer valid."), True)
        return
    draft, role = found
    if action == "o":
        await send_card(update, context, draft)
    elif role != drafts.OWNER:  # renaming and deleting are the owner's
        await answer_button(update, _("Only the draft's owner can do this."), True)
    elif action == "n" and draft.editable:
        await conversations.set_state(
            context.db, context.user.id, Conversation(RENAME_FLOW, "name", {"draft": draft.id})
        )
        await send(
            update,
            context,
            _(
                "Type the new name for the draft. It is also the outline's working title "
                "(section 1)."
            ),
        )
    elif action == "del" and draft.editable:
        name = outline.draft_name(context, draft, await drafts.answers(context.db, draft.id))
        await show(
            update,
            context,
            _("Delete <b>{name}</b> for good? This cannot be undone.", name=name)
            + await _partners_lose_it(context, draft),
            [
                [(_("🗑 Yes, delete"), button_data(PREFIX, "delok", draft.id))],
                [(_("↩️ No, keep it"), button_data(PREFIX, "o", draft.id))],
            ],
        )
    elif action == "delok" and draft.editable:
        answers = await drafts.answers(context.db, draft.id)
        had = await partners_store.members(context.db, draft.id)  # they go with the draft
        async with context.db.transaction() as conn:
            state = await conversations.get_in(conn, context.user.id)
            if state is not None and state.data.get("draft") == draft.id:
                await conversations.clear(conn, context.user.id)
            await drafts.delete(conn, draft.id)
        await partners.tell_draft_gone(context, [m.user_id for m in had], answers)
        await show(
            update,
            context,
            _("The draft was deleted."),
            [[(_("📂 My drafts"), button_data(PREFIX, "l"))]],
        )
    else:
        await answer_button(update, _("This button is no longer valid."), True)


async def on_rename_text(update: Update, context: BotContext, state: Conversation) -> None:
    await rename_to(update, context, state, typed_text(update))


def rename_expects(context: BotContext, state: Conversation) -> Expect:
    return Expect("name")


async def rename_to(update: Update, context: BotContext, state: Conversation, text: str) -> None:
    _ = context.gettext
    assert context.user is not None
    draft = await drafts.get(context.db, int(state.data.get("draft", 0)), context.user.id)
    if draft is None or not draft.editable:
        await conversations.set_state(context.db, context.user.id, None)
        await start.send_menu(update, context)
        return
    # The name is the working title: the same rules as when it is typed in the outline.
    section = next(s for s in context.services.content.outline if s.id == drafts.TITLE)
    answers = await drafts.answers(context.db, draft.id)
    name, problem = validate(section, " ".join((text or "").split()), answers)
    if problem is not None or name is None:
        assert problem is not None
        await send(
            update,
            context,
            outline.problem_text(context, problem) + "\n" + _("Type the new name for the draft."),
        )
        return
    async with context.db.transaction() as conn:
        await drafts.rename(conn, draft.id, name)
        await conversations.clear(conn, context.user.id)
    renamed = await drafts.get(context.db, draft.id, context.user.id)
    assert renamed is not None
    await send(update, context, _("Renamed: <b>{name}</b>.", name=name))
    await send_card(update, context, renamed, new_message=True)


async def reprompt_rename(update: Update, context: BotContext, state: Conversation) -> None:
    _ = context.gettext
    held = flows.save_button(_("✍️ No — save it as my answer"), state)
    await send(update, context, _("Type the new name for the draft."), [held] if held else None)


rename_flow = Flow(RENAME_FLOW, on_rename_text, reprompt_rename, rename_expects, rename_to)


def handlers() -> Handlers:
    return [
        CommandHandler("mydrafts", list_drafts, filters=PRIVATE),
        CallbackQueryHandler(list_drafts, pattern=r"^menu:drafts$"),
        CallbackQueryHandler(button, pattern=rf"^{PREFIX}:"),
    ]
