"""How updates come in under load: ordering per user, floods, and presses nobody answered.

`PerUserUpdateProcessor` runs updates of different users concurrently but those of one user
strictly one at a time, in arrival order. The user's lock is taken *before* a global slot, so a
user who sends fifty messages at once waits on their own lock instead of holding fifty slots
that everyone else needs. Locks of users with nothing queued are dropped.

It also keeps one user's flood from reaching the handlers (`FloodGate`): a burst beyond what a
person types or taps is answered once with "please slow down", and that user's updates are then
dropped for a while. Without it, one user's burst of questions puts as many replies in the queue
of the overall rate limit, in front of everyone else's (what that cost other users, measured:
docs/performance.md, "Under load and faults").

Every button press must be answered exactly once, or the user's client keeps a spinner on the
button. Handlers answer only when they have something to say in the answer (or before slow work);
the processor answers every press nobody answered once its handling is over, so the reply the
user waits for is not held up by one more round trip to Telegram.

How replies go out is in `bot.channels.replies`; the HTTP client in `bot.channels.api_client`.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Coroutine
from contextvars import ContextVar
from typing import Any

from telegram import CallbackQuery, Update
from telegram.error import TelegramError
from telegram.ext import BaseUpdateProcessor

log = logging.getLogger(__name__)

# The base class's own semaphore must never be what limits us (see the module docstring).
_UNBOUNDED = 1_000_000


# Whether the button press being handled was answered. Handlers run inside the processor's own
# task context, so what they set here is what the processor reads afterwards.
_answered: ContextVar[bool] = ContextVar("button_answered", default=False)


async def answer_now(query: CallbackQuery, text: str | None = None, alert: bool = False) -> None:
    """Answer a button press now (with a notice or an alert, or before slow work)."""
    await query.answer(text, show_alert=alert)
    _answered.set(True)  # only once it went through: else the processor tries again at the end


async def _handle(update: object, coroutine: Awaitable[Any]) -> None:
    _answered.set(False)
    await coroutine
    query = update.callback_query if isinstance(update, Update) else None
    if query is not None and not _answered.get():
        try:
            await answer_now(query)
        except TelegramError as error:  # e.g. too old: the reply itself has been sent already
            log.warning("could not answer button press %s: %s", query.id, error)


class FloodGate:
    """Per-user token buckets: `burst` updates at once, then `rate` per second. A user who runs
    dry is told once (`notify`) and has everything dropped for `quiet` seconds, by which time
    their bucket has refilled. Idle users hold no memory here: a full bucket is forgotten."""

    def __init__(
        self,
        notify: Callable[[Update], Awaitable[None]] | None = None,
        *,
        burst: float = 30,
        rate: float = 1.0,
        quiet: float = 10.0,
    ) -> None:
        self.notify = notify
        self.burst, self.rate, self.quiet = burst, rate, quiet
        self._buckets: dict[int, tuple[float, float]] = {}  # user: (tokens, at loop time)
        self._quiet_until: dict[int, float] = {}
        self.dropped = 0

    def admits(self, key: int) -> bool | None:
        """True to handle the update, False to drop it, None to drop it and say why (once)."""
        now = asyncio.get_running_loop().time()
        if self._quiet_until.get(key, 0.0) > now:
            self.dropped += 1
            return False
        self._quiet_until.pop(key, None)
        tokens, at = self._buckets.get(key, (self.burst, now))
        tokens = min(self.burst, tokens + (now - at) * self.rate)
        if tokens >= 1:
            self._buckets[key] = (tokens - 1, now)
            self._forget_full(now)
            return True
        self._quiet_until[key] = now + self.quiet
        self._buckets.pop(key, None)  # full again after the quiet time
        self.dropped += 1
        return None

    def _forget_full(self, now: float) -> None:
        if len(self._buckets) > 1024:  # now and then, not on every update
            full = [
                k
                for k, (t, at) in self._buckets.items()
                if t + (now - at) * self.rate >= self.burst
            ]
            for key in full:
                del self._buckets[key]


class PerUserUpdateProcessor(BaseUpdateProcessor):
    def __init__(self, slots: int = 64, flood: FloodGate | None = None) -> None:
        super().__init__(max_concurrent_updates=_UNBOUNDED)
        self.slots = slots
        self.flood = flood or FloodGate()
        self._slots = asyncio.BoundedSemaphore(slots)
        self._locks: dict[int, asyncio.Lock] = {}
        self._queued: dict[int, int] = {}

    @staticmethod
    def _key(update: object) -> int | None:
        if isinstance(update, Update):
            if update.effective_user is not None:
                return update.effective_user.id
            if update.effective_chat is not None:
                return update.effective_chat.id
        return None

    async def do_process_update(
        self, update: object, coroutine: Awaitable[Any] | Coroutine[Any, Any, Any]
    ) -> None:
        key = self._key(update)
        if key is None:
            async with self._slots:
                await _handle(update, coroutine)
            return
        admitted = self.flood.admits(key)
        if not admitted:
            await self._drop(update, coroutine, tell=admitted is None)
            return
        lock = self._locks.setdefault(key, asyncio.Lock())
        self._queued[key] = self._queued.get(key, 0) + 1
        try:
            async with lock, self._slots:
                await _handle(update, coroutine)
        finally:
            self._queued[key] -= 1
            if self._queued[key] == 0:
                del self._queued[key]
                del self._locks[key]

    async def _drop(self, update: object, coroutine: Awaitable[Any], *, tell: bool) -> None:
        if isinstance(coroutine, Coroutine):
            coroutine.close()  # never started: nothing of it ran
        if not isinstance(update, Update):
            return
        try:
            if tell and self.flood.notify is not None:
                await self.flood.notify(update)
            elif update.callback_query is not None:  # else the button keeps its spinner
                await update.callback_query.answer()
        except TelegramError as error:
            log.warning("could not answer a dropped update: %s", error)

    @property
    def held_locks(self) -> int:
        """Users with updates queued or running (the rest hold no memory here)."""
        return len(self._locks)

    async def initialize(self) -> None:
        return None

    async def shutdown(self) -> None:
        return None
