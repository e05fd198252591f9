"""Plain functions behind forgiving input: months, money, small talk, questions inside a step,
command arguments. Table-driven; nothing here runs the bot."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from bot import content as content_module
from bot.coordinator_reports import ExportRequest, read_export_args
from bot.i18n import language_from_name
from bot.intent import Expect, in_step, smalltalk_kind
from bot.outline import display, parse_money, read_money, read_month, validate

CONTENT = content_module.load_valid()
SECTION = {section.id: section for section in CONTENT.outline}


@pytest.mark.parametrize(
    ("typed", "value"),
    [
        ("2027-03", "2027-03"),
        ("2027/3", "2027-03"),
        ("3/2027", "2027-03"),
        ("03.2027", "2027-03"),
        ("03/27", "2027-03"),
        ("2027-03-01", "2027-03"),
        ("1.3.2027", "2027-03"),
        ("March 2027", "2027-03"),
        ("march 2027", "2027-03"),
        ("Mar 2027", "2027-03"),
        ("in March 2027", "2027-03"),
        ("maaliskuu 2027", "2027-03"),
        ("Maaliskuussa 2027", "2027-03"),
        ("maaliskuuta 2027", "2027-03"),
        ("maaliskuun 2027", "2027-03"),
        ("MAALISKUU 2027", "2027-03"),
        ("kesäkuu 2027", "2027-06"),
        ("kesakuussa 2027", "2027-06"),
        ("heinakuuta 2028", "2028-07"),
        ("mars 2027", "2027-03"),
        ("i mars 2027", "2027-03"),
        ("jan. 2027", "2027-01"),
        ("2027 March", "2027-03"),
        ("  October 2028. ", "2028-10"),
    ],
)
def test_months_are_read_as_people_write_them(typed, value):
    assert read_month(typed).value == value


@pytest.mark.parametrize(
    ("typed", "problem"),
    [
        ("next spring", "month"),
        ("13/2027", "month"),
        ("0/2027", "month"),
        ("March", "month"),
        ("March April 2027", "month"),
        ("2027", "month"),
        ("2040-01", "month_range"),
        ("March 2019", "month_range"),
        ("maaliskuu 2099", "month_range"),
        ("03/45", "month_range"),
    ],
)
def test_a_year_out_of_range_is_its_own_problem(typed, problem):
    reading = read_month(typed)
    assert (reading.value, reading.problem) == (None, problem)


@pytest.mark.parametrize("language", ["fi", "sv", "en"])
def test_what_the_review_shows_can_be_typed_back(language):
    section = SECTION["start_month"]
    for month in range(1, 13):
        value = f"2027-{month:02d}"
        shown = display(CONTENT, section, value, language)
        assert read_month(shown).value == value, shown
        assert read_month(shown.upper()).value == value, shown


@pytest.mark.parametrize(
    ("typed", "value"),
    [
        ("450000", "450000"),
        ("450 000", "450000"),
        ("450 000 €", "450000"),
        ("450\u00a0000\u00a0€", "450000"),
        ("€450,000", "450000"),
        ("€ 450 000", "450000"),
        ("EUR 450 000", "450000"),
        ("450 000 euroa", "450000"),
        ("450 000,50", "450000.50"),
        ("450000.50", "450000.50"),
        ("1.500.000", "1500000"),
        ("1,500,000", "1500000"),
        ("150.000,50", "150000.50"),
        ("1,5 milj. €", "1500000"),
        ("1,5 milj €", "1500000"),
        ("1.5M", "1500000"),
        ("1.5 m€", "1500000"),
        ("450k", "450000"),
        ("450 k€", "450000"),
        ("450 t€", "450000"),
        ("1,5 miljoonaa", "1500000"),
        ("1.5 million", "1500000"),
        ("1,5 mn €", "1500000"),
        ("1,5 miljoner euro", "1500000"),
        ("2 miljoonaa euroa", "2000000"),
    ],
)
def test_money_is_read_as_people_write_it(typed, value):
    reading = read_money(typed)
    assert (str(reading.value), reading.ambiguous) == (value, False)
    assert str(parse_money(typed)) == value


@pytest.mark.parametrize(
    ("typed", "likelier"),
    [("450.000", "450000"), ("1,500", "1500"), ("250.000 €", "250000"), ("1.500 euroa", "1500")],
)
def test_an_amount_that_reads_two_ways_is_marked_for_confirmation(typed, likelier):
    reading = read_money(typed)
    assert (str(reading.value), reading.ambiguous) == (likelier, True)
    assert parse_money(typed) is None  # never guessed
    value, problem = validate(SECTION["budget"], typed, {})
    assert value is None and problem is not None
    assert (problem.code, problem.value) == ("money_confirm", likelier)


@pytest.mark.parametrize(
    "typed", ["lots", "0", "-5", "1 5", "12,3456", "1.5 zillion", "2 000 000 000", "€", ""]
)
def test_what_is_not_an_amount_is_refused(typed):
    assert read_money(typed).value is None


@pytest.mark.parametrize(
    ("typed", "kind"),
    [
        ("thanks!", "thanks"),
        ("Thank you 🙏", "thanks"),
        ("KIITOS!!!", "thanks"),
        ("kiitoksiaaa", "thanks"),
        ("tack så mycket", "thanks"),
        ("ok thanks", "thanks"),
        ("Hei!", "greeting"),
        ("moi 👋", "greeting"),
        ("Hej", "greeting"),
        ("hello there", "greeting"),
        ("good morning!", "greeting"),
        ("ok", "ok"),
        ("Selvä.", "ok"),
        ("selva", "ok"),
        ("👍", "ok"),
        ("👍🏽", "ok"),
        ("bye", "bye"),
        ("hei hei", "bye"),
        ("hej då", "bye"),
        ("hej da", "bye"),
        ("näkemiin", "bye"),
        ("nakemiin", "bye"),
        ("who are you?", "who"),
        ("Hello, who are you?", "who"),
        ("kuka olet?", "who"),
        ("vem är du", "who"),
        ("are you a person?", "human"),
        ("Are you a bot", "human"),
        ("oletko ihminen?", "human"),
        ("oletko botti", "human"),
        ("är du en människa?", "human"),
        ("ar du en manniska", "human"),
    ],
)
def test_small_talk_is_recognised_in_every_language(typed, kind):
    found = smalltalk_kind(typed, CONTENT.smalltalk)
    assert found is not None and found.id == kind


@pytest.mark.parametrize(
    "typed",
    [
        "thanks, but how do I apply?",
        "who can apply",
        "hei, voiko kunta hakea?",
        "okay so what is the funding rate",
        "12345",
        "?",
        "",
        "kiitos " * 10,
    ],
)
def test_a_message_with_more_than_small_talk_is_not_small_talk(typed):
    assert smalltalk_kind(typed, CONTENT.smalltalk) is None


STAFF_COSTS = (
    "How are staff costs calculated in ESF+ projects, and can we pay salaries from the grant?"
)
ACTIONS = Expect("text", SECTION["actions"].min_length)
TITLE = Expect("text", SECTION["title"].min_length)


def _faq(answers: bool):
    return lambda _query: answers


@pytest.mark.parametrize(
    ("typed", "expect", "faq", "kind"),
    [
        (STAFF_COSTS, ACTIONS, False, "question"),
        ("Miten henkilöstökulut lasketaan", ACTIONS, False, "question"),
        ("Voiko hankkeessa maksaa palkkoja", ACTIONS, False, "question"),
        ("henkilöstökulut", ACTIONS, True, "question"),  # too short to answer; the FAQ knows it
        ("henkilöstökulut", ACTIONS, False, "answer"),  # refused as too short, not a question
        (
            "We run weekly clubs and summer camps for children of low-income families in three "
            "municipalities.",
            ACTIONS,
            True,
            "answer",
        ),
        (
            "Miten toimimme: järjestämme viikoittaisia kerhoja ja kesäleirejä kolmessa kunnassa",
            ACTIONS,
            True,
            "answer",  # a long statement without "?" is an answer, whatever its first word
        ),
        ("Mukaan! Harrastuspolut kaikille", TITLE, True, "answer"),
        ("Who can apply?", TITLE, False, "question"),
        ("Voiko kunta hakea", TITLE, False, "question"),
        ("Taulukko harrastuksista", TITLE, False, "answer"),  # -kko is no question suffix
        ("2027-03", Expect("month"), True, "answer"),
        ("2040-03", Expect("month"), True, "answer"),  # a month, refused for its year
        ("milloin haku alkaa", Expect("month"), False, "question"),
        ("hakuaika", Expect("month"), True, "question"),
        ("next spring", Expect("month"), False, "answer"),  # refused with the format
        ("450.000", Expect("money"), True, "answer"),
        ("how much can we apply for", Expect("money"), False, "question"),
        ("name@example.org", Expect("email"), True, "answer"),
        ("+358 40 123 4567", Expect("phone"), True, "answer"),
        ("vad är sårbara familjer", Expect("buttons"), False, "question"),
        ("rahoitusosuus", Expect("buttons"), True, "question"),
        ("joo", Expect("buttons"), True, "smalltalk"),
        ("maybe later", Expect("buttons"), False, "answer"),  # pointed to the buttons
        ("thanks!", ACTIONS, True, "smalltalk"),
        ("Who cares?", Expect("name"), False, "question"),
        ("Harrastuspolut 2027", Expect("name"), True, "answer"),
        ("???", Expect("buttons"), True, "answer"),  # no words: nothing to look up
        ("🤔?", ACTIONS, True, "answer"),
    ],
)
def test_a_message_at_a_step_is_a_question_small_talk_or_the_answer(typed, expect, faq, kind):
    assert in_step(typed, expect, CONTENT, _faq(faq)).kind == kind


def test_the_faq_is_consulted_only_when_the_rest_leaves_it_open():
    asked: list[str] = []

    def faq(query: str) -> bool:
        asked.append(query)
        return False

    in_step("2027-03", Expect("month"), CONTENT, faq)
    in_step(STAFF_COSTS, ACTIONS, CONTENT, faq)
    assert asked == []


@pytest.mark.parametrize(
    ("args", "request_"),
    [
        ([], ExportRequest()),
        (["json"], ExportRequest("json")),
        (["CSV", "submitted"], ExportRequest("csv", "submitted")),
        (["leisure", "all", "html"], ExportRequest("html", "all", "leisure")),
        (["recent"], ExportRequest(None, "recent")),
        (["xlsx", "*"], ExportRequest("xlsx", None, "*")),
        (["pdf"], None),
        (["csv", "json"], None),
        (["csv", "nope"], None),
    ],
)
def test_export_arguments_fill_the_steps_they_name(args, request_):
    assert read_export_args(args, ("csv", "xlsx", "json", "html"), CONTENT.subthemes) == request_


@pytest.mark.parametrize(
    ("typed", "code"),
    [
        ("sv", "sv"),
        ("SV", "sv"),
        ("svenska", "sv"),
        ("ruotsi", "sv"),
        ("Swedish", "sv"),
        ("suomi", "fi"),
        ("finska", "fi"),
        ("englanti", "en"),
        ("English", "en"),
        ("klingon", None),
    ],
)
def test_a_language_is_named_by_its_code_or_its_name_in_any_of_ours(typed, code):
    assert language_from_name(typed) == code


def test_the_content_check_names_a_pattern_in_two_kinds(tmp_path: Path):
    folder = tmp_path / "content"
    shutil.copytree(content_module.content_root(), folder)
    smalltalk = folder / "smalltalk.toml"
    smalltalk.write_text(
        smalltalk.read_text(encoding="utf-8").replace('"kiitos", ', '"kiitos", "moi", ', 1),
        encoding="utf-8",
    )
    (folder / "questions.toml").write_text("[question_words]\nfi = []\n", encoding="utf-8")
    _, problems = content_module.load(folder)
    assert any("'moi' is also in kind 'greeting'" in p for p in problems), problems
    assert any("questions.toml question_words.fi" in p for p in problems), problems
    assert any("questions.toml question_words.sv" in p for p in problems), problems
