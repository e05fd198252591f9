"""What no other handler took: unknown commands, stickers and photos, buttons we no longer
recognise. Each gets a clear localized reply, the current step is asked again, nothing changes."""

from __future__ import annotations

from telegram import Update
from telegram.ext import CallbackQueryHandler, MessageHandler, filters

from bot.channels.context import BotContext
from handlers.common import Handlers, send, stale_button, typed_text
from handlers.flows import current_flow, route_text


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


def handlers() -> Handlers:
    """Last in group 0. Commands first: a command is text too, and typed text goes to its flow
    (`handlers.flows.route_text`) before anything else a message can be."""
    message = filters.UpdateType.MESSAGE
    return [
        MessageHandler(message & filters.COMMAND, unknown_command),
        MessageHandler(message & filters.TEXT, route_text),
        MessageHandler(message, unsupported_content),
        CallbackQueryHandler(stale_button),
    ]
