"""How replies go out: Telegram HTML with inline buttons, Telegram's rate limits, retries.

Replies (`send_html`, `edit_html`) go out through python-telegram-bot's typed `send_message` and
`edit_message_text`, so the application's Defaults (HTML, no link previews) apply to them as to
every other call.

`RetryingRateLimiter` is python-telegram-bot's AIORateLimiter (30 messages/s overall) plus a
bounded retry of server errors and timeouts, which AIORateLimiter passes straight through. A 429
(retry_after) pauses the chat it was about, not every chat: AIORateLimiter's own handling held
all users' replies for up to the whole retry_after.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import warnings
from collections.abc import Awaitable, Callable, Coroutine, Sequence
from typing import Any

from telegram import InlineKeyboardButton, InlineKeyboardMarkup
from telegram.error import BadRequest, NetworkError, RetryAfter
from telegram.ext import AIORateLimiter, ExtBot
from telegram.warnings import PTBDeprecationWarning

from storage.web_visitors import is_web_user

log = logging.getLogger(__name__)

Keyboard = Sequence[Sequence[tuple[str, str]]]  # rows of (label, callback data)
# `rate_limit_args` of a request whose failures its sender handles itself (the broadcast,
# bot/channels/broadcast.py): it waits its turn at the limiter, but is neither retried nor paused.
SEND_ONCE = -1


def _markup(rows: Keyboard | None) -> InlineKeyboardMarkup | None:
    if not rows:
        return None
    return InlineKeyboardMarkup(
        [[InlineKeyboardButton(label, callback_data=data) for label, data in row] for row in rows]
    )


async def send_html(
    bot: ExtBot[Any], chat_id: int, text: str, buttons: Keyboard | None = None
) -> None:
    """Send one message of at most 4096 characters of Telegram HTML, with inline buttons."""
    await bot.send_message(chat_id, text, reply_markup=_markup(buttons))


async def edit_html(
    bot: ExtBot[Any], chat_id: int, message_id: int, text: str, buttons: Keyboard | None = None
) -> None:
    """Replace the text and buttons of a message the bot sent."""
    await bot.edit_message_text(
        text, chat_id=chat_id, message_id=message_id, reply_markup=_markup(buttons)
    )


class RetryingRateLimiter(AIORateLimiter):
    def __init__(
        self, *, attempts: int = 3, backoff: float = 0.5, retries_after_429: int = 3, **kwargs: Any
    ) -> None:
        # 429s are ours to handle (`_waiting_out_429`): the library's pause would stop every chat.
        super().__init__(max_retries=0, **kwargs)
        self.attempts = attempts
        self.backoff = backoff
        self.retries_after_429 = retries_after_429
        self._paused: dict[Any, float] = {}  # chat id: loop time until which it waits

    async def process_request(
        self,
        callback: Callable[..., Coroutine[Any, Any, bool | dict[str, Any] | list[dict[str, Any]]]],
        args: Any,
        kwargs: dict[str, Any],
        endpoint: str,
        data: dict[str, Any],
        rate_limit_args: int | None,
    ) -> bool | dict[str, Any] | list[dict[str, Any]]:
        if is_web_user(data.get("chat_id")):  # a web chat: answered in-process, not by Telegram
            return await callback(*args, **kwargs)
        request = functools.partial(
            AIORateLimiter.process_request,
            self, callback, args, kwargs, endpoint, data, None,
        )  # fmt: skip
        if rate_limit_args == SEND_ONCE:
            return await request()
        for attempt in range(1, self.attempts + 1):
            try:
                return await self._waiting_out_429(request, data.get("chat_id"), endpoint)
            except BadRequest:
                raise  # our request is wrong; sending it again will not help
            except NetworkError as error:  # 5xx, timeouts, dropped connections
                if attempt == self.attempts or endpoint == "getUpdates":
                    log.warning("%s failed after %d attempts: %s", endpoint, attempt, error)
                    raise
                await asyncio.sleep(self.backoff * attempt)
        raise AssertionError("unreachable")

    async def _waiting_out_429(
        self, request: Callable[[], Awaitable[Any]], chat: Any, endpoint: str
    ) -> Any:
        """The request, retried after each 429 once its retry_after has passed; meanwhile
        other requests to the same chat wait too, and other chats' requests go on."""
        loop = asyncio.get_running_loop()
        for attempt in range(self.retries_after_429 + 1):
            wait = self._paused.get(chat, 0.0) - loop.time() if chat is not None else 0.0
            if wait > 0:
                await asyncio.sleep(wait)
            elif chat in self._paused:
                del self._paused[chat]
            try:
                return await request()
            except RetryAfter as error:
                if attempt == self.retries_after_429:
                    raise
                delay = _seconds(error) + 0.1
                log.info("%s: rate limit hit, retrying in %.1f s", endpoint, delay)
                if chat is None:
                    await asyncio.sleep(delay)
                else:
                    self._paused[chat] = max(self._paused.get(chat, 0.0), loop.time() + delay)
        raise AssertionError("unreachable")


def _not_the_library_429(record: logging.LogRecord) -> bool:
    """AIORateLimiter logs every 429 it does not retry as an error with a traceback; it retries
    none (`max_retries=0`) because `RetryingRateLimiter` waits them out per chat instead."""
    return not str(record.msg).startswith("Rate limit hit after maximum of")


logging.getLogger("telegram.ext.AIORateLimiter").addFilter(_not_the_library_429)


def _seconds(error: RetryAfter) -> float:
    with warnings.catch_warnings():  # its type changes to timedelta in a later major version
        warnings.simplefilter("ignore", PTBDeprecationWarning)
        retry_after: Any = error.retry_after
    return retry_after.total_seconds() if hasattr(retry_after, "total_seconds") else retry_after
