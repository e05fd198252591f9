"""A person on the other side of the Bot API stand-in: the updates their actions cause."""

from __future__ import annotations

import itertools
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from bot.channels.telegram_standin import FakeTelegram, SentMessage


@dataclass
class TelegramUser:
    """A person chatting with the bot: builds the updates their actions cause and delivers them.

    `deliver` takes an update as Telegram's JSON; it is `Application.process_update` for the
    in-process transport and `FakeTelegram.enqueue` for a bot that polls over HTTP.
    """

    telegram: FakeTelegram
    deliver: Callable[[dict[str, Any]], Awaitable[None]]
    user_id: int = 1001
    language_code: str | None = "fi"
    first_name: str = "Testi"
    chat_id: int | None = None
    chat_type: str = "private"
    _message_ids: itertools.count = field(default_factory=lambda: itertools.count(1_000_000))

    @property
    def chat(self) -> int:
        return self.chat_id if self.chat_id is not None else self.user_id

    def _from(self) -> dict[str, Any]:
        person: dict[str, Any] = {
            "id": self.user_id,
            "is_bot": False,
            "first_name": self.first_name,
        }
        if self.language_code:
            person["language_code"] = self.language_code
        return person

    def _message(self, **content: Any) -> dict[str, Any]:
        chat: dict[str, Any] = {"id": self.chat, "type": self.chat_type}
        if self.chat_type == "private":
            chat["first_name"] = self.first_name
        else:
            chat["title"] = "Test group"
        return {
            "update_id": self.telegram.next_update_id(),
            "message": {
                "message_id": next(self._message_ids),
                "date": int(time.time()),
                "chat": chat,
                "from": self._from(),
                **content,
            },
        }

    async def send(self, text: str) -> list[SentMessage]:
        """Type a message (a leading /command becomes a bot_command entity, as in Telegram)."""
        content: dict[str, Any] = {"text": text}
        if text.startswith("/"):
            length = len(text.split(maxsplit=1)[0]) if text.strip() else 1
            content["entities"] = [{"type": "bot_command", "offset": 0, "length": length}]
        return await self._deliver(self._message(**content))

    async def send_sticker(self) -> list[SentMessage]:
        sticker = {
            "file_id": "sticker1",
            "file_unique_id": "s1",
            "type": "regular",
            "width": 512,
            "height": 512,
            "is_animated": False,
            "is_video": False,
        }
        return await self._deliver(self._message(sticker=sticker))

    async def send_photo(self) -> list[SentMessage]:
        photo = [{"file_id": "photo1", "file_unique_id": "p1", "width": 90, "height": 90}]
        return await self._deliver(self._message(photo=photo))

    async def send_voice(self) -> list[SentMessage]:
        voice = {"file_id": "voice1", "file_unique_id": "v1", "duration": 3}
        return await self._deliver(self._message(voice=voice))

    async def send_document(self) -> list[SentMessage]:
        document = {"file_id": "doc1", "file_unique_id": "d1", "file_name": "plan.pdf"}
        return await self._deliver(self._message(document=document))

    async def press(self, button: str, message: SentMessage | None = None) -> list[SentMessage]:
        """Tap a button by label or callback data; `message` defaults to the latest with buttons."""
        message = message or self.last_with_buttons()
        for label, data in message.buttons:
            if button in (label, data):
                return await self.press_data(data, message)
        raise LookupError(f"no button {button!r} in {message.buttons}")

    async def press_data(self, data: str, message: SentMessage) -> list[SentMessage]:
        """Send a callback query with any data, as a forged or stale button would."""
        query = f"cq{self.telegram.next_update_id()}"
        self.telegram.presses.append(query)
        update = {
            "update_id": self.telegram.next_update_id(),
            "callback_query": {
                "id": query,
                "from": self._from(),
                "chat_instance": str(self.chat),
                "data": data,
                "message": message.as_telegram(),
            },
        }
        return await self._deliver(update)

    async def _deliver(self, update: dict[str, Any]) -> list[SentMessage]:
        before = {m.message_id: m.edits for m in self.telegram.sent_to(self.chat)}
        await self.deliver(update)
        return [
            message
            for message in self.telegram.sent_to(self.chat)
            if before.get(message.message_id, -1) != message.edits
        ]

    def delete(self, message: SentMessage) -> None:
        """Delete a bot's message for both sides, as a person can in a private chat: editing it
        then fails with "message to edit not found", as in Telegram."""
        del self.telegram.messages[message.chat_id][message.message_id]

    def messages(self) -> list[SentMessage]:
        return self.telegram.sent_to(self.chat)

    @property
    def last(self) -> SentMessage:
        return self.messages()[-1]

    def last_with_buttons(self) -> SentMessage:
        for message in reversed(self.messages()):
            if message.buttons:
                return message
        raise LookupError("no message with buttons")
