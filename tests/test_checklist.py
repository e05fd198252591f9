"""The requirements checklist through the real Application: runs, back, restart, summaries."""

from __future__ import annotations

import pytest

from bot import content as content_module
from storage import conversations

CONTENT = content_module.load_valid()
ITEMS = CONTENT.checklist
YES = {"fi": "Kyllä", "sv": "Ja", "en": "Yes"}
NO = {"fi": "Ei", "sv": "Nej", "en": "No"}
CONTINUE = {"fi": "Jatka ➡️", "sv": "Fortsätt ➡️", "en": "Continue ➡️"}


async def _answers(bot, user_id):
    rows = await bot.db.fetchall(
        "SELECT a.item_id, a.answer FROM checklist_answers a "
        "JOIN checklist_runs r ON r.id = a.run_id WHERE r.user_id = ? ORDER BY r.id",
        (user_id,),
    )
    return {row["item_id"]: row["answer"] for row in rows}


async def _walk(user, language, answer_for):
    """Answer every item; answer_for(index, item) gives "yes", "no" or sub-theme labels."""
    for index, item in enumerate(ITEMS):
        question = user.last_with_buttons()
        assert f"{index + 1}/{len(ITEMS)}" in question.text
        assert item.text[language].question.split("–")[0].strip()[:40] in question.text
        choice = answer_for(index, item)
        if item.kind == "subthemes":
            for label in choice:
                await user.press(label)
            if not choice:
                await user.press("☐ " + _none(language))
            await user.press(CONTINUE[language])
        else:
            await user.press(YES[language] if choice == "yes" else NO[language])


def _none(language):
    return {"fi": "Ei mikään näistä", "sv": "Inget av dessa", "en": "None of these"}[language]


def _subtheme_label(language, subtheme_id, ticked=False):
    return ("☑ " if ticked else "☐ ") + CONTENT.subthemes[subtheme_id].short[language]


@pytest.mark.parametrize("language", ["fi", "sv", "en"])
async def test_all_yes_run_in_every_language_ends_in_a_summary_without_gaps(bot, language):
    user = await bot.user(language_code=language)
    await user.send("/checklist")
    await _walk(
        user,
        language,
        lambda i, item: (
            [_subtheme_label(language, "leisure")] if item.kind == "subthemes" else "yes"
        ),
    )
    summary = user.last
    assert "⚠️" not in summary.text
    assert CONTENT.subthemes["leisure"].title[language] in summary.text
    for item in ITEMS:
        assert item.text[language].done in summary.text.replace("&quot;", '"')
    answers = await _answers(bot, user.user_id)
    assert answers["subthemes"] == "leisure"
    assert sum(a == "yes" for a in answers.values()) == len(ITEMS) - 1
    assert await conversations.get(bot.db, user.user_id) is None
    [run] = await bot.db.fetchall("SELECT finished_at FROM checklist_runs")
    assert run["finished_at"] is not None


async def test_mixed_answers_list_each_gap_with_its_advice(bot):
    user = await bot.user(language_code="en")
    await user.send("/start checklist")
    gaps = {ITEMS[2].id, ITEMS[5].id}
    await _walk(
        user,
        "en",
        lambda i, item: [] if item.kind == "subthemes" else ("no" if item.id in gaps else "yes"),
    )
    summary = "\n".join(m.text for m in user.messages()[-2:])
    assert "⚠️ Still missing (3)" in summary
    for item in ITEMS:
        if item.id in gaps or item.kind == "subthemes":
            assert item.text["en"].gap in summary
    advice = [m for m in user.messages() if "💡" in m.text]
    assert len(advice) == 3  # each "no" answer is followed by its advice where it was asked
    subthemes_item = next(i for i in ITEMS if i.kind == "subthemes")
    assert any("Elina Palola" in m.text for m in advice)  # fits no sub-theme: whom to contact
    assert (await _answers(bot, user.user_id))[subthemes_item.id] == "none"


async def test_back_changes_an_earlier_answer(bot):
    user = await bot.user(language_code="en")
    await user.send("/checklist")
    await user.press("Yes")  # item 1
    await user.press("⬅️ Back")
    question = user.last_with_buttons()
    assert "1/" in question.text and "Your earlier answer: <b>Yes</b>" in question.text
    await user.press("No")
    assert (await _answers(bot, user.user_id))[ITEMS[0].id] == "no"
    assert f"2/{len(ITEMS)}" in user.last_with_buttons().text


async def test_restart_in_the_middle_resumes_at_the_same_question(bot):
    user = await bot.user(language_code="fi")
    await user.send("/checklist")
    await user.press("Kyllä")
    await user.press(_subtheme_label("fi", "identify"))
    await user.press(_subtheme_label("fi", "professionals"))
    question = user.last_with_buttons()
    assert _subtheme_label("fi", "identify", ticked=True) in [b for b, _ in question.buttons]

    await bot.restart()  # the process died; a new Application opens the same database

    await user.press(CONTINUE["fi"], question)  # the button from before the restart still works
    assert (await _answers(bot, user.user_id)) == {
        ITEMS[0].id: "yes",
        ITEMS[1].id: "identify,professionals",
    }
    assert f"3/{len(ITEMS)}" in user.last_with_buttons().text

    await bot.restart()
    await user.send_sticker()  # something odd: the same question is asked again
    assert f"3/{len(ITEMS)}" in user.last.text


async def test_menu_offers_to_continue_an_unfinished_run(bot):
    user = await bot.user(language_code="en")
    await user.send("/checklist")
    await user.press("Yes")
    await user.press("✖️ Stop")
    assert "Checklist paused" in user.last.text
    await user.press("✅ Check requirements")
    assert "unfinished checklist (1/" in user.last.text
    await user.press("▶️ Continue")
    assert f"2/{len(ITEMS)}" in user.last_with_buttons().text
    await user.send("/cancel")
    await user.send("/checklist")
    await user.press("🔁 Start over")
    assert f"1/{len(ITEMS)}" in user.last_with_buttons().text
    runs = await bot.db.fetchall("SELECT id FROM checklist_runs")
    assert len(runs) == 2  # earlier runs are kept


async def test_a_typed_question_is_answered_and_the_checklist_question_repeated(bot):
    user = await bot.user(language_code="en")
    await user.send("/checklist")
    replies = await user.send("What are the sub-themes?")
    assert "<b>" in replies[0].text and "sub-themes" in replies[0].text.lower()
    assert f"1/{len(ITEMS)}" in replies[-1].text
    replies = await user.send("maybe later")
    assert replies[0].text == "Please answer with the buttons below."
    assert f"1/{len(ITEMS)}" in replies[-1].text


async def test_tell_me_more_shows_the_faq_entry(bot):
    user = await bot.user(language_code="en")
    await user.send("/checklist")
    replies = await user.press("ℹ️ Tell me more")
    entry = CONTENT.entries[ITEMS[0].faq]
    assert entry.text["en"].question in replies[0].text
    assert f"1/{len(ITEMS)}" in replies[-1].text


async def test_stale_and_forged_buttons_of_runs_change_nothing(bot):
    user = await bot.user(language_code="en")
    await user.send("/checklist")
    first = user.last_with_buttons()
    yes_on_first = dict(first.buttons)["Yes"]
    await user.press("Yes")  # the message is edited into question 2...
    await user.press_data(yes_on_first, first)  # ...so this tap comes from an old version
    assert "no longer valid" in bot.telegram.calls_of("answerCallbackQuery")[-1].params["text"]
    assert len(await _answers(bot, user.user_id)) == 1

    stranger = await bot.user(user_id=4242, language_code="en")
    await stranger.send("/start")
    run_id = (await bot.db.fetchone("SELECT id FROM checklist_runs"))[0]
    await stranger.press_data(f"ck:a:{run_id}:1:n", stranger.last)
    await stranger.press_data(f"ck:res:{run_id}", stranger.last)
    assert len(await _answers(bot, user.user_id)) == 1
    assert await conversations.get(bot.db, stranger.user_id) is None


async def test_buttons_of_a_finished_run_do_nothing_harmful(bot):
    user = await bot.user(language_code="en")
    await user.send("/checklist")
    first = user.last_with_buttons()
    old_buttons = dict(first.buttons)
    await _walk(user, "en", lambda i, item: [] if item.kind == "subthemes" else "yes")
    before = await _answers(bot, user.user_id)
    await user.press_data(old_buttons["No"], first)
    await user.press_data(old_buttons["✖️ Stop"], first)
    assert await _answers(bot, user.user_id) == before
    assert await conversations.get(bot.db, user.user_id) is None
    await user.press("🔁 Check again")
    assert f"1/{len(ITEMS)}" in user.last_with_buttons().text


async def test_a_sub_theme_tick_and_none_of_these_exclude_each_other_visibly(bot):
    user = await bot.user(language_code="en")
    await user.send("/checklist")
    await user.press("Yes")
    await user.press(_subtheme_label("en", "identify"))
    labels = [label for label, _ in user.last_with_buttons().buttons]
    assert _subtheme_label("en", "identify", ticked=True) in labels and "☐ None of these" in labels

    await user.press("☐ None of these")  # clears the tick, in plain sight
    labels = [label for label, _ in user.last_with_buttons().buttons]
    assert "☑ None of these" in labels
    assert _subtheme_label("en", "identify") in labels  # unticked
    assert not any(label.startswith("☑") and "None" not in label for label in labels)

    await user.press(_subtheme_label("en", "leisure"))  # and a sub-theme clears "None"
    labels = [label for label, _ in user.last_with_buttons().buttons]
    assert "☐ None of these" in labels and _subtheme_label("en", "leisure", ticked=True) in labels
    await user.press(CONTINUE["en"])
    assert (await _answers(bot, user.user_id))[ITEMS[1].id] == "leisure"

    await user.press("⬅️ Back")
    await user.press("☐ None of these")
    await user.press(CONTINUE["en"])
    assert (await _answers(bot, user.user_id))[ITEMS[1].id] == "none"
