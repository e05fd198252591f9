"""Command-line tools for content editors: check-content, ask, eval-faq."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import sys
import tempfile
from collections.abc import AsyncIterator, Iterator
from datetime import date
from importlib import resources
from pathlib import Path
from typing import IO

from bot import content as content_module
from bot import glossary
from bot.config import LANGUAGES, Settings
from bot.faq import TARGETS, FaqMatcher, evaluate, read_labelled, shortfalls
from bot.rendering import html_to_text
from storage import Database


def check_content(settings: Settings, args: argparse.Namespace) -> int:
    """Problems fail the check; stale entries are warnings: their facts may still hold, and an
    editor re-checks them on their own schedule."""
    root = content_module.content_root(settings.content_dir)
    loaded, problems = content_module.load(root)
    # The UI catalogs are held to the same glossary as the content (the content itself is
    # checked by load, so that /reload refuses what check-content refuses).
    problems += glossary.check(
        [term for term in glossary.load(root, []) if not term.required], glossary.catalog_texts()
    )
    for problem in problems:
        print(problem)
    days = getattr(args, "stale_days", content_module.STALE_DAYS)
    today = date.today()
    for entry in content_module.stale(loaded, today, days):
        assert entry.checked is not None
        print(
            f"warning: {entry.file} entry {entry.id}: changing facts last checked "
            f"{entry.checked.isoformat()}, {(today - entry.checked).days} days ago "
            f"(more than {days}); check them and update `checked`"
        )
    if problems:
        print(f"{len(problems)} problem(s) in {root}", file=sys.stderr)
        return 1
    print(
        f"content ok: {len(loaded.entries)} FAQ entries in {len(loaded.topics)} topics, "
        f"{len(loaded.contacts)} contacts, languages {', '.join(LANGUAGES)}"
    )
    return 0


def ask(settings: Settings, args: argparse.Namespace) -> int:
    loaded = content_module.load_valid(content_module.content_root(settings.content_dir))
    matcher = FaqMatcher(loaded)
    language = args.lang or settings.default_language
    questions = [args.question] if args.question is not None else sys.stdin
    for line in questions:
        question = line.rstrip("\n")
        if not question.strip():
            continue
        match = matcher.match(question, language)
        best = match.best if match.outcome == "answer" else None
        answer = loaded.entries[best.entry_id].text[language].answer if best else None
        suggestions = [
            {
                "id": s.entry_id,
                "score": s.score,
                "question": loaded.entries[s.entry_id].text[language].question,
            }
            for s in match.suggestions
        ]
        if args.json:
            result = {
                "query": question,
                "outcome": match.outcome,
                "id": best.entry_id if best else None,
                "score": match.best.score if match.best else 0.0,
                "answer": answer,
                "suggestions": suggestions,
            }
            print(json.dumps(result, ensure_ascii=False))
            continue
        print(f"? {question}")
        print(f"  outcome: {match.outcome} (matched in {match.language})")
        if best:
            print(f"  id: {best.entry_id}  score: {best.score}")
            print("  " + (answer or "").replace("\n", "\n  "))
        for s in suggestions:
            print(f"  did you mean: {s['id']} ({s['score']}) {s['question']}")
        if match.outcome == "none" and match.best:
            print(f"  closest: {match.best.entry_id} ({match.best.score})")
        print()
    return 0


def eval_faq(settings: Settings, args: argparse.Namespace) -> int:
    loaded = content_module.load_valid(content_module.content_root(settings.content_dir))
    if args.file:
        with open(args.file, encoding="utf-8") as fh:
            lines = fh.readlines()
    else:
        shipped = resources.files("content").joinpath("eval", "faq_eval.tsv")
        lines = shipped.read_text(encoding="utf-8").splitlines()
    tallies = evaluate(FaqMatcher(loaded), read_labelled(lines))
    columns = [
        ("top1", "top1_accuracy"),
        ("direct", "answered_directly"),
        ("wrong", "wrong_answers"),
        ("suggest-hit", "suggest_hit_rate"),
        ("on-screen", "on_screen"),
        ("false-accept", "false_accept_rate"),
        ("oos-not-direct", "oos_not_direct"),
        ("oos-none", "oos_none"),
    ]
    print("language  queries  in/out  " + "  ".join(f"{title:>6}" for title, _key in columns))
    for name in (*LANGUAGES, "all"):
        if name not in tallies:
            continue
        f = tallies[name].figures()
        figures = "  ".join(f"{f[key]:>{max(6, len(title))}.3f}" for title, key in columns)
        print(f"{name:<9} {f['queries']:>7}  {f['in_scope']:>3}/{f['out_of_scope']:<3} {figures}")
    if args.misses:
        print("\nmisses (language, query, expected, got):")
        for miss in tallies["all"].misses:
            print("  " + miss)
    limits = {key: getattr(args, key) for key, *_rest in TARGETS}
    failed = shortfalls(tallies, limits, args.answered_directly_per_language)
    for failure in failed:
        print(f"FAIL: {failure}", file=sys.stderr)
    return 1 if failed else 0


# -- coordinators' tools: they open the database themselves, next to a running bot -----------


@contextlib.asynccontextmanager
async def _database(settings: Settings) -> AsyncIterator[Database]:
    db = Database(settings.database)
    await db.open()
    try:
        yield db
    finally:
        await db.close()


async def export(settings: Settings, args: argparse.Namespace) -> int:
    from bot import i18n
    from bot.exports import export as write_export
    from storage.reports import Filter

    loaded = content_module.load_valid(content_module.content_root(settings.content_dir))
    language = args.lang or settings.default_language
    selection = Filter(args.status, args.since, args.until, args.subtheme)
    if args.subtheme and args.subtheme not in loaded.subthemes:
        print(f"unknown sub-theme {args.subtheme!r}; one of: {', '.join(loaded.subthemes)}",
              file=sys.stderr)  # fmt: skip
        return 2
    if args.output is None and args.format == "xlsx":
        print("xlsx is binary: give a file with -o", file=sys.stderr)
        return 2
    if args.output is not None and (
        refusal := _refuse_output(Path(args.output), settings, args.force)
    ):
        print(refusal, file=sys.stderr)
        return 2
    async with _database(settings) as db:
        with _private_file(Path(args.output)) if args.output else _stdout_bytes() as fh:
            count = await write_export(
                fh, args.format, db, loaded, selection, language,
                lambda message: i18n.gettext(language, message),
            )  # fmt: skip
    print(f"{count} outlines exported", file=sys.stderr)
    return 0


def _refuse_output(target: Path, settings: Settings, force: bool = False) -> str | None:
    """Why a file must not be written (None if it may): the live database and its companion
    files, an existing file without --force, a folder that does not exist."""
    database = settings.database.resolve()
    companions = {
        database.with_name(database.name + end) for end in ("", "-wal", "-shm", "-journal")
    }
    if target.resolve() in companions:
        return f"refusing to write over the database ({settings.database})"
    if target.exists() and not force:
        return f"{target} exists; give a new file name, or --force to replace it"
    if not target.parent.is_dir():
        return f"the folder {target.parent} does not exist"
    return None


@contextlib.contextmanager
def _private_file(target: Path) -> Iterator[IO[bytes]]:
    """Write `target` readable by its owner only (it holds personal data), through a temporary
    file beside it that replaces it only once complete: a killed export leaves no truncated file
    that looks whole."""
    fd, temporary = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".part")
    try:
        with os.fdopen(fd, "wb") as fh:
            yield fh
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(temporary, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise


@contextlib.contextmanager
def _stdout_bytes() -> Iterator[IO[bytes]]:
    sys.stdout.flush()
    yield sys.stdout.buffer
    sys.stdout.buffer.flush()


async def stats(settings: Settings, args: argparse.Namespace) -> int:
    from bot.coordinator_reports import stats_html

    loaded = content_module.load_valid(content_module.content_root(settings.content_dir))
    async with _database(settings) as db:
        html = await stats_html(
            db, loaded, args.lang or settings.default_language, stale_days=args.stale_days
        )
    print(html_to_text(html))
    return 0


async def unanswered(settings: Settings, args: argparse.Namespace) -> int:
    """List the groups (with their ids), or teach: --attach GROUP ENTRY, --out-of-scope GROUP.
    GROUP is an id from the list, or the question itself (in --lang)."""
    from bot import coordinator_reports
    from bot.faq import words

    language = args.lang or settings.default_language
    async with _database(settings) as db:
        if args.attach is None and args.out_of_scope is None:
            html = await coordinator_reports.unanswered_html(db, language, args.since)
            print(html_to_text(html))
            return 0
        target, entry_id = args.attach if args.attach is not None else (args.out_of_scope, None)
        loaded = content_module.load_valid(content_module.content_root(settings.content_dir))
        if entry_id is not None and entry_id not in loaded.entries:
            print(f"no FAQ entry {entry_id!r}; `python -m bot content learned` and the topic "
                  "files in content/faq list the ids", file=sys.stderr)  # fmt: skip
            return 2
        if target.lstrip("#").isdigit():
            group = await coordinator_reports.find_group(db, int(target.lstrip("#")), args.since)
            if group is None:
                print(f"no unanswered group #{target} (already taught, or older than --since?)",
                      file=sys.stderr)  # fmt: skip
                return 2
            asked, shown = group.asked, group.text
        else:
            shown = " ".join(words(target))
            if not shown:
                print("the question has no words", file=sys.stderr)
                return 2
            asked = ((language, shown),)
        await coordinator_reports.teach(db, FaqMatcher(loaded), asked, entry_id)
    what = f"attached to {entry_id}" if entry_id else "marked out of scope"
    print(f"{shown!r}: {what} ({len(asked)} phrasing(s)). A running bot takes it at its next "
          "/reload, `kill -HUP` or restart (taught in the chat, it counts at once).")  # fmt: skip
    return 0


async def content(settings: Settings, args: argparse.Namespace) -> int:
    """`content learned [--write]`: the variants coordinators taught, as TOML for the editors."""
    from bot import learned_toml
    from storage import learned

    root = content_module.content_root(settings.content_dir)
    loaded = content_module.load_valid(root)
    async with _database(settings) as db:
        taught = await learned.all_learned(db)
    pending = learned_toml.pending(loaded, taught)
    if not args.write:
        print(learned_toml.snippets(loaded, pending, root) or "# nothing new: no taught variant "
              "is missing from the content files")  # fmt: skip
        return 0
    if not isinstance(root, Path):
        print("the content is the installed copy: set BOT_CONTENT_DIR to the folder to write",
              file=sys.stderr)  # fmt: skip
        return 2
    try:
        written = learned_toml.write(root, pending)
    except learned_toml.WriteError as error:
        print(f"nothing written: {error}", file=sys.stderr)
        return 1
    print(f"{written} variant(s) written into {root / 'faq'}; review them and commit")
    return 0


async def coordinators(settings: Settings, args: argparse.Namespace) -> int:
    from storage import users
    from storage.web_visitors import is_web_user

    async with _database(settings) as db:
        if args.action in ("add", "remove"):
            if args.user_id is None:
                print(f"coordinators {args.action} needs a Telegram user id", file=sys.stderr)
                return 2
            if args.action == "add" and is_web_user(args.user_id):
                print("a web chat visitor cannot be a coordinator", file=sys.stderr)
                return 2
            await users.set_role(
                db, args.user_id, "coordinator" if args.action == "add" else "applicant"
            )
        stored = await users.coordinators(db)
    for user_id in sorted(set(stored) | settings.coordinator_ids):
        origin = "COORDINATOR_IDS" if user_id in settings.coordinator_ids else "database"
        print(f"{user_id}\t{origin}")
    return 0


async def purge(settings: Settings, args: argparse.Namespace) -> int:
    from datetime import UTC, datetime, timedelta

    from storage import privacy

    if args.inactive_days < 1:
        print("--inactive-days must be at least 1", file=sys.stderr)
        return 2
    before = (datetime.now(UTC) - timedelta(days=args.inactive_days)).isoformat(timespec="seconds")
    async with _database(settings) as db:
        users, drafts = await privacy.inactive(db, before)
        if not args.yes:
            print(
                f"dry run: would delete {len(users)} users inactive since {before[:10]} and "
                f"{len(drafts)} unsubmitted drafts not edited since then; add --yes to delete"
            )
            return 0
        deleted_users, deleted_drafts = await privacy.purge(
            db, before, keep_submitted=settings.keep_submitted
        )
    print(f"deleted {deleted_users} users and {deleted_drafts} unsubmitted drafts")
    return 0


async def backup(settings: Settings, args: argparse.Namespace) -> int:
    from storage.db import backup_to

    target = Path(args.file)
    if refusal := _refuse_output(target, settings):
        print(refusal, file=sys.stderr)
        return 2
    # Created empty and private first: SQLite's backup then writes into a file only we can read.
    os.close(os.open(target, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600))
    try:
        pages = await backup_to(settings.database, target)
    except BaseException:
        await asyncio.to_thread(target.unlink, missing_ok=True)
        raise
    print(f"backup written to {target} ({pages} pages)")
    return 0
