"""Questions and small talk inside flows, commands with arguments, forgiving months and money:
through the real Application, asserting on what the user sees and what the database holds."""

from __future__ import annotations

import pytest

from bot import i18n
from storage import conversations
from tests.test_outline import CONTENT, INDEX, SECTIONS, _answers, _draft_ids, fill

STAFF_COSTS = (
    "How are staff costs calculated in ESF+ projects, and can we pay salaries from the grant?"
)
SAVE = "✍️ No — save it as my answer"
ACTIONS_STEP = f"Step {INDEX['actions'] + 1}/{len(SECTIONS)}"


async def _at(bot, section_id, language="en", user_id=1001):
    user = await bot.user(user_id=user_id, language_code=language)
    await user.send("/outline")
    await fill(user, language, stop_before=INDEX[section_id], skip=("phone",))
    return user


async def _stored(bot, user):
    return await _answers(bot, (await _draft_ids(bot, user.user_id))[0])


async def _logged(bot):
    return [row["query"] for row in await bot.db.fetchall("SELECT query FROM faq_queries")]


# -- questions inside a step ---------------------------------------------------------------------


async def test_a_question_at_the_actions_step_is_answered_not_saved(bot):
    user = await _at(bot, "actions")
    before = await _stored(bot, user)
    replies = await user.send(STAFF_COSTS)
    assert CONTENT.entries["staff-costs"].text["en"].question in replies[0].text
    step = replies[-1]
    assert ACTIONS_STEP in step.text and "took your message as a question" in step.text
    assert SAVE in [label for label, _ in step.buttons]
    assert all(len(data.encode()) <= 64 for _, data in step.buttons)
    assert await _stored(bot, user) == before
    state = await conversations.get(bot.db, user.user_id)
    assert state is not None and state.data["pending"]["text"] == STAFF_COSTS

    await user.press(SAVE)
    assert (await _stored(bot, user))["actions"] == STAFF_COSTS
    assert f"Step {INDEX['actions'] + 2}/{len(SECTIONS)}" in user.last.text
    state = await conversations.get(bot.db, user.user_id)
    assert state is not None and "pending" not in state.data


async def test_a_normal_answer_at_the_same_step_is_saved_as_before(bot):
    user = await _at(bot, "actions")
    answer = (
        "We run weekly clubs and summer camps for children of low-income families, and train "
        "youth workers to spot exclusion early."
    )
    replies = await user.send(answer)
    assert (await _stored(bot, user))["actions"] == answer
    assert f"Step {INDEX['actions'] + 2}/{len(SECTIONS)}" in replies[-1].text


async def test_the_save_button_still_works_after_a_restart(bot):
    user = await _at(bot, "actions")
    await user.send(STAFF_COSTS)
    step = user.last_with_buttons()
    await bot.restart()  # as after SIGKILL: the held text is in SQLite, not in memory
    await user.press(SAVE, step)
    assert (await _stored(bot, user))["actions"] == STAFF_COSTS


async def test_an_answer_typed_after_the_question_drops_the_held_text_and_its_button(bot):
    user = await _at(bot, "actions")
    await user.send(STAFF_COSTS)
    stale = user.last_with_buttons()
    answer = "Weekly clubs and camps for children of low-income families in three towns."
    await user.send(answer)
    assert await user.press(SAVE, stale) == []  # an alert, no message
    alert = bot.telegram.calls_of("answerCallbackQuery")[-1].params
    assert alert["text"] == "This button is no longer valid." and alert["show_alert"]
    assert (await _stored(bot, user))["actions"] == answer
    assert await user.press_data("fl:s:00000000", user.last_with_buttons()) == []
    assert (await _stored(bot, user))["actions"] == answer


async def test_the_question_mark_prefix_still_asks_without_holding(bot):
    user = await _at(bot, "actions")
    replies = await user.send("? staff costs")
    assert CONTENT.entries["staff-costs"].text["en"].question in replies[0].text
    assert SAVE not in [label for label, _ in replies[-1].buttons]
    state = await conversations.get(bot.db, user.user_id)
    assert state is not None and "pending" not in state.data


@pytest.mark.parametrize(
    ("language", "question", "entry"),
    [
        ("fi", "Miten henkilöstökulut lasketaan?", "staff-costs"),
        ("sv", "Vilka organisationer kan söka eller delta i projekten?", "who-can-apply"),
    ],
)
async def test_questions_are_answered_mid_step_in_every_language(bot, language, question, entry):
    user = await _at(bot, "need", language)
    replies = await user.send(question)
    assert CONTENT.entries[entry].text[language].question in replies[0].text
    assert f"{INDEX['need'] + 1}/{len(SECTIONS)}" in replies[-1].text
    assert "need" not in await _stored(bot, user)


async def test_a_question_at_a_button_step_is_answered_without_a_save_button(bot):
    user = await _at(bot, "org_type")
    replies = await user.send("Can a municipality apply?")
    assert f"{INDEX['org_type'] + 1}/{len(SECTIONS)}" in replies[-1].text
    assert SAVE not in [label for label, _ in replies[-1].buttons]
    [reply] = (await user.send("hmm, something else"))[:1]
    assert "choose with the buttons" in reply.text


async def test_small_talk_mid_step_gets_a_reply_and_the_step_again_and_saves_nothing(bot):
    user = await _at(bot, "title", "fi")
    replies = await user.send("Kiitos! 🙏")
    assert replies[0].text == "Ole hyvä!"
    assert "1/" in replies[-1].text
    assert await _stored(bot, user) == {}
    assert await _logged(bot) == []


async def test_the_checklist_answers_questions_and_small_talk_and_keeps_its_question(bot):
    user = await bot.user(language_code="sv")
    await user.send("/checklist")
    replies = await user.send("vilka organisationer kan söka eller delta i projekten")
    assert CONTENT.entries["who-can-apply"].text["sv"].question in replies[0].text
    assert "1/" in replies[-1].text
    replies = await user.send("tack!")
    assert replies[0].text == "Varsågod!" and "1/" in replies[-1].text
    replies = await user.send("kanske")
    assert "knapparna" in replies[0].text  # pointed to the buttons
    assert await bot.db.fetchall("SELECT * FROM checklist_answers") == []


async def test_a_question_while_renaming_a_draft_can_still_become_the_name(bot):
    user = await _at(bot, "organisation")
    await user.press("💾 Save and exit")
    await user.send("/mydrafts")
    await user.press(user.last_with_buttons().buttons[0][0])
    rename = next(label for label, _ in user.last_with_buttons().buttons if "ename" in label)
    await user.press(rename)
    replies = await user.send("Who cares?")
    assert SAVE in [label for label, _ in replies[-1].buttons]
    await user.press(SAVE)
    [title] = await bot.db.fetchall("SELECT value FROM draft_answers WHERE section_id = 'title'")
    assert title["value"] == "Who cares?"  # the name is the working title


# -- small talk and what is not logged ---------------------------------------------------------


@pytest.mark.parametrize(
    ("language", "typed", "reply"),
    [
        ("en", "thanks!", "You're welcome!"),
        ("en", "Hello 👋", "Hello!"),
        ("en", "are you a person?", "I am not a person"),
        ("en", "who are you", "I am an advice bot"),
        ("fi", "KIITOS", "Ole hyvä!"),
        ("fi", "moi", "Hei!"),
        ("fi", "oletko botti?", "En ole ihminen"),
        ("fi", "nakemiin", "Näkemiin!"),
        ("sv", "hej då", "Hej då!"),
        ("sv", "ok", "Okej."),
        ("sv", "thanks", "Varsågod!"),  # another language's words, a reply in the user's
    ],
)
async def test_small_talk_gets_a_friendly_reply_not_a_search(bot, language, typed, reply):
    user = await bot.user(language_code=language)
    [answer] = await user.send(typed)
    assert answer.text.startswith(reply)
    assert "/menu" in answer.text
    for unwanted in ("Did you mean", "Tarkoititko", "Menade du", "I don't have an answer"):
        assert unwanted not in answer.text
    assert "ET 4.1.7 material" not in answer.text and "aineistossa" not in answer.text
    assert await _logged(bot) == []


@pytest.mark.parametrize("typed", ["🤔🤔", "12345", "?!", "... 😀 42"])
async def test_emoji_digits_and_punctuation_are_not_logged_as_questions(bot, typed):
    user = await bot.user(language_code="en")
    [answer] = await user.send(typed)
    assert "questions written in words" in answer.text
    assert await _logged(bot) == []


async def test_punctuation_mid_step_is_not_looked_up_or_logged(bot):
    user = await _at(bot, "org_type")
    replies = await user.send("🤔!")
    assert "choose with the buttons" in replies[0].text
    replies = await user.send("??")  # the explicit prefix, with nothing to ask
    assert "questions written in words" in replies[0].text
    assert f"{INDEX['org_type'] + 1}/{len(SECTIONS)}" in replies[-1].text
    assert await _logged(bot) == []


async def test_real_questions_are_still_logged(bot):
    user = await bot.user(language_code="en")
    await user.send("who can apply")
    assert await _logged(bot) == ["who can apply"]


# -- commands with arguments ---------------------------------------------------------------------


async def test_ask_with_a_question_answers_at_once(bot):
    user = await bot.user(language_code="en")
    [answer] = await user.send("/ask who can apply?")
    assert CONTENT.entries["who-can-apply"].text["en"].question in answer.text
    [prompt] = await user.send("/ask")
    assert "Type your question" in prompt.text


async def test_ask_mid_outline_answers_and_asks_the_step_again(bot):
    user = await _at(bot, "actions")
    replies = await user.send("/ask how are staff costs calculated")
    assert CONTENT.entries["staff-costs"].text["en"].question in replies[0].text
    assert ACTIONS_STEP in replies[-1].text


async def test_language_with_an_argument_switches_at_once(bot):
    user = await bot.user(language_code="fi")
    [reply] = await user.send("/language sv")
    assert "Svenska" in reply.text
    [row] = await bot.db.fetchall("SELECT language FROM users WHERE id = ?", (user.user_id,))
    assert row["language"] == "sv"
    [reply] = await user.send("/language englanti")
    assert "English" in reply.text
    [reply] = await user.send("/language klingon")
    assert "Usage: /language fi, /language sv or /language en." in reply.text
    assert [label for label, _ in reply.buttons] == ["Suomi", "Svenska", "✓ English"]


async def test_export_arguments_skip_the_steps_they_fill(bot):
    coordinator = await bot.user(user_id=9001, language_code="en")
    [reply] = await coordinator.send("/export json")
    assert "Which outlines?" in reply.text
    [reply] = await coordinator.send("/export submitted")
    assert "choose the format" in reply.text
    await coordinator.press("CSV")
    assert "Which sub-theme?" in coordinator.last.text
    await coordinator.send("/export leisure")
    await coordinator.press("HTML")
    assert "Which outlines?" in coordinator.last.text
    await coordinator.press("All, drafts included")
    assert bot.telegram.calls_of("sendDocument")[-1].params["document"].filename.endswith(".html")
    await coordinator.send("/export csv submitted *")
    assert bot.telegram.calls_of("sendDocument")[-1].params["document"].filename.endswith(".csv")
    [usage] = await coordinator.send("/export pdf")
    assert usage.text.startswith("Usage: /export") and "csv, xlsx, json, html" in usage.text
    assert len(bot.telegram.calls_of("sendDocument")) == 2


async def test_export_arguments_do_not_open_the_export_to_others(bot):
    applicant = await bot.user(user_id=501, language_code="en")
    [unknown] = await applicant.send("/nonsense")
    [reply] = await applicant.send("/export csv submitted")
    assert reply.text == unknown.text.replace("/nonsense", "/export")
    assert bot.telegram.calls_of("sendDocument") == []


# -- forgiving months and money -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("language", "typed"),
    [("fi", "maaliskuussa 2027"), ("sv", "i mars 2027"), ("en", "Mar 2027"), ("fi", "03/27")],
)
async def test_months_in_words_are_saved(bot, language, typed):
    user = await _at(bot, "start_month", language)
    await user.send(typed)
    assert (await _stored(bot, user))["start_month"] == "2027-03"


async def test_a_year_out_of_range_is_named_as_such(bot):
    user = await _at(bot, "start_month")
    [reply] = await user.send("March 2040")
    assert "The year is out of range: give a month between 2021 and 2035." in reply.text
    assert "start_month" not in await _stored(bot, user)


async def test_an_ambiguous_amount_is_confirmed_before_it_is_saved(bot):
    user = await _at(bot, "budget")
    [question] = await user.send("450.000")
    assert question.text == f"Did you mean {i18n.format_money(450000, 'en')}?"
    assert "budget" not in await _stored(bot, user)
    await bot.restart()  # the amount waits in SQLite
    await user.press("Yes", question)
    assert (await _stored(bot, user))["budget"] == "450000"


async def test_no_to_an_ambiguous_amount_asks_again_and_saves_nothing(bot):
    user = await _at(bot, "budget", "fi")
    [question] = await user.send("1,500")
    assert question.text == "Tarkoititko 1\xa0500\xa0€?"
    [step] = await user.press("Ei", question)
    assert f"{INDEX['budget'] + 1}/{len(SECTIONS)}" in step.text
    assert "budget" not in await _stored(bot, user)
    stale = await user.press_data(f"ol:my:{(await _draft_ids(bot, user.user_id))[0]}:0", step)
    assert "budget" not in await _stored(bot, user) and len(stale) <= 1
    await user.send("1,5 milj. €")
    assert (await _stored(bot, user))["budget"] == "1500000"
