"""Coordinator commands: /export, /stats, /unanswered (and teaching from it), /reload.

To anyone else these commands do not exist: they get the unknown-command reply, and the attempt
is logged.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import shutil
import tempfile
import zipfile
from datetime import UTC, datetime, timedelta
from typing import IO

from telegram import Update
from telegram.ext import CallbackQueryHandler, CommandHandler

from bot import coordinator_reports
from bot.channels.context import BotContext
from bot.coordinator_reports import ALL_SUBTHEMES, EXPORT_WHICH, ExportRequest, read_export_args
from bot.exports import FORMATS, export
from bot.rendering import DOCUMENT_LIMIT, render
from handlers import fallback
from handlers.common import (
    PRIVATE,
    Handlers,
    Keyboard,
    answer_button,
    button_data,
    button_data_parts,
    send,
    shorten,
    show,
    stale_button,
)
from storage import learned
from storage.reports import Filter
from storage.web_visitors import is_web_user

EXPORT_PREFIX = "ex"  # callback data of this module's buttons
UNANSWERED_PREFIX = "un"  # callback data of this module's buttons

log = logging.getLogger(__name__)


async def is_coordinator(context: BotContext) -> bool:
    """COORDINATOR_IDS, or the role in the database as this update read it (`load_user`): a
    role taken away on the command line counts from the next update on."""
    user = context.user
    if user is None or is_web_user(user.id):  # coordinator tools stay in Telegram and the CLI
        return False
    return user.id in context.services.settings.coordinator_ids or user.role == "coordinator"


async def _refuse(update: Update, context: BotContext) -> None:
    log.warning(
        "coordinator command refused for user %s", context.user.id if context.user else None
    )
    if update.callback_query is not None:
        await stale_button(update, context)
    else:
        await fallback.unknown_command(update, context)


async def export_start(update: Update, context: BotContext) -> None:
    """/export asks for the format, which outlines and which sub-theme; arguments fill those
    steps (`/export json`, `/export csv submitted leisure`), and the chat asks for the rest."""
    if not await is_coordinator(context):
        await _refuse(update, context)
        return
    subthemes = context.services.content.subthemes
    request = read_export_args(context.args or [], FORMATS, subthemes)
    if request is None:
        _ = context.gettext
        await send(
            update,
            context,
            _(
                "Usage: /export [format] [which outlines] [sub-theme], e.g. /export csv "
                "submitted. Formats: {formats}; which: {which}; sub-themes: {subthemes}.",
                formats=", ".join(FORMATS),
                which=", ".join(EXPORT_WHICH),
                subthemes=", ".join(subthemes),
            ),
        )
        return
    await _export_step(update, context, request)


async def export_button(update: Update, context: BotContext) -> None:
    """ex:f:<format> · ex:g:<format>:<which> · ex:w:<format>:<sub-theme id or *> ·
    ex:s:<format>:<which>:<sub-theme id or *>: the choices so far; the next is asked, and the
    file is sent once all three are known."""
    if not await is_coordinator(context):
        await _refuse(update, context)
        return
    parts = button_data_parts(update)
    fields = {"f": ("format",), "g": ("format", "which"), "w": ("format", "subtheme")}
    fields["s"] = ("format", "which", "subtheme")
    names = fields.get(parts[1], ()) if len(parts) > 1 else ()
    subthemes = context.services.content.subthemes
    request = ExportRequest(**dict(zip(names, parts[2:], strict=False)))
    if (
        not names
        or len(parts) != 2 + len(names)
        or request.format not in FORMATS
        or request.which not in (None, *EXPORT_WHICH)
        or not (request.subtheme in (None, ALL_SUBTHEMES) or request.subtheme in subthemes)
    ):
        await stale_button(update, context)
        return
    await _export_step(update, context, request)


async def _export_step(update: Update, context: BotContext, request: ExportRequest) -> None:
    """Ask for the first choice still open, with buttons that carry the ones made; or send."""
    _ = context.gettext
    fmt, which, sub = request.format, request.which, request.subtheme
    subthemes = context.services.content.subthemes
    if fmt is None:

        def then(chosen: str) -> str:
            if which and sub:
                return button_data(EXPORT_PREFIX, "s", chosen, which, sub)
            if which:
                return button_data(EXPORT_PREFIX, "g", chosen, which)
            return (
                button_data(EXPORT_PREFIX, "w", chosen, sub)
                if sub
                else button_data(EXPORT_PREFIX, "f", chosen)
            )

        await show(
            update,
            context,
            _("Export outlines: choose the format."),
            [[(name.upper(), then(name)) for name in FORMATS]],
        )
    elif which is None:

        def pick(chosen: str) -> str:
            return (
                button_data(EXPORT_PREFIX, "s", fmt, chosen, sub)
                if sub
                else button_data(EXPORT_PREFIX, "g", fmt, chosen)
            )

        await show(
            update,
            context,
            _("Which outlines?"),
            [
                [(_("Submitted"), pick("submitted"))],
                [(_("Submitted in the last 30 days"), pick("recent"))],
                [(_("All, drafts included"), pick("all"))],
            ],
        )
    elif sub is None:
        await show(
            update,
            context,
            _("Which sub-theme?"),
            [[(_("All sub-themes"), button_data(EXPORT_PREFIX, "s", fmt, which, ALL_SUBTHEMES))]]
            + [
                [(s.short[context.lang], button_data(EXPORT_PREFIX, "s", fmt, which, s.id))]
                for s in subthemes.values()
            ],
        )
    else:
        await answer_button(update, _("Preparing the file…"))
        since = None
        if which == "recent":
            since = (datetime.now(UTC) - timedelta(days=30)).date().isoformat()
        selection = Filter(
            status="all" if which == "all" else "submitted",
            since=since,
            subtheme=None if sub == ALL_SUBTHEMES else sub,
        )
        await send_export(update, context, fmt, selection)


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
    html = await coordinator_reports.stats_html(context.db, context.services.content, context.lang)
    await send(update, context, html)


UNANSWERED_DAYS = 90  # /unanswered lists the questions of this many days
TEACH_BUTTONS = 8  # groups offered for teaching under the list, most frequent first


def _since() -> str:
    return (datetime.now(UTC) - timedelta(days=UNANSWERED_DAYS)).date().isoformat()


async def unanswered(update: Update, context: BotContext) -> None:
    if not await is_coordinator(context):
        await _refuse(update, context)
        return
    await _unanswered_list(update, context)


async def _unanswered_list(update: Update, context: BotContext) -> None:
    html = await coordinator_reports.unanswered_html(context.db, context.lang, _since())
    groups, _total = await coordinator_reports.unanswered_groups(context.db, _since())
    buttons: Keyboard = [
        [
            (
                f"✏️ {group.count}× {shorten(group.text, 50)}",
                button_data(UNANSWERED_PREFIX, "g", group.id),
            )
        ]
        for group in groups[:TEACH_BUTTONS]
    ]
    await show(update, context, html, buttons or None)


async def unanswered_button(update: Update, context: BotContext) -> None:
    """Teaching from /unanswered. un:l the list · un:g:<group> one group · un:a:<group> its
    topics · un:t:<group>:<topic> the topic's entries · un:e:<group>:<entry> attach ·
    un:o:<group> out of scope. A group is the id of a logged query (coordinator_reports.Group)."""
    if not await is_coordinator(context):
        await _refuse(update, context)
        return
    _ = context.gettext
    parts = button_data_parts(update)
    content = context.services.content
    action, args = (parts[1], parts[2:]) if len(parts) > 1 else ("", [])
    if action == "l" and not args:
        await _unanswered_list(update, context)
        return
    if not args or not _GROUP_ID.fullmatch(args[0]):
        await stale_button(update, context)
        return
    group = await coordinator_reports.find_group(context.db, int(args[0]), _since())
    if group is None:
        await answer_button(update, _("Someone has already dealt with this question."), True)
        await _unanswered_list(update, context)
        return
    quoted = render("unanswered_group.html", group=group, _=_)
    back_to_list = [(_("⬅️ All unanswered questions"), button_data(UNANSWERED_PREFIX, "l"))]
    if action == "g" and len(args) == 1:
        await show(
            update,
            context,
            quoted + "\n\n" + _("Attach it to an entry that answers it, or mark it out of scope?"),
            [
                [(_("📎 Attach to an entry…"), button_data(UNANSWERED_PREFIX, "a", group.id))],
                [(_("🚫 Out of scope"), button_data(UNANSWERED_PREFIX, "o", group.id))],
                back_to_list,
            ],
        )
    elif action == "a" and len(args) == 1:
        await show(
            update,
            context,
            quoted + "\n\n" + _("Which topic is the entry in?"),
            [
                [
                    (
                        topic.title[context.lang],
                        button_data(UNANSWERED_PREFIX, "t", group.id, topic.id),
                    )
                ]
                for topic in content.sorted_topics()
            ]
            + [[(_("⬅️ Back"), button_data(UNANSWERED_PREFIX, "g", group.id))]],
        )
    elif action == "t" and len(args) == 2 and args[1] in content.topics:
        entries = content.entries_in(args[1])
        await show(
            update,
            context,
            quoted + "\n\n" + _("Which entry answers it?"),
            [[(shorten(e.text[context.lang].question),
               button_data(UNANSWERED_PREFIX, "e", group.id, e.id))] for e in entries]
            + [[(_("⬅️ Topics"), button_data(UNANSWERED_PREFIX, "a", group.id))]],
        )  # fmt: skip
    elif action == "e" and len(args) == 2 and args[1] in content.entries:
        await coordinator_reports.teach(context.db, context.services.matcher, group.asked, args[1])
        entry = content.entries[args[1]]
        await show(
            update,
            context,
            quoted
            + "\n\n"
            + _(
                "Done: this question now gets the answer to <b>{question}</b>. It is stored as a "
                "new variant of that entry; <code>python -m bot content learned</code> shows it "
                "to the content editors.",
                question=entry.text[context.lang].question,
            ),
            [back_to_list],
        )
    elif action == "o" and len(args) == 1:
        await coordinator_reports.teach(context.db, context.services.matcher, group.asked, None)
        await show(
            update,
            context,
            quoted
            + "\n\n"
            + _("Done: marked out of scope. This question now gets “I don't know” at once."),
            [back_to_list],
        )
    else:
        await stale_button(update, context)


_GROUP_ID = re.compile(r"[1-9][0-9]{0,17}")


async def reload(update: Update, context: BotContext) -> None:
    if not await is_coordinator(context):
        await _refuse(update, context)
        return
    _ = context.gettext
    problems = coordinator_reports.reload_content(
        context.services.settings.content_dir, context.services.install_content
    )
    # What was taught on the command line (python -m bot unanswered --attach) counts from now.
    context.services.matcher.learn_all(await learned.all_learned(context.db))
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


def handlers() -> Handlers:
    return [
        CommandHandler("export", export_start, filters=PRIVATE),
        CallbackQueryHandler(export_button, pattern=rf"^{EXPORT_PREFIX}:"),
        CommandHandler("stats", stats, filters=PRIVATE),
        CommandHandler("unanswered", unanswered, filters=PRIVATE),
        CallbackQueryHandler(unanswered_button, pattern=rf"^{UNANSWERED_PREFIX}:"),
        CommandHandler("reload", reload, filters=PRIVATE),
    ]
