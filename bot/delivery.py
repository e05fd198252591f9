"""How updates come in and replies go out under load: ordering per user, Telegram's limits.

`PerUserUpdateProcessor` runs updates of different users concurrently but those of one user
strictly one at a time, in arrival order. The user's lock is taken *before* a global slot, so a
user who sends fifty messages at once waits on their own lock instead of holding fifty slots
that everyone else needs. Locks of users with nothing queued are dropped.

`RetryingRateLimiter` is python-telegram-bot's AIORateLimiter (30 messages/s overall, 429s waited
out and retried) plus a bounded retry of server errors and timeouts, which AIORateLimiter
passes straight through.

Every button press must be answered exactly once, or the user's client keeps a spinner on the
button. Handlers answer only when they have something to say in the answer (or before slow work);
the processor answers every press nobody answered once its handling is over, so the reply the
user waits for is not held up by one more round trip to Telegram.

Replies (`send_html`, `edit_html`) go out through python-telegram-bot's typed `send_message` and
`edit_message_text`, so the application's Defaults (HTML, no link previews) apply to them as to
every other call.

`AiohttpRequest` carries the Bot API calls: python-telegram-bot's documented extension point for
the network layer. Its CPU cost per call stays flat with the number of requests in flight, where
the default (httpx) grew with it; requests carry JSON, which the Bot API takes for everything but
uploads, rather than python-telegram-bot's form encoding. The measurements are in docs/storage.md.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Awaitable, Callable, Coroutine, Sequence
from contextvars import ContextVar
from typing import Any

import aiohttp
from telegram import CallbackQuery, InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.error import BadRequest, NetworkError, TelegramError, TimedOut
from telegram.ext import AIORateLimiter, BaseUpdateProcessor, ExtBot
from telegram.request import BaseRequest, RequestData

log = logging.getLogger(__name__)

# The base class's own semaphore must never be what limits us (see the module docstring).
_UNBOUNDED = 1_000_000

Keyboard = Sequence[Sequence[tuple[str, str]]]  # rows of (label, callback data)


# Whether the button press being handled was answered. Handlers run inside the processor's own
# task context, so what they set here is what the processor reads afterwards.
_answered: ContextVar[bool] = ContextVar("button_answered", default=False)


async def answer_now(query: CallbackQuery, text: str | None = None, alert: bool = False) -> None:
    """Answer a button press now (with a notice or an alert, or before slow work)."""
    await query.answer(text, show_alert=alert)
    _answered.set(True)  # only once it went through: else the processor tries again at the end


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


async def _handle(update: object, coroutine: Awaitable[Any]) -> None:
    _answered.set(False)
    await coroutine
    query = update.callback_query if isinstance(update, Update) else None
    if query is not None and not _answered.get():
        try:
            await answer_now(query)
        except TelegramError as error:  # e.g. too old: the reply itself has been sent already
            log.warning("could not answer button press %s: %s", query.id, error)


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
                await _handle(update, coroutine)
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


_JSON = {"Content-Type": "application/json"}


class AiohttpRequest(BaseRequest):
    """The Bot API over aiohttp, with python-telegram-bot's default timeouts.

    aiohttp has no write timeout of its own, so a whole request is bounded by the sum of the
    connect (pool wait included), write and read timeouts; reads are also bounded on their own.
    Errors never carry the URL, which holds the token.
    """

    def __init__(
        self,
        connection_pool_size: int = 256,
        read_timeout: float | None = 5.0,
        write_timeout: float | None = 5.0,
        connect_timeout: float | None = 5.0,
        pool_timeout: float | None = 1.0,
        media_write_timeout: float | None = 20.0,
    ) -> None:
        self._pool_size = connection_pool_size
        self._read_timeout = read_timeout
        self._write_timeout = write_timeout
        self._connect_timeout = connect_timeout
        self._pool_timeout = pool_timeout
        self._media_write_timeout = media_write_timeout
        self._session: aiohttp.ClientSession | None = None

    @property
    def read_timeout(self) -> float | None:
        return self._read_timeout

    async def initialize(self) -> None:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(limit=self._pool_size),
                headers={"User-Agent": self.USER_AGENT},
            )

    async def shutdown(self) -> None:
        if self._session is not None and not self._session.closed:
            await self._session.close()

    def _timeout(self, read: Any, write: Any, connect: Any, pool: Any, media: bool) -> Any:
        default = BaseRequest.DEFAULT_NONE
        read = self._read_timeout if read is default else read
        if write is default:
            write = self._media_write_timeout if media else self._write_timeout
        connect = self._connect_timeout if connect is default else connect
        pool = self._pool_timeout if pool is default else pool
        parts = (read, write, connect, pool)
        total = None if None in parts else sum(parts)
        waiting = None if connect is None or pool is None else connect + pool
        return aiohttp.ClientTimeout(total=total, connect=waiting, sock_read=read)

    async def do_request(
        self,
        url: str,
        method: str,
        request_data: RequestData | None = None,
        read_timeout: Any = BaseRequest.DEFAULT_NONE,
        write_timeout: Any = BaseRequest.DEFAULT_NONE,
        connect_timeout: Any = BaseRequest.DEFAULT_NONE,
        pool_timeout: Any = BaseRequest.DEFAULT_NONE,
    ) -> tuple[int, bytes]:
        if self._session is None or self._session.closed:
            raise RuntimeError("AiohttpRequest is not initialized")
        uploads = request_data is not None and request_data.contains_files
        body: Any = None
        headers: dict[str, str] | None = None
        if request_data is not None and uploads:
            form = aiohttp.FormData()
            for name, value in request_data.json_parameters.items():
                form.add_field(name, value)
            for name, (filename, content, mimetype) in request_data.multipart_data.items():
                form.add_field(name, content, filename=filename, content_type=mimetype)
            body = form
        elif request_data is not None:
            # JSON rather than a form: see the module docstring.
            params = request_data.parameters
            body = json.dumps(params, ensure_ascii=False, separators=(",", ":")).encode()
            headers = _JSON
        timeout = self._timeout(
            read_timeout, write_timeout, connect_timeout, pool_timeout, media=uploads
        )
        try:
            async with self._session.request(
                method, url, data=body, headers=headers, timeout=timeout
            ) as response:
                return response.status, await response.read()
        except TimeoutError as error:
            raise TimedOut(f"aiohttp: {error.__class__.__name__}") from None
        except aiohttp.ClientError as error:
            # Only the class name: aiohttp's messages may hold the URL, and the URL the token.
            raise NetworkError(f"aiohttp: {error.__class__.__name__}") from None
