"""UI strings from gettext catalogs, language negotiation, locale-aware formatting.

The catalogs are read from the `.po` files at start-up and compiled in memory, so a fresh
`pip install .` works without a separate compile step and an edited `.po` takes effect on restart.
"""

from __future__ import annotations

import io
from datetime import date, datetime
from decimal import Decimal
from functools import cache
from importlib import resources
from zoneinfo import ZoneInfo

from babel import Locale, negotiate_locale
from babel.dates import format_date, format_datetime
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.numbers import format_currency, format_decimal
from babel.support import Translations

from bot.config import LANGUAGES

# Finnish and Swedish as used in Finland; the region only affects formatting.
_LOCALES = {"fi": "fi_FI", "sv": "sv_FI", "en": "en_FI"}


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


def fmt_date(value: date | datetime, language: str) -> str:
    if isinstance(value, datetime):
        return format_datetime(value, "medium", locale=locale(language))
    return format_date(value, "medium", locale=locale(language))


def fmt_long_date(value: date, language: str) -> str:
    """A day written out in the user's language and locale, e.g. "1 December 2026" or
    "1. joulukuuta 2026": the one way the bot writes the date an answer was checked."""
    return format_date(value, "long", locale=locale(language))


def fmt_number(value: int | float | Decimal, language: str) -> str:
    return format_decimal(value, locale=locale(language))


def fmt_euros(value: int | float | Decimal, language: str) -> str:
    return format_currency(value, "EUR", locale=locale(language))


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


_HELSINKI = ZoneInfo("Europe/Helsinki")


def fmt_timestamp(stored: str, language: str) -> str:
    """A stored UTC timestamp as local Finnish time in the user's locale."""
    moment = datetime.fromisoformat(stored).astimezone(_HELSINKI)
    return format_datetime(moment, "short", tzinfo=_HELSINKI, locale=locale(language))
