"""Messages the bot sends of its own accord, not as a reply: to one person, in their language.

A submission tells the coordinators, and a coordinator's decision tells the applicant; each is
written in the recipient's language, not the sender's. A notice that cannot be delivered (the
person blocked the bot, Telegram is down) is logged and never undoes what caused it.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from telegram import Bot
from telegram.ext import ExtBot

from bot import i18n, review
from bot.channels.replies import Keyboard, send_html
from bot.config import Settings
from storage import drafts, partners, users
from storage.db import Database

log = logging.getLogger(__name__)

# Writes the notice with the recipient's gettext: `compose(_)` returns Telegram HTML.
Compose = Callable[[Callable[[str], str]], str]


async def language_of(db: Database, user_id: int, default_language: str) -> str:
    """As in their own chat: the language they chose, else the one Telegram reports."""
    person = await users.get(db, user_id)
    return (person.language if person else None) or i18n.negotiate(
        person.telegram_language if person else None, default_language
    )


async def coordinators(db: Database, settings: Settings) -> list[int]:
    """COORDINATOR_IDS and those given the role with `python -m bot coordinators`."""
    return sorted(set(settings.coordinator_ids) | set(await users.coordinators(db)))


async def notify(
    bot: ExtBot[Any] | Bot,
    db: Database,
    settings: Settings,
    user_id: int,
    compose: Compose,
    buttons: Callable[[Callable[[str], str]], Keyboard] | None = None,
) -> bool:
    """Send a notice to one person; False (and a log line) when it could not be delivered."""
    try:
        language = await language_of(db, user_id, settings.default_language)

        def _(message: str) -> str:
            return i18n.gettext(language, message)

        await send_html(bot, user_id, compose(_), buttons(_) if buttons else None)
        return True
    except Exception:
        log.warning("could not send a notice to user %s", user_id, exc_info=True)
        return False


async def tell_applicant(
    bot: ExtBot[Any] | Bot,
    db: Database,
    settings: Settings,
    user_id: int,
    draft_id: int,
    status: str,
) -> bool:
    """A coordinator's decision on an outline (bot.review.applicant_notice), with a button that
    opens the outline in the applicant's chat (handlers.submission's review, `ol:r:<id>`). The
    partners of a group project are told too: a returned outline is theirs to revise as well.
    Whether the applicant (the owner) was told."""
    answers = await drafts.answers(db, draft_id)

    def compose(_: Callable[[str], str]) -> str:
        untitled = _("Untitled draft {number}").format(number=draft_id)
        return review.applicant_notice(_, status, answers.get(drafts.TITLE) or untitled)

    def buttons(_: Callable[[str], str]) -> Keyboard:
        return [[(_("👁 Open the outline"), f"ol:r:{draft_id}")]]

    told = await notify(bot, db, settings, user_id, compose, buttons)
    for member in await partners.members(db, draft_id):
        await notify(bot, db, settings, member.user_id, compose, buttons)
    return told
