"""Command-line tools for calls and announcements: `python -m bot calls ...` and
`python -m bot announce ...`. They write to the database; a running bot's sender
(bot/channels/broadcast.py) picks a queued announcement up within seconds, or at its next start."""

from __future__ import annotations

import argparse
import asyncio
import sys
from datetime import UTC, datetime
from pathlib import Path

from bot import calls as call_text
from bot import content as content_module
from bot import i18n
from bot.config import LANGUAGES, Settings
from bot.rendering import escape, html_to_text
from storage import Database, outbox
from storage import calls as call_store


def add_parsers(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    calls = sub.add_parser("calls", help="calls for applications: add, edit, close, list")
    calls.add_argument("action", choices=["add", "edit", "close", "list"])
    calls.add_argument("call_id", nargs="?", type=int, help="the call's number (edit, close)")
    for lang in LANGUAGES:
        calls.add_argument(f"--{lang}", help=f"title in {lang}")
    calls.add_argument("--opens", help="Finnish time, e.g. '2027-03-01 09:00'")
    calls.add_argument("--closes", help="Finnish time, e.g. '2027-04-15 16:15'")
    calls.add_argument("--subthemes", help="sub-theme ids, comma-separated, or all")
    calls.add_argument("--link", help="the call in EURA 2021 (https://...)")
    calls.add_argument("--lang", choices=LANGUAGES, help="language of the output")
    announce = sub.add_parser("announce", help="send call news to subscribers, exactly once")
    what = announce.add_mutually_exclusive_group(required=True)
    what.add_argument(
        "--file",
        help="plain-text file: one text for everyone, or sections starting fi:, sv: and en:",
    )
    what.add_argument("--status", action="store_true", help="how the latest ones went")
    announce.add_argument("--yes", action="store_true", help="send without asking")
    announce.add_argument("--lang", choices=LANGUAGES, help="language of the output")


async def calls(settings: Settings, args: argparse.Namespace) -> int:
    language = args.lang or settings.default_language
    content = content_module.load_valid(content_module.content_root(settings.content_dir))
    names = {id_: s.short[language] for id_, s in content.subthemes.items()}
    db = Database(settings.database, settings.db_synchronous)
    await db.open()
    try:
        now = datetime.now(UTC)
        if args.action == "list":
            for call in await call_store.all_calls(db):
                state = "closed" if call.closed_at else "open" if call.is_open(now) else ""
                print(f"#{call.id} {state}".rstrip())
                print(_plain(call_text.call_summary(call, now, language, names)), end="\n\n")
            return 0
        form = {key: getattr(args, key) for key in call_text.CALL_FIELDS if getattr(args, key)}
        base = None
        if args.action != "add":
            if args.call_id is None:
                print(f"calls {args.action} needs the call's number", file=sys.stderr)
                return 2
            base = await call_store.get(db, args.call_id)
            if base is None:
                print(f"there is no call #{args.call_id}", file=sys.stderr)
                return 1
        if args.action == "close":
            assert base is not None
            closed = await call_store.close(db, base.id)
            print(f"call #{base.id} closed" if closed else f"call #{base.id} was closed already")
            return 0
        fields, problems = call_text.call_fields(form, names, base)
        if base is not None and not form:
            problems = [call_text.Problem("missing", ", ".join(call_text.CALL_FIELDS))]
        if fields is None or problems:
            for problem in problems:
                print(_plain(call_text.problem_text(problem, language, names)), file=sys.stderr)
            return 1
        if base is None:
            call_id = await call_store.add(db, fields)
        else:
            call_id = base.id
            await call_store.update(db, call_id, fields)
        call = await call_store.get(db, call_id)
        assert call is not None
        print(f"call #{call_id} saved")
        print(_plain(call_text.call_summary(call, now, language, names)))
        return 0
    finally:
        await db.close()


async def announce(settings: Settings, args: argparse.Namespace) -> int:
    language = args.lang or settings.default_language
    db = Database(settings.database, settings.db_synchronous)
    await db.open()
    try:
        if args.status:
            for sent in await outbox.recent(db, limit=10):
                progress = await outbox.progress(db, sent.id)
                counts = ", ".join(f"{k} {v}" for k, v in sorted(progress.counts.items()))
                print(f"#{sent.id} {sent.kind} {sent.status} {sent.queued_at}: {counts or '-'}")
            return 0
        try:
            text = await asyncio.to_thread(Path(args.file).read_text, encoding="utf-8")
        except (OSError, UnicodeDecodeError) as error:
            print(f"cannot read {args.file}: {error}", file=sys.stderr)
            return 1
        bodies, problems = call_text.announcement_texts(text)
        html = (
            {lang: call_text.announcement_html(escape(b), lang) for lang, b in bodies.items()}
            if bodies
            else {}
        )
        problems += [call_text.Problem("too_long", lang) for lang in call_text.too_long(html)]
        if bodies is None or problems:
            for problem in problems:
                print(_plain(call_text.problem_text(problem, language, [])), file=sys.stderr)
            return 1
        count = await call_store.subscriber_count(db)
        for lang in LANGUAGES:
            print(f"--- {i18n.language_name(lang)} ---\n{_plain(html[lang])}\n")
        if not args.yes:
            answer = await asyncio.to_thread(input, f"Send this to {count} subscribers? [y/N] ")
            if answer.strip().lower() not in ("y", "yes", "k", "kyllä", "j", "ja"):
                print("nothing was sent")
                return 1
        announcement_id = await outbox.create(db, html, None)
        queued = await outbox.queue(db, announcement_id)
        print(
            f"announcement #{announcement_id} queued for {queued} subscribers; a running bot "
            "sends it (python -m bot announce --status shows the progress)"
        )
        return 0
    finally:
        await db.close()


def _plain(html: str) -> str:
    return html_to_text(html)
