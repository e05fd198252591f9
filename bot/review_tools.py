"""`python -m bot outlines list|show|comment|status`: the coordinators' review on the server, the
same as /outlines in the chat. A change made here is recorded as made on the command line
(review_events.via = 'cli'); the applicant is told when TELEGRAM_BOT_TOKEN is set."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Awaitable, Callable
from typing import Any

from bot import review
from bot.config import LANGUAGES, Settings
from storage import Database

# The command line imports this module for its parser: what only the commands need is imported
# in them, so `python -m bot run` starts no slower.

# Tells the applicant of a status change: (db, user id, draft id, status) → delivered.
Notify = Callable[[Database, int, int, str], Awaitable[bool]]


def add_parser(sub: Any) -> None:
    outlines = sub.add_parser("outlines", help="coordinators' review of submitted outlines")
    actions = outlines.add_subparsers(dest="action", required=True)
    listing = actions.add_parser("list", help="outlines to review, most recently changed first")
    listing.add_argument("--status", choices=review.REVIEWED)
    listing.add_argument("--subtheme", help="a sub-theme id")
    listing.add_argument("--search", default="", help="words in the name or organisation")
    listing.add_argument("--json", action="store_true", help="one JSON object per line")
    show = actions.add_parser("show", help="one outline with its comments and status history")
    show.add_argument("id", type=int)
    show.add_argument("--lang", choices=LANGUAGES)
    show.add_argument("--json", action="store_true", help="stored values, for machines")
    comment = actions.add_parser("comment", help="comment on an outline or one of its sections")
    comment.add_argument("id", type=int)
    comment.add_argument("text")
    comment.add_argument("--section", help="a section id (default: the whole outline)")
    status = actions.add_parser("status", help="change an outline's status")
    status.add_argument("id", type=int)
    status.add_argument("status", choices=review.REVIEWED)


async def outlines(settings: Settings, args: argparse.Namespace, notify: Notify | None) -> int:
    from bot import content as content_module
    from bot.tools import _database
    from storage import review as store

    loaded = content_module.load_valid(content_module.content_root(settings.content_dir))
    language = getattr(args, "lang", None) or settings.default_language
    async with _database(settings) as db:
        if args.action == "list":
            if args.subtheme and args.subtheme not in loaded.subthemes:
                print(f"unknown sub-theme {args.subtheme!r}; one of: {', '.join(loaded.subthemes)}",
                      file=sys.stderr)  # fmt: skip
                return 2
            selection = store.ListFilter(args.status, args.subtheme, args.search)
            found, _total = await store.page(db, selection, 1_000_000, 0)
            for item in found:
                if args.json:
                    print(json.dumps(item.__dict__, ensure_ascii=False))
                else:
                    print(f"{item.id}\t{item.status}\t{item.changed_at}\t{item.title}\t"
                          f"{item.organisation}")  # fmt: skip
            print(f"{len(found)} outlines", file=sys.stderr)
            return 0
        found_status = await store.reviewed(db, args.id)
        if found_status is None:
            print(f"no submitted outline number {args.id}", file=sys.stderr)
            return 1
        current, owner = found_status
        if args.action == "show":
            return await _show(db, loaded, args, current, language)
        if args.action == "comment":
            sections = [section.id for section in loaded.outline]
            if args.section is not None and args.section not in sections:
                print(f"unknown section {args.section!r}; one of: {', '.join(sections)}",
                      file=sys.stderr)  # fmt: skip
                return 2
            text = args.text.strip()
            if not text or len(text) > review.COMMENT_LIMIT:
                print(f"a comment has 1 to {review.COMMENT_LIMIT} characters", file=sys.stderr)
                return 2
            async with db.transaction() as conn:
                await store.add_comment(conn, args.id, args.section, None, text, via="cli")
            print(f"comment added to outline {args.id}", file=sys.stderr)
            return 0
        # status
        if not review.allowed(current, args.status, review.COORDINATOR):
            possible = ", ".join(review.next_statuses(current)) or "none"
            print(f"outline {args.id} is {current}: it cannot become {args.status} "
                  f"(possible: {possible})", file=sys.stderr)  # fmt: skip
            return 1
        async with db.transaction() as conn:
            changed = await store.change_status(conn, args.id, current, args.status, None, "cli")
        if not changed:
            print(f"outline {args.id} changed meanwhile; nothing was changed", file=sys.stderr)
            return 1
        print(f"outline {args.id}: {current} -> {args.status}", file=sys.stderr)
        if owner is None:
            return 0
        if notify is None:
            print("the applicant was not told: TELEGRAM_BOT_TOKEN is not set", file=sys.stderr)
        elif not await notify(db, owner, args.id, args.status):
            print("the applicant could not be told (see the log)", file=sys.stderr)
        return 0


async def _show(
    db: Database, loaded: Any, args: argparse.Namespace, current: str, lang: str
) -> int:
    from bot import i18n
    from bot.outline import display
    from storage import drafts
    from storage import review as store

    answers = await drafts.answers(db, args.id)
    comments = await store.comments(db, args.id)
    events = await store.events(db, args.id)
    if args.json:
        record = {
            "id": args.id,
            "status": current,
            "sections": {s.id: answers.get(s.id) or None for s in loaded.outline},
            "comments": [c.__dict__ for c in comments],
            "status_changes": [e.__dict__ for e in events],
        }
        print(json.dumps(record, ensure_ascii=False, indent=2))
        return 0

    def _(message: str) -> str:
        return i18n.gettext(lang, message)

    names = review.status_names(_)
    print(f"#{args.id} {answers.get(drafts.TITLE, '')}")
    print(f"{names[current]}\n")
    for number, section in enumerate(loaded.outline, 1):
        print(f"{number}. {section.text[lang].title}")
        print(display(loaded, section, answers.get(section.id), lang) or "—")
        for comment in comments:
            if comment.section_id == section.id:
                print(f"  > {comment.created_at} {comment.body}")
        print()
    general = [c for c in comments if c.section_id not in {s.id for s in loaded.outline}]
    for comment in general:
        print(f"> {comment.created_at} {comment.body}")
    for event in events:
        who = "cli" if event.via == "cli" else (event.actor_id or "removed user")
        print(f"{event.created_at}\t{event.from_status} -> {event.to_status}\t{who}")
    return 0
