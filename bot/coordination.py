"""What coordinators see: statistics, unanswered questions, content reloads. Shared by the chat
commands and the CLI, which prints the same text without markup."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from bot import i18n
from bot.content import Content, content_root, load
from bot.exports import status_names
from bot.faq import FaqMatcher, group_similar
from bot.rendering import render
from storage import Database, reports


async def stats_html(db: Database, content: Content, language: str) -> str:
    def _(message: str) -> str:
        return i18n.gettext(language, message)

    week_ago = (datetime.now(UTC) - timedelta(days=7)).isoformat(timespec="seconds")
    figures = await reports.statistics(db, week_ago)
    return render(
        "stats.html",
        s=figures,
        subtheme_names={s.id: s.short[language] for s in content.subthemes.values()},
        item_names={item.id: item.text[language].gap for item in content.checklist},
        status_names=status_names(_),
        outcome_names={"answer": _("answered"), "suggest": _("suggested"), "none": _("no answer")},
        _=_,
    )


async def unanswered_html(db: Database, language: str, since: str | None) -> str:
    def _(message: str) -> str:
        return i18n.gettext(language, message)

    rows = await reports.unanswered(db, since)
    clusters = group_similar([query for _language, query, _why in rows])
    return render("unanswered.html", clusters=clusters[:40], total=len(rows), _=_)


def reload_content(
    settings_content_dir: object, install: Callable[[Content, FaqMatcher], None]
) -> list[str]:
    """Read content/ again; switch to it only if it passes every check. Returns the problems."""
    content, problems = load(content_root(settings_content_dir))  # type: ignore[arg-type]
    if not problems:
        install(content, FaqMatcher(content))
    return problems
