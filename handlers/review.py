"""Coordinators review submitted outlines in the chat: /outlines lists them (filters by status,
sub-theme and words in the name or organisation; pages), one outline opens read-only with its
comments, and buttons comment on it (whole, or a section chosen by button), change its status,
show what changed since it was returned, its status history and a DOCX with the comments.

Buttons (`rv`): rv:l:<status>:<sub-theme>:<page>[:<search>] the list · rv:fs / rv:ft:<status>:
<sub-theme>[:<search>] choose a filter · rv:o:<id> open · rv:cs:<id> choose a section ·
rv:c:<id>:<section index or "-"> comment · rv:s:<id>:<from>:<to> change the status (from: what
the coordinator saw, so a stale button changes nothing) · rv:d:<id> the changes · rv:h:<id> the
history · rv:doc:<id> the DOCX. Statuses and sub-themes travel as their position (`*`: any), the
search as URL-safe base64 of its UTF-8, cut to fit Telegram's 64 bytes.

The comment being typed is a flow ("review_comment") in the conversations table, so a restart
between the button and the text loses nothing. To anyone but a coordinator all of this does not
exist: /outlines gets the unknown-command reply, a button the stale-button reply, and the
attempt is logged; nothing changes.
"""

from __future__ import annotations

import base64
import binascii
import logging
from collections.abc import Callable

from telegram import Update
from telegram.ext import CallbackQueryHandler, CommandHandler

from bot import i18n, review
from bot.channels import notices
from bot.channels.context import BotContext
from bot.documents import CommentLine, Labels, file_name, outline_docx
from bot.outline import display
from bot.rendering import escape, render
from handlers import fallback
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
    stale_button,
    typed_text,
)
from handlers.coordinator import is_coordinator
from handlers.flows import Flow
from storage import conversations, drafts
from storage import review as store
from storage.conversations import Conversation

PREFIX = "rv"  # callback data of this module's buttons
COMMENT_FLOW = "review_comment"
PAGE_SIZE = 8
ANY = "*"
WHOLE = "-"  # rv:c:<id>:- comments on the whole outline
_SEARCH_BYTES = 36  # of UTF-8: base64 makes 48 characters, which fit beside the rest

log = logging.getLogger(__name__)


# -- who may ------------------------------------------------------------------------------------


async def _refused(update: Update, context: BotContext) -> bool:
    """True (and the reply a non-coordinator gets) unless the user is a coordinator now."""
    if await is_coordinator(context):
        return False
    log.warning("review refused for user %s", context.user.id if context.user else None)
    if update.callback_query is not None:
        await stale_button(update, context)
    else:
        await fallback.unknown_command(update, context)
    return True


# -- the list -----------------------------------------------------------------------------------


def _encode_search(text: str) -> str:
    raw = text.encode("utf-8")[:_SEARCH_BYTES].decode("utf-8", "ignore").encode("utf-8")
    return base64.urlsafe_b64encode(raw).decode("ascii").rstrip("=")


def _decode_search(part: str) -> str | None:
    try:
        return base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError, ValueError):
        return None


def _search_part(search: str) -> tuple[str, ...]:
    return (_encode_search(search),) if search else ()


def _status_code(status: str | None) -> str:
    return ANY if status is None else str(review.REVIEWED.index(status))


def _subtheme_code(context: BotContext, subtheme: str | None) -> str:
    return (
        ANY if subtheme is None else str(list(context.services.content.subthemes).index(subtheme))
    )


def _read_filter(context: BotContext, parts: list[str]) -> tuple[str | None, str | None] | None:
    """(status, sub-theme) from their codes in a button, or None when they are not valid."""
    if len(parts) != 2:
        return None
    status_code, subtheme_code = parts
    subthemes = list(context.services.content.subthemes)
    status = None
    if status_code != ANY:
        if not status_code.isdigit() or int(status_code) >= len(review.REVIEWED):
            return None
        status = review.REVIEWED[int(status_code)]
    subtheme = None
    if subtheme_code != ANY:
        if not subtheme_code.isdigit() or int(subtheme_code) >= len(subthemes):
            return None
        subtheme = subthemes[int(subtheme_code)]
    return status, subtheme


async def outlines_command(update: Update, context: BotContext) -> None:
    """/outlines [words]: the outlines to review, the words searched in name and organisation."""
    if await _refused(update, context):
        return
    await send_list(update, context, store.ListFilter(text=" ".join(context.args or [])), 0)


async def send_list(
    update: Update, context: BotContext, selection: store.ListFilter, page: int
) -> None:
    _ = context.gettext
    found, total = await store.page(context.db, selection, PAGE_SIZE, page * PAGE_SIZE)
    pages = max(1, (total + PAGE_SIZE - 1) // PAGE_SIZE)
    if not found and page > 0:  # a page that no longer exists: the last one
        await send_list(update, context, selection, pages - 1)
        return
    names = review.status_names(_)
    subthemes = context.services.content.subthemes
    search = selection.text.strip()
    filters_shown = [
        names[selection.status] if selection.status else _("all statuses"),
        subthemes[selection.subtheme].short[context.lang]
        if selection.subtheme
        else _("all sub-themes"),
    ]
    if search:
        filters_shown.append(f"“{search}”")
    first = page * PAGE_SIZE + 1
    html = render(
        "review_list.html",
        heading=_("Outlines for review"),
        filters=" · ".join(filters_shown),
        count=_("Outlines: {count}.", count=total),
        page=_("Page {page}/{pages}", page=page + 1, pages=pages) if pages > 1 else "",
        items=[
            {
                "id": item.id,
                "title": item.title or _("Untitled draft {number}", number=item.id),
                "organisation": item.organisation,
                "status": names.get(item.status, item.status),
                "changed": i18n.format_datetime(item.changed_at, context.lang),
            }
            for item in found
        ],
        first=first,
        empty=_("No outlines match."),
        hint=_("Search by name or organisation: /outlines words"),
    )
    status, sub = _status_code(selection.status), _subtheme_code(context, selection.subtheme)
    more = _search_part(search)
    buttons: Keyboard = [
        [
            (
                f"{n}. #{item.id} {shorten(item.title or '—', 40)}",
                button_data(PREFIX, "o", item.id),
            )
        ]
        for n, item in enumerate(found, first)
    ]
    paging = []
    if page > 0:
        paging.append((_("◀️ Previous"), button_data(PREFIX, "l", status, sub, page - 1, *more)))
    if page + 1 < pages:
        paging.append((_("Next ▶️"), button_data(PREFIX, "l", status, sub, page + 1, *more)))
    if paging:
        buttons.append(paging)
    buttons.append(
        [
            (_("🏷 Status…"), button_data(PREFIX, "fs", status, sub, *more)),
            (_("🗂 Sub-theme…"), button_data(PREFIX, "ft", status, sub, *more)),
        ]
    )
    if selection.status or selection.subtheme or search:
        buttons.append([(_("✖️ Clear the filters"), button_data(PREFIX, "l", ANY, ANY, 0))])
    await show(update, context, html, buttons)


async def _choose_filter(
    update: Update, context: BotContext, which: str, status: str, sub: str, more: tuple[str, ...]
) -> None:
    _ = context.gettext
    if which == "fs":
        names = review.status_names(_)
        options = [(_("All statuses"), ANY)] + [
            (names[s], str(i)) for i, s in enumerate(review.REVIEWED)
        ]
        rows = [[(label, button_data(PREFIX, "l", code, sub, 0, *more))] for label, code in options]
        question = _("Show outlines with which status?")
    else:
        subthemes = context.services.content.subthemes.values()
        options = [(_("All sub-themes"), ANY)] + [
            (s.short[context.lang], str(i)) for i, s in enumerate(subthemes)
        ]
        rows = [
            [(label, button_data(PREFIX, "l", status, code, 0, *more))] for label, code in options
        ]
        question = _("Show outlines of which sub-theme?")
    await show(update, context, question, rows)


# -- one outline --------------------------------------------------------------------------------


async def send_outline(
    update: Update, context: BotContext, draft_id: int, *, new_message: bool = False
) -> None:
    """The outline read-only, its comments beside their sections, and what can be done."""
    _ = context.gettext
    found = await store.reviewed(context.db, draft_id)
    if found is None:
        await _gone(update, context)
        return
    status, _owner = found
    content = context.services.content
    answers = await drafts.answers(context.db, draft_id)
    general, beside = await _comments(context, draft_id)
    returned = await store.returned_as(context.db, draft_id)
    html = render(
        "review_outline.html",
        name=answers.get(drafts.TITLE) or _("Untitled draft {number}", number=draft_id),
        number=_("Number {number}", number=draft_id),
        status=_("Status: {status}", status=review.status_names(_)[status]),
        comments_heading=_("Comments"),
        general_comments=general,
        sections=[
            (
                number,
                section.text[context.lang].title,
                display(content, section, answers.get(section.id), context.lang),
                beside.get(section.id, []),
            )
            for number, section in enumerate(content.outline, 1)
        ],
    )
    rows: Keyboard = [
        [
            (_("💬 Comment on the whole"), button_data(PREFIX, "c", draft_id, WHOLE)),
            (_("💬 Comment on a section"), button_data(PREFIX, "cs", draft_id)),
        ]
    ]
    targets = review.next_statuses(status)
    labels = _decision_labels(_)
    for index in range(0, len(targets), 2):
        rows.append(
            [
                (labels[target], button_data(PREFIX, "s", draft_id, _short(status), _short(target)))
                for target in targets[index : index + 2]
            ]
        )
    extra = []
    if returned is not None and status != "returned":
        extra.append((_("🔀 Changes since the comments"), button_data(PREFIX, "d", draft_id)))
    extra.append((_("📜 History"), button_data(PREFIX, "h", draft_id)))
    rows.append(extra)
    rows.append(
        [
            (_("📄 DOCX with comments"), button_data(PREFIX, "doc", draft_id)),
            (_("⬅️ All outlines"), button_data(PREFIX, "l", ANY, ANY, 0)),
        ]
    )
    if new_message:
        await send(update, context, html, rows)
    else:
        await show(update, context, html, rows)


def _short(status: str) -> str:
    """A status in a button: its position, so that two of them fit in 64 bytes with an id."""
    return str(review.STATUSES.index(status))


def _status_from(code: str) -> str | None:
    return (
        review.STATUSES[int(code)] if code.isdigit() and int(code) < len(review.STATUSES) else None
    )


def _decision_labels(_: Callable[[str], str]) -> dict[str, str]:
    return {
        "in_review": _("🔎 Take into review"),
        "returned": _("↩️ Return with comments"),
        "accepted": _("✅ Accept for application"),
        "not_proceeding": _("⛔ Not proceeding"),
    }


async def _comments(
    context: BotContext, draft_id: int
) -> tuple[list[tuple[str, str, str]], dict[str, list[tuple[str, str, str]]]]:
    """Comments as (when, who, text), on the whole outline and beside each section."""
    _ = context.gettext
    sections = {section.id for section in context.services.content.outline}
    general: list[tuple[str, str, str]] = []
    beside: dict[str, list[tuple[str, str, str]]] = {}
    for comment in await store.comments(context.db, draft_id):
        shown = (
            i18n.format_datetime(comment.created_at, context.lang),
            _who(context, comment.author_id, comment.via),
            comment.body,
        )
        if comment.section_id in sections:
            beside.setdefault(comment.section_id, []).append(shown)
        else:
            general.append(shown)
    return general, beside


def _who(context: BotContext, user_id: int | None, via: str) -> str:
    _ = context.gettext
    if via == "cli":
        return _("on the server")
    if user_id is None:
        return _("a removed user")
    return _("user {number}", number=user_id)


# -- commenting ---------------------------------------------------------------------------------


async def _choose_section(update: Update, context: BotContext, draft_id: int) -> None:
    _ = context.gettext
    outline = context.services.content.outline
    buttons = [
        (
            f"{n}. {shorten(s.text[context.lang].title, 28)}",
            button_data(PREFIX, "c", draft_id, n - 1),
        )
        for n, s in enumerate(outline, 1)
    ]
    rows: Keyboard = [buttons[i : i + 2] for i in range(0, len(buttons), 2)]
    rows.append([(_("↩️ Back to the outline"), button_data(PREFIX, "o", draft_id))])
    await show(update, context, _("Which section is your comment about?"), rows)


async def _ask_comment(
    update: Update, context: BotContext, draft_id: int, section_id: str | None
) -> None:
    assert context.user is not None
    state = Conversation(COMMENT_FLOW, "text", {"draft": draft_id, "section": section_id})
    await conversations.set_state(context.db, context.user.id, state)
    await _prompt(update, context, state, new_message=False)


async def _prompt(
    update: Update, context: BotContext, state: Conversation, *, new_message: bool
) -> None:
    _ = context.gettext
    draft_id = int(state.data["draft"])
    place = _place(context, state.data.get("section"))
    html = _(
        "Type your comment on {place} of outline number {number}. The applicant sees it beside "
        "the section when you return the outline. /cancel stops.",
        place=f"<b>{escape(place)}</b>",
        number=draft_id,
    )
    buttons = [[(_("↩️ Back to the outline"), button_data(PREFIX, "o", draft_id))]]
    if new_message:
        await send(update, context, html, buttons)
    else:
        await show(update, context, html, buttons)


def _place(context: BotContext, section_id: str | None) -> str:
    _ = context.gettext
    for section in context.services.content.outline:
        if section.id == section_id:
            return section.text[context.lang].title
    return _("the whole outline")


async def on_comment_text(update: Update, context: BotContext, state: Conversation) -> None:
    _ = context.gettext
    assert context.user is not None
    if not await is_coordinator(context):  # the role was taken away meanwhile
        await conversations.set_state(context.db, context.user.id, None)
        log.warning("comment refused: user %s is no longer a coordinator", context.user.id)
        await send(
            update, context, _("Your comment was not saved: you are no longer a coordinator.")
        )
        return
    draft_id = int(state.data.get("draft", 0))
    if await store.reviewed(context.db, draft_id) is None:
        await conversations.set_state(context.db, context.user.id, None)
        await send(update, context, _("This outline is no longer available."))
        return
    text = typed_text(update)
    if not text:
        await send(update, context, _("The comment is empty. Please type it as text."))
        return
    if len(text) > review.COMMENT_LIMIT:
        await send(
            update,
            context,
            _(
                "The comment is {length} characters long; please keep it under {limit}.",
                length=len(text),
                limit=review.COMMENT_LIMIT,
            ),
        )
        return
    section = state.data.get("section")
    async with context.db.transaction() as conn:
        await store.add_comment(conn, draft_id, section, context.user.id, text)
        await conversations.clear(conn, context.user.id)
    await send(
        update, context, _("💬 Comment saved on {place}.", place=escape(_place(context, section)))
    )
    await send_outline(update, context, draft_id, new_message=True)


async def reprompt_comment(update: Update, context: BotContext, state: Conversation) -> None:
    await _prompt(update, context, state, new_message=True)


comment_flow = Flow(COMMENT_FLOW, on_comment_text, reprompt_comment)


# -- status -------------------------------------------------------------------------------------


async def _change_status(
    update: Update, context: BotContext, draft_id: int, source: str, target: str
) -> None:
    _ = context.gettext
    assert context.user is not None
    found = await store.reviewed(context.db, draft_id)
    if found is None:
        await _gone(update, context)
        return
    current, owner = found
    if current != source:
        await answer_button(
            update,
            _(
                "The status has changed meanwhile: it is now “{status}”. Nothing was changed.",
                status=review.status_names(_)[current],
            ),
            alert=True,
        )
        await send_outline(update, context, draft_id)
        return
    if not review.allowed(source, target, review.COORDINATOR):
        await answer_button(update, _("That status change is not possible."), alert=True)
        return
    if target == "returned" and not await _commented_since_submit(context, draft_id):
        await answer_button(
            update,
            _("Write a comment first, so that the applicant knows what to revise."),
            alert=True,
        )
        return
    async with context.db.transaction() as conn:
        changed = await store.change_status(conn, draft_id, source, target, context.user.id)
    if not changed:  # another coordinator, between our read and this write
        await answer_button(
            update, _("The status has changed meanwhile. Nothing was changed."), True
        )
        await send_outline(update, context, draft_id)
        return
    await answer_button(update, _("Status: {status}", status=review.status_names(_)[target]))
    await send_outline(update, context, draft_id)
    if owner is not None:
        await _tell_applicant(context, owner, draft_id, target)


async def _commented_since_submit(context: BotContext, draft_id: int) -> bool:
    submitted = [
        e.created_at
        for e in await store.events(context.db, draft_id)
        if e.to_status in ("submitted", "resubmitted")
    ]
    since = submitted[-1] if submitted else ""
    return any(c.created_at >= since for c in await store.comments(context.db, draft_id))


async def _tell_applicant(context: BotContext, user_id: int, draft_id: int, status: str) -> None:
    settings = context.services.settings
    await notices.tell_applicant(context.bot, context.db, settings, user_id, draft_id, status)


# -- changes, history, DOCX ---------------------------------------------------------------------


async def _send_changes(update: Update, context: BotContext, draft_id: int) -> None:
    _ = context.gettext
    content = context.services.content
    returned = await store.returned_as(context.db, draft_id)
    if returned is None:
        await answer_button(update, _("This outline has not been returned with comments."), True)
        return
    event, before = returned
    after = await drafts.answers(context.db, draft_id)
    sections = {section.id: section for section in content.outline}
    _general, beside = await _comments(context, draft_id)

    def shown(section_id: str, value: str) -> str:
        section = sections.get(section_id)
        text = display(content, section, value, context.lang) if section and value else value
        return shorten(text, 1200) if text else "—"

    changes = review.changes(list(sections), before, after)
    html = render(
        "review_changes.html",
        heading=_(
            "Changes since the outline was returned on {when}",
            when=i18n.format_datetime(event.created_at, context.lang),
        ),
        none=_("Nothing has changed since then."),
        before_label=_("Before"),
        after_label=_("Now"),
        changes=[
            (
                sections[c.section_id].text[context.lang].title
                if c.section_id in sections
                else c.section_id,
                [comment for comment in beside.get(c.section_id, [])],
                shown(c.section_id, c.old),
                shown(c.section_id, c.new),
            )
            for c in changes
        ],
    )
    await send(
        update, context, html, [[(_("↩️ Back to the outline"), button_data(PREFIX, "o", draft_id))]]
    )


async def _send_history(update: Update, context: BotContext, draft_id: int) -> None:
    _ = context.gettext
    names = review.status_names(_)
    lines = [
        _(
            "{when}: {old} → {new} ({who})",
            when=i18n.format_datetime(e.created_at, context.lang),
            old=names.get(e.from_status, e.from_status),
            new=names.get(e.to_status, e.to_status),
            who=_who(context, e.actor_id, e.via),
        )
        for e in await store.events(context.db, draft_id)
    ]
    heading = _("Status history")
    html = f"<b>📜 {escape(heading)}</b>\n" + "\n".join(escape(line) for line in lines)
    await show(
        update, context, html, [[(_("↩️ Back to the outline"), button_data(PREFIX, "o", draft_id))]]
    )


async def _send_docx(update: Update, context: BotContext, draft_id: int) -> None:
    """Always with the comments as an appendix: that is what a coordinator files."""
    _ = context.gettext
    found = await store.reviewed(context.db, draft_id)
    if found is None:
        await _gone(update, context)
        return
    await answer_button(update)  # before building the document
    content = context.services.content
    answers = await drafts.answers(context.db, draft_id)
    name = answers.get(drafts.TITLE) or _("Untitled draft {number}", number=draft_id)
    labels = Labels(
        heading=_("Project outline"),
        theme=_(
            "ESF+ national theme ET 4.1.7 – Equality of the children, young people and families"
        ),
        status=_("Status: {status}", status=review.status_names(_)[found[0]]),
        not_answered=_("(not answered yet)"),
        comments=_("Appendix: coordinators' comments"),
    )
    lines = [
        CommentLine(
            _place(context, c.section_id), i18n.format_datetime(c.created_at, context.lang), c.body
        )
        for c in await store.comments(context.db, draft_id)
    ]
    data = outline_docx(
        content,
        name,
        answers,
        context.lang,
        labels,
        author=answers.get("organisation", ""),
        comments=lines,
    )
    chat = update.effective_chat
    assert chat is not None
    await context.bot.send_document(
        chat.id,
        document=data,
        filename=file_name(answers.get(drafts.TITLE, ""), f"outline-{draft_id}"),
        caption=_("Outline number {number}: {name}", number=draft_id, name=name)[:1000],
    )


async def _gone(update: Update, context: BotContext) -> None:
    await answer_button(update, context.gettext("This outline is no longer available."), alert=True)


# -- buttons ------------------------------------------------------------------------------------


async def button(update: Update, context: BotContext) -> None:
    if await _refused(update, context):
        return
    assert context.user is not None
    parts = button_data_parts(update)
    action, args = (parts[1], parts[2:]) if len(parts) > 1 else ("", [])
    if action in ("l", "fs", "ft"):
        fixed = 3 if action == "l" else 2
        chosen = _read_filter(context, args[:2]) if len(args) >= fixed else None
        search = _decode_search(args[fixed]) if len(args) == fixed + 1 else ""
        page_ok = action != "l" or (len(args) > 2 and args[2].isdigit())
        if chosen is None or search is None or len(args) > fixed + 1 or not page_ok:
            await stale_button(update, context)
            return
        if action == "l":
            selection = store.ListFilter(chosen[0], chosen[1], search)
            await send_list(update, context, selection, int(args[2]))
        else:
            await _choose_filter(update, context, action, args[0], args[1], tuple(args[2:]))
        return
    if not args or not args[0].isdigit():
        await stale_button(update, context)
        return
    draft_id, rest = int(args[0]), args[1:]
    if action == "o" and not rest:
        current = await conversations.get(context.db, context.user.id)
        if current is not None and current.flow == COMMENT_FLOW:
            await conversations.set_state(context.db, context.user.id, None)
        await send_outline(update, context, draft_id)
    elif await store.reviewed(context.db, draft_id) is None:
        await _gone(update, context)
    elif action == "cs" and not rest:
        await _choose_section(update, context, draft_id)
    elif action == "c" and len(rest) == 1 and rest[0] == WHOLE:
        await _ask_comment(update, context, draft_id, None)
    elif (
        action == "c"
        and len(rest) == 1
        and rest[0].isdigit()
        and int(rest[0]) < len(context.services.content.outline)
    ):
        await _ask_comment(
            update, context, draft_id, context.services.content.outline[int(rest[0])].id
        )
    elif action == "s" and len(rest) == 2 and _status_from(rest[0]) and _status_from(rest[1]):
        await _change_status(
            update, context, draft_id, _status_from(rest[0]) or "", _status_from(rest[1]) or ""
        )
    elif action == "d" and not rest:
        await _send_changes(update, context, draft_id)
    elif action == "h" and not rest:
        await _send_history(update, context, draft_id)
    elif action == "doc" and not rest:
        await _send_docx(update, context, draft_id)
    else:
        await stale_button(update, context)


def handlers() -> Handlers:
    return [
        CommandHandler("outlines", outlines_command, filters=PRIVATE),
        CallbackQueryHandler(button, pattern=rf"^{PREFIX}:"),
    ]
