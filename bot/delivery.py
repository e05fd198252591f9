"""How updates come in and replies go out under load: ordering per user, Telegram's limits.

`PerUserUpdateProcessor` runs updates of different users concurrently but those of one user
strictly one at a time, in arrival order. The user's lock is taken *before* a global slot, so a
user who sends fifty messages at once waits on their own lock instead of holding fifty slots
that everyone else needs. Locks of users with nothing queued are dropped.

`RetryingRateLimiter` is python-telegram-bot's AIORateLimiter (30 messages/s overall, 429s waited
out and retried) plus a bounded retry of server errors and timeouts, which AIORateLimiter
passes straight through.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any

from telegram import Update
from telegram.error import BadRequest, NetworkError
from telegram.ext import AIORateLimiter, BaseUpdateProcessor

log = logging.getLogger(__name__)

# The base class's own semaphore must never be what limits us (see the module docstring).
_UNBOUNDED = 1_000_000


class PerUserUpdateProcessor(BaseUpdateProcessor):
    def __init__(self, slots: int = 64) -> None:
        super().__init__(max_concurrent_updates=_UNBOUNDED)
        self.slots = slots
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
                await coroutine
            return
        lock = self._locks.setdefault(key, asyncio.Lock())
        self._queued[key] = self._queued.get(key, 0) + 1
        try:
            async with lock, self._slots:
                await coroutine
        finally:
            self._queued[key] -= 1
            if self._queued[key] == 0:
                del self._queued[key]
                del self._locks[key]

    @property
    def held_locks(self) -> int:
        """Users with updates queued or running (the rest hold no memory here)."""
        return len(self._locks)

    async def initialize(self) -> None:
        return None

    async def shutdown(self) -> None:
        return None


class RetryingRateLimiter(AIORateLimiter):
    def __init__(self, *, attempts: int = 3, backoff: float = 0.5, **kwargs: Any) -> None:
        super().__init__(max_retries=kwargs.pop("max_retries", 3), **kwargs)
        self.attempts = attempts
        self.backoff = backoff

    async def process_request(
        self,
        callback: Callable[..., Coroutine[Any, Any, bool | dict[str, Any] | list[dict[str, Any]]]],
        args: Any,
        kwargs: dict[str, Any],
        endpoint: str,
        data: dict[str, Any],
        rate_limit_args: int | None,
    ) -> bool | dict[str, Any] | list[dict[str, Any]]:
        for attempt in range(1, self.attempts + 1):
            try:
                return await super().process_request(
                    callback, args, kwargs, endpoint, data, rate_limit_args
                )
            except BadRequest:
                raise  # our request is wrong; sending it again will not help
            except NetworkError as error:  # 5xx, timeouts, dropped connections
                if attempt == self.attempts or endpoint == "getUpdates":
                    log.warning("%s failed after %d attempts: %s", endpoint, attempt, error)
                    raise
                await asyncio.sleep(self.backoff * attempt)
        raise AssertionError("unreachable")
