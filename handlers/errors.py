"""Everything unexpected: group chats, unknown commands, stickers and photos, stale or forged
buttons, and errors in our own code. Each gets a clear localized reply and changes nothing."""

from __future__ import annotations

import logging

from telegram import Update
from telegram.constants import ChatType
from telegram.ext import ApplicationHandlerStop

from bot import i18n
from bot.context import BotContext
from handlers.common import answer_button, recall_user, send
from handlers.flows import current_flow

log = logging.getLogger(__name__)


async def outside_private_chat(update: Update, context: BotContext) -> None:
    """In groups and channels the bot only points to a private chat, and only when started."""
    chat = update.effective_chat
    if chat is None or chat.type == ChatType.PRIVATE:
        return
    message = update.effective_message
    if message is not None and message.text and message.text.split("@")[0].split()[0] == "/start":
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
    raise ApplicationHandlerStop


async def unknown_command(update: Update, context: BotContext) -> None:
    message = update.effective_message
    command = (message.text or "").split()[0][:40] if message else ""
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
