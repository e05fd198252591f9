"""Reminders: a draft untouched for BOT_REMINDER_DAYS days gets one message to its owner, with
"Continue" and "Don't remind me". Scheduled in the database (`storage.reminders`); a task of
ours, started and stopped with the Application like the daily housekeeping (bot/app.py), looks
for due drafts every few minutes.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from telegram import Update
from telegram.ext import CallbackQueryHandler

from bot.channels import notices
from bot.channels.context import BotContext, Services
from bot.channels.replies import Keyboard
from bot.rendering import escape
from handlers.common import Handlers, answer_button, button_data, button_data_parts, show
from storage import drafts, reminders

PREFIX = "rem"  # callback data of this module's buttons

log = logging.getLogger(__name__)

CHECK_EVERY = 300  # seconds: a reminder is about days, a few minutes late is on time
BATCH = 100  # drafts claimed per transaction


async def send_due(bot: Any, services: Services) -> int:
    """Send every reminder due now; how many went out. Each batch is claimed (committed) before
    it is sent: a reminder is never sent twice, and one lost only if the process dies between
    the claim and the send."""
    days = services.settings.reminder_days
    before = (datetime.now(UTC) - timedelta(days=days)).isoformat(timespec="seconds")
    sent = 0
    while True:
        due = await reminders.claim_due(services.db, before, BATCH)
        if not due:
            return sent
        names = await drafts.answers_of(services.db, [draft for draft, _owner in due])
        for draft_id, owner in due:
            if await notices.notify(
                bot,
                services.db,
                services.settings,
                owner,
                _compose(names[draft_id], draft_id, days),
                _buttons(draft_id),
            ):
                sent += 1
        if len(due) < BATCH:
            return sent


def _compose(answers: dict[str, str], draft_id: int, days: int) -> notices.Compose:
    def compose(_: Callable[[str], str]) -> str:
        name = answers.get(drafts.TITLE) or _("Untitled draft {number}").format(number=draft_id)
        return _(
            "📝 Your draft <b>{name}</b> has not been edited for {days} days. Everything you "
            "wrote is saved: continue where you left off?"
        ).format(name=escape(name), days=days)

    return compose


def _buttons(draft_id: int) -> Callable[[Callable[[str], str]], Keyboard]:
    def buttons(_: Callable[[str], str]) -> Keyboard:
        return [
            [(_("▶️ Continue"), button_data("ol", "go", draft_id))],
            [(_("🔕 Don't remind me"), button_data(PREFIX, "off", draft_id))],
        ]

    return buttons


async def every_few_minutes(
    bot: Any, services: Services, checked: asyncio.Event, stopping: asyncio.Event
) -> None:
    """The reminders' task: a pass now, then every CHECK_EVERY seconds, until `stopping` is set.
    A pass is never cut short (a claimed reminder would be lost): the Application's stop waits
    for it. `checked` is set after each pass (a test restarting the bot waits for it)."""
    while not stopping.is_set():
        try:
            count = await send_due(bot, services)
            if count:
                log.info("reminders: sent %d", count)
        except Exception:  # a failed pass must not stop the bot; the next one tries again
            log.exception("sending reminders failed")
        checked.set()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stopping.wait(), CHECK_EVERY)


async def button(update: Update, context: BotContext) -> None:
    """rem:off:<draft>: no more reminders for this draft."""
    _ = context.gettext
    assert context.user is not None
    parts = button_data_parts(update)
    valid = len(parts) == 3 and parts[1] == "off" and parts[2].isdigit()
    if not valid or not await reminders.stop(context.db, int(parts[2]), context.user.id):
        await answer_button(update, _("This button is no longer valid."), True)
        return
    await show(
        update,
        context,
        _("I will not remind you about this draft again. You find it in /mydrafts."),
        [[(_("📂 My drafts"), button_data("dr", "l"))]],
    )


def handlers() -> Handlers:
    return [CallbackQueryHandler(button, pattern=rf"^{PREFIX}:")]
