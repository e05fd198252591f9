"""Coordinator commands: /export, /stats, /unanswered, /reload.

To anyone else these commands do not exist: they get the unknown-command reply, and the attempt
is logged.
"""

from __future__ import annotations

import logging
import tempfile
from datetime import UTC, datetime, timedelta

from telegram import Update

from bot import coordination
from bot.context import BotContext
from bot.exports import FORMATS, export
from bot.rendering import render
from handlers import errors
from handlers.common import answer_button, callback, callback_parts, send, show
from storage.reports import Filter

log = logging.getLogger(__name__)


def is_coordinator(context: BotContext) -> bool:
    user = context.user
    if user is None:
        return False
    return user.id in context.services.settings.coordinator_ids or user.role == "coordinator"


async def _refuse(update: Update, context: BotContext) -> None:
    log.warning(
        "coordinator command refused for user %s", context.user.id if context.user else None
    )
    if update.callback_query is not None:
        await errors.stale_button(update, context)
    else:
        await errors.unknown_command(update, context)


async def export_start(update: Update, context: BotContext) -> None:
    if not is_coordinator(context):
        await _refuse(update, context)
        return
    _ = context.gettext
    await show(
        update,
        context,
        _("Export outlines: choose the format."),
        [[(fmt.upper(), callback("ex", "f", fmt)) for fmt in FORMATS]],
    )


async def export_button(update: Update, context: BotContext) -> None:
    """ex:f:<format> asks which outlines; ex:g:<format>:<submitted|all> sends the file."""
    if not is_coordinator(context):
        await _refuse(update, context)
        return
    _ = context.gettext
    parts = callback_parts(update)
    if len(parts) == 3 and parts[1] == "f" and parts[2] in FORMATS:
        await answer_button(update)
        await show(
            update,
            context,
            _("Which outlines?"),
            [
                [(_("Submitted"), callback("ex", "g", parts[2], "submitted"))],
                [(_("Submitted in the last 30 days"), callback("ex", "g", parts[2], "recent"))],
                [(_("All, drafts included"), callback("ex", "g", parts[2], "all"))],
            ],
        )
    elif len(parts) == 4 and parts[1] == "g" and parts[2] in FORMATS:
        choice = parts[3]
        if choice not in ("submitted", "recent", "all"):
            await errors.stale_button(update, context)
            return
        await answer_button(update, _("Preparing the file…"))
        since = None
        if choice == "recent":
            since = (datetime.now(UTC) - timedelta(days=30)).date().isoformat()
        selection = Filter(status="all" if choice == "all" else "submitted", since=since)
        await send_export(update, context, parts[2], selection)
    else:
        await errors.stale_button(update, context)


async def send_export(update: Update, context: BotContext, fmt: str, selection: Filter) -> None:
    chat = update.effective_chat
    assert chat is not None
    services = context.services
    # A spooled file: small exports stay in memory, big ones go to disk instead of RAM.
    with tempfile.SpooledTemporaryFile(max_size=8 * 1024 * 1024) as fh:
        count = await export(
            fh, fmt, services.db, services.content, selection, context.lang, context.gettext
        )
        fh.seek(0)
        stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M")
        await context.bot.send_document(
            chat.id,
            document=fh.read(),
            filename=f"et417-outlines-{stamp}.{fmt}",
            caption=context.gettext("Outlines: {count}.", count=count),
        )


async def stats(update: Update, context: BotContext) -> None:
    if not is_coordinator(context):
        await _refuse(update, context)
        return
    html = await coordination.stats_html(context.db, context.services.content, context.lang)
    await send(update, context, html)


async def unanswered(update: Update, context: BotContext) -> None:
    if not is_coordinator(context):
        await _refuse(update, context)
        return
    since = (datetime.now(UTC) - timedelta(days=90)).date().isoformat()
    await send(update, context, await coordination.unanswered_html(context.db, context.lang, since))


async def reload(update: Update, context: BotContext) -> None:
    if not is_coordinator(context):
        await _refuse(update, context)
        return
    _ = context.gettext
    problems = coordination.reload_content(
        context.services.settings.content_dir, context.services.install_content
    )
    if problems:
        log.warning("content reload refused: %d problems", len(problems))
        await send(
            update,
            context,
            render(
                "reload_failed.html",
                intro=_("The content has problems, so I kept the old content:"),
                problems=problems[:30],
                more=max(0, len(problems) - 30),
            ),
        )
        return
    content = context.services.content
    await send(
        update,
        context,
        _(
            "Content reloaded: {entries} questions, {items} checklist items, {sections} "
            "outline sections.",
            entries=len(content.entries),
            items=len(content.checklist),
            sections=len(content.outline),
        ),
    )
