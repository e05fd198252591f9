"""Catalogs are complete in all three languages and placeholders match."""

from __future__ import annotations

import re
from datetime import date
from importlib import resources
from pathlib import Path

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

from bot import i18n
from bot.config import LANGUAGES

ROOT = Path(__file__).resolve().parent.parent
PLACEHOLDER = re.compile(r"\{[a-z_]+\}")


def _catalog(language):
    with (
        resources.files("locales").joinpath(language, "LC_MESSAGES", "messages.po").open("rb") as fh
    ):
        return read_po(fh, locale=language)


def _messages_in_code() -> set[str]:
    found = set()
    method_map = [
        ("bot/**.py", "python"),
        ("handlers/**.py", "python"),
        ("content/templates/**", "jinja2"),
    ]
    for _filename, _lineno, message, _comments, _context in extract_from_dir(
        str(ROOT), method_map=method_map
    ):
        found.add(message if isinstance(message, str) else message[0])
    return found


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_message_in_the_code_is_translated(language):
    catalog = _catalog(language)
    missing = [
        msgid
        for msgid in sorted(_messages_in_code())
        if not (m := catalog.get(msgid)) or not m.string or m.fuzzy
    ]
    assert missing == [], f"untranslated in {language}: {missing}"


@pytest.mark.parametrize("language", LANGUAGES)
def test_placeholders_and_markup_are_the_same_in_every_translation(language):
    for message in _catalog(language):
        if not message.id or not message.string:
            continue  # untranslated: the test above reports it
        assert sorted(PLACEHOLDER.findall(message.id)) == sorted(
            PLACEHOLDER.findall(message.string)
        ), message.id
        tags = re.compile(r"</?[a-z]+")
        assert sorted(tags.findall(message.id)) == sorted(tags.findall(message.string)), message.id


def test_dates_and_numbers_follow_the_locale():
    day = date(2027, 3, 1)
    assert i18n.format_date(day, "fi") == "1.3.2027"
    assert "2027" in i18n.format_date(day, "sv") and "mars" in i18n.format_date(day, "sv")
    assert i18n.format_money(125000, "fi") == "125\xa0000\xa0€"
    assert i18n.format_money("125000.5", "sv") == "125\xa0000,50\xa0€"
    # English readers get English conventions, not Finland's.
    assert i18n.format_number(1234.5, "en") == "1,234.5"
    assert i18n.format_date(day, "en") == "1 Mar 2027"
    assert i18n.format_money(450000, "en") == "€450,000"
    # Stored timestamps are UTC and shown as local time in Finland (EET in winter).
    assert i18n.format_datetime("2026-12-03T16:10:00+00:00", "en") == "3 Dec 2026, 18:10"
    assert i18n.format_datetime("2026-12-03T16:10:00+00:00", "fi") == "3.12.2026 18.10"
    assert i18n.format_month("2027-03", "fi") == "maaliskuu 2027"
