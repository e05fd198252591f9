"""Content that stays true: dated answers, stale entries for coordinators (issue 20)."""

from __future__ import annotations

import re
import shutil
from datetime import date
from importlib import resources
from pathlib import Path

import pytest

from bot import content as content_module
from bot import glossary, i18n
from bot.config import LANGUAGES
from tests.conftest import Harness, replace_settings
from tests.test_cli import run_bot

CONTENT = content_module.load_valid()
CHECKED_LINE = {
    "fi": "Tiedot tarkistettu ",
    "sv": "Uppgifterna kontrollerade den ",
    "en": "Checked on ",
}


def _content_copy(tmp_path: Path) -> Path:
    target = tmp_path / "content"
    shutil.copytree(str(resources.files("content")), target)
    return target


def _set_checked(root: Path, entry_id: str, line: str) -> Path:
    """Replace the `checked = …` line of one entry; returns the file it is in."""
    for path in (root / "faq").glob("*.toml"):
        text = path.read_text(encoding="utf-8")
        pattern = re.compile(rf'(id = "{entry_id}"\nrelated = [^\n]*\n)checked = [^\n]*\n')
        if pattern.search(text):
            path.write_text(pattern.sub(lambda m: m.group(1) + line, text), encoding="utf-8")
            return path
    raise AssertionError(f"entry {entry_id} not found")


# -- every entry is dated ------------------------------------------------------------------------


def test_every_entry_is_dated_and_organisations_calls_money_and_contacts_are_changing():
    for entry in CONTENT.entries.values():
        assert isinstance(entry.checked, date), entry.id
    changing = {entry.id for entry in CONTENT.entries.values() if entry.changing}
    assert {
        "intermediate-body",
        "future-calls",
        "funding-frame",
        "contacts-ministries",
        "apply-eura",
        "coordination-contact",
    } <= changing
    assert "child-guarantee" not in changing


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("", "checked is missing"),
        ('checked = "2026-12-01"\n', "checked must be a date written without quotes"),
        ("checked = 2999-01-01\n", "checked 2999-01-01 is in the future"),
    ],
)
def test_a_bad_or_missing_date_is_an_error_naming_the_file_and_entry(tmp_path, line, message):
    root = _content_copy(tmp_path)
    path = _set_checked(root, "funding-rate", line)
    result = run_bot("check-content", env={"BOT_CONTENT_DIR": str(root)})
    assert result.returncode == 1
    [problem] = [p for p in result.stdout.splitlines() if message in p]
    assert problem.startswith(f"faq/{path.name} entry funding-rate:")


def test_stale_changing_entries_are_warnings_that_do_not_fail(tmp_path):
    root = _content_copy(tmp_path)
    _set_checked(root, "future-calls", "checked = 2025-01-31\n")
    _set_checked(root, "child-guarantee", "checked = 2025-01-31\n")  # not changing: no warning
    result = run_bot("check-content", env={"BOT_CONTENT_DIR": str(root)})
    assert result.returncode == 0, result.stdout
    warnings = [line for line in result.stdout.splitlines() if line.startswith("warning:")]
    assert len(warnings) == 1
    assert "faq/applying.toml entry future-calls" in warnings[0] and "2025-01-31" in warnings[0]
    assert "content ok" in result.stdout
    everything = run_bot("check-content", "--stale-days", "0", env={"BOT_CONTENT_DIR": str(root)})
    assert everything.returncode == 0
    assert everything.stdout.count("warning:") == sum(e.changing for e in CONTENT.entries.values())


# -- answers end with the date -----------------------------------------------------------------


@pytest.mark.parametrize("language", LANGUAGES)
async def test_a_changing_answer_ends_with_the_date_in_the_users_language(bot, language):
    user = await bot.user(user_id=700, language_code=language)
    entry = CONTENT.entries["future-calls"]
    [reply] = await user.send(f"/start faq_{entry.id}")
    day = i18n.format_long_date(entry.checked, language)
    answer_end = reply.text.split("\n\n<i>")[0]
    assert answer_end.endswith(CHECKED_LINE[language] + day)
    if language == "en":
        assert day == "1 December 2026"
    if language == "fi":
        assert day == "1. joulukuuta 2026"


async def test_a_stable_answer_has_no_date(bot):
    user = await bot.user(user_id=701, language_code="en")
    [reply] = await user.send("/start faq_child-guarantee")
    assert "Checked on" not in reply.text


# -- coordinators see what to check again -----------------------------------------------------


async def test_coordinators_see_stale_entries_in_stats_in_chat_and_on_the_command_line(
    tmp_path, settings
):
    root = _content_copy(tmp_path)
    _set_checked(root, "intermediate-body", "checked = 2025-01-31\n")
    settings = replace_settings(settings, content_dir=root)
    harness = Harness(settings)
    await harness.start()
    try:
        coordinator = await harness.user(user_id=9001, language_code="en")
        [reply] = await coordinator.send("/stats")
    finally:
        await harness.stop()
    assert "<b>Answers to check again</b>" in reply.text
    assert "• intermediate-body (31 January 2025): What is the theme's intermediate body?" in (
        reply.text
    )
    assert reply.text.count("• future-calls") == 0
    env = {"BOT_DATABASE": str(settings.database), "BOT_CONTENT_DIR": str(root)}
    result = run_bot("stats", "--lang", "fi", env=env)
    assert result.returncode == 0
    assert "Tarkistettavat vastaukset" in result.stdout
    assert "intermediate-body (31. tammikuuta 2025)" in result.stdout
    everything = run_bot("stats", "--lang", "en", "--stale-days", "0", env=env)
    assert "• future-calls (1 December 2026)" in everything.stdout


# -- one terminology per language ---------------------------------------------------------------


def _terms():
    problems: list[str] = []
    terms = glossary.load(resources.files("content"), problems)
    assert problems == []
    return terms


def test_the_glossary_holds_the_terms_the_audit_found():
    preferred = {(term.language, term.preferred) for term in _terms()}
    assert {
        ("sv", "yrkesverksamma"),
        ("sv", "utlysning"),
        ("sv", "ständig utveckling"),
        ("sv", "resursstärkande handledning"),
        ("sv", "piloteras"),
        ("sv", "Europeiska socialfonden plus (ESF+)"),
        ("fi", "ottaa huomioon"),
        ("fi", "flat rate 40 %"),
        ("fi", "kirjoitettu viesti"),
    } <= preferred


def test_shipped_content_and_catalogs_follow_the_glossary():
    terms = _terms()
    assert glossary.check(terms, glossary.content_texts(resources.files("content"))) == []
    catalog_terms = [term for term in terms if not term.required]
    assert glossary.check(catalog_terms, glossary.catalog_texts()) == []


def test_a_discouraged_term_in_the_content_is_reported_with_its_file_and_place(tmp_path):
    root = _content_copy(tmp_path)
    faq = root / "faq" / "costs.toml"
    text = faq.read_text(encoding="utf-8")
    faq.write_text(
        text.replace(
            "Modellen grundar sig på", "Yrkesutbildade ska veta att modellen grundar sig på"
        ),
        encoding="utf-8",
    )
    result = run_bot("check-content", env={"BOT_CONTENT_DIR": str(root)})
    assert result.returncode == 1
    [problem] = result.stdout.splitlines()
    assert problem.startswith("faq/costs.toml entry flat-rate-40 [sv] answer: 'Yrkesutbildade'")
    assert "use 'yrkesverksamma'" in problem


def test_the_quoted_official_title_may_keep_its_wording_elsewhere_not():
    [term] = [t for t in _terms() if t.discouraged == ("ungdomar",)]
    title = (
        "”Utveckling av tjänster för barn, ungdomar och familjer och befordran av välbefinnande "
        "mot jämställdheten”"
    )
    assert glossary.check([term], [("sv", "here", f"Temat heter {title}.")]) == []
    [problem] = glossary.check([term], [("sv", "here", f"{title} gäller ungdomar.")])
    assert problem.startswith("here: 'ungdomar' is discouraged")


def test_a_discouraged_term_in_a_catalog_is_reported_with_its_file(tmp_path):
    locales = tmp_path / "locales"
    shutil.copytree(str(resources.files("locales")), locales)
    po = locales / "fi" / "LC_MESSAGES" / "messages.po"
    po.write_text(
        po.read_text(encoding="utf-8").replace("jokin meni vikaan", "jokin meni vikaan päässäni"),
        encoding="utf-8",
    )
    problems = glossary.check(_terms(), glossary.catalog_texts(locales))
    assert len(problems) == 1
    assert problems[0].startswith("locales/fi/LC_MESSAGES/messages.po msgid 'Sorry, something")
    assert "'vikaan päässäni' is discouraged" in problems[0]


def test_a_required_term_missing_from_the_content_is_reported():
    [term] = [t for t in _terms() if t.required]
    [problem] = glossary.check([term], [("sv", "here", "ESF+ utan förklaring")])
    assert "must appear at least once in sv" in problem


def test_sub_theme_names_are_the_same_in_subthemes_faq_and_checklist():
    [item] = [item for item in CONTENT.checklist if item.kind == "subthemes"]
    entry_of = {
        "identify": "subtheme-vulnerable",
        "professionals": "subtheme-professionals",
        "leisure": "subtheme-leisure",
    }
    assert set(entry_of) == set(CONTENT.subthemes)
    for subtheme in CONTENT.subthemes.values():
        for language in LANGUAGES:
            title = subtheme.title[language]
            assert title in CONTENT.entries["subthemes-all"].text[language].answer, title
            assert title in CONTENT.entries[entry_of[subtheme.id]].text[language].answer, title
            assert title in item.text[language].advice, title


def test_swedish_examples_use_swedish_speaking_names():
    names = {section.id: section.text["sv"].example for section in CONTENT.outline}
    assert "Meikäläinen" not in names["contact_name"] and "meikalainen" not in names["email"]
