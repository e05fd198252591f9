"""A stand-in for Telegram's Bot API, for the offline console, the tests and the benchmarks.

`FakeTelegram` answers Bot API methods the way Telegram does (message ids, edits, errors such as
"message is not modified"), records every call, and checks every outgoing request against
Telegram's limits: a message over 4,096 characters, malformed HTML, callback data over 64 bytes
or a second answer to one button press is refused with the same 400 Telegram would send and
recorded in `violations`.

A bot reaches it through `bot.channels.standin_transport` (in process, or over HTTP on 127.0.0.1
with long polling); `bot.channels.standin_user.TelegramUser` builds the updates a person causes.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from bot.rendering import (
    CALLBACK_DATA_LIMIT,
    CAPTION_LIMIT,
    DOCUMENT_LIMIT,
    MESSAGE_LIMIT,
    check_html,
    utf16_len,
)

BOT_ID = 7000000001
BOT_USERNAME = "et417_assistant_bot"
_COMMAND_NAME = re.compile(r"^[a-z0-9_]{1,32}$")


@dataclass
class ApiCall:
    method: str
    params: dict[str, Any]


@dataclass
class SentMessage:
    """A message the bot sent, as it is now (edits are applied)."""

    chat_id: int
    message_id: int
    text: str
    reply_markup: dict[str, Any] | None = None
    document: dict[str, Any] | None = None
    edits: int = 0

    @property
    def buttons(self) -> list[tuple[str, str]]:
        """(label, callback data or url) of every inline button, row by row."""
        rows = (self.reply_markup or {}).get("inline_keyboard", [])
        return [
            (button["text"], button.get("callback_data") or button.get("url", ""))
            for row in rows
            for button in row
        ]

    def as_telegram(self) -> dict[str, Any]:
        message: dict[str, Any] = {
            "message_id": self.message_id,
            "date": int(time.time()),
            "chat": {"id": self.chat_id, "type": "private" if self.chat_id > 0 else "group"},
            "from": {"id": BOT_ID, "is_bot": True, "first_name": "ET 4.1.7"},
        }
        if self.document is not None:
            message["document"] = self.document
            if self.text:
                message["caption"] = self.text
        else:
            message["text"] = self.text
        if self.reply_markup:
            message["reply_markup"] = self.reply_markup
        return message


class ApiError(Exception):
    def __init__(self, code: int, description: str, retry_after: int | None = None) -> None:
        super().__init__(description)
        self.code = code
        self.description = description
        self.retry_after = retry_after


def _check_markup(markup: Any) -> list[str]:
    problems = []
    if not markup:
        return problems
    for row in markup.get("inline_keyboard", []):
        for button in row:
            if not str(button.get("text", "")).strip():
                problems.append("button with empty text")
            data = button.get("callback_data")
            if data is not None and not 1 <= len(data.encode("utf-8")) <= CALLBACK_DATA_LIMIT:
                problems.append(f"callback_data of {len(data.encode())} bytes: {data[:70]!r}")
    return problems


class FakeTelegram:
    def __init__(self, first_update_id: int = 1) -> None:
        self.calls: list[ApiCall] = []
        self.violations: list[str] = []
        # Messages by chat, then message id: a long benchmark run must not scan every chat.
        self.messages: dict[int, dict[int, SentMessage]] = {}
        self.listeners: list[Callable[[str, SentMessage], None]] = []
        # Button presses made by TelegramUser, and how often each callback query was answered:
        # Telegram takes one answer per query and refuses a second.
        self.presses: list[str] = []
        self.answers: dict[str, int] = {}
        # Fault injection: called per request; an ApiError is returned as Telegram would, a
        # number of seconds makes the request hang that long and then fail.
        self.fault: Callable[[str], ApiError | float | None] | None = None
        self._message_ids = itertools.count(1)
        self._update_ids = itertools.count(first_update_id)
        self._pending: list[dict[str, Any]] = []
        self._arrived = asyncio.Condition()
        self.events: dict[int, int] = {}  # per chat: messages sent plus edits made
        self.files: dict[tuple[int, int], bytes] = {}  # documents the bot sent, by message
        self._watchers: dict[int, asyncio.Event] = {}

    # -- what the bot asks ------------------------------------------------------------------
    async def call(self, method: str, params: dict[str, Any]) -> Any:
        """Answer one Bot API method; raises ApiError exactly where Telegram would refuse."""
        self.calls.append(ApiCall(method, params))
        if self.fault is not None and (error := self.fault(method)) is not None:
            if isinstance(error, int | float):  # a hang: answer nothing for that long, then fail
                await asyncio.sleep(error)
                raise ApiError(504, "Gateway Timeout")
            raise error
        handler = getattr(self, f"_api_{method.lower()}", None)
        if handler is None:
            return True
        return await handler(params)

    def _refuse(self, method: str, problems: list[str]) -> None:
        if problems:
            self.violations.extend(f"{method}: {problem}" for problem in problems)
            raise ApiError(400, f"Bad Request: {'; '.join(problems)}")

    async def _api_getme(self, params: dict[str, Any]) -> dict[str, Any]:
        return {
            "id": BOT_ID,
            "is_bot": True,
            "first_name": "ET 4.1.7",
            "username": BOT_USERNAME,
            "can_join_groups": True,
            "can_read_all_group_messages": False,
            "supports_inline_queries": False,
        }

    async def _api_sendmessage(self, params: dict[str, Any]) -> dict[str, Any]:
        text = str(params.get("text", ""))
        problems = self._text_problems(text, params, MESSAGE_LIMIT)
        problems += _check_markup(params.get("reply_markup"))
        self._refuse("sendMessage", problems)
        message = SentMessage(
            int(params["chat_id"]), next(self._message_ids), text, params.get("reply_markup")
        )
        return self._store("send", message)

    async def _api_senddocument(self, params: dict[str, Any]) -> dict[str, Any]:
        caption = str(params.get("caption", ""))
        problems = self._text_problems(caption, params, CAPTION_LIMIT) if caption else []
        problems += _check_markup(params.get("reply_markup"))
        self._refuse("sendDocument", problems)
        document = params.get("document")
        name = getattr(document, "filename", None) or "document"
        content = getattr(document, "input_file_content", None) or getattr(document, "content", b"")
        if isinstance(content, bytes) and len(content) > DOCUMENT_LIMIT:
            self.violations.append(f"sendDocument: file of {len(content)} bytes")
            raise ApiError(413, "Request Entity Too Large")
        message = SentMessage(
            int(params["chat_id"]),
            next(self._message_ids),
            caption,
            params.get("reply_markup"),
            document={
                "file_id": f"doc{len(self.files)}",
                "file_unique_id": f"u{len(self.files)}",
                "file_name": name,
                "file_size": len(content) if isinstance(content, bytes) else 0,
            },
        )
        self.files[(message.chat_id, message.message_id)] = content
        return self._store("send", message)

    async def _api_editmessagetext(self, params: dict[str, Any]) -> dict[str, Any]:
        message = self._editable(params)
        text = str(params.get("text", ""))
        problems = self._text_problems(text, params, MESSAGE_LIMIT)
        problems += _check_markup(params.get("reply_markup"))
        self._refuse("editMessageText", problems)
        markup = params.get("reply_markup")
        if text == message.text and markup == message.reply_markup:
            raise ApiError(400, "Bad Request: message is not modified")
        message.text, message.reply_markup = text, markup
        message.edits += 1
        return self._store("edit", message)

    async def _api_editmessagereplymarkup(self, params: dict[str, Any]) -> dict[str, Any]:
        message = self._editable(params)
        markup = params.get("reply_markup")
        self._refuse("editMessageReplyMarkup", _check_markup(markup))
        if markup == message.reply_markup:
            raise ApiError(400, "Bad Request: message is not modified")
        message.reply_markup = markup
        message.edits += 1
        return self._store("edit", message)

    async def _api_deletemessage(self, params: dict[str, Any]) -> bool:
        key = (int(params["chat_id"]), int(params["message_id"]))
        if self.messages.get(key[0], {}).pop(key[1], None) is None:
            raise ApiError(400, "Bad Request: message to delete not found")
        return True

    async def _api_answercallbackquery(self, params: dict[str, Any]) -> bool:
        text = str(params.get("text", ""))
        query = str(params.get("callback_query_id", ""))
        problems = [f"callback answer of {len(text)} characters"] if len(text) > 200 else []
        if self.answers.get(query):
            problems.append(f"callback query {query} answered twice")
        self._refuse("answerCallbackQuery", problems)
        self.answers[query] = 1
        return True

    def unanswered_presses(self) -> list[str]:
        """Callback queries of TelegramUser presses that got no answer (a spinner left on)."""
        return [query for query in self.presses if not self.answers.get(query)]

    async def _api_setmycommands(self, params: dict[str, Any]) -> bool:
        problems = []
        commands = params.get("commands", [])
        if len(commands) > 100:
            problems.append("more than 100 commands")
        for command in commands:
            if not _COMMAND_NAME.match(command.get("command", "")):
                problems.append(f"bad command name {command.get('command')!r}")
            if not 1 <= len(command.get("description", "")) <= 256:
                problems.append(f"bad description for {command.get('command')!r}")
        self._refuse("setMyCommands", problems)
        return True

    async def _api_setmydescription(self, params: dict[str, Any]) -> bool:
        text = params.get("description", "")
        self._refuse("setMyDescription", ["description over 512"] if len(text) > 512 else [])
        return True

    async def _api_setmyshortdescription(self, params: dict[str, Any]) -> bool:
        text = params.get("short_description", "")
        self._refuse(
            "setMyShortDescription", ["short description over 120"] if len(text) > 120 else []
        )
        return True

    async def _api_getupdates(self, params: dict[str, Any]) -> list[dict[str, Any]]:
        offset = int(params.get("offset") or 0)
        timeout = float(params.get("timeout") or 0)
        async with self._arrived:
            self._pending = [u for u in self._pending if u["update_id"] >= offset]
            if not self._pending and timeout > 0:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._arrived.wait(), timeout)
                self._pending = [u for u in self._pending if u["update_id"] >= offset]
            return list(self._pending[: int(params.get("limit") or 100)])

    def _text_problems(self, text: str, params: dict[str, Any], limit: int) -> list[str]:
        if params.get("parse_mode") == "HTML":
            return check_html(text, limit)
        if not text.strip():
            return ["message text is empty"]
        return [f"text over {limit}"] if utf16_len(text) > limit else []

    def _editable(self, params: dict[str, Any]) -> SentMessage:
        key = (int(params.get("chat_id", 0)), int(params.get("message_id", 0)))
        message = self.messages.get(key[0], {}).get(key[1])
        if message is None:
            raise ApiError(400, "Bad Request: message to edit not found")
        return message

    def _store(self, event: str, message: SentMessage) -> dict[str, Any]:
        self.messages.setdefault(message.chat_id, {})[message.message_id] = message
        for listener in self.listeners:
            listener(event, message)
        self.events[message.chat_id] = self.events.get(message.chat_id, 0) + 1
        watcher = self._watchers.get(message.chat_id)
        if watcher is not None:
            watcher.set()
        return message.as_telegram()

    # -- what the tests and the console look at ----------------------------------------------
    def sent_to(self, chat_id: int) -> list[SentMessage]:
        return [m for _, m in sorted(self.messages.get(chat_id, {}).items())]

    async def wait_for_messages(self, chat_id: int, count: int, seconds: float = 30) -> None:
        """Wait until the chat has `count` messages from the bot (for a bot in another process)."""
        await self.wait_for_events(chat_id, lambda: len(self.sent_to(chat_id)) >= count, seconds)

    async def wait_for_events(
        self, chat_id: int, done: Callable[[], bool], seconds: float = 30
    ) -> None:
        """Wait until `done()` holds, re-checking whenever the bot sends to or edits in the chat."""
        watcher = self._watchers.setdefault(chat_id, asyncio.Event())
        async with asyncio.timeout(seconds):
            while not done():
                watcher.clear()
                await watcher.wait()

    def calls_of(self, method: str) -> list[ApiCall]:
        return [call for call in self.calls if call.method == method]

    def next_update_id(self) -> int:
        return next(self._update_ids)

    async def enqueue(self, update: dict[str, Any]) -> None:
        """Queue an update for a bot that long-polls getUpdates over HTTP."""
        async with self._arrived:
            self._pending.append(update)
            self._arrived.notify_all()
