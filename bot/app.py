"""Building the Application: every handler is wired here, in one visible place."""

from __future__ import annotations

import asyncio
import functools
import logging
import signal
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

from telegram import BotCommand, LinkPreviewOptions, Update
from telegram.constants import ParseMode
from telegram.error import TelegramError
from telegram.ext import (
    Application,
    ApplicationBuilder,
    ContextTypes,
    Defaults,
    TypeHandler,
)
from telegram.request import BaseRequest

from bot import coordinator_reports, i18n
from bot.channels.api_client import AiohttpRequest
from bot.channels.broadcast import Broadcaster
from bot.channels.context import BotContext, Services, settle_long_lived_objects
from bot.channels.replies import RetryingRateLimiter
from bot.channels.updates import FloodGate, PerUserUpdateProcessor
from bot.config import LANGUAGES, Settings
from bot.content import content_root, load_valid
from bot.faq import FaqMatcher
from handlers import (
    announcements,
    checklist,
    common,
    coordinator,
    errors,
    fallback,
    faq,
    flows,
    gate,
    mydrafts,
    outline,
    partners,
    privacy,
    reminders,
    review,
    start,
    submission,
)
from handlers.flows import Router
from storage import Database, learned, users, web_visitors
from storage import privacy as privacy_store

log = logging.getLogger(__name__)

# The console and the tests need no real token; this one has the right shape and reaches nobody.
OFFLINE_TOKEN = "123456789:offline-console-token-000000000000"

BotApplication = Application[Any, BotContext, Any, Any, Any, Any]


def build_application(settings: Settings, request: BaseRequest | None = None) -> BotApplication:
    """The bot: for Telegram when `request` is None, else over the given transport."""
    flood = FloodGate(burst=settings.flood_burst, rate=settings.flood_rate)
    builder = (
        ApplicationBuilder()
        .token(settings.token or OFFLINE_TOKEN)
        .base_url(settings.api_base_url)
        .context_types(ContextTypes(context=BotContext))
        .defaults(
            Defaults(
                parse_mode=ParseMode.HTML,
                link_preview_options=LinkPreviewOptions(is_disabled=True),
            )
        )
        .post_init(start_services)
        .post_shutdown(stop_services)
        .concurrent_updates(PerUserUpdateProcessor(slots=64, flood=flood))
    )
    if settings.max_messages_per_second:
        builder = builder.rate_limiter(
            RetryingRateLimiter(
                overall_max_rate=settings.max_messages_per_second, group_max_rate=20
            )
        )
    if request is None:  # Telegram itself (or TELEGRAM_API_BASE_URL): over aiohttp
        builder = builder.request(AiohttpRequest()).get_updates_request(
            AiohttpRequest(connection_pool_size=1)
        )
    else:
        builder = builder.request(request).get_updates_request(request)
    application = builder.build()
    flood.notify = functools.partial(gate.slow_down, application)
    content = load_valid(content_root(settings.content_dir))
    application.bot_data["services"] = Services(
        settings, Database(settings.database, settings.db_synchronous), content, FaqMatcher(content)
    )
    application.bot_data["router"] = Router(
        flows={
            flow.name: flow
            for flow in (checklist.flow, outline.flow, mydrafts.rename_flow, review.comment_flow)
        },
        outside_flows=faq.answer_question,
        question=faq.question_in_flow,
        smalltalk=faq.smalltalk_in_flow,
    )
    _add_handlers(application)
    return application


def _add_handlers(app: BotApplication) -> None:
    # Before anything else: groups get a pointer to a private chat; the user and language load.
    app.add_handler(TypeHandler(Update, gate.outside_private_chat), group=-20)
    app.add_handler(TypeHandler(Update, common.load_user), group=-10)
    app.add_handler(TypeHandler(Update, privacy.first_contact), group=-9)
    app.add_handler(TypeHandler(Update, gate.refuse_forged_button), group=-8)

    app.add_handlers(
        [
            # In group 0 the first handler that matches takes the update, so the order matters:
            # /start with a payload (a t.me link) before the plain /start, ol:e: before ol:, and
            # what nobody else took last. Each module declares its own handlers and prefixes.
            *faq.deep_links(),
            *checklist.deep_links(),
            *outline.deep_links(),
            *partners.deep_links(),
            *start.handlers(),
            *checklist.handlers(),
            *submission.handlers(),
            *outline.handlers(),
            *mydrafts.handlers(),
            *partners.handlers(),
            *reminders.handlers(),
            *coordinator.handlers(),
            *review.handlers(),
            *privacy.handlers(),
            *announcements.handlers(),
            *faq.handlers(),
            *flows.handlers(),
            # Whatever is left: unknown commands, typed text, other content, unknown buttons.
            *fallback.handlers(),
        ]
    )
    app.add_error_handler(errors.on_error)


def bot_commands(language: str) -> list[BotCommand]:
    def _(message: str) -> str:
        return i18n.gettext(language, message)

    return [
        BotCommand("menu", _("Main menu")),
        BotCommand("checklist", _("Check your idea against the requirements")),
        BotCommand("outline", _("Draft a project outline")),
        BotCommand("mydrafts", _("My drafts")),
        BotCommand("ask", _("Ask a question")),
        BotCommand("topics", _("Browse questions by topic")),
        BotCommand("language", _("Change the language")),
        BotCommand("subscribe", _("Call news and deadline reminders")),
        BotCommand("privacy", _("Privacy notice and your data")),
        BotCommand("help", _("How to use the bot")),
        BotCommand("cancel", _("Stop and return to the menu")),
    ]


async def start_services(app: BotApplication) -> None:
    """Open the database and publish the localized command menu and descriptions."""
    services: Services = app.bot_data["services"]
    await services.db.open()
    # What coordinators taught from /unanswered (coordinator_reports.teach) counts from the start.
    services.matcher.learn_all(await learned.all_learned(services.db))
    app.bot_data["housekeeping"] = asyncio.create_task(_housekeeping_daily(services))
    app.bot_data["reminders_checked"] = checked = asyncio.Event()
    app.bot_data["reminders_stopping"] = stopping = asyncio.Event()
    if services.settings.reminder_days:  # a task like housekeeping's, every few minutes
        app.bot_data["reminders"] = asyncio.create_task(
            reminders.every_few_minutes(app.bot, services, checked, stopping)
        )
    app.bot_data["broadcaster"] = Broadcaster(app)  # announcements and reminders, from SQLite
    app.bot_data["broadcast"] = app.bot_data["broadcaster"].start()
    if services.settings.token is not None:  # serving Telegram, not the console or a test
        settle_long_lived_objects()
        if hasattr(signal, "SIGHUP"):  # `kill -HUP <pid>` re-reads content/ the way /reload does
            loop = asyncio.get_running_loop()
            loop.add_signal_handler(signal.SIGHUP, _reload_on_signal, services)
    default = services.settings.default_language
    try:
        for language in (None, *LANGUAGES):
            lang = language or default

            def _(message: str, lang: str = lang) -> str:
                return i18n.gettext(lang, message)

            await app.bot.set_my_commands(bot_commands(lang), language_code=language)
            await app.bot.set_my_description(
                _(
                    "I help associations, municipalities, wellbeing services counties and "
                    "schools prepare ESF+ project applications under the national theme ET 4.1.7 "
                    "(Equality of the children, young people and families): answers from the "
                    "theme card and other ESF+ background sources, in Finnish, Swedish and English."
                ),
                language_code=language,
            )
            await app.bot.set_my_short_description(
                _("ESF+ theme ET 4.1.7: answers for project applicants."), language_code=language
            )
    except TelegramError as error:
        # Cosmetic: the bot works without its command menu, so a failure here must not stop it.
        log.warning("could not set the command menu or descriptions: %s", error)


def _reload_on_signal(services: Services) -> None:
    problems = coordinator_reports.reload_content(
        services.settings.content_dir, services.install_content
    )
    # What was taught on the command line (python -m bot unanswered --attach) counts from now.
    task = asyncio.get_running_loop().create_task(_reload_learned(services))
    _background.add(task)
    task.add_done_callback(_background.discard)
    if problems:
        log.warning("SIGHUP: content has %d problems; the old content stays:", len(problems))
        for problem in problems:
            log.warning("  %s", problem)
    else:
        log.info("SIGHUP: content reloaded (%d FAQ entries)", len(services.content.entries))


_background: set[asyncio.Task[None]] = set()  # referenced until done, as asyncio asks


async def _reload_learned(services: Services) -> None:
    services.matcher.learn_all(await learned.all_learned(services.db))


async def _housekeeping_daily(services: Services) -> None:
    """Now and then once a day: forget handled updates older than two days and web visitors who
    never said anything in two days, and with BOT_RETENTION_DAYS purge inactive users, stale
    drafts and old questions. A task of ours, not python-telegram-bot's JobQueue:
    docs/performance.md ("Scheduled work") says why."""
    days = services.settings.retention_days
    while True:
        now = datetime.now(UTC)
        try:
            two_days_ago = (now - timedelta(days=2)).isoformat(timespec="seconds")
            await users.forget_handled_updates(services.db, two_days_ago)
            await web_visitors.forget_idle_visitors(services.db, two_days_ago)
            if days:
                before = (now - timedelta(days=days)).isoformat(timespec="seconds")
                users_gone, drafts_gone = await privacy_store.purge(
                    services.db, before, keep_submitted=services.settings.keep_submitted
                )
                log.info("retention: deleted %d users and %d drafts", users_gone, drafts_gone)
        except Exception:  # a failed purge must not stop the bot; it is tried again tomorrow
            log.exception("daily housekeeping failed")
        await asyncio.sleep(24 * 3600)


async def stop_services(app: BotApplication) -> None:
    reminding = app.bot_data.pop("reminders", None)
    if reminding is not None:  # its pass ends first: a claimed reminder is sent, not lost
        app.bot_data["reminders_stopping"].set()
        await reminding
    for name in ("housekeeping", "broadcast"):
        task = app.bot_data.pop(name, None)
        if task is not None:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)  # off the database before close
    await app.bot_data["services"].db.close()


@asynccontextmanager
async def running(app: BotApplication) -> AsyncIterator[BotApplication]:
    """Run the application without fetching updates: the caller feeds them (console, tests)."""
    await app.initialize()
    try:
        await start_services(app)
        yield app
    finally:
        await stop_services(app)
        await app.shutdown()


async def deliver(app: BotApplication, update: dict[str, Any]) -> None:
    """Process one update given as Telegram's JSON, as if it had just arrived: through the same
    update processor (per-user order, button presses answered) as updates from Telegram."""
    parsed = Update.de_json(update, app.bot)
    await app.update_processor.process_update(parsed, app.process_update(parsed))
