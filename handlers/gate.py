"""What may reach the handlers at all: updates outside private chats (only `/start`, answered
with a pointer to a private chat), presses carrying data no button of ours carries, and one user's
flood (told once to slow down). Registered in the groups before the handlers (bot/app.py)."""

from __future__ import annotations

import logging
from typing import Any

from telegram import Message, Update
from telegram.constants import ChatType
from telegram.ext import ApplicationHandlerStop

from bot import i18n
from bot.channels.context import BotContext
from bot.channels.replies import send_html
from handlers.common import stale_button, well_formed
from storage import users

log = logging.getLogger(__name__)


async def outside_private_chat(update: Update, context: BotContext) -> None:
    """Outside private chats (groups, channels, updates without a chat) nothing but `/start`
    is handled, and that only with a pointer to a private chat: no user is recorded, no draft,
    answer or notice of anyone's can reach a group. Whatever happens here, nothing after it runs."""
    chat = update.effective_chat
    if chat is not None and chat.type == ChatType.PRIVATE:
        return
    try:
        if chat is not None and _is_our_start(update.effective_message, context.bot.username):
            await _point_to_private_chat(update, context)
    except Exception:  # the group may have removed the bot; nothing else runs either way
        log.exception("could not answer /start outside a private chat")
    raise ApplicationHandlerStop


def _is_our_start(message: Message | None, username: str) -> bool:
    """`/start` or `/start@<our name>` as the first word; text such as "@someone" is not."""
    words = (message.text or "").split() if message else []
    if not words:
        return False
    command, _, addressee = words[0].partition("@")
    return command == "/start" and addressee.lower() in ("", username.lower())


async def _point_to_private_chat(update: Update, context: BotContext) -> None:
    message = update.effective_message
    assert message is not None
    person = update.effective_user
    context.lang = i18n.negotiate(
        person.language_code if person else None, context.services.settings.default_language
    )
    link = f"https://t.me/{context.bot.username}?start=group"
    await message.reply_text(
        context.gettext(
            "I work in private chats only, so that your drafts stay yours. "
            '<a href="{link}">Open a private chat with me</a>.',
            link=link,
        )
    )


async def refuse_forged_button(update: Update, context: BotContext) -> None:
    """Before any handler reads a press: data no button of ours carries (non-ASCII digits,
    numbers beyond SQLite's integers, oversized) is answered as stale and goes no further."""
    query = update.callback_query
    if query is not None and not well_formed(query.data):
        await stale_button(update, context)
        raise ApplicationHandlerStop


async def slow_down(application: Any, update: Update) -> None:
    """Once per flood (`bot.channels.updates.FloodGate`), to a user whose updates are being
    dropped."""
    services = application.bot_data["services"]
    person = update.effective_user
    if person is None:
        return
    known = await users.get(services.db, person.id)
    language = (known.language if known else None) or i18n.negotiate(
        person.language_code, services.settings.default_language
    )
    text = i18n.gettext(
        language, "You are sending messages faster than I can answer. Please wait a moment."
    )
    if update.callback_query is not None:
        await update.callback_query.answer(text, show_alert=True)
    elif update.effective_chat is not None:
        await send_html(application.bot, update.effective_chat.id, text)
