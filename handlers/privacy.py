"""Privacy: the notice at first contact, /privacy, /mydata and /deletedata."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from typing import Any

from telegram import Update
from telegram.ext import CallbackQueryHandler, CommandHandler

from bot.channels.context import BotContext
from bot.documents import personal_data_files
from bot.rendering import DOCUMENT_LIMIT, render
from handlers import partners
from handlers.common import (
    PRIVATE,
    Handlers,
    answer_button,
    button_data,
    button_data_parts,
    reply_while_storing,
    send,
    show,
)
from storage import drafts, privacy, users
from storage import partners as partners_store
from storage.web_visitors import is_web_user

PREFIX = "pv"  # callback data of this module's buttons


def _controller(context: BotContext) -> str:
    settings = context.services.settings
    parts = [p for p in (settings.controller_name, settings.controller_contact) if p]
    return ", ".join(parts) or context.gettext("not configured: ask whoever runs this bot")


def _retention(context: BotContext) -> str:
    days = context.services.settings.retention_days
    if days:
        return context.gettext(
            "Unsubmitted drafts and your profile are deleted after {days} days without use, "
            "and each question you typed {days} days after you asked it.",
            days=days,
        )
    return context.gettext("Your data is kept until you delete it with /deletedata.")


def _submitted(context: BotContext) -> str:
    if context.services.settings.keep_submitted:
        return context.gettext(
            "Submitted outlines are kept for the programme even if you delete your data; your "
            "name, e-mail and phone are then removed from them."
        )
    return context.gettext("Submitted outlines are deleted too when you delete your data.")


def short_notice(context: BotContext) -> str:
    return render(
        "privacy_short.html",
        retention=_retention(context),
        controller=_controller(context),
        _=context.gettext,
    )


async def first_contact(update: Update, context: BotContext) -> None:
    """Runs before every handler; shows the short notice once, the first time we meet.

    A Telegram user's first message is /start (the START button); its greeting carries the
    notice itself. Anything else first (a deep link, say) gets the notice as a message of its own.
    """
    user = context.user
    if user is None or user.privacy_seen_at is not None or update.effective_chat is None:
        return
    message = update.effective_message
    if message is not None and (message.text or "").strip() == "/start":
        return
    await noting_seen(context, send(update, context, short_notice(context)))


async def noting_seen(context: BotContext, showing: Awaitable[Any]) -> None:
    """Show the notice (`showing`) while noting that it was shown. The note holds nothing the
    user typed, so the reply need not wait for it; if it is lost, the notice comes again."""
    assert context.user is not None
    await reply_while_storing(
        showing,
        users.mark_privacy_seen(context.db, context.user.id),
        "the privacy notice was shown but not noted as seen",
    )


async def notice(update: Update, context: BotContext) -> None:
    html = render(
        "privacy_full.html",
        controller=_controller(context),
        retention=_retention(context),
        submitted=_submitted(context),
        web=context.user is not None and is_web_user(context.user.id),
        _=context.gettext,
    )
    await send(update, context, html, [[(context.gettext("⬅️ Menu"), button_data("menu", "main"))]])


async def my_data(update: Update, context: BotContext) -> None:
    assert context.user is not None and update.effective_chat is not None
    data = await privacy.everything_about(context.db, context.user.id)
    files = await asyncio.to_thread(personal_data_files, data, DOCUMENT_LIMIT)
    for number, (filename, document) in enumerate(files, 1):
        caption = (
            context.gettext("Everything stored about you, as JSON.")
            if len(files) == 1
            else context.gettext(
                "Everything stored about you, as JSON: part {number} of {count}.",
                number=number,
                count=len(files),
            )
        )
        await context.bot.send_document(
            update.effective_chat.id, document=document, filename=filename, caption=caption
        )


async def delete_data(update: Update, context: BotContext) -> None:
    _ = context.gettext
    assert context.user is not None
    await show(
        update,
        context,
        _(
            "Delete everything stored about you: your profile, drafts, checklist answers and "
            "feedback? This cannot be undone."
        )
        + "\n\n"
        + _submitted(context)
        + await _partners_note(context, context.user.id),
        [
            [(_("🗑 Yes, delete my data"), button_data(PREFIX, "del"))],
            [(_("↩️ No, keep it"), button_data(PREFIX, "keep"))],
        ],
    )


async def _partners_note(context: BotContext, user_id: int) -> str:
    """What deleting means for shared drafts, for someone who has any."""
    _ = context.gettext
    as_partner, partners_in_mine = await partners_store.involvement(context.db, user_id)
    note = ""
    if as_partner:
        note += "\n\n" + _(
            "You leave the drafts you are a partner in. What you wrote in them stays there, "
            "shown as written by a removed user."
        )
    if partners_in_mine:
        note += "\n\n" + _("Your partners lose access to your drafts, and they are told so.")
    return note


async def delete_button(update: Update, context: BotContext) -> None:
    _ = context.gettext
    action = button_data_parts(update)[1:]
    assert context.user is not None
    if action == ["del"]:
        # Whom to tell: the partners of the user's drafts, which go (or, kept, lose them).
        shared = await partners_store.shared_drafts_of_owner(context.db, context.user.id)
        names = await drafts.answers_of(context.db, sorted({draft for draft, _p in shared}))
        async with context.db.transaction() as conn:
            await privacy.delete_user(
                conn, context.user.id, keep_submitted=context.services.settings.keep_submitted
            )
        await context.db.checkpoint()
        await show(update, context, _("Your data was deleted. If you write again, I start afresh."))
        await partners.tell_owner_deleted_data(context, shared, names)
    elif action == ["keep"]:
        await show(update, context, _("Nothing was deleted."))
    else:
        await answer_button(update, _("This button is no longer valid."), True)


def handlers() -> Handlers:
    return [
        CommandHandler("privacy", notice, filters=PRIVATE),
        CommandHandler("mydata", my_data, filters=PRIVATE),
        CommandHandler("deletedata", delete_data, filters=PRIVATE),
        CallbackQueryHandler(delete_button, pattern=rf"^{PREFIX}:"),
    ]
