"""Everything unexpected: group chats, unknown commands, stickers and photos, stale or forged
buttons, and errors in our own code. Each gets a clear localized reply and changes nothing."""

from __future__ import annotations

import logging
from typing import Any

from telegram import Message, Update
from telegram.constants import ChatType
from telegram.ext import ApplicationHandlerStop

from bot import i18n
from bot.channels.context import BotContext
from bot.channels.replies import send_html
from handlers.common import answer_button, recall_user, send, typed_text, well_formed
from handlers.flows import current_flow
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


async def unknown_command(update: Update, context: BotContext) -> None:
    command = (typed_text(update).split() or [""])[0][:40]
    await send(
        update,
        context,
        context.gettext(
            "I don't know the command {command}. Send /help to see what I can do.",
            command=command,
        ),
    )
    await reprompt(update, context)


async def unsupported_content(update: Update, context: BotContext) -> None:
    await send(
        update,
        context,
        context.gettext(
            "I can only read text messages and button presses. Please type your answer or "
            "use the buttons."
        ),
    )
    await reprompt(update, context)


async def reprompt(update: Update, context: BotContext) -> None:
    """Ask the current step again, so a user who went astray sees where they are."""
    flow = await current_flow(context)
    if flow is not None:
        await flow.reprompt(update, context)


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


async def stale_button(update: Update, context: BotContext) -> None:
    """A button whose data we don't recognise: from an old message, another flow, or forged."""
    await answer_button(
        update,
        context.gettext("This button is no longer valid. Send /menu to start again."),
        alert=True,
    )


async def on_error(update: object, context: BotContext) -> None:
    update_id = update.update_id if isinstance(update, Update) else None
    # The exception, not the update: update objects carry the user's message text.
    log.error("error while handling update %s", update_id, exc_info=context.error)
    if isinstance(update, Update) and update.effective_chat is not None:
        try:
            await recall_user(update, context)
        except Exception:  # the database may be what failed; the default language will do
            log.exception("could not load the user for update %s", update_id)
        try:
            await send(
                update,
                context,
                context.gettext(
                    "Sorry, something went wrong on my side. What you saved earlier is safe. "
                    "Please try again, or send /menu."
                ),
            )
        except Exception:
            log.exception("could not tell the user about the error in update %s", update_id)
    # The handler groups after the one that failed would run without what it should have done:
    # after a failed load_user, a greeting went out without the user, the privacy notice or
    # their language. The user has the apology; the update ends here.
    raise ApplicationHandlerStop
