"""Errors in our own code: logged for the operator (the update id, never what the user typed),
apologised for to the user, and the update ends there."""

from __future__ import annotations

import logging

from telegram import Update
from telegram.ext import ApplicationHandlerStop

from bot.channels.context import BotContext
from handlers.common import recall_user, send

log = logging.getLogger(__name__)


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
