"""Calls for applications and the messages about them, without Telegram.

A call has a title in each language, opening and closing times (entered as local time in
Finland, stored in UTC), the sub-themes it covers and its page in EURA 2021. Coordinators give
them as a short form of `key: value` lines, the same in chat (`/calls add`) and, as flags, on
the command line; announcements are typed the same way, one text for all or `fi:`/`sv:`/`en:`
sections. What the bot says about calls (the FAQ's "next call" answer, the menu's line,
reminders, the footer of an announcement) is rendered here for a language, from gettext.
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from urllib.parse import urlparse

from bot import i18n
from bot.config import LANGUAGES
from bot.rendering import MESSAGE_LIMIT, check_html, escape

# FAQ entries whose answer comes from the calls coordinators keep, when there is one to tell.
CALL_ENTRIES = frozenset({"future-calls"})
TITLE_LIMIT = 200
CALL_FIELDS = ("fi", "sv", "en", "opens", "closes", "subthemes", "link")


@dataclass(frozen=True)
class Call:
    id: int
    title: Mapping[str, str]
    opens_at: datetime  # aware, UTC
    closes_at: datetime
    subthemes: tuple[str, ...]
    link: str
    closed_at: datetime | None = None
    updated_at: datetime | None = None

    def is_open(self, now: datetime) -> bool:
        return self.closed_at is None and self.opens_at <= now < self.closes_at

    def is_over(self, now: datetime) -> bool:
        return self.closed_at is not None or now >= self.closes_at


@dataclass(frozen=True)
class Problem:
    """Something wrong in a form; `code` picks the message, `detail` is quoted in it."""

    code: str
    detail: str = ""


def open_and_next(calls: Iterable[Call], now: datetime) -> tuple[Call | None, Call | None]:
    """The open call closing soonest, and the announced call opening soonest."""
    calls = list(calls)
    open_now = sorted((c for c in calls if c.is_open(now)), key=lambda c: c.closes_at)
    coming = sorted(
        (c for c in calls if not c.is_over(now) and c.opens_at > now), key=lambda c: c.opens_at
    )
    return (open_now[0] if open_now else None, coming[0] if coming else None)


def days_left(call: Call, now: datetime) -> int:
    """Calendar days in Finland from today to the closing day: 0 on the closing day itself."""
    return (i18n.in_helsinki(call.closes_at).date() - i18n.in_helsinki(now).date()).days


def due_reminder(call: Call, now: datetime, days: Iterable[int]) -> int | None:
    """Which reminder is due now: of the thresholds passed (closing minus N days), the nearest
    to the closing. A call announced with 10 days left gets the 14-day one at once (it says how
    many days are left) and the 3-day one later; a bot that was down for the 14-day one sends
    only the 3-day one, never two at once."""
    if not call.is_open(now):
        return None
    passed = [d for d in days if now >= call.closes_at - timedelta(days=d)]
    return min(passed) if passed else None


# -- reading forms ------------------------------------------------------------------------------

_KEY = re.compile(r"^\s*([A-Za-z]+)\s*:\s?(.*)$")
_ISO = re.compile(r"^(\d{4})-(\d{1,2})-(\d{1,2})(?:[ T](\d{1,2})[:.](\d{2}))?$")
_FINNISH = re.compile(
    r"^(\d{1,2})\.(\d{1,2})\.(\d{4})(?:\s+(?:klo\s+|kl\.?\s+|at\s+)?(\d{1,2})[:.](\d{2}))?$",
    re.IGNORECASE,
)


def read_form(text: str, keys: Iterable[str]) -> tuple[dict[str, str], list[Problem]]:
    """`key: value` lines; a line without a known key continues the value before it (texts of
    several paragraphs). Keys are case-insensitive; text before the first key is a problem."""
    known = set(keys)
    values: dict[str, list[str]] = {}
    current: str | None = None
    problems: list[Problem] = []
    for line in text.splitlines():
        match = _KEY.match(line)
        if match and match.group(1).lower() in known:
            current = match.group(1).lower()
            if current in values:
                problems.append(Problem("repeated", current))
            values[current] = [match.group(2)]
        elif current is not None:
            values[current].append(line)
        elif line.strip():
            problems.append(Problem("stray", line.strip()[:40]))
    return {key: "\n".join(lines).strip() for key, lines in values.items()}, problems


def parse_local_time(text: str, *, end_of_day: bool = False) -> datetime | None:
    """A local time in Finland as written ("2027-03-01 09:00", "1.3.2027 klo 9.00", or a day
    alone: its start, or with `end_of_day` 23:59), in UTC; None if it is no such time."""
    text = " ".join(text.split())
    match = _ISO.match(text)
    if match:
        year, month, day, hour, minute = match.groups()
    elif match := _FINNISH.match(text):
        day, month, year, hour, minute = match.groups()
    else:
        return None
    try:
        day_ = date(int(year), int(month), int(day))
        at = time(int(hour), int(minute)) if hour is not None else None
    except ValueError:
        return None
    if at is None:
        at = time(23, 59) if end_of_day else time(0, 0)
    return datetime.combine(day_, at, tzinfo=i18n.HELSINKI).astimezone(UTC)


@dataclass(frozen=True)
class CallFields:
    title: dict[str, str]
    opens_at: datetime
    closes_at: datetime
    subthemes: tuple[str, ...]
    link: str


def call_fields(
    form: Mapping[str, str], subtheme_ids: Iterable[str], base: Call | None = None
) -> tuple[CallFields | None, list[Problem]]:
    """A new call's fields from a form, or `base` with the form's fields changed. Every
    problem is listed; nothing is returned unless there are none."""
    problems: list[Problem] = []
    title = {lang: (base.title[lang] if base else "") for lang in LANGUAGES}
    for lang in LANGUAGES:
        if lang in form:
            title[lang] = " ".join(form[lang].split())
        if not title[lang]:
            problems.append(Problem("title_missing", lang))
        elif len(title[lang]) > TITLE_LIMIT:
            problems.append(Problem("title_long", lang))
    opens = base.opens_at if base else None
    closes = base.closes_at if base else None
    if "opens" in form:
        opens = parse_local_time(form["opens"])
        if opens is None:
            problems.append(Problem("time", form["opens"][:40]))
    elif opens is None:
        problems.append(Problem("missing", "opens"))
    if "closes" in form:
        closes = parse_local_time(form["closes"], end_of_day=True)
        if closes is None:
            problems.append(Problem("time", form["closes"][:40]))
    elif closes is None:
        problems.append(Problem("missing", "closes"))
    if opens is not None and closes is not None and closes <= opens:
        problems.append(Problem("order"))
    subthemes = base.subthemes if base else ()
    if "subthemes" in form:
        known = list(subtheme_ids)
        given = [s for s in re.split(r"[\s,;]+", form["subthemes"].lower()) if s]
        if given in (["all"], ["*"]):
            given = known
        unknown = [s for s in given if s not in known]
        if unknown or not given:
            problems.append(Problem("subthemes", ", ".join(unknown)[:80]))
        subthemes = tuple(s for s in known if s in given)  # in the content's order
    elif base is None:
        problems.append(Problem("missing", "subthemes"))
    link = base.link if base else ""
    if "link" in form:
        link = form["link"].strip()
        parsed = urlparse(link)
        if parsed.scheme not in ("http", "https") or not parsed.netloc or re.search(r"\s", link):
            problems.append(Problem("link", link[:60]))
    elif base is None:
        problems.append(Problem("missing", "link"))
    if problems or opens is None or closes is None:
        return None, problems
    return CallFields(title, opens, closes, subthemes, link), []


ANNOUNCE_KEYS = LANGUAGES


def announcement_texts(text: str) -> tuple[dict[str, str] | None, list[Problem]]:
    """One text for all, or a section per language (`fi:`, `sv:`, `en:`, each needed)."""
    keys = [match.group(1).lower() for line in text.splitlines() if (match := _KEY.match(line))]
    if not set(keys) & set(ANNOUNCE_KEYS):
        body = text.strip()
        return ({lang: body for lang in LANGUAGES}, []) if body else (None, [Problem("empty")])
    form, problems = read_form(text, ANNOUNCE_KEYS)
    problems += [Problem("language_missing", lang) for lang in LANGUAGES if not form.get(lang)]
    return (None, problems) if problems else ({lang: form[lang] for lang in LANGUAGES}, [])


# -- what the bot says --------------------------------------------------------------------------


def translator(language: str) -> Callable[..., str]:
    """gettext for `language`, filling `{placeholders}` escaped for Telegram HTML."""

    def _(message: str, /, **values: Any) -> str:
        text = i18n.gettext(language, message)
        return text.format(**{k: escape(str(v)) for k, v in values.items()}) if values else text

    return _


def _when(moment: datetime, language: str) -> str:
    return i18n.format_datetime(moment, language)


def _link(call: Call, language: str) -> str:
    _ = translator(language)
    label = escape(_("The call in EURA 2021"))
    return f'<a href="{html.escape(call.link, quote=True)}">{label}</a>'


def call_line(call: Call, now: datetime, language: str) -> str:
    """The menu's line about an open call."""
    _ = translator(language)
    days = days_left(call, now)
    if days <= 0:
        return _(
            "📣 Call open: {title}. It closes today at {time}.",
            title=call.title[language],
            time=i18n.in_helsinki(call.closes_at).strftime("%H.%M"),
        )
    return _(
        "📣 Call open: {title}. It closes on {closes}; days left: {days}.",
        title=call.title[language],
        closes=_when(call.closes_at, language),
        days=days,
    )


def call_summary(
    call: Call, now: datetime, language: str, subtheme_names: Mapping[str, str]
) -> str:
    """A call as the FAQ answer and the news view show it: title, times, sub-themes, link."""
    _ = translator(language)
    if call.is_open(now):
        head = _("Open now: {title}", title=call.title[language])
        times = _(
            "Open until {closes} (Finnish time); days left: {days}.",
            closes=_when(call.closes_at, language),
            days=max(days_left(call, now), 0),
        )
    else:
        head = _("Next call: {title}", title=call.title[language])
        times = _(
            "Open from {opens} to {closes} (Finnish time).",
            opens=_when(call.opens_at, language),
            closes=_when(call.closes_at, language),
        )
    names = "; ".join(subtheme_names[s] for s in call.subthemes if s in subtheme_names)
    lines = [f"<b>{head}</b>", times]
    if names:
        lines.append(_("Sub-themes: {names}", names=names))
    lines.append(_link(call, language))
    return "\n".join(lines)


def calls_answer(
    question: str,
    calls: Iterable[Call],
    now: datetime,
    language: str,
    subtheme_names: Mapping[str, str],
) -> str | None:
    """The FAQ's "next call and its deadline" answer from the calls coordinators keep: the
    open call and the next one announced, dated by their last change. None when there is
    neither: the content's own answer (which says honestly that the bot does not know) stands."""
    _ = translator(language)
    open_now, coming = open_and_next(calls, now)
    shown = [c for c in (open_now, coming) if c is not None]
    if not shown:
        return None
    parts = [f"<b>{escape(question)}</b>"]
    parts += [call_summary(c, now, language, subtheme_names) for c in shown]
    if open_now is not None and coming is None:
        parts.append(_("No further call has been announced yet."))
    parts.append(
        _(
            "The call text in EURA 2021 is what counts: read it before you apply. "
            "Send /subscribe to hear when a call opens or is about to close.",
        )
    )
    updated = max((c.updated_at for c in shown if c.updated_at), default=now)
    parts.append(_("Updated on {date}", date=i18n.format_date(updated, language)))
    parts.append("<i>" + _("Source: the theme's coordinators") + "</i>")
    return "\n\n".join(parts)


def footer(language: str, kind: str) -> str:
    _ = translator(language)
    if kind == "reminder":
        text = _(
            "You get this reminder because you subscribed to call news or have an "
            "unsubmitted outline draft. /unsubscribe ends call news."
        )
    else:
        text = _("You get this because you subscribed to call news. /unsubscribe ends them.")
    return f"<i>{text}</i>"


def announcement_html(body_html: str, language: str) -> str:
    """An announcement exactly as a subscriber receives it."""
    return f"{body_html}\n\n{footer(language, 'announcement')}"


def reminder_html(call: Call, now: datetime, language: str) -> str:
    _ = translator(language)
    days = max(days_left(call, now), 0)
    text = _(
        "⏰ Reminder: the call {title} closes on {closes} (Finnish time); days left: {days}.",
        title=call.title[language],
        closes=_when(call.closes_at, language),
        days=days,
    )
    drafts = _("Your outline drafts are in /mydrafts.")
    return f"{text}\n\n{_link(call, language)}\n{drafts}\n\n{footer(language, 'reminder')}"


def too_long(htmls: Mapping[str, str]) -> list[str]:
    """The languages whose message Telegram would refuse (too long or broken HTML)."""
    return [lang for lang, text in htmls.items() if check_html(text, MESSAGE_LIMIT)]


def problem_text(problem: Problem, language: str, subtheme_ids: Iterable[str]) -> str:
    """A form's problem as a line in the coordinator's language."""
    _ = translator(language)
    known = ", ".join(subtheme_ids)
    key = f"{problem.detail}:"  # a language's line in the form: fi:, sv:, en:
    messages = {
        "repeated": _("The field {field} is given twice.", field=problem.detail),
        "stray": _(
            "I don't understand the line “{line}”: each line starts with a field name and a "
            "colon, e.g. opens: 2027-03-01 09:00.",
            line=problem.detail,
        ),
        "title_missing": _("The line {key} (the title in that language) is missing.", key=key),
        "title_long": _(
            "The title on the line {key} is longer than {limit} characters.",
            key=key,
            limit=TITLE_LIMIT,
        ),
        "time": _(
            "“{text}” is not a date and time like 2027-03-01 09:00 or 1.3.2027 9.00.",
            text=problem.detail,
        ),
        "missing": _("The field {field} is missing.", field=problem.detail),
        "order": _("The call must close after it opens."),
        "subthemes": _(
            "Unknown or missing sub-themes: {ids}. The sub-themes are {known} (or all).",
            ids=problem.detail or "–",
            known=known,
        ),
        "link": _("“{text}” is not a web address starting with https://.", text=problem.detail),
        "empty": _("The announcement has no text."),
        "language_missing": _(
            "The text on the line {key} is missing: give a text for each of fi:, sv: and en:, "
            "or one text without them for everyone.",
            key=key,
        ),
        "too_long": _(
            "The message for {key} would be too long for Telegram (at most 4,096 characters "
            "with the footer); please shorten it.",
            key=key,
        ),
    }
    return "• " + messages[problem.code]


@dataclass
class Progress:
    """An announcement's outbox, counted by state."""

    total: int = 0
    counts: dict[str, int] = field(default_factory=dict)

    def __getitem__(self, status: str) -> int:
        return self.counts.get(status, 0)

    @property
    def waiting(self) -> int:
        return self["pending"] + self["claimed"]
