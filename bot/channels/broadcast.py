"""The sender of announcements and deadline reminders: works through the outbox in SQLite.

One task of ours, started with the Application like the daily housekeeping (bot/app.py). What
was sent is in the database, never in this process's memory, so the task can be killed at any
moment: the next start finds the rows still pending and goes on (storage/outbox.py says what
happens to the one row in flight).

The broadcast takes at most `BOT_BROADCAST_SHARE` percent of `BOT_MAX_MESSAGES_PER_SECOND`, and
its messages also pass the application's rate limiter, so the replies of users who are chatting
meanwhile keep the rest. It sends one message at a time: a row is claimed (committed) just before
its message goes out, and only one can be in flight when the process dies. Its errors are its
own: a 429 pauses the whole broadcast for retry_after (Telegram says we go too fast), a 403 (the
user blocked the bot) unsubscribes the user, a refused request fails the row at once, and network
and server errors are tried again with growing pauses, then recorded as failed.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import warnings
from datetime import UTC, datetime, timedelta
from typing import Any

from telegram.error import BadRequest, Forbidden, NetworkError, RetryAfter, TelegramError
from telegram.ext import Application
from telegram.warnings import PTBDeprecationWarning

from bot import calls as call_text
from bot import i18n
from bot.channels.context import Services
from bot.channels.replies import SEND_ONCE
from storage import calls, outbox, users
from storage.outbox import Claimed, Outcome

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 5  # network or server errors; then the row is recorded as failed
BACKOFF_SECONDS = 5.0  # before the 2nd attempt; doubled for each further one
IDLE_SECONDS = 5.0  # how often an idle sender looks for work the command line queued
REMINDER_CHECK_SECONDS = 60.0
CATCH_UP_SECONDS = 1.0


class Broadcaster:
    def __init__(self, app: Application[Any, Any, Any, Any, Any, Any]) -> None:
        self.app = app
        self.services: Services = app.bot_data["services"]
        settings = self.services.settings
        rate = settings.max_messages_per_second * settings.broadcast_share / 100
        self.interval = 1 / rate if rate > 0 else 0.0
        self.wake = asyncio.Event()
        self._next_send = 0.0
        self._reminders_checked = float("-inf")

    def start(self) -> asyncio.Task[None]:
        return asyncio.create_task(self.run(), name="broadcast")

    def poke(self, *, calls_changed: bool = False) -> None:
        """Look for work now: an announcement was queued, or a call changed (its reminders)."""
        if calls_changed:
            self._reminders_checked = float("-inf")
        self.wake.set()

    async def run(self) -> None:
        db = self.services.db
        recovered = False
        while True:
            self.wake.clear()  # before the round: a wake-up during it means another round
            try:
                if not recovered:
                    uncertain = await outbox.recover(db)
                    recovered = True
                    if uncertain:
                        log.warning(
                            "broadcast: %d message(s) in flight at the last stop", uncertain
                        )
                await self._reminders()
                await self._send_due()
                await self._report()
                wait = IDLE_SECONDS
                if (retry := await outbox.next_retry(db)) is not None:
                    due = datetime.fromisoformat(retry) - datetime.now(UTC)
                    wait = min(wait, max(due.total_seconds(), 0.05))
            except Exception:  # one bad round must not end the sender; the rows stay queued
                log.exception("broadcast round failed")
                wait = IDLE_SECONDS
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.wake.wait(), wait)

    async def _reminders(self) -> None:
        loop = asyncio.get_running_loop()
        if loop.time() - self._reminders_checked < REMINDER_CHECK_SECONDS:
            return
        self._reminders_checked = loop.time()
        db, days = self.services.db, self.services.settings.deadline_reminder_days
        if not days:
            return
        now = datetime.now(UTC)
        for call in await calls.current(db, now):
            due = call_text.due_reminder(call, now, days)
            if due is None or due in await outbox.reminders_made(db, call.id):
                continue
            html = {lang: call_text.reminder_html(call, now, lang) for lang in call.title}
            if await outbox.add_reminder(db, call.id, due, html, now) is not None:
                log.info("reminder queued: call %d, %d days before closing", call.id, due)

    async def _send_due(self) -> None:
        if not await outbox.has_work(self.services.db, datetime.now(UTC)):
            return
        outcome: Outcome | None = None
        # No catch-up credit for the time the sender was idle.
        self._next_send = max(self._next_send, asyncio.get_running_loop().time())
        while True:
            claimed = await outbox.step(self.services.db, outcome, datetime.now(UTC))
            if claimed is None:
                return
            await self._pace()
            outcome = await self._send(claimed)
            if outcome.status == "pending" and not outcome.counts_attempt:  # a 429
                pause = (outcome.retry_at or datetime.now(UTC)) - datetime.now(UTC)
                self._next_send = asyncio.get_running_loop().time() + pause.total_seconds()

    async def _pace(self) -> None:
        """One message per `interval` on a schedule: a send that took longer (a slow commit, a
        busy limiter) is made up by the next ones going at once, for at most CATCH_UP seconds
        of lag, so the average stays at the share without a burst above it for longer."""
        loop = asyncio.get_running_loop()
        now = loop.time()
        if self._next_send > now:
            await asyncio.sleep(self._next_send - now)
        self._next_send = max(self._next_send, now - CATCH_UP_SECONDS) + self.interval

    def _language(self, claimed: Claimed) -> str:
        default = self.services.settings.default_language
        return claimed.language or i18n.negotiate(claimed.telegram_language, default)

    async def _send(self, claimed: Claimed) -> Outcome:
        html = claimed.html[self._language(claimed)]
        try:
            # Without a limiter (BOT_MAX_MESSAGES_PER_SECOND=0) nothing retries anyway.
            once = {"rate_limit_args": SEND_ONCE} if self.app.bot.rate_limiter else {}
            await self.app.bot.send_message(claimed.user_id, html, **once)
        except RetryAfter as error:
            later = datetime.now(UTC) + timedelta(seconds=_seconds(error) + 0.1)
            return Outcome(claimed.id, "pending", "429", later, counts_attempt=False)
        except Forbidden as error:
            return Outcome(claimed.id, "blocked", error.message[:200], user_id=claimed.user_id)
        except BadRequest as error:  # e.g. "chat not found": sending again will not help
            return Outcome(claimed.id, "failed", error.message[:200])
        except (NetworkError, TelegramError) as error:
            attempts = claimed.attempts + 1
            if attempts >= MAX_ATTEMPTS:
                return Outcome(claimed.id, "failed", str(error)[:200])
            later = datetime.now(UTC) + timedelta(seconds=BACKOFF_SECONDS * 2 ** (attempts - 1))
            return Outcome(claimed.id, "pending", str(error)[:200], later)
        return Outcome(claimed.id, "sent")

    async def _report(self) -> None:
        """The final report to the coordinator who sent the announcement, in their language."""
        db = self.services.db
        for done in await outbox.to_report(db):
            progress = await outbox.progress(db, done.id)
            log.info(
                "broadcast %d done: %d sent, %d failed, %d blocked, %d uncertain",
                done.id, progress["sent"], progress["failed"], progress["blocked"],
                progress["uncertain"],
            )  # fmt: skip
            if done.created_by is not None:
                user = await users.get(db, done.created_by)
                language = (user.language if user else None) or i18n.negotiate(
                    user.telegram_language if user else None,
                    self.services.settings.default_language,
                )
                text = report_html(done.id, progress, language)
                try:
                    await self.app.bot.send_message(done.created_by, text)
                except TelegramError as error:
                    log.warning(
                        "broadcast %d: the final report was not delivered: %s", done.id, error
                    )
            await outbox.mark_reported(db, done.id)


def report_html(announcement_id: int, progress: call_text.Progress, language: str) -> str:
    _ = call_text.translator(language)
    text = _(
        "📣 Announcement #{id} is sent. Delivered: {sent}; failed: {failed}; blocked the bot "
        "(unsubscribed): {blocked}; of {total} subscribers.",
        id=announcement_id,
        sent=progress["sent"],
        failed=progress["failed"],
        blocked=progress["blocked"],
        total=progress.total,
    )
    if progress["uncertain"]:
        text += "\n" + _(
            "Uncertain (the bot stopped while sending, not sent again): {count}.",
            count=progress["uncertain"],
        )
    return text


def _seconds(error: RetryAfter) -> float:
    with warnings.catch_warnings():  # its type changes to timedelta in a later major version
        warnings.simplefilter("ignore", PTBDeprecationWarning)
        retry_after: Any = error.retry_after
    return retry_after.total_seconds() if hasattr(retry_after, "total_seconds") else retry_after
