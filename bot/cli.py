"""The command line: `python -m bot [run|console|...]`."""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import sys
import traceback
from collections.abc import Sequence
from typing import Any

from telegram.error import InvalidToken, NetworkError

from bot import call_tools, review_tools
from bot.config import LANGUAGES, ConfigError, Settings
from bot.review import STATUSES
from storage import Database, DatabaseError


class RedactingFormatter(logging.Formatter):
    """Removes the bot token and the webhook secret from every formatted record, tracebacks
    included: an exception's text (an URL, a library's message) may hold the token."""

    def __init__(self, fmt: str, *secrets: str | None) -> None:
        super().__init__(fmt)
        self.secrets = _secret_forms(*secrets)

    def format(self, record: logging.LogRecord) -> str:
        return redact(super().format(record), self.secrets)


def _secret_forms(*secrets: str | None) -> list[str]:
    """What to look for: each secret, and the token's part after the colon on its own."""
    forms = []
    for secret in secrets:
        if secret:
            forms.append(secret)
            if ":" in secret:
                forms.append(secret.split(":", 1)[1])
    return forms


def redact(text: str, secrets: list[str]) -> str:
    for secret in secrets:
        text = text.replace(secret, "<redacted>")
    return text


def setup_logging(settings: Settings) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(
        RedactingFormatter(
            "%(asctime)s %(levelname)s %(name)s: %(message)s",
            settings.token,
            settings.webhook_secret,
        )
    )
    logging.basicConfig(level=settings.log_level, handlers=[handler], force=True)
    # httpx logs every request URL at INFO, and Telegram's URLs contain the token.
    logging.getLogger("httpx").setLevel(logging.WARNING)
    logging.getLogger("httpcore").setLevel(logging.WARNING)
    # Python's own report of an exception nobody caught goes through the same redaction.
    secrets = _secret_forms(settings.token, settings.webhook_secret)

    def report(kind: type[BaseException], error: BaseException, tb: Any) -> None:
        text = "".join(traceback.format_exception(kind, error, tb))
        sys.stderr.write(redact(text, secrets))

    sys.excepthook = report


# eval-faq's targets: (flag, the figure it limits, default, what the figure counts).
_EVAL_TARGETS = (
    ("--min-top1", "top1_accuracy", 0.90, "the expected entry ranked first"),
    ("--max-false-accept", "false_accept_rate", 0.05, "out-of-scope questions answered directly"),
    (
        "--min-direct", "answered_directly", 0.90,
        "in-scope questions answered directly and correctly, overall",
    ),
    (
        "--min-direct-per-language", "answered_directly_per_language", 0.85,
        "the same in each language",
    ),
    ("--max-wrong", "wrong_answers", 0.02, "in-scope questions answered with a wrong entry"),
    ("--min-oos-not-direct", "oos_not_direct", 0.98, "out-of-scope never answered directly"),
    ("--min-oos-none", "oos_none", 0.95, 'out-of-scope questions told "I don\'t know"'),
)  # fmt: skip


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m bot",
        description="ET 4.1.7 applicant assistant. Configuration comes from environment "
        "variables (see README). Without a subcommand the bot runs on Telegram.",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.add_parser("run", help="serve on Telegram (long polling, or webhook if BOT_WEBHOOK_URL)")
    web = sub.add_parser("web", help="serve the chat as a web page only (no Telegram token)")
    web.add_argument("--host", default=None, help="address to listen on (BOT_WEB_HOST)")
    web.add_argument("--port", type=int, default=None, help="port (BOT_WEB_PORT, else 8080)")
    console = sub.add_parser("console", help="chat with the bot offline in the terminal")
    console.add_argument(
        "--lang", choices=LANGUAGES, help="language your console user's Telegram reports"
    )
    check = sub.add_parser("check-content", help="validate content/ and list every problem")
    check.add_argument(
        "--stale-days",
        type=_days,
        default=180,
        help="warn about changing FAQ entries last checked more than this many days ago (180)",
    )
    ask = sub.add_parser("ask", help="match questions against the FAQ as the bot would")
    ask.add_argument("--lang", choices=LANGUAGES, default=None, help="the asker's language")
    ask.add_argument("--json", action="store_true", help="one JSON object per question")
    ask.add_argument("question", nargs="?", help="without it, one question per line from stdin")
    evaluate = sub.add_parser("eval-faq", help="measure matching on a labelled file")
    evaluate.add_argument("file", nargs="?", help="TSV: language, query, expected id or none")
    # Every target is checked in each language and overall; the defaults are issue 19's.
    for flag, dest, default, meaning in _EVAL_TARGETS:
        evaluate.add_argument(flag, dest=dest, type=float, default=default, help=meaning)
    evaluate.add_argument("--misses", action="store_true", help="list every miss")
    export = sub.add_parser("export", help="export outlines for coordinators")
    export.add_argument("--format", choices=["csv", "xlsx", "json", "html"], default="csv")
    export.add_argument(
        "--status", choices=["submitted", "all", *STATUSES[1:]], default="submitted"
    )
    export.add_argument("--since", type=_date, help="YYYY-MM-DD, inclusive")
    export.add_argument("--until", type=_date, help="YYYY-MM-DD, inclusive")
    export.add_argument("--subtheme", help="only outlines with this sub-theme id")
    export.add_argument("--lang", choices=LANGUAGES, help="language of headers and labels")
    export.add_argument("-o", "--output", help="file to write (text formats: stdout if omitted)")
    export.add_argument("--force", action="store_true", help="replace the -o file if it exists")
    stats = sub.add_parser("stats", help="users, drafts, checklist gaps, questions, feedback")
    stats.add_argument("--lang", choices=LANGUAGES)
    stats.add_argument(
        "--stale-days",
        type=_days,
        default=180,
        help="list changing FAQ entries last checked more than this many days ago (180)",
    )
    unanswered = sub.add_parser("unanswered", help="questions the content does not answer yet")
    unanswered.add_argument("--since", type=_date, help="YYYY-MM-DD")
    unanswered.add_argument("--lang", choices=LANGUAGES, help="also the language of a QUESTION")
    teach = unanswered.add_mutually_exclusive_group()
    teach.add_argument(
        "--attach", nargs=2, metavar=("GROUP", "ENTRY_ID"),
        help="attach a group (its #id in the list, or a question in quotes) to an FAQ entry as "
        "a new variant in its language",
    )  # fmt: skip
    teach.add_argument(
        "--out-of-scope", metavar="GROUP",
        help='mark a group (#id or question) out of scope: it gets "I don\'t know" at once',
    )  # fmt: skip
    content = sub.add_parser("content", help="content editors' tools")
    content.add_argument("action", choices=["learned"], help="learned: variants taught in chat")
    content.add_argument(
        "--write", action="store_true",
        help="append them to the entries' variants in content/faq (BOT_CONTENT_DIR)",
    )  # fmt: skip
    coordinators = sub.add_parser("coordinators", help="manage coordinators stored in the database")
    coordinators.add_argument("action", choices=["add", "remove", "list"])
    coordinators.add_argument("user_id", nargs="?", type=int, help="Telegram user id")
    purge = sub.add_parser("purge", help="delete inactive users and stale unsubmitted drafts")
    purge.add_argument("--inactive-days", type=int, required=True, help="days without activity")
    purge.add_argument("--yes", action="store_true", help="really delete (default: dry run)")
    backup = sub.add_parser("backup", help="consistent copy of the database, also while running")
    backup.add_argument("file", help="where to write the copy (must not exist)")
    review_tools.add_parser(sub)
    call_tools.add_parsers(sub)  # calls, announce
    return parser


def _days(text: str) -> int:
    try:
        days = int(text)
    except ValueError:
        days = -1
    if days < 0:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of days like 180")
    return days


def _date(text: str) -> str:
    from datetime import date

    try:
        return date.fromisoformat(text).isoformat()
    except ValueError as error:
        raise argparse.ArgumentTypeError(f"{text!r} is not a date like 2027-03-01") from error


async def _check_database(settings: Settings) -> None:
    db = Database(settings.database)
    await db.open()
    await db.close()


async def _check_token(settings: Settings) -> None:
    """Ask the Bot API who we are before anything starts: a wrong token or base URL then ends
    the process with one line (`main`), instead of python-telegram-bot's retry loop logging a
    traceback and leaving its connections open."""
    from telegram import Bot

    from bot.channels.api_client import AiohttpRequest

    request = AiohttpRequest(connection_pool_size=1)
    async with Bot(settings.token or "", base_url=settings.api_base_url, request=request):
        pass


def _applicant_notifier(settings: Settings) -> review_tools.Notify | None:
    """How `outlines status` tells the applicant: through the Bot API, when there is a token."""
    if settings.token is None:
        return None
    token = settings.token

    async def tell(db: Database, user_id: int, draft_id: int, status: str) -> bool:
        from telegram.constants import ParseMode
        from telegram.ext import Defaults, ExtBot

        from bot.channels import notices
        from bot.channels.api_client import AiohttpRequest

        bot: ExtBot[None] = ExtBot(
            token,
            base_url=settings.api_base_url,
            request=AiohttpRequest(connection_pool_size=1),
            defaults=Defaults(parse_mode=ParseMode.HTML),
        )
        async with bot:
            return await notices.tell_applicant(bot, db, settings, user_id, draft_id, status)

    return tell


def _run(settings: Settings) -> int:
    from bot.app import build_application
    from bot.channels import webhook

    asyncio.run(_check_database(settings))
    asyncio.run(_check_token(settings))
    if settings.web_port:  # the web chat beside Telegram, in the same Application
        from bot.channels import web
        from bot.channels.api_client import AiohttpRequest

        api = web.WebBotApi()
        app = build_application(settings, web.WebRouting(api, AiohttpRequest()))
        web.attach(app, api, settings)
    else:
        app = build_application(settings)
    if settings.webhook_url:
        asyncio.run(webhook.serve(app, settings))
    else:
        # A pause after each getUpdates lets the handlers of the updates it brought run before
        # the next long poll is prepared (work on the same event loop); updates that arrive
        # meanwhile come together in the next poll. Measured: docs/performance.md.
        app.run_polling(
            allowed_updates=webhook.ALLOWED_UPDATES, poll_interval=settings.poll_interval_ms / 1000
        )
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    command = args.command or "run"
    try:
        settings = Settings.from_env(need_token=command == "run")
        setup_logging(settings)
        if command == "run":
            return _run(settings)
        if command in ("check-content", "ask", "eval-faq"):
            from bot import tools

            return getattr(tools, command.replace("-", "_"))(settings, args)
        if command in (
            "export", "stats", "unanswered", "content", "coordinators", "purge", "backup"
        ):  # fmt: skip
            from bot import tools

            return asyncio.run(getattr(tools, command)(settings, args))
        if command == "outlines":
            return asyncio.run(review_tools.outlines(settings, args, _applicant_notifier(settings)))
        if command in ("calls", "announce"):
            return asyncio.run(getattr(call_tools, command)(settings, args))
        if command == "web":
            from bot.channels.web import serve_alone

            asyncio.run(_check_database(settings))
            host = args.host or settings.web_host
            port = args.port if args.port is not None else settings.web_port or 8080
            return asyncio.run(serve_alone(settings, host, port))
        if command == "console":
            from bot.channels.console import run_console

            return asyncio.run(run_console(settings, language_code=args.lang))
    except ConfigError as error:
        print(f"configuration error: {error}", file=sys.stderr)
        return 2
    except DatabaseError as error:
        print(f"database error: {error}", file=sys.stderr)
        return 1
    except InvalidToken:
        # Its text may quote the token; this line says all an operator can act on.
        print(
            "Telegram refused the token: check TELEGRAM_BOT_TOKEN (revoked or mistyped?) "
            "and TELEGRAM_API_BASE_URL",
            file=sys.stderr,
        )
        return 2
    except NetworkError as error:
        secrets = _secret_forms(settings.token, settings.webhook_secret)
        print(
            f"cannot reach the Bot API at {settings.api_base_url}: {redact(str(error), secrets)}",
            file=sys.stderr,
        )
        return 1
    except KeyboardInterrupt:
        return 0
    except BrokenPipeError:
        # The reader went away (`python -m bot export ... | head`): end quietly, as other tools
        # do, with the status of a process ended by SIGPIPE. Standard output is pointed at
        # /dev/null so that the interpreter's last flush does not fail again.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 141
    return 0
