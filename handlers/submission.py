"""A draft's page: the review of all its sections, the DOCX, submitting it and reopening it.

Its buttons share the outline's prefix (`ol:r`, `ol:e`, `ol:doc`, `ol:sub`, `ol:subok`, `ol:re`)
so that buttons already in people's chats keep working; drafting itself is `handlers.outline`.
"""

from __future__ import annotations

from collections.abc import Callable

from telegram import Update
from telegram.ext import CallbackQueryHandler

from bot import i18n, review
from bot.channels import notices
from bot.channels.context import BotContext
from bot.documents import Labels, file_name, outline_docx
from bot.outline import display, missing_required, progress
from bot.rendering import escape, render
from handlers import outline, partners
from handlers.common import (
    Handlers,
    Keyboard,
    answer_button,
    button_data,
    button_data_parts,
    send,
    shorten,
    show,
)
from storage import conversations, drafts
from storage import review as review_store
from storage.drafts import Draft

PREFIX = "ol"  # the same as handlers.outline's: one outline, one prefix


async def send_review(
    update: Update, context: BotContext, draft: Draft, *, new_message: bool = True
) -> None:
    _ = context.gettext
    content = context.services.content
    answers = await drafts.answers(context.db, draft.id)
    filled, total = progress(content, answers)
    missing = {s.id for s in missing_required(content, answers)}
    general, beside = await comments_by_section(context, draft.id)
    html = render(
        "outline_review.html",
        general_comments=general,
        section_comments=[beside.get(section.id, []) for section in content.outline],
        comments_heading=_("Coordinators' comments"),
        name=outline.draft_name(context, draft, answers),
        status=status_line(context, draft),
        progress=_("{filled}/{total} sections filled", filled=filled, total=total),
        sections=[
            (
                number,
                section.text[context.lang].title,
                display(content, section, answers.get(section.id), context.lang),
                section.id in missing,
            )
            for number, section in enumerate(content.outline, 1)
        ],
        missing=[s.text[context.lang].title for s in content.outline if s.id in missing],
        editable=draft.editable,
        _=_,
    )
    rows: list[list[tuple[str, str]]] = []
    owner = context.user is not None and draft.user_id == context.user.id  # else a partner
    if draft.editable:
        edits = [
            (
                f"✏️ {n}. {shorten(s.text[context.lang].title, 24)}",
                button_data(PREFIX, "e", draft.id, n - 1),
            )
            for n, s in enumerate(content.outline, 1)
        ]
        rows += [edits[i : i + 2] for i in range(0, len(edits), 2)]
        if owner:
            submit_label = _("✅ Resubmit") if draft.status == "returned" else _("✅ Submit")
            rows.append([(submit_label, button_data(PREFIX, "sub", draft.id))])
    elif owner:
        rows.append([(_("🔁 Reopen as a new draft"), button_data(PREFIX, "re", draft.id))])
    rows.append([(_("📄 Download (DOCX)"), button_data(PREFIX, "doc", draft.id))])
    rows.append(
        [(_("📂 My drafts"), button_data("dr", "l")), (_("⬅️ Menu"), button_data("menu", "main"))]
    )
    if new_message:
        await send(update, context, html, rows)
    else:
        await show(update, context, html, rows)


async def comments_by_section(
    context: BotContext, draft_id: int
) -> tuple[list[tuple[str, str]], dict[str, list[tuple[str, str]]]]:
    """The coordinators' comments as (when, text): those on the whole outline, and those on
    each section by its id (a section no longer in the outline counts as the whole)."""
    sections = {section.id for section in context.services.content.outline}
    general: list[tuple[str, str]] = []
    beside: dict[str, list[tuple[str, str]]] = {}
    for comment in await review_store.comments(context.db, draft_id):
        shown = (i18n.format_datetime(comment.created_at, context.lang), comment.body)
        if comment.section_id in sections:
            beside.setdefault(comment.section_id, []).append(shown)
        else:
            general.append(shown)
    return general, beside


def status_line(context: BotContext, draft: Draft) -> str:
    _ = context.gettext
    if draft.status not in ("draft", "submitted"):  # in review, returned, decided
        status = review.status_names(_)[draft.status]
        return _("Status: {status}", status=status)
    if draft.submitted_at:
        return _("Submitted {when}", when=i18n.format_datetime(draft.submitted_at, context.lang))
    return _("Draft, last edited {when}", when=i18n.format_datetime(draft.updated_at, context.lang))


async def on_draft_button(update: Update, context: BotContext) -> None:
    """ol:<action>:<draft>: review, download, submit (asked, then confirmed) and reopen."""
    _ = context.gettext
    assert context.user is not None
    parts = button_data_parts(update)
    found = (
        await drafts.access(context.db, int(parts[2]), context.user.id)
        if len(parts) == 3 and parts[2].isdigit()
        else None
    )
    if found is None:
        await _stale(update, context)
        return
    draft, role = found
    action = parts[1]
    if action in ("sub", "subok", "re") and role != drafts.OWNER:
        # A partner edits; submitting and reopening are the owner's (handlers.partners).
        await answer_button(update, _("Only the draft's owner can do this."), True)
        return
    if action == "r":
        await conversations.set_state(context.db, context.user.id, None)
        await send_review(update, context, draft)
    elif action == "doc":
        await answer_button(update)  # before building the document
        await send_docx(update, context, draft)
    elif action == "sub" and draft.editable:
        await _confirm_submit(update, context, draft)
    elif action == "subok" and draft.editable:
        await _submit(update, context, draft)
    elif action == "re" and not draft.editable:
        if await outline.refused_for_too_many_drafts(update, context):
            return
        async with context.db.transaction() as conn:
            copy_id = await drafts.reopen(conn, draft)
        copy = await drafts.get(context.db, copy_id, context.user.id)
        assert copy is not None
        await send(
            update,
            context,
            _("A new editable copy is ready. The submitted version stays as it was."),
        )
        await send_review(update, context, copy)
    else:
        await _stale(update, context)


async def edit_section(update: Update, context: BotContext) -> None:
    """ol:e:<draft>:<index> from the review: jump to a section, then come back to the review."""
    assert context.user is not None
    parts = button_data_parts(update)
    valid = len(parts) == 4 and parts[2].isdigit() and parts[3].isdigit()
    found = await drafts.access(context.db, int(parts[2]), context.user.id) if valid else None
    draft = found[0] if found else None
    index = int(parts[3]) if valid else -1
    if (
        draft is None
        or not draft.editable
        or not 0 <= index < len(context.services.content.outline)
    ):
        await _stale(update, context)
        return
    await outline.edit_from_review(update, context, draft, index)


async def send_docx(update: Update, context: BotContext, draft: Draft) -> None:
    _ = context.gettext
    content = context.services.content
    answers = await drafts.answers(context.db, draft.id)
    name = outline.draft_name(context, draft, answers)
    labels = Labels(
        heading=_("Project outline"),
        theme=_(
            "ESF+ national theme ET 4.1.7 – Equality of the children, young people and families"
        ),
        status=status_line(context, draft),
        not_answered=_("(not answered yet)"),
    )
    data = outline_docx(
        content, name, answers, context.lang, labels, author=answers.get("organisation", "")
    )
    chat = update.effective_chat
    assert chat is not None
    filename = file_name(answers.get(drafts.TITLE, ""), f"outline-{draft.id}")
    await context.bot.send_document(
        chat.id,
        document=data,
        filename=filename,
        caption=_("Your outline: {name}", name=name)[:1000],
    )


async def _confirm_submit(update: Update, context: BotContext, draft: Draft) -> None:
    _ = context.gettext
    content = context.services.content
    answers = await drafts.answers(context.db, draft.id)
    missing = missing_required(content, answers)
    if missing:
        first = content.outline.index(missing[0])
        await send(
            update,
            context,
            render(
                "outline_missing.html",
                intro=_("Before you can submit, fill in these required sections:"),
                titles=[s.text[context.lang].title for s in missing],
            ),
            [
                [(_("✏️ Fill in the first one"), button_data(PREFIX, "e", draft.id, first))],
                [(_("↩️ Back to review"), button_data(PREFIX, "r", draft.id))],
            ],
        )
        return
    name = outline.draft_name(context, draft, answers)
    await show(
        update,
        context,
        _(
            "Resubmit <b>{name}</b> to the theme's coordinators? They will see what you "
            "changed since their comments.",
            name=name,
        )
        if draft.status == "returned"
        else _(
            "Submit <b>{name}</b> to the theme's coordinators? After submitting, this version "
            "can no longer be edited; you can reopen it as a new draft.",
            name=name,
        ),
        [
            [(_("✅ Yes, submit"), button_data(PREFIX, "subok", draft.id))],
            [(_("↩️ Back to review"), button_data(PREFIX, "r", draft.id))],
        ],
    )


async def _submit(update: Update, context: BotContext, draft: Draft) -> None:
    _ = context.gettext
    content = context.services.content
    answers = await drafts.answers(context.db, draft.id)
    if missing_required(content, answers):
        await _confirm_submit(update, context, draft)
        return
    assert context.user is not None
    target = review.submitted_status(draft.status)
    async with context.db.transaction() as conn:
        # The status this press saw, or nothing: a second tap or a stale button submits once.
        submitted = target is not None and await review_store.submit(
            conn, draft.id, draft.status, target, context.user.id
        )
        await conversations.clear(conn, context.user.id)
    if not submitted:
        await _stale(update, context)
        return
    name = outline.draft_name(context, draft, answers)
    await show(
        update,
        context,
        _(
            "✅ Resubmitted: <b>{name}</b>. The coordinators have been told. Thank you!",
            name=name,
        )
        if target == "resubmitted"
        else _(
            "✅ Submitted: <b>{name}</b>. The coordinators have been told. Thank you!",
            name=name,
        ),
        [[(_("📂 My drafts"), button_data("dr", "l")), (_("⬅️ Menu"), button_data("menu", "main"))]],
    )
    await _tell_coordinators(
        context, draft.id, name, answers.get("organisation", ""), again=target == "resubmitted"
    )
    await partners.tell_submitted(context, draft.id, answers)


async def _tell_coordinators(
    context: BotContext, draft_id: int, name: str, organisation: str, *, again: bool = False
) -> None:
    """Each coordinator in their own language, with a button that opens the outline for
    review; a failed notice never touches the submit."""

    def compose(_: Callable[[str], str]) -> str:
        text = (
            _(
                "📥 Outline resubmitted after your comments: <b>{name}</b> ({organisation}), "
                "number {number}."
            )
            if again
            else _("📥 New outline submitted: <b>{name}</b> ({organisation}), number {number}.")
        )
        return text.format(name=escape(name), organisation=escape(organisation), number=draft_id)

    def buttons(_: Callable[[str], str]) -> Keyboard:
        return [[(_("👁 Open for review"), button_data("rv", "o", draft_id))]]

    settings = context.services.settings
    for coordinator in await notices.coordinators(context.db, settings):
        await notices.notify(context.bot, context.db, settings, coordinator, compose, buttons)


async def _stale(update: Update, context: BotContext) -> None:
    await answer_button(update, context.gettext("This button is no longer valid."), True)


def handlers() -> Handlers:
    """Before `handlers.outline`'s, which take every other `ol:` button."""
    return [
        CallbackQueryHandler(edit_section, pattern=rf"^{PREFIX}:e:"),
        CallbackQueryHandler(on_draft_button, pattern=rf"^{PREFIX}:(r|doc|sub|subok|re):"),
    ]
