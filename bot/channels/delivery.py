"""How updates come in and replies go out under load: ordering per user, Telegram's limits.

`PerUserUpdateProcessor` runs updates of different users concurrently but those of one user
strictly one at a time, in arrival order. The user's lock is taken *before* a global slot, so a
user who sends fifty messages at once waits on their own lock instead of holding fifty slots
that everyone else needs. Locks of users with nothing queued are dropped.

It also keeps one user's flood from reaching the handlers (`FloodGate`): a burst beyond what a
person types or taps is answered once with "please slow down", and that user's updates are then
dropped for a while. Without it, 1,500 questions from one user put 1,500 replies in the queue of
the overall rate limit, in front of everyone else's (another user's median reply: 6 -> 66 ms).

`RetryingRateLimiter` is python-telegram-bot's AIORateLimiter (30 messages/s overall) plus a
bounded retry of server errors and timeouts, which AIORateLimiter passes straight through. A 429
(retry_after) pauses the chat it was about, not every chat: AIORateLimiter's own handling held
all users' replies for up to the whole retry_after.

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
import warnings
from collections.abc import Awaitable, Callable, Coroutine, Sequence
from contextvars import ContextVar
from typing import Any

import aiohttp
from telegram import CallbackQuery, InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.error import BadRequest, NetworkError, RetryAfter, TelegramError, TimedOut
from telegram.ext import AIORateLimiter, BaseUpdateProcessor, ExtBot
from telegram.request import BaseRequest, RequestData
from telegram.warnings import PTBDeprecationWarning

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
        for attempt in range(1, self.attempts + 1):
            try:
                return await self._waiting_out_429(
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

    async def _waiting_out_429(
        self,
        callback: Callable[..., Coroutine[Any, Any, bool | dict[str, Any] | list[dict[str, Any]]]],
        args: Any,
        kwargs: dict[str, Any],
        endpoint: str,
        data: dict[str, Any],
        rate_limit_args: int | None,
    ) -> bool | dict[str, Any] | list[dict[str, Any]]:
        """The request, retried after each 429 once its retry_after has passed; meanwhile
        other requests to the same chat wait too, and other chats' requests go on."""
        chat = data.get("chat_id")
        loop = asyncio.get_running_loop()
        for attempt in range(self.retries_after_429 + 1):
            wait = self._paused.get(chat, 0.0) - loop.time() if chat is not None else 0.0
            if wait > 0:
                await asyncio.sleep(wait)
            elif chat in self._paused:
                del self._paused[chat]
            try:
                return await super().process_request(
                    callback, args, kwargs, endpoint, data, rate_limit_args
                )
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
