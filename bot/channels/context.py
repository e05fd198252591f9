"""What every handler gets: the services of the process and the current user's language.

`BotContext` is python-telegram-bot's CallbackContext plus our services and the user loaded once per
update (by `handlers.common.load_user`, which runs before any other handler).
"""

from __future__ import annotations

import gc
from dataclasses import dataclass
from typing import Any

from markupsafe import Markup
from telegram.ext import Application, CallbackContext, ExtBot

from bot import i18n
from bot.config import Settings
from bot.content import Content
from bot.faq import FaqMatcher
from bot.rendering import escape
from storage import Database
from storage.users import User


@dataclass
class Services:
    settings: Settings
    db: Database
    content: Content
    matcher: FaqMatcher

    def install_content(self, content: Content, matcher: FaqMatcher) -> None:
        """Switch to new content; handlers read it per update, so the switch is atomic. What
        coordinators taught the old matcher carries over to the new one."""
        matcher.learn_all(self.matcher.learned.values())
        self.content, self.matcher = content, matcher
        if gc.get_freeze_count():
            settle_long_lived_objects()  # else the old content would stay frozen, never freed


def settle_long_lived_objects() -> None:
    """Freeze what lives as long as the process (content, the FAQ index, the libraries' own
    objects), so that the garbage collector's full passes skip it: a full pass over it is a stall
    that every user in flight at that moment would wait out (measured: docs/performance.md)."""
    gc.unfreeze()
    gc.collect()
    gc.freeze()


class BotContext(CallbackContext[ExtBot[None], dict[Any, Any], dict[Any, Any], dict[Any, Any]]):
    def __init__(
        self,
        application: Application[Any, Any, Any, Any, Any, Any],
        chat_id: int | None = None,
        user_id: int | None = None,
    ) -> None:
        super().__init__(application, chat_id, user_id)
        self.user: User | None = None
        self.lang: str = self.services.settings.default_language

    @property
    def services(self) -> Services:
        return self.application.bot_data["services"]

    @property
    def db(self) -> Database:
        return self.services.db

    def gettext(self, message: str, /, **values: Any) -> str:
        """Translate a UI string into the user's language and fill in `{placeholders}`.

        Values are escaped for Telegram HTML unless they are already `Markup` (trusted markup).
        """
        text = i18n.gettext(self.lang, message)
        if not values:
            return text
        return text.format(**{key: _safe(value) for key, value in values.items()})


def _safe(value: Any) -> str:
    if isinstance(value, Markup):
        return str(value)
    if isinstance(value, int | float):
        return str(value)
    return escape(str(value))
