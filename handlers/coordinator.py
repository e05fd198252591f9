"""Coordinator commands: /export, /stats, /unanswered, /reload.

To anyone else these commands do not exist: they get the unknown-command reply, and the attempt
is logged.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import shutil
import tempfile
import zipfile
from datetime import UTC, datetime, timedelta
from typing import IO

from telegram import Update

from bot import coordination
from bot.context import BotContext
from bot.exports import FORMATS, export
from bot.rendering import DOCUMENT_LIMIT, render
from handlers import errors
from handlers.common import answer_button, callback, callback_parts, send, show
from storage.reports import Filter

log = logging.getLogger(__name__)


async def is_coordinator(context: BotContext) -> bool:
    """COORDINATOR_IDS, or the role in the database as this update read it (`load_user`): a
    role taken away on the command line counts from the next update on."""
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
    if not await is_coordinator(context):
        await _refuse(update, context)
        return
    _ = context.gettext
    await show(
        update,
        context,
        _("Export outlines: choose the format."),
        [[(fmt.upper(), callback("ex", "f", fmt)) for fmt in FORMATS]],
    )


_WHICH = ("submitted", "recent", "all")  # which outlines: the second export button


async def export_button(update: Update, context: BotContext) -> None:
    """ex:f:<format> asks which outlines, ex:g:<format>:<which> which sub-theme, and
    ex:s:<format>:<which>:<sub-theme id or *> sends the file."""
    if not await is_coordinator(context):
        await _refuse(update, context)
        return
    _ = context.gettext
    parts = callback_parts(update)
    subthemes = context.services.content.subthemes
    if len(parts) == 3 and parts[1] == "f" and parts[2] in FORMATS:
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
    elif len(parts) == 4 and parts[1] == "g" and parts[2] in FORMATS and parts[3] in _WHICH:
        await show(
            update,
            context,
            _("Which sub-theme?"),
            [[(_("All sub-themes"), callback("ex", "s", parts[2], parts[3], "*"))]]
            + [
                [(s.short[context.lang], callback("ex", "s", parts[2], parts[3], s.id))]
                for s in subthemes.values()
            ],
        )
    elif (
        len(parts) == 5
        and parts[1] == "s"
        and parts[2] in FORMATS
        and parts[3] in _WHICH
        and (parts[4] == "*" or parts[4] in subthemes)
    ):
        await answer_button(update, _("Preparing the file…"))
        since = None
        if parts[3] == "recent":
            since = (datetime.now(UTC) - timedelta(days=30)).date().isoformat()
        selection = Filter(
            status="all" if parts[3] == "all" else "submitted",
            since=since,
            subtheme=None if parts[4] == "*" else parts[4],
        )
        await send_export(update, context, parts[2], selection)
    else:
        await errors.stale_button(update, context)


async def send_export(update: Update, context: BotContext, fmt: str, selection: Filter) -> None:
    chat = update.effective_chat
    assert chat is not None
    services = context.services
    stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M")
    filename = f"et417-outlines-{stamp}.{fmt}"
    # Telegram takes files of up to 50 MB from bots: a bigger export is sent zipped (text
    # compresses about tenfold); one still too big gets a pointer to the command line.
    with contextlib.ExitStack() as files:
        # A spooled file: small exports stay in memory, big ones go to disk instead of RAM.
        fh = files.enter_context(tempfile.SpooledTemporaryFile(max_size=8 * 1024 * 1024))
        count = await export(
            fh, fmt, services.db, services.content, selection, context.lang, context.gettext
        )
        if fh.tell() > DOCUMENT_LIMIT:
            fh.seek(0)
            fh = files.enter_context(await asyncio.to_thread(_zip, fh, filename))
            filename += ".zip"
        size = fh.tell()
        fh.seek(0)
        if size > DOCUMENT_LIMIT:
            log.warning("export of %d outlines too big for Telegram: %d bytes", count, size)
            await send(
                update,
                context,
                context.gettext(
                    "The file is too big for Telegram ({count} outlines). Choose fewer "
                    "outlines, or export on the server: python -m bot export.",
                    count=count,
                ),
            )
            return
        await context.bot.send_document(
            chat.id,
            document=fh.read(),
            filename=filename,
            caption=context.gettext("Outlines: {count}.", count=count),
        )


def _zip(source: IO[bytes], name: str) -> IO[bytes]:
    """`source` zipped into a new spooled file, left positioned at its end."""
    target = tempfile.SpooledTemporaryFile(max_size=8 * 1024 * 1024)  # noqa: SIM115 - returned
    with (
        zipfile.ZipFile(target, "w", compression=zipfile.ZIP_DEFLATED) as archive,
        archive.open(name, "w") as member,
    ):
        shutil.copyfileobj(source, member, 1024 * 1024)
    return target


async def stats(update: Update, context: BotContext) -> None:
    if not await is_coordinator(context):
        await _refuse(update, context)
        return
    html = await coordination.stats_html(context.db, context.services.content, context.lang)
    await send(update, context, html)


async def unanswered(update: Update, context: BotContext) -> None:
    if not await is_coordinator(context):
        await _refuse(update, context)
        return
    since = (datetime.now(UTC) - timedelta(days=90)).date().isoformat()
    await send(update, context, await coordination.unanswered_html(context.db, context.lang, since))


async def reload(update: Update, context: BotContext) -> None:
    if not await is_coordinator(context):
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
