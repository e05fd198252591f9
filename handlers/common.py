"""Shared by all handlers: loading the user, callback data, sending and editing messages."""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Awaitable, Coroutine
from typing import Any

from telegram import Update
from telegram.error import BadRequest
from telegram.ext import ApplicationHandlerStop, BaseHandler, filters

from bot import i18n
from bot.channels.context import BotContext
from bot.channels.replies import Keyboard, edit_html, send_html
from bot.channels.updates import answer_now
from bot.outline import clean_text
from bot.rendering import CALLBACK_DATA_LIMIT, split_html
from storage import users
from storage.db import handling

# Each handler module lists its handlers (`handlers()`) and bot/app.py composes them in order.
Handlers = list[BaseHandler[Any, Any, Any]]
# Commands are handled in private chats only (handlers.gate stops the rest before they get here).
PRIVATE = filters.ChatType.PRIVATE

log = logging.getLogger(__name__)


async def load_user(update: Update, context: BotContext) -> None:
    """Runs first for every private update: record the user and settle their language."""
    handling.set(None)  # until this update's user is known (tests deliver many in one task)
    person = update.effective_user
    if person is None or person.is_bot:
        return
    context.user = await users.touch(context.db, person.id, person.language_code, update.update_id)
    if context.user.handled_before:
        # Telegram delivered it again: the bot stopped after committing its effects but before
        # confirming it. Applying it twice would, say, save an answer as the next step's too.
        # A press is still answered once this ends (bot.channels.updates), as every press is.
        log.info("update %d was handled before the restart: skipped", update.update_id)
        raise ApplicationHandlerStop
    handling.set((person.id, update.update_id))
    context.lang = _language(context, context.user.language, person.language_code)


async def recall_user(update: Update, context: BotContext) -> None:
    """For a fresh context (error handlers get one): the user's language, without writing."""
    person = update.effective_user
    if person is None:
        return
    context.user = await users.get(context.db, person.id)
    chosen = context.user.language if context.user else None
    context.lang = _language(context, chosen, person.language_code)


def typed_text(update: Update) -> str:
    """What the user typed, as every handler should read it: NFC, without NULs or other control
    characters (a NUL in a draft's name made its DOCX impossible to build), trimmed."""
    message = update.effective_message
    return clean_text(message.text or "") if message is not None else ""


def _language(context: BotContext, chosen: str | None, telegram_code: str | None) -> str:
    return chosen or i18n.negotiate(telegram_code, context.services.settings.default_language)


# -- callback data: namespaced ASCII, built and parsed only here -------------------------------


def button_data(*parts: str | int) -> str:
    """What an inline button of ours carries (Telegram's `callback_data`): the parts joined by
    ":", a module's prefix first."""
    data = ":".join(str(part) for part in parts)
    if not data.isascii() or len(data.encode()) > CALLBACK_DATA_LIMIT:
        raise ValueError(f"callback data must be ASCII of at most 64 bytes: {data!r}")
    return data


# What any button of ours can carry: ASCII words joined by ":", numbers that fit SQLite's
# integers. Checked once for every press, before any handler reads the parts.
_CALLBACK_PART = re.compile(r"[A-Za-z0-9_.*-]*")
_LONGEST_ID = 18  # digits: below 2**63, so int(part) is always a valid SQLite integer


def well_formed(data: str | None) -> bool:
    if not data or not data.isascii() or len(data.encode()) > CALLBACK_DATA_LIMIT:
        return False
    return all(
        _CALLBACK_PART.fullmatch(part) and not (part.isdigit() and len(part) > _LONGEST_ID)
        for part in data.split(":")
    )


def button_data_parts(update: Update) -> list[str]:
    query = update.callback_query
    return (query.data or "").split(":") if query else []


def shorten(text: str, limit: int = 60) -> str:
    """Cut a button label (Telegram shows about 60 characters) or a preview, marking the cut."""
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


# -- sending ---------------------------------------------------------------------------------


async def send(
    update: Update, context: BotContext, html: str, buttons: Keyboard | None = None
) -> None:
    """Send HTML to the user's chat, split at Telegram's limit; buttons go on the last part."""
    chat = update.effective_chat
    assert chat is not None
    parts = split_html(html)
    for index, part in enumerate(parts):
        last = index == len(parts) - 1
        await send_html(context.bot, chat.id, part, buttons if last else None)


async def show(
    update: Update, context: BotContext, html: str, buttons: Keyboard | None = None
) -> None:
    """After a button press, replace that message in place; otherwise send a new one."""
    query = update.callback_query
    parts = split_html(html)
    if query is None or query.message is None or len(parts) > 1:
        await send(update, context, html, buttons)
        return
    try:
        await edit_html(
            context.bot, query.message.chat.id, query.message.message_id, parts[0], buttons
        )
    except BadRequest as error:
        if "not modified" in error.message:
            return  # the same tap twice: the message already shows this
        if "not found" not in error.message and "can't be edited" not in error.message:
            raise
        await send(update, context, html, buttons)


async def reply_while_storing(
    reply: Awaitable[Any], bookkeeping: Coroutine[Any, Any, None], failure: str
) -> None:
    """Send `reply` while `bookkeeping` (a log row, a notice noted as seen) is stored; return
    once both are done. A failed bookkeeping is logged as `failure`, not shown: the user has
    their reply, and nothing they typed was lost."""
    storing = asyncio.create_task(bookkeeping)
    try:
        await reply
    finally:
        try:
            await storing
        except Exception:
            log.exception(failure)


async def answer_button(update: Update, text: str | None = None, alert: bool = False) -> None:
    """Answer a button press now: with a notice or an alert, or before slow work. A press not
    answered by its handler is answered after it (`bot.channels.updates`), once the reply has
    gone."""
    if update.callback_query is not None:
        await answer_now(update.callback_query, text, alert)


async def stale_button(update: Update, context: BotContext) -> None:
    """A button whose data we don't recognise: from an old message, another flow, or forged."""
    await answer_button(
        update,
        context.gettext("This button is no longer valid. Send /menu to start again."),
        alert=True,
    )
