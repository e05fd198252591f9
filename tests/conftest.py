"""The real Application over the in-process stand-in for Telegram.

Every test that drives a bot ends by checking that nothing the bot sent broke Telegram's rules
(message length, HTML, callback data size) and that every button press was answered: the `bot`
fixture and `running()` do it for the bot in this process; a test of a bot in another process
calls `assert_telegram_rules_kept` on its stand-in.
"""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from pathlib import Path

import pytest

from bot.app import BotApplication, build_application, deliver, running
from bot.channels.standin_transport import InProcessRequest
from bot.channels.standin_user import TelegramUser
from bot.channels.telegram_standin import FakeTelegram
from bot.config import Settings


class Harness:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.telegram = FakeTelegram()
        self.app: BotApplication | None = None
        self._stack = AsyncExitStack()
        self._users: list[TelegramUser] = []

    async def start(self) -> None:
        self.app = build_application(self.settings, InProcessRequest(self.telegram))
        await self._stack.enter_async_context(running(self.app))

    async def stop(self) -> None:
        await self._stack.aclose()
        self._stack = AsyncExitStack()

    async def restart(self) -> None:
        """A new Application on the same database file, as after the process was killed."""
        await self.stop()
        await self.start()

    async def user(
        self, user_id: int = 1001, language_code: str | None = "fi", *, start: bool = True, **kw
    ) -> TelegramUser:
        """A person in the chat. As in Telegram, they begin by pressing START (/start) unless
        `start=False` (to test the very first contact, or people in groups)."""

        async def to_current_app(update: dict) -> None:
            assert self.app is not None
            await deliver(self.app, update)

        user = TelegramUser(
            self.telegram, to_current_app, user_id=user_id, language_code=language_code, **kw
        )
        self._users.append(user)
        if start:
            await user.send("/start")
        return user

    @property
    def db(self):
        assert self.app is not None
        return self.app.bot_data["services"].db


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    # Tests click and type much faster than people: the flood gate has its own test.
    return Settings(
        database=tmp_path / "bot.sqlite3",
        coordinator_ids=frozenset({9001}),
        flood_burst=100_000,
        flood_rate=100_000,
    )


def assert_telegram_rules_kept(telegram: FakeTelegram) -> None:
    assert telegram.violations == [], "the bot sent requests Telegram would refuse"
    assert telegram.unanswered_presses() == [], "a button press was never answered"


@asynccontextmanager
async def running_harness(settings: Settings) -> AsyncIterator[Harness]:
    """A bot on `settings` for the length of the block, checked like the `bot` fixture's."""
    harness = Harness(settings)
    await harness.start()
    try:
        yield harness
    finally:
        await harness.stop()
    assert_telegram_rules_kept(harness.telegram)


@pytest.fixture
async def bot(settings: Settings) -> AsyncIterator[Harness]:
    async with running_harness(settings) as harness:
        yield harness


def replace_settings(settings: Settings, **changes) -> Settings:
    return dataclasses.replace(settings, **changes)
