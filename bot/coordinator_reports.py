"""What coordinators see: statistics, unanswered questions, content reloads. Shared by the chat
commands and the CLI, which prints the same text without markup."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from bot import i18n
from bot.content import STALE_DAYS, Content, content_root, load, stale
from bot.exports import status_names
from bot.faq import FaqMatcher, group_similar
from bot.rendering import render
from storage import Database, learned, reports


async def stats_html(
    db: Database, content: Content, language: str, *, stale_days: int = STALE_DAYS
) -> str:
    def _(message: str, **values: object) -> str:
        text = i18n.gettext(language, message)
        return text.format(**values) if values else text

    week_ago = (datetime.now(UTC) - timedelta(days=7)).isoformat(timespec="seconds")
    figures = await reports.statistics(db, week_ago)
    return render(
        "stats.html",
        s=figures,
        taught=await learned.counts(db),
        subtheme_names={s.id: s.short[language] for s in content.subthemes.values()},
        item_names={item.id: item.text[language].gap for item in content.checklist},
        status_names=status_names(_),
        outcome_names={"answer": _("answered"), "suggest": _("suggested"), "none": _("no answer")},
        stale=[
            (
                entry.id,
                entry.text[language].question,
                i18n.format_long_date(entry.checked, language),
            )
            for entry in stale(content, date.today(), stale_days)
            if entry.checked is not None
        ],
        stale_days=stale_days,
        _=_,
    )


@dataclass(frozen=True)
class Group:
    """Near-identical unanswered questions. `id` is the first logged row of the most frequent
    phrasing: stable while the group is listed, and what buttons and the CLI refer to."""

    id: int
    text: str
    count: int
    phrasings: tuple[str, ...]  # the others
    asked: tuple[tuple[str, str], ...]  # every (language, normalized query) in the group


async def unanswered_groups(db: Database, since: str | None) -> tuple[list[Group], int]:
    """The groups, most frequent first, and how many questions they hold."""
    rows = await reports.unanswered(db, since)
    first_id: dict[str, int] = {}
    languages: dict[str, dict[str, None]] = {}
    for row_id, language, query, _why in rows:
        first_id.setdefault(query, row_id)
        languages.setdefault(query, {})[language] = None
    groups = [
        Group(
            first_id[text],
            text,
            count,
            tuple(others),
            tuple((lang, q) for q in (text, *others) for lang in languages[q]),
        )
        for text, count, others in group_similar([row[2] for row in rows])
    ]
    return groups, len(rows)


async def unanswered_html(db: Database, language: str, since: str | None) -> str:
    def _(message: str) -> str:
        return i18n.gettext(language, message)

    found, total = await unanswered_groups(db, since)
    return render("unanswered.html", groups=found[:LISTED], total=total, _=_)


LISTED = 40  # groups in /unanswered and `python -m bot unanswered`


async def teach(
    db: Database,
    matcher: FaqMatcher,
    asked: tuple[tuple[str, str], ...],
    entry_id: str | None,
) -> None:
    """Attach every phrasing to `entry_id` as a variant in its language, or (None) mark them out
    of scope: stored first (it survives a restart), then taken into the running matcher."""
    kind = learned.VARIANT if entry_id else learned.OUT_OF_SCOPE
    items = [learned.Learned(kind, language, query, entry_id) for language, query in asked]
    await learned.teach(db, items)
    matcher.learn_all(items)


async def find_group(db: Database, group_id: int, since: str | None) -> Group | None:
    """The unanswered group holding the query logged as `group_id` (any of its rows will do: the
    grouping may pick another representative in another time window)."""
    row = await db.fetchone("SELECT query FROM faq_queries WHERE id = ?", (group_id,))
    if row is None:
        return None
    groups, _total = await unanswered_groups(db, since)
    return next((g for g in groups if any(q == row[0] for _lang, q in g.asked)), None)


def reload_content(
    settings_content_dir: object, install: Callable[[Content, FaqMatcher], None]
) -> list[str]:
    """Read content/ again; switch to it only if it passes every check. Returns the problems."""
    content, problems = load(content_root(settings_content_dir))  # type: ignore[arg-type]
    if not problems:
        install(content, FaqMatcher(content))
    return problems


EXPORT_WHICH = ("submitted", "recent", "all")  # submitted; submitted in 30 days; drafts too
ALL_SUBTHEMES = "*"


@dataclass(frozen=True)
class ExportRequest:
    """What `/export <arguments>` asked for; None where the chat is still to ask."""

    format: str | None = None
    which: str | None = None
    subtheme: str | None = None  # a sub-theme id, or ALL_SUBTHEMES


def read_export_args(
    args: Iterable[str], formats: Iterable[str], subthemes: Iterable[str]
) -> ExportRequest | None:
    """`/export json`, `/export csv submitted`, `/export html all leisure`: the arguments in
    any order, in any case; None if one is unknown or given twice."""
    formats, subthemes = set(formats), set(subthemes)
    found: dict[str, str] = {}
    for arg in args:
        word = arg.casefold().strip(",;")
        if word in formats:
            field = "format"
        elif word in EXPORT_WHICH:
            field = "which"
        elif word in subthemes or word == ALL_SUBTHEMES:
            field = "subtheme"
        else:
            return None
        if field in found:
            return None
        found[field] = word
    return ExportRequest(**found)
