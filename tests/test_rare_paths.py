"""Paths a user meets now and then, through the real Application: an edit Telegram refuses, an
empty draft list, a bad name, a draft deleted or finished while open, a double submit, and an
error while the database is failing too."""

from __future__ import annotations

import asyncio
import logging

from bot.channels.telegram_standin import ApiError
from storage import conversations
from tests.test_outline import SECTIONS, _answers, _draft_ids, fill

# -- an edit Telegram refuses: the reply still reaches the user --------------------------------


async def test_a_press_on_a_message_deleted_meanwhile_gets_its_reply_as_a_new_message(bot):
    user = await bot.user(language_code="en")
    [menu] = await user.send("/start")
    user.delete(menu)  # on another device, say, while this one still shows it
    [reply] = await user.press("ℹ️ Help", menu)
    assert reply is not menu and "<b>How I can help</b>" in reply.text
    [failed] = bot.telegram.calls_of("editMessageText")
    assert failed.params["message_id"] == menu.message_id


async def test_a_message_too_old_to_edit_gets_its_reply_as_a_new_message(bot):
    user = await bot.user(language_code="en")
    [menu] = await user.send("/start")
    bot.telegram.fault = lambda method: (
        ApiError(400, "Bad Request: message can't be edited")
        if method == "editMessageText"
        else None
    )
    [reply] = await user.press("ℹ️ Help", menu)
    assert reply is not menu and "<b>How I can help</b>" in reply.text
    assert "How I can help" not in menu.text


async def test_the_same_press_twice_changes_nothing_and_says_nothing_more(bot):
    """The second press asks for the text the message already shows: Telegram answers "message
    is not modified", which is no error to the user."""
    user = await bot.user(language_code="en")
    [menu] = await user.send("/start")
    help_data = dict(menu.buttons)["ℹ️ Help"]
    await user.press(help_data, menu)
    shown, sent = menu.text, len(user.messages())
    assert await user.press_data(help_data, menu) == []
    assert menu.text == shown and len(user.messages()) == sent
    assert len(bot.telegram.calls_of("editMessageText")) == 2  # the second one was refused
    assert len(bot.telegram.answers) == len(bot.telegram.presses) == 2


# -- drafts: none, names, deleted while open, finished ------------------------------------------


async def test_mydrafts_without_drafts_offers_to_start_one(bot):
    user = await bot.user(language_code="en")
    [reply] = await user.send("/mydrafts")
    assert reply.text == "You have no drafts yet."
    await user.press("📝 Draft a project outline")
    assert f"Step 1/{len(SECTIONS)}" in user.last.text
    assert len(await _draft_ids(bot, user.user_id)) == 1


async def _open_card(user, number=1):
    await user.send("/mydrafts")
    await user.press(
        next(label for label, _ in user.last.buttons if label.startswith(f"{number}. "))
    )


async def test_a_name_that_is_empty_or_too_long_is_refused_and_asked_again(bot):
    user = await bot.user(language_code="en")
    await user.send("/outline")
    await fill(user, "en", stop_before=1)
    [draft_id] = await _draft_ids(bot, user.user_id)
    await _open_card(user)
    before = (await _answers(bot, draft_id))["title"]
    await user.press("✏️ Rename")
    # The name is the working title: the title's own rules, its own words for a refusal.
    limit = SECTIONS[0].max_length
    for typed, why in (("x" * (limit + 1), "at most"), ("xy", "at least"), (" \t ", "empty")):
        [reply] = await user.send(typed)
        assert why in reply.text and reply.text.endswith("Type the new name for the draft.")
    [refused, again] = await user.send_sticker()
    assert refused.text.startswith("I can only read text messages")
    assert again.text == "Type the new name for the draft."
    assert (await _answers(bot, draft_id))["title"] == before
    longest = "y" * limit
    await user.send(f"  {longest}  ")
    assert (await _answers(bot, draft_id))["title"] == longest
    assert await conversations.get(bot.db, user.user_id) is None


async def test_deleting_the_draft_being_filled_in_ends_its_flow(bot):
    user = await bot.user(language_code="en")
    await user.send("/outline")
    await fill(user, "en", stop_before=2)  # now at step 3 of this draft
    state = await conversations.get(bot.db, user.user_id)
    assert state is not None and state.flow == "outline"
    await _open_card(user)
    await user.press("🗑 Delete")
    await user.press("🗑 Yes, delete")
    assert user.last.text == "The draft was deleted."
    assert await _draft_ids(bot, user.user_id) == []
    assert await conversations.get(bot.db, user.user_id) is None
    # What they type next is a question again, not an answer to a step of a deleted draft.
    [reply] = await user.send("What are the sub-themes?")
    assert "sub-themes" in reply.text and "Step " not in reply.text


async def test_continuing_a_draft_with_every_section_answered_shows_its_review(bot):
    user = await bot.user(language_code="en")
    await user.send("/outline")
    await fill(user, "en")
    [draft_id] = await _draft_ids(bot, user.user_id)
    answers = await _answers(bot, draft_id)
    await user.send("/outline")
    assert "You have a draft in progress" in user.last.text
    [review] = await user.press("▶️ Continue")
    assert "Step " not in review.text
    assert f"{len(SECTIONS)}/{len(SECTIONS)} sections filled" in review.text
    assert "✅ Submit" in [label for label, _ in review.buttons]
    assert await conversations.get(bot.db, user.user_id) is None
    assert await _answers(bot, draft_id) == answers


# -- submitting twice at once ---------------------------------------------------------------------


async def test_two_presses_of_submit_at_once_submit_once_and_tell_the_coordinators_once(bot):
    user = await bot.user(language_code="en")
    await user.send("/outline")
    await fill(user, "en", skip=("phone",))
    await user.press("✅ Submit")
    confirm = user.last_with_buttons()
    data = dict(confirm.buttons)["✅ Yes, submit"]
    await asyncio.gather(user.press_data(data, confirm), user.press_data(data, confirm))
    [draft_id] = await _draft_ids(bot, user.user_id)
    row = await bot.db.fetchone("SELECT status FROM drafts WHERE id = ?", (draft_id,))
    assert row["status"] == "submitted"
    assert len(bot.telegram.sent_to(9001)) == 1  # one notice for the coordinator
    submitted = [m for m in user.messages() if m.text.startswith("✅ Submitted:")]
    assert len(submitted) == 1
    answers = [c.params.get("text") for c in bot.telegram.calls_of("answerCallbackQuery")]
    assert answers[-2:].count("This button is no longer valid.") == 1


# -- an error while the database fails too ------------------------------------------------------


async def test_an_error_while_the_database_fails_too_still_gets_a_reply(bot, caplog):
    """The user's language cannot be read, so the reply comes in the default language."""
    await bot.db.execute("ALTER TABLE users RENAME TO users_away")  # every read of users fails
    user = await bot.user(user_id=1701, language_code="en", start=False)
    with caplog.at_level(logging.ERROR):
        [reply] = await user.send("/start")  # the apology alone: no greeting without the user
    assert reply.text.startswith("Pahoittelen, jokin meni vikaan")
    messages = [r.getMessage() for r in caplog.records if r.name == "handlers.errors"]
    assert any(m.startswith("error while handling update") for m in messages)
    assert any(m.startswith("could not load the user") for m in messages)
    await bot.db.execute("ALTER TABLE users_away RENAME TO users")
    [greeting] = await user.send("/start")
    assert greeting.text.startswith("Hello Testi!") and "🔒" in greeting.text  # a first contact now


async def test_an_error_whose_apology_cannot_be_sent_either_is_logged(bot, caplog):
    user = await bot.user(language_code="en")
    sent = len(user.messages())
    bot.telegram.fault = lambda method: (
        ApiError(403, "Forbidden: bot was blocked by the user") if method == "sendMessage" else None
    )
    with caplog.at_level(logging.ERROR):
        assert await user.send("/help") == []
    assert len(user.messages()) == sent
    messages = [r.getMessage() for r in caplog.records if r.name == "handlers.errors"]
    assert any(m.startswith("could not tell the user about the error") for m in messages)
