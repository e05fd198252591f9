"""Drafting, reviewing, downloading and submitting outlines through the real Application."""

from __future__ import annotations

import io

import docx
import pytest

from bot import content as content_module
from bot.rendering import check_html, html_to_text
from storage import conversations

CONTENT = content_module.load_valid()
SECTIONS = CONTENT.outline
INDEX = {section.id: n for n, section in enumerate(SECTIONS)}
LABELS = {
    "fi": {"skip": "⏭ Ohita", "continue": "Jatka ➡️", "submit": "✅ Lähetä"},
    "sv": {"skip": "⏭ Hoppa över", "continue": "Fortsätt ➡️", "submit": "✅ Skicka in"},
    "en": {"skip": "⏭ Skip", "continue": "Continue ➡️", "submit": "✅ Submit"},
}


def answer_for(section, marker=""):
    if section.kind == "email":
        return "maija.meikalainen@example.org"
    if section.kind == "phone":
        return "+358 40 123 4567"
    if section.kind == "month":
        return "3/2027" if section.id == "start_month" else "2028-10"
    if section.kind == "money":
        return "250 000 €"
    words = f"{marker}{section.id} answer with <tags> & ampersands 🎈 "
    return (words * (section.min_length // len(words) + 1)).strip()[: section.max_length]


async def _answers(bot, draft_id):
    rows = await bot.db.fetchall(
        "SELECT section_id, value FROM draft_answers WHERE draft_id = ?", (draft_id,)
    )
    return {row["section_id"]: row["value"] for row in rows}


async def _draft_ids(bot, user_id):
    rows = await bot.db.fetchall("SELECT id FROM drafts WHERE user_id = ? ORDER BY id", (user_id,))
    return [row["id"] for row in rows]


async def fill(user, language, *, start_at=0, stop_before=None, skip=(), marker=""):
    """Answer sections in order, as a person would: typing text, pressing choices."""
    for index in range(start_at, len(SECTIONS) if stop_before is None else stop_before):
        section = SECTIONS[index]
        step = user.last_with_buttons()
        assert f"{index + 1}/{len(SECTIONS)}" in step.text, step.text[:200]
        if section.id in skip:
            await user.press(LABELS[language]["skip"])
        elif section.kind == "choice":
            await user.press(section.options[0].label[language])
        elif section.kind == "subthemes":
            if "☑" not in " ".join(label for label, _ in step.buttons):
                await user.press("☐ " + CONTENT.subthemes["professionals"].short[language])
            await user.press(LABELS[language]["continue"])
        else:
            await user.send(answer_for(section, marker))


@pytest.mark.parametrize("language", ["fi", "sv", "en"])
async def test_a_whole_outline_in_every_language_ends_in_a_review(bot, language):
    user = await bot.user(language_code=language)
    await user.send("/outline")
    await fill(user, language, skip=("phone",))
    [draft_id] = await _draft_ids(bot, user.user_id)
    stored = await _answers(bot, draft_id)
    for section in SECTIONS:
        expected = {"phone": "", "org_type": section.options[0].id if section.options else None}
        if section.id in expected:
            assert stored[section.id] == expected[section.id]
        elif section.kind == "text":
            assert stored[section.id] == answer_for(section)  # literal <, & and emoji kept
    assert stored["subthemes"] == "professionals"
    assert (stored["start_month"], stored["end_month"], stored["budget"]) == (
        "2027-03",
        "2028-10",
        "250000",
    )
    review = "\n".join(m.text for m in user.messages()[-3:])
    assert "&lt;tags&gt; &amp; ampersands 🎈" in review
    for section in SECTIONS:
        assert section.text[language].title in review
    assert {"fi": "250\xa0000,00\xa0€", "sv": "250\xa0000,00\xa0€", "en": "€250,000.00"}[
        language
    ] in review or "250" in review
    assert await conversations.get(bot.db, user.user_id) is None


async def test_back_and_skip_and_save_and_exit_then_continue_later(bot):
    user = await bot.user(language_code="en")
    await user.send("/outline")
    await fill(user, "en", stop_before=2)
    await user.press("⬅️ Back")
    assert f"2/{len(SECTIONS)}" in user.last.text and "Current answer" in user.last.text
    await user.press("✔️ Keep the current answer")
    assert f"3/{len(SECTIONS)}" in user.last.text
    await user.press("💾 Save and exit")
    assert "Saved (2/19 sections)" in user.last.text

    await user.send("/outline")
    await user.press("▶️ Continue")
    await fill(user, "en", start_at=2, stop_before=INDEX["phone"] + 1, skip=("phone",))
    [draft_id] = await _draft_ids(bot, user.user_id)
    assert (await _answers(bot, draft_id))["phone"] == ""


async def test_restart_at_several_steps_loses_nothing(bot):
    user = await bot.user(language_code="en")
    await user.send("/outline")
    for stop in (1, 4, INDEX["subthemes"], INDEX["need"] + 1):
        start_at = len(await _answers(bot, (await _draft_ids(bot, user.user_id))[0]))
        await fill(user, "en", start_at=start_at, stop_before=stop)
        await bot.restart()  # as after SIGKILL: a new Application on the same database file
        await user.send_sticker()  # any next message shows the same step again
        assert f"{stop + 1}/{len(SECTIONS)}" in user.last.text
    [draft_id] = await _draft_ids(bot, user.user_id)
    assert len(await _answers(bot, draft_id)) == INDEX["need"] + 1


async def test_a_typed_answer_is_committed_before_the_reply(bot):
    user = await bot.user(language_code="en")
    await user.send("/outline")
    await fill(user, "en", stop_before=INDEX["target_group"])
    [draft_id] = await _draft_ids(bot, user.user_id)
    for section in SECTIONS[INDEX["target_group"] : INDEX["objectives"] + 1]:
        [reply] = await user.send(answer_for(section))
        assert (await _answers(bot, draft_id))[section.id] == answer_for(section)
        assert f"Step {INDEX[section.id] + 2}/{len(SECTIONS)}" in reply.text
    await bot.restart()  # as after SIGKILL: the same step, from the database
    await user.send_sticker()
    assert f"Step {INDEX['actions'] + 1}/{len(SECTIONS)}" in user.last.text


@pytest.mark.parametrize(
    ("section_id", "typed", "reply_part"),
    [
        ("title", "ab", "needs at least 3"),
        ("title", "x" * 151, "at most 150"),
        ("title", "   \n  ", "The answer is empty"),
        ("need", "y" * 3001, "at most 3000"),
        ("email", "not an address", "e-mail address"),
        ("start_month", "next spring", "year and month"),
        ("start_month", "13/2027", "year and month"),
        ("budget", "lots", "amount in euros"),
    ],
)
async def test_bad_text_gets_a_reply_naming_the_rule_and_the_step_again(
    bot, section_id, typed, reply_part
):
    user = await bot.user(language_code="en")
    await user.send("/outline")
    await fill(user, "en", stop_before=INDEX[section_id], skip=("phone",))
    before = await _answers(bot, (await _draft_ids(bot, user.user_id))[0])
    replies = await user.send(typed)
    assert reply_part in replies[0].text
    assert f"{INDEX[section_id] + 1}/{len(SECTIONS)}" in replies[-1].text
    assert await _answers(bot, (await _draft_ids(bot, user.user_id))[0]) == before


async def test_end_month_before_start_month_is_refused(bot):
    user = await bot.user(language_code="en")
    await user.send("/outline")
    await fill(user, "en", stop_before=INDEX["end_month"], skip=("phone",))
    [draft_id] = await _draft_ids(bot, user.user_id)
    before = await _answers(bot, draft_id)
    [reply] = await user.send("1/2027")  # the reason, with the step's buttons
    assert "cannot end before it starts" in reply.text
    assert await _answers(bot, draft_id) == before


async def test_a_start_month_after_the_end_month_is_refused(bot):
    """The end month is checked against the start as it is typed; the start, changed from the
    review once both are there, is checked against the end."""
    user = await bot.user(language_code="en")
    await user.send("/outline")
    await fill(user, "en", skip=("phone",))
    [draft_id] = await _draft_ids(bot, user.user_id)
    before = await _answers(bot, draft_id)
    assert (before["start_month"], before["end_month"]) == ("2027-03", "2028-10")
    edit = f"✏️ {INDEX['start_month'] + 1}. "
    await user.press(
        next(label for label, _ in user.last_with_buttons().buttons if label.startswith(edit))
    )
    [reply] = await user.send("11/2028")
    assert "cannot end before it starts" in reply.text
    assert await _answers(bot, draft_id) == before
    await user.send("10/2028")  # the same month as the end is a one-month project
    assert (await _answers(bot, draft_id))["start_month"] == "2028-10"


@pytest.mark.parametrize("kind", ["sticker", "photo", "voice", "document"])
async def test_non_text_at_a_text_step_is_refused_and_the_step_asked_again(bot, kind):
    user = await bot.user(language_code="en")
    await user.send("/outline")
    replies = await getattr(user, f"send_{kind}")()
    assert replies[0].text.startswith("I can only read text messages")
    assert f"1/{len(SECTIONS)}" in replies[-1].text
    assert await _answers(bot, (await _draft_ids(bot, user.user_id))[0]) == {}


async def test_a_question_starting_with_a_question_mark_is_answered_mid_step(bot):
    user = await bot.user(language_code="en")
    await user.send("/outline")
    replies = await user.send("? what are the sub-themes")
    assert CONTENT.entries["subthemes-all"].text["en"].question in replies[0].text
    assert f"1/{len(SECTIONS)}" in replies[-1].text
    assert await _answers(bot, (await _draft_ids(bot, user.user_id))[0]) == {}


async def test_hostile_and_huge_answers_render_as_valid_html_within_limits(bot):
    user = await bot.user(language_code="en")
    await user.send("/outline")
    await fill(user, "en", stop_before=INDEX["need"], skip=("phone",))
    nasty = ("<b>*bold*</b> & <script>alert(1)</script> _x_ `y` 😀🇫🇮 " * 60)[:2999] + "&"
    for section in SECTIONS[INDEX["need"] : INDEX["communication"] + 1]:
        text = nasty[: section.max_length]
        await user.send(text)
    await fill(user, "en", start_at=INDEX["communication"] + 1, skip=("phone",))
    [draft_id] = await _draft_ids(bot, user.user_id)
    stored = await _answers(bot, draft_id)
    assert stored["need"] == nasty.strip()
    messages = user.messages()
    for message in messages:
        assert check_html(message.text) == []
    start = max(
        i for i, m in enumerate(messages) if m.text.startswith("<b>📝") and "Step" not in m.text
    )
    review = messages[start:]
    assert len(review) >= 3  # split over several messages, each within Telegram's limits
    assert sum("&lt;script&gt;" in m.text for m in review) >= 2
    assert review[-1].buttons  # the buttons come with the last part


async def test_edit_from_review_returns_to_the_review(bot):
    user = await bot.user(language_code="en")
    await user.send("/outline")
    await fill(user, "en", skip=("phone",))
    title = SECTIONS[INDEX["objectives"]].text["en"].title
    await user.press(
        next(label for label, _ in user.last_with_buttons().buttons if title[:20] in label)
    )
    assert f"{INDEX['objectives'] + 1}/{len(SECTIONS)}" in user.last.text
    assert "↩️ Back to review" in [label for label, _ in user.last.buttons]
    await user.send("New objectives: " + "much better outcomes for every child. " * 3)
    review = "\n".join(m.text for m in user.messages()[-3:])
    assert "New objectives: much better" in review
    assert await conversations.get(bot.db, user.user_id) is None


async def test_submit_is_refused_while_required_sections_are_missing(bot):
    user = await bot.user(language_code="en")
    await user.send("/outline")
    await fill(user, "en", stop_before=2)
    await user.press("💾 Save and exit")
    await user.send("/mydrafts")
    await user.press(next(label for label, _ in user.last.buttons if label.startswith("1. ")))
    await user.press("👁 Review")
    await user.press("✅ Submit")
    assert "Before you can submit" in user.last.text
    assert SECTIONS[INDEX["email"]].text["en"].title in user.last.text
    [draft_id] = await _draft_ids(bot, user.user_id)
    assert (await bot.db.fetchone("SELECT status FROM drafts WHERE id = ?", (draft_id,)))[
        0
    ] == "draft"


async def test_submit_notifies_coordinators_makes_it_read_only_and_reopen_copies(bot):
    user = await bot.user(language_code="en")
    await user.send("/outline")
    await fill(user, "en", skip=("phone",))
    review = user.last_with_buttons()
    edit_data = next(data for label, data in review.buttons if label.startswith("✏️ 1."))
    await user.press("✅ Submit")
    await user.press("✅ Yes, submit")
    assert user.last.text.startswith("✅ Submitted:")
    [draft_id] = await _draft_ids(bot, user.user_id)
    row = await bot.db.fetchone("SELECT status, submitted_at FROM drafts WHERE id = ?", (draft_id,))
    assert row["status"] == "submitted" and row["submitted_at"]
    [note] = bot.telegram.sent_to(9001)  # COORDINATOR_IDS; never met: the default language
    assert "Uusi hankeluonnos lähetetty" in note.text and f"numero {draft_id}" in note.text

    before = await _answers(bot, draft_id)
    await user.press_data(edit_data, review)  # an edit button from before the submit
    assert "no longer valid" in bot.telegram.calls_of("answerCallbackQuery")[-1].params["text"]
    await user.send("/mydrafts")
    await user.press(next(label for label, _ in user.last.buttons if label.startswith("1. ")))
    await user.press("🔁 Reopen as a new draft")
    ids = await _draft_ids(bot, user.user_id)
    assert len(ids) == 2
    assert await _answers(bot, ids[1]) == before
    assert await _answers(bot, draft_id) == before
    copy = await bot.db.fetchone("SELECT status, reopened_from FROM drafts WHERE id = ?", (ids[1],))
    assert (copy["status"], copy["reopened_from"]) == ("draft", draft_id)


async def test_a_failing_coordinator_notification_does_not_fail_the_submit(bot):
    from bot.channels.telegram_standin import ApiError

    user = await bot.user(language_code="en")
    await user.send("/outline")
    await fill(user, "en", skip=("phone",))
    await user.press("✅ Submit")
    bot.telegram.fault = lambda method: (
        ApiError(403, "Forbidden: bot was blocked by the user")
        if method == "sendMessage" and bot.telegram.calls[-1].params.get("chat_id") == 9001
        else None
    )
    await user.press("✅ Yes, submit")
    assert user.last.text.startswith("✅ Submitted:")
    [draft_id] = await _draft_ids(bot, user.user_id)
    assert (await bot.db.fetchone("SELECT status FROM drafts WHERE id = ?", (draft_id,)))[
        0
    ] == "submitted"


async def test_download_gives_a_docx_with_every_section(bot):
    user = await bot.user(language_code="fi")
    await user.send("/outline")
    await fill(user, "fi", skip=("phone",))
    await user.press("📄 Lataa (DOCX)")
    [call] = bot.telegram.calls_of("sendDocument")
    document = call.params["document"]
    parsed = docx.Document(io.BytesIO(document.input_file_content))
    text = "\n".join(p.text for p in parsed.paragraphs)
    for section in SECTIONS:
        assert section.text["fi"].title in text
    assert answer_for(SECTIONS[INDEX["need"]]) in text
    # Properties a word processor shows: the title, the organisation as author, the language.
    properties = parsed.core_properties
    assert properties.title == answer_for(SECTIONS[INDEX["title"]])
    assert properties.author == answer_for(SECTIONS[INDEX["organisation"]])
    assert properties.language == "fi-FI" and "python-docx" not in properties.last_modified_by
    assert properties.created.year >= 2026
    # Named after the draft, in safe ASCII.
    assert document.filename.startswith("title-answer-with-tags-ampersands")
    assert document.filename.endswith(".docx") and document.filename.isascii()


async def test_a_draft_without_a_title_downloads_as_outline_n(bot):
    user = await bot.user(language_code="en")
    await user.send("/outline")
    await user.send("🎈🎈🎈")  # a title with nothing a file name can use
    [draft_id] = await _draft_ids(bot, user.user_id)
    await user.press("💾 Save and exit")
    await user.send("/mydrafts")
    await user.press(next(label for label, _ in user.last.buttons if label.startswith("1. ")))
    await user.press("📄 Download (DOCX)")
    [call] = bot.telegram.calls_of("sendDocument")
    assert call.params["document"].filename == f"outline-{draft_id}.docx"


async def test_several_drafts_rename_and_delete_with_confirmation(bot):
    user = await bot.user(language_code="en")
    await user.send("/outline")
    await fill(user, "en", stop_before=1)
    await user.send("/outline")
    assert "You have a draft in progress" in user.last.text
    await user.press("➕ New draft")
    await fill(user, "en", stop_before=1, marker="second ")
    await user.send("/mydrafts")
    listing = user.last
    assert listing.text.count("\n1. ") + listing.text.count("\n2. ") == 2
    await user.press(next(label for label, _ in listing.buttons if label.startswith("2. ")))
    await user.press("✏️ Rename")
    await user.send("My <better> name")
    assert "Renamed: <b>My &lt;better&gt; name</b>." in user.messages()[-2].text
    await user.press("🗑 Delete")
    assert "cannot be undone" in user.last.text
    await user.press("↩️ No, keep it")
    assert len(await _draft_ids(bot, user.user_id)) == 2
    await user.press("🗑 Delete")
    await user.press("🗑 Yes, delete")
    assert len(await _draft_ids(bot, user.user_id)) == 1


async def test_checklist_summary_starts_an_outline_with_its_sub_themes(bot):
    user = await bot.user(language_code="en")
    await user.send("/checklist")
    for item in CONTENT.checklist:
        if item.kind == "subthemes":
            await user.press("☐ " + CONTENT.subthemes["leisure"].short["en"])
            await user.press("Continue ➡️")
        else:
            await user.press("Yes")
    await user.press("📝 Draft an outline with these answers")
    [draft_id] = await _draft_ids(bot, user.user_id)
    assert (await _answers(bot, draft_id)) == {"subthemes": "leisure"}


@pytest.mark.parametrize(
    "template",
    ["ol:r:{d}", "ol:doc:{d}", "ol:go:{d}", "ol:sub:{d}", "ol:subok:{d}", "ol:e:{d}:3",
     "dr:o:{d}", "dr:n:{d}", "dr:delok:{d}", "ol:o:{d}:2:association", "ol:x:{d}:0"],
)  # fmt: skip
async def test_another_users_draft_can_never_be_opened_or_changed(bot, template):
    owner = await bot.user(language_code="en")
    await owner.send("/outline")
    await fill(owner, "en", stop_before=3)
    [draft_id] = await _draft_ids(bot, owner.user_id)
    before = await _answers(bot, draft_id)
    intruder = await bot.user(user_id=6666, language_code="en")
    await intruder.send("/start")
    sent_before = len(intruder.messages())
    await intruder.press_data(template.format(d=draft_id), intruder.last)
    assert "no longer valid" in bot.telegram.calls_of("answerCallbackQuery")[-1].params["text"]
    assert len(intruder.messages()) == sent_before
    assert bot.telegram.calls_of("sendDocument") == []
    assert await _answers(bot, draft_id) == before
    assert (await bot.db.fetchone("SELECT name, status FROM drafts"))[:] == (None, "draft")


def test_review_text_is_readable_as_plain_text():
    assert html_to_text("<b>1. Title</b>\n\nA &amp; B") == "1. Title\n\nA & B"


async def test_deep_link_and_alias_start_an_outline(bot):
    user = await bot.user(language_code="en")
    await user.send("/start outline")
    assert f"1/{len(SECTIONS)}" in user.last.text
    other = await bot.user(user_id=1002, language_code="en")
    await other.send("/draft")
    assert f"1/{len(SECTIONS)}" in other.last.text


async def test_the_menu_leaves_a_flow_so_a_question_is_not_taken_as_an_answer(bot):
    user = await bot.user(language_code="en")
    await user.send("/outline")
    await user.send("/menu")
    [reply] = await user.send("What are the sub-themes?")
    assert CONTENT.entries["subthemes-all"].text["en"].question in reply.text
    [draft_id] = await _draft_ids(bot, user.user_id)
    assert await _answers(bot, draft_id) == {}
    await user.send("/mydrafts")
    await user.press(next(label for label, _ in user.last.buttons if label.startswith("1. ")))
    await user.press("▶️ Continue")
    assert f"1/{len(SECTIONS)}" in user.last.text  # nothing lost: the draft continues


@pytest.mark.parametrize(
    ("language", "amount", "month", "moment"),
    [
        ("en", "€250,000", "March 2027", r"\d{1,2} [A-Z][a-z]{2} \d{4}, \d{2}:\d{2}"),
        ("fi", "250\xa0000\xa0€", "maaliskuu 2027", r"\d{1,2}\.\d{1,2}\.\d{4} \d{1,2}\.\d{2}"),
        ("sv", "250\xa0000\xa0€", "mars 2027", r"\d{1,2}\.\d{1,2}\.\d{4} \d{1,2}\.\d{2}"),
    ],
)
async def test_dates_times_and_amounts_follow_the_users_language(
    bot, language, amount, month, moment
):
    import re

    user = await bot.user(language_code=language)
    await user.send("/outline")
    await fill(user, language)
    review = html_to_text("\n".join(m.text for m in user.messages()[-3:]))
    assert amount in review and month in review
    assert re.search(moment, review), review[:300]
    await user.send("/mydrafts")
    assert re.search(moment, html_to_text(user.last.text))
    if language == "en":  # no Finnish formats left in English
        assert "250\xa0000" not in review and not re.search(r"\d\.\d{2}\b", review)


async def test_the_name_and_the_working_title_are_one_title(bot, settings):
    import json

    from tests.test_cli import run_bot

    user = await bot.user(language_code="en")
    await user.send("/outline")
    await fill(user, "en", skip=("phone",))
    [draft_id] = await _draft_ids(bot, user.user_id)
    await user.send("/mydrafts")
    await user.press(next(label for label, _ in user.last.buttons if label.startswith("1. ")))
    await user.press("✏️ Rename")
    assert "working title" in user.last.text
    await user.send("ab")  # the working title's own rule: at least 3 characters
    assert "at least 3" in user.last.text
    await user.send("Join In & more")
    assert (await _answers(bot, draft_id))["title"] == "Join In & more"

    await user.press("👁 Review")
    review = html_to_text(user.last.text)
    assert review.startswith("Join In & more") or "Join In & more" in review.split("\n")[0]
    assert review.count("Join In & more") >= 2  # the heading and section 1
    await user.press("📄 Download (DOCX)")
    document = bot.telegram.calls_of("sendDocument")[-1].params["document"]
    parsed = docx.Document(io.BytesIO(document.input_file_content))
    assert parsed.core_properties.title == "Join In & more"
    assert parsed.paragraphs[0].text == "Join In & more"

    # And the other way round: a new working title in section 1 renames the draft.
    await user.press("✏️ 1. Working title")
    await user.send("Mukaan! for everyone")
    await user.send("/mydrafts")
    assert "Mukaan! for everyone" in user.last.text and "Join In" not in user.last.text
    exported = run_bot(
        "export",
        "--format",
        "json",
        "--status",
        "all",
        env={"BOT_DATABASE": str(settings.database)},
    )
    [record] = json.loads(exported.stdout)
    assert record["name"] == record["sections"]["title"] == "Mukaan! for everyone"


async def test_cancel_in_the_outline_says_the_draft_is_saved_and_how_to_continue(bot):
    user = await bot.user(language_code="en")
    await user.send("/outline")
    await fill(user, "en", stop_before=2)
    [reply] = await user.send("/cancel")
    assert reply.text.startswith(f"Saved (2/{len(SECTIONS)} sections).")
    assert "/mydrafts" in reply.text
    assert len(await _draft_ids(bot, user.user_id)) == 1
    assert await conversations.get(bot.db, user.user_id) is None


@pytest.mark.parametrize("leave", ["button", "/cancel"])
async def test_leaving_a_new_draft_with_nothing_in_it_keeps_no_empty_draft(bot, leave):
    user = await bot.user(language_code="en")
    await user.send("/outline")
    if leave == "button":
        await user.press("💾 Save and exit")
    else:
        await user.send("/cancel")
    assert "Nothing was filled in yet, so no draft was kept" in user.last.text
    assert await _draft_ids(bot, user.user_id) == []
    assert await conversations.get(bot.db, user.user_id) is None
    await user.send("/mydrafts")
    assert "You have no drafts yet." in user.last.text
