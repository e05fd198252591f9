"""UI strings from gettext catalogs, language negotiation, locale-aware formatting.

The catalogs are read from the `.po` files at start-up and compiled in memory, so a fresh
`pip install .` works without a separate compile step and an edited `.po` takes effect on restart.
"""

from __future__ import annotations

import io
from datetime import UTC, date, datetime
from decimal import Decimal
from functools import cache
from importlib import resources
from zoneinfo import ZoneInfo

from babel import Locale, negotiate_locale
from babel import dates as babel_dates
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.numbers import format_currency, format_decimal
from babel.support import Translations

from bot.config import LANGUAGES

# Finnish and Swedish as used in Finland. English readers get English conventions ("3 Dec 2026",
# "€450,000"); Ireland's English is the one that also writes euros.
_LOCALES = {"fi": "fi_FI", "sv": "sv_FI", "en": "en_IE"}


def _load_catalog(language: str) -> Translations:
    po = resources.files("locales").joinpath(language, "LC_MESSAGES", "messages.po")
    with po.open("rb") as fh:
        catalog = read_po(fh, locale=language)
    buffer = io.BytesIO()
    write_mo(buffer, catalog)  # fuzzy entries are left out, as gettext would
    buffer.seek(0)
    return Translations(fp=buffer, domain="messages")


@cache
def translations(language: str) -> Translations:
    if language not in LANGUAGES:
        raise ValueError(f"unsupported language {language!r}")
    return _load_catalog(language)


def gettext(language: str, message: str) -> str:
    return translations(language).gettext(message)


def negotiate(telegram_code: str | None, default: str) -> str:
    """Map Telegram's IETF language code (e.g. "sv-FI", "en") to one of our languages."""
    if not telegram_code:
        return default
    found = negotiate_locale([telegram_code.replace("-", "_")], list(LANGUAGES), sep="_")
    return found or default


@cache
def locale(language: str) -> Locale:
    """Parsed once: Babel parses a locale given by name again on every call, which was most of
    the time of an HTML export (formatting dates and sums for 10,000 outlines)."""
    return Locale.parse(_LOCALES[language])


def format_long_date(value: date, language: str) -> str:
    """A day written out in the user's language and locale, e.g. "1 December 2026" or
    "1. joulukuuta 2026": the one way the bot writes the date an answer was checked."""
    return babel_dates.format_date(value, "long", locale=locale(language))


@cache
def language_name(language: str) -> str:
    """The language's own name, capitalised: "Suomi", "Svenska", "English"."""
    return Locale.parse(language).get_display_name(language).capitalize()


@cache
def _language_names() -> dict[str, str]:
    names = {code: code for code in LANGUAGES}
    for shown_in in LANGUAGES:
        for code in LANGUAGES:
            names[locale(shown_in).languages[code].casefold()] = code
    return names


def language_from_name(text: str) -> str | None:
    """ "sv", "Svenska", "ruotsi", "Swedish" → "sv": a code, or a language's name in any of
    our languages (Babel's names); None if it names none of them."""
    return _language_names().get(" ".join(text.split()).casefold())


# Every date, time and amount a person reads (chat, DOCX, exports, the HTML report) is formatted
# by the functions below, so that one language reads the same everywhere.

HELSINKI = ZoneInfo("Europe/Helsinki")


def in_helsinki(value: datetime | str) -> datetime:
    """A moment as local time in Finland. Stored timestamps are UTC ISO strings; a naive
    datetime is taken as UTC."""
    moment = datetime.fromisoformat(value) if isinstance(value, str) else value
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(HELSINKI)


def format_date(value: date | datetime | str, language: str) -> str:
    """A day: "3.12.2026" (fi), "3 dec. 2026" (sv), "3 Dec 2026" (en)."""
    if isinstance(value, str | datetime):
        value = in_helsinki(value).date()
    return babel_dates.format_date(value, "medium", locale=locale(language))


def format_datetime(value: datetime | str, language: str) -> str:
    """Local time in Finland: "3.12.2026 18.10" (fi, sv), "3 Dec 2026, 18:10" (en).
    `value` is a datetime or a stored UTC timestamp."""
    moment = in_helsinki(value)
    if language == "en":
        day = babel_dates.format_date(moment.date(), "medium", locale=locale(language))
        return f"{day}, {babel_dates.format_time(moment, 'HH:mm', locale=locale(language))}"
    return babel_dates.format_datetime(moment, "short", tzinfo=HELSINKI, locale=locale(language))


def format_month(value: date | str, language: str) -> str:
    """A month ("2027-03" as stored, or a date): "maaliskuu 2027", "mars 2027", "March 2027"."""
    if isinstance(value, str):
        year, month = (int(part) for part in value.split("-")[:2])
        value = date(year, month, 1)
    return babel_dates.format_date(value, "LLLL yyyy", locale=locale(language))


def format_number(value: int | float | Decimal, language: str) -> str:
    return format_decimal(value, locale=locale(language))


def format_money(value: int | float | Decimal | str, language: str) -> str:
    """Euros: "450 000 €" (fi, sv), "€450,000" (en); cents only when there are any."""
    amount = Decimal(str(value))
    pattern = None
    if amount == amount.to_integral_value():
        pattern = locale(language).currency_formats["standard"].pattern.replace(".00", "")
    return format_currency(
        amount, "EUR", format=pattern, locale=locale(language), currency_digits=pattern is None
    )
