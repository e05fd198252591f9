"""Calls and call news: /subscribe and /unsubscribe for everyone; /calls (add, edit, close) and
/announce (compose, preview, confirm, status) for coordinators.

Coordinators give a call or an announcement as one message of `key: value` lines (bot/calls.py
reads them); the bot checks it all, lists every problem and changes nothing until it is right.
An announcement is stored as a draft for its preview and queued only when "Send" is pressed;
bot/channels/broadcast.py delivers it.
"""

from __future__ import annotations

import logging
import re
from datetime import UTC, datetime

from telegram import Update
from telegram.ext import CallbackQueryHandler, CommandHandler

from bot import calls as call_text
from bot import i18n
from bot.calls import ANNOUNCE_KEYS, CALL_FIELDS, Call, Problem
from bot.channels.context import BotContext
from bot.outline import clean_text
from bot.rendering import check_html, escape, html_to_text
from handlers import fallback
from handlers.common import (
    PRIVATE,
    Handlers,
    answer_button,
    button_data,
    button_data_parts,
    send,
    show,
    stale_button,
)
from handlers.coordinator import is_coordinator
from storage import calls, outbox

PREFIX = "cn"  # callback data of this module's buttons: calls and news

log = logging.getLogger(__name__)


def _now() -> datetime:
    return datetime.now(UTC)


def _menu_row(context: BotContext) -> list[tuple[str, str]]:
    return [(context.gettext("⬅️ Menu"), button_data("menu", "main"))]


def _wake_sender(context: BotContext, *, calls_changed: bool = False) -> None:
    sender = context.application.bot_data.get("broadcaster")
    if sender is not None:
        sender.poke(calls_changed=calls_changed)


# -- subscriptions (everyone) -------------------------------------------------------------------


async def subscribe(update: Update, context: BotContext) -> None:
    assert context.user is not None
    _ = context.gettext
    if await calls.subscribe(context.db, context.user.id):
        text = _(
            "🔔 Subscribed. I will tell you when a call opens and remind you before it closes, "
            "in the language you use with me. /unsubscribe ends it."
        )
    else:
        text = _("You are already subscribed to call news. /unsubscribe ends it.")
    await _after_toggle(update, context, text)


async def unsubscribe(update: Update, context: BotContext) -> None:
    assert context.user is not None
    _ = context.gettext
    if await calls.unsubscribe(context.db, context.user.id):
        text = _(
            "🔕 Unsubscribed: no more call news or deadline reminders from me. /subscribe "
            "starts them again."
        )
    else:
        text = _("You are not subscribed to call news. /subscribe starts them.")
    await _after_toggle(update, context, text)


async def _after_toggle(update: Update, context: BotContext, text: str) -> None:
    if update.callback_query is not None:
        # A button under another message (the checklist's summary, the news view): that message
        # stays; the answer comes as a message of its own.
        await send(update, context, text, [_menu_row(context)])
    else:
        await send(update, context, text)


async def news(update: Update, context: BotContext) -> None:
    """The menu's "Call news": the open and the next call, and the subscription."""
    assert context.user is not None
    _ = context.gettext
    now = _now()
    open_now, coming = call_text.open_and_next(await calls.current(context.db, now), now)
    names = _subtheme_names(context)
    shown = [c for c in (open_now, coming) if c is not None]
    parts = [call_text.call_summary(c, now, context.lang, names) for c in shown] or [
        _("No call is open or announced at the moment.")
    ]
    subscribed = await calls.is_subscribed(context.db, context.user.id)
    if subscribed:
        parts.append(_("You are subscribed to call news."))
        toggle = (_("🔕 Unsubscribe"), button_data(PREFIX, "off"))
    else:
        parts.append(
            _("Subscribe, and I will tell you when a call opens and remind you before it closes.")
        )
        toggle = (_("🔔 Subscribe"), button_data(PREFIX, "on"))
    await show(update, context, "\n\n".join(parts), [[toggle], _menu_row(context)])


def _subtheme_names(context: BotContext) -> dict[str, str]:
    return {
        id_: subtheme.short[context.lang]
        for id_, subtheme in context.services.content.subthemes.items()
    }


# -- coordinators: /calls -----------------------------------------------------------------------


async def _refuse(update: Update, context: BotContext) -> None:
    log.warning("coordinator command refused for user %s", context.user and context.user.id)
    if update.callback_query is not None:
        await stale_button(update, context)
    else:
        await fallback.unknown_command(update, context)


def _after_command(update: Update, *, html: bool = False) -> str:
    """What was typed after the command (its first line's rest and the lines below)."""
    message = update.effective_message
    if message is None:
        return ""
    text = (message.text_html if html else message.text) or ""
    return clean_text(re.sub(r"^/\w+(@\w+)?[ \t]*", "", text, count=1))


async def calls_command(update: Update, context: BotContext) -> None:
    """/calls · /calls add <form> · /calls edit ID <form> · /calls close ID"""
    if not await is_coordinator(context):
        await _refuse(update, context)
        return
    text = _after_command(update)
    first, _sep, rest = text.partition("\n")
    words = first.split()
    action = words[0].lower() if words else ""
    form = "\n".join([" ".join(words[2 if action == "edit" else 1 :]), rest])
    if action == "add":
        await _add_call(update, context, form)
    elif action in ("edit", "close") and len(words) >= 2 and words[1].lstrip("#").isdigit():
        call = await calls.get(context.db, int(words[1].lstrip("#")))
        if call is None:
            await send(update, context, context.gettext("There is no call #{id}.", id=words[1]))
        elif action == "edit":
            await _edit_call(update, context, call, form)
        else:
            await _ask_close(update, context, call)
    else:
        await _list_calls(update, context, usage=bool(action))


def _form_example(context: BotContext) -> str:
    ids = ", ".join(context.services.content.subthemes)
    example = (
        "/calls add\nfi: …\nsv: …\nen: …\nopens: 2027-03-01 09:00\ncloses: 2027-04-15 16:15\n"
        f"subthemes: {ids}\nlink: https://www.eura2021.fi/…"
    )
    return f"<pre>{escape(example)}</pre>"


async def _list_calls(update: Update, context: BotContext, *, usage: bool) -> None:
    _ = context.gettext
    now = _now()
    lines = []
    for call in await calls.all_calls(context.db):
        if call.closed_at is not None:
            state = _("closed")
        elif call.is_open(now):
            state = _("open")
        elif call.opens_at > now:
            state = _("announced")
        else:
            state = _("over")
        lines.append(
            _(
                "#{id} {title}: {opens} – {closes} ({state})",
                id=call.id,
                title=call.title[context.lang],
                opens=i18n.format_datetime(call.opens_at, context.lang),
                closes=i18n.format_datetime(call.closes_at, context.lang),
                state=state,
            )
        )
    parts = [] if not usage else [_("I did not understand that.")]
    parts.append("<b>" + _("Calls") + "</b>\n" + ("\n".join(lines) or _("No calls yet.")))
    parts.append(
        _(
            "To add a call, send /calls add with a line for each field (times are Finnish "
            "time; a day without a time opens at 0.00 and closes at 23.59):"
        )
        + "\n"
        + _form_example(context)
    )
    parts.append(
        _(
            "To change a call, send /calls edit and its number with the lines to change, "
            "e.g. /calls edit 3 and on the next line closes: 2027-04-30 16:15. To close a call "
            "early, send /calls close and its number."
        )
    )
    await send(update, context, "\n\n".join(parts))


async def _send_problems(update: Update, context: BotContext, problems: list[Problem]) -> None:
    _ = context.gettext
    known = list(context.services.content.subthemes)
    lines = "\n".join(call_text.problem_text(p, context.lang, known) for p in problems)
    await send(update, context, _("Nothing was saved:") + "\n" + lines)


async def _add_call(update: Update, context: BotContext, text: str) -> None:
    form, problems = call_text.read_form(text, CALL_FIELDS)
    fields, more = call_text.call_fields(form, context.services.content.subthemes)
    if problems or fields is None:
        await _send_problems(update, context, problems + more)
        return
    call_id = await calls.add(context.db, fields)
    _wake_sender(context, calls_changed=True)
    await _saved(update, context, call_id, context.gettext("Call #{id} saved:", id=call_id))


async def _edit_call(update: Update, context: BotContext, call: Call, text: str) -> None:
    form, problems = call_text.read_form(text, CALL_FIELDS)
    if not form and not problems:
        problems = [Problem("missing", ", ".join(CALL_FIELDS))]
    fields, more = call_text.call_fields(form, context.services.content.subthemes, call)
    if problems or fields is None:
        await _send_problems(update, context, problems + more)
        return
    await calls.update(context.db, call.id, fields)
    _wake_sender(context, calls_changed=True)
    await _saved(update, context, call.id, context.gettext("Call #{id} changed:", id=call.id))


async def _saved(update: Update, context: BotContext, call_id: int, head: str) -> None:
    _ = context.gettext
    call = await calls.get(context.db, call_id)
    assert call is not None
    summary = call_text.call_summary(call, _now(), context.lang, _subtheme_names(context))
    note = _(
        "Subscribers are not told by themselves: the button below prepares an announcement "
        "of this call for you to check and send. Reminders before it closes go out by "
        "themselves."
    )
    await send(
        update,
        context,
        f"{head}\n\n{summary}\n\n{note}",
        [[(_("📣 Announce this call"), button_data(PREFIX, "ann", call_id))]],
    )


async def _ask_close(update: Update, context: BotContext, call: Call) -> None:
    _ = context.gettext
    if call.closed_at is not None:
        await send(update, context, _("Call #{id} is closed already.", id=call.id))
        return
    await send(
        update,
        context,
        _(
            "Close call #{id} ({title}) now? It is then no longer shown as open, and no more "
            "reminders are sent for it.",
            id=call.id,
            title=call.title[context.lang],
        ),
        [
            [
                (_("Yes, close it"), button_data(PREFIX, "close", call.id)),
                (_("No"), button_data(PREFIX, "keep")),
            ]
        ],
    )


# -- coordinators: /announce --------------------------------------------------------------------


async def announce(update: Update, context: BotContext) -> None:
    """/announce <text> · /announce (usage) · /announce status"""
    if not await is_coordinator(context):
        await _refuse(update, context)
        return
    _ = context.gettext
    text = _after_command(update, html=True)
    if text.strip().lower() == "status":
        await _status(update, context)
        return
    if not text.strip():
        example = escape("/announce\nfi: …\nsv: …\nen: …")
        await send(
            update,
            context,
            _(
                "To send call news to the {count} subscribers, send /announce followed by the "
                "text: one text for everyone, or a text for each language:",
                count=await calls.subscriber_count(context.db),
            )
            + f"\n<pre>{example}</pre>\n"
            + _(
                "You see a preview before anything is sent. /announce status shows how the "
                "latest ones went."
            ),
        )
        return
    bodies, problems = call_text.announcement_texts(text)
    if bodies is not None and any(check_html(body) for body in bodies.values()):
        # Formatting cut by a language's line (bold over "sv:"): the text without it.
        bodies = {lang: escape(html_to_text(body)) for lang, body in bodies.items()}
    if bodies is None:
        await _send_problems(update, context, problems)
        return
    html = {lang: call_text.announcement_html(body, lang) for lang, body in bodies.items()}
    await _preview(update, context, html)


async def _preview(update: Update, context: BotContext, html: dict[str, str]) -> None:
    _ = context.gettext
    problems = [Problem("too_long", lang) for lang in call_text.too_long(html)]
    if problems:
        await _send_problems(update, context, problems)
        return
    assert context.user is not None
    announcement_id = await outbox.create(context.db, html, context.user.id)
    await send(
        update,
        context,
        _("Preview: subscribers get one of these, in their language, exactly as shown below."),
    )
    for lang in ANNOUNCE_KEYS:
        await send(update, context, html[lang])
    count = await calls.subscriber_count(context.db)
    await send(
        update,
        context,
        _("Send this to {count} subscribers?", count=count),
        [
            [
                (_("📣 Send"), button_data(PREFIX, "send", announcement_id)),
                (_("✖️ Cancel"), button_data(PREFIX, "drop", announcement_id)),
            ]
        ],
    )


async def _status(update: Update, context: BotContext) -> None:
    _ = context.gettext
    lines = []
    for sent in await outbox.recent(context.db):
        progress = await outbox.progress(context.db, sent.id)
        kind = _("announcement") if sent.kind == "announcement" else _("reminder")
        state = _("done") if sent.status == "done" else _("sending")
        lines.append(
            _(
                "#{id} {kind}, {when} ({state}): delivered {sent}, failed {failed}, blocked "
                "{blocked}, uncertain {uncertain}, waiting {waiting}; of {total}.",
                id=sent.id,
                kind=kind,
                when=i18n.format_datetime(sent.queued_at or sent.created_at, context.lang),
                state=state,
                sent=progress["sent"],
                failed=progress["failed"],
                blocked=progress["blocked"],
                uncertain=progress["uncertain"],
                waiting=progress.waiting,
                total=progress.total,
            )
        )
    await send(update, context, "\n".join(lines) or _("Nothing has been sent yet."))


# -- buttons ------------------------------------------------------------------------------------


async def button(update: Update, context: BotContext) -> None:
    """cn:on · cn:off · cn:send:ID · cn:drop:ID · cn:ann:CALL · cn:close:CALL · cn:keep"""
    parts = button_data_parts(update)
    action, args = (parts[1], parts[2:]) if len(parts) > 1 else ("", [])
    if action == "on" and not args:
        await subscribe(update, context)
        return
    if action == "off" and not args:
        await unsubscribe(update, context)
        return
    if action not in ("send", "drop", "ann", "close", "keep"):
        await stale_button(update, context)
        return
    if not await is_coordinator(context):
        await _refuse(update, context)
        return
    number = int(args[0]) if len(args) == 1 and args[0].isdigit() else None
    if action == "keep" and not args:
        await show(update, context, context.gettext("Nothing was changed."))
    elif number is None:
        await stale_button(update, context)
    elif action == "send":
        await _confirm(update, context, number)
    elif action == "drop":
        dropped = await outbox.drop(context.db, number)
        await show(
            update,
            context,
            context.gettext("Cancelled: nothing was sent.")
            if dropped
            else context.gettext("This announcement was sent already; it cannot be cancelled."),
        )
    elif action == "ann":
        await _announce_call(update, context, number)
    else:
        await _close(update, context, number)


async def _confirm(update: Update, context: BotContext, announcement_id: int) -> None:
    _ = context.gettext
    count = await outbox.queue(context.db, announcement_id)
    if count is None:
        await answer_button(update, _("This announcement was sent or cancelled already."), True)
        return
    _wake_sender(context)
    await show(
        update,
        context,
        _(
            "📣 Sending to {count} subscribers. /announce status shows the progress, and I "
            "send you a report when it is done.",
            count=count,
        ),
    )


async def _announce_call(update: Update, context: BotContext, call_id: int) -> None:
    call = await calls.get(context.db, call_id)
    if call is None:
        await stale_button(update, context)
        return
    await answer_button(update)
    now = _now()
    html = {}
    for lang in ANNOUNCE_KEYS:
        names = {
            id_: subtheme.short[lang]
            for id_, subtheme in context.services.content.subthemes.items()
        }
        html[lang] = call_text.announcement_html(
            call_text.call_summary(call, now, lang, names), lang
        )
    await _preview(update, context, html)


async def _close(update: Update, context: BotContext, call_id: int) -> None:
    _ = context.gettext
    if await calls.close(context.db, call_id):
        await show(update, context, _("Call #{id} is closed.", id=call_id))
    else:
        await show(update, context, _("Call #{id} is closed already.", id=call_id))


def handlers() -> Handlers:
    return [
        CommandHandler("subscribe", subscribe, filters=PRIVATE),
        CommandHandler("unsubscribe", unsubscribe, filters=PRIVATE),
        CommandHandler("calls", calls_command, filters=PRIVATE),
        CommandHandler("announce", announce, filters=PRIVATE),
        CallbackQueryHandler(news, pattern=r"^menu:news$"),
        CallbackQueryHandler(button, pattern=rf"^{PREFIX}:"),
    ]
