"""The reference for the load benchmark: a bot written the way python-telegram-bot's tutorial
(conversationbot.py, persistentconversationbot.py) does it. ConversationHandler with
PicklePersistence, default settings, eight free-text questions. Not part of the product.

    TELEGRAM_BOT_TOKEN=... TELEGRAM_API_BASE_URL=... REFERENCE_PICKLE=path python reference_bot.py
"""

from __future__ import annotations

import logging
import os

from telegram import Update
from telegram.ext import (
    Application,
    CommandHandler,
    ContextTypes,
    ConversationHandler,
    MessageHandler,
    PicklePersistence,
    filters,
)

logging.basicConfig(level=logging.WARNING)

QUESTIONS = [
    "What is the working title of your project?",
    "Which organisation applies?",
    "Who is the contact person?",
    "What is the contact e-mail?",
    "Who is the target group?",
    "What need does the project answer?",
    "What are the objectives?",
    "What will the project do?",
]


async def start(update: Update, context: ContextTypes.DEFAULT_TYPE) -> int:
    await update.message.reply_text(QUESTIONS[0])
    return 0


def make_step(index: int):
    async def answer(update: Update, context: ContextTypes.DEFAULT_TYPE) -> int:
        context.user_data[f"q{index}"] = update.message.text
        if index + 1 < len(QUESTIONS):
            await update.message.reply_text(QUESTIONS[index + 1])
            return index + 1
        await update.message.reply_text("Thank you! Your answers are saved.")
        return ConversationHandler.END

    return answer


async def cancel(update: Update, context: ContextTypes.DEFAULT_TYPE) -> int:
    await update.message.reply_text("Cancelled.")
    return ConversationHandler.END


def main() -> None:
    persistence = PicklePersistence(filepath=os.environ["REFERENCE_PICKLE"])
    application = (
        Application.builder()
        .token(os.environ["TELEGRAM_BOT_TOKEN"])
        .base_url(os.environ["TELEGRAM_API_BASE_URL"])
        .persistence(persistence)
        .build()
    )
    conversation = ConversationHandler(
        entry_points=[CommandHandler("start", start)],
        states={
            n: [MessageHandler(filters.TEXT & ~filters.COMMAND, make_step(n))]
            for n in range(len(QUESTIONS))
        },
        fallbacks=[CommandHandler("cancel", cancel)],
        name="questions",
        persistent=True,
    )
    application.add_handler(conversation)
    application.run_polling(allowed_updates=Update.ALL_TYPES)


if __name__ == "__main__":
    main()
