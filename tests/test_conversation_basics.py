"""Start, menu, language, cancel and everything unexpected, through the real Application."""

from __future__ import annotations

import logging

import pytest

from bot.channels.telegram_standin import ApiError
from storage import conversations, users
from storage.conversations import Conversation

GREETING = {"fi": "Hei ", "sv": "Hej ", "en": "Hello "}
MENU = {"fi": "Mitä haluat tehdä?", "sv": "Vad vill du göra?", "en": "What would you like to do?"}


@pytest.mark.parametrize("language", ["fi", "sv", "en"])
async def test_start_greets_in_the_users_language_with_the_main_menu(bot, language):
    user = await bot.user(language_code=language, start=False)
    [reply] = await user.send("/start")  # the first contact: greeting, privacy notice, menu
    assert reply.text.startswith(GREETING[language])
    assert "🔒" in reply.text and "/privacy" in reply.text
    assert MENU[language] in reply.text
    assert len(reply.buttons) >= 4
    assert all(data.startswith("menu:") for _, data in reply.buttons)
    stored = await users.get(bot.db, user.user_id)
    assert stored is not None and stored.language is None  # negotiated, not chosen


@pytest.mark.parametrize(
    ("telegram_code", "expected"),
    [("sv-FI", "sv"), ("en-GB", "en"), ("fi", "fi"), ("de", "fi"), (None, "fi")],
)
async def test_telegram_language_is_negotiated_with_finnish_as_default(
    bot, telegram_code, expected
):
    [reply] = await (await bot.user(language_code=telegram_code, start=False)).send("/start")
    assert reply.text.startswith(GREETING[expected])


async def test_chosen_language_is_stored_and_survives_a_restart(bot):
    user = await bot.user(language_code="fi")
    await user.send("/language")
    assert "Valitse kieli" in user.last.text
    [reply] = await user.press("Svenska")
    assert "Språk valt: <b>Svenska</b>" in reply.text
    assert reply.buttons and MENU["sv"] in reply.text
    assert (await users.get(bot.db, user.user_id)).language == "sv"

    await bot.restart()
    [reply] = await user.send("/start")  # Telegram still says "fi"; the choice wins
    assert reply.text.startswith(GREETING["sv"])


async def test_settings_is_an_alias_of_language_and_the_menu_reaches_it_too(bot):
    user = await bot.user(language_code="en")
    [reply] = await user.send("/settings")
    assert reply.text == "Choose your language:"
    await user.send("/menu")
    [reply] = await user.press("🌐 Language")
    assert "✓ English" in [label for label, _ in reply.buttons]


async def test_help_lists_the_commands(bot):
    user = await bot.user(language_code="en")
    [reply] = await user.send("/help")
    for command in ("/menu", "/language", "/cancel", "/help"):
        assert command in reply.text


async def test_cancel_always_returns_to_the_menu_and_clears_the_flow(bot):
    user = await bot.user(language_code="en")
    await user.send("/start")
    await conversations.set_state(bot.db, user.user_id, Conversation("checklist", "3"))
    [reply] = await user.send("/cancel")
    assert reply.text.startswith("Cancelled.")
    assert await conversations.get(bot.db, user.user_id) is None
    [reply] = await user.send("/cancel")
    assert reply.text.startswith("Nothing to cancel.")
    assert reply.buttons


async def test_unknown_command_gets_a_localized_reply_and_changes_nothing(bot):
    user = await bot.user(language_code="fi")
    await user.send("/start")
    [reply] = await user.send("/<b>nonsense</b>")
    assert reply.text.startswith("En tunne komentoa /&lt;b&gt;nonsense&lt;/b&gt;")
    assert await conversations.get(bot.db, user.user_id) is None


@pytest.mark.parametrize("content", ["sticker", "photo", "voice"])
async def test_stickers_photos_and_voice_get_a_clear_reply(bot, content):
    user = await bot.user(language_code="en")
    await user.send("/start")
    replies = await getattr(user, f"send_{content}")()
    assert replies[0].text.startswith("I can only read text messages and button presses.")


@pytest.mark.parametrize("data", ["zz:1", "menu:nope", "lang:xx", "lang", "x" * 64])
async def test_stale_or_forged_buttons_are_refused_politely(bot, data):
    user = await bot.user(language_code="en")
    [menu] = await user.send("/start")
    sent_before = len(user.messages())
    await user.press_data(data, menu)
    answer = bot.telegram.calls_of("answerCallbackQuery")[-1].params
    assert "no longer valid" in answer["text"]
    assert len(user.messages()) == sent_before
    assert (await users.get(bot.db, user.user_id)).language is None


async def test_a_button_from_an_old_message_still_works_when_it_is_harmless(bot):
    user = await bot.user(language_code="en")
    [old_menu] = await user.send("/start")
    await user.send("/help")
    await user.press("ℹ️ Help", old_menu)
    assert "<b>How I can help</b>" in old_menu.text  # edited in place


async def test_a_button_press_is_answered_once_right_after_its_reply(bot):
    """The reply the user waits for goes first; the spinner is stopped right after, once."""
    user = await bot.user(language_code="en")
    [menu] = await user.send("/start")
    await user.press("ℹ️ Help", menu)
    assert [call.method for call in bot.telegram.calls[-2:]] == [
        "editMessageText",
        "answerCallbackQuery",
    ]
    # The stand-in refuses a second answer to the same query, as Telegram does, and the
    # fixture checks at the end that every press got its answer.
    query = bot.telegram.presses[-1]
    assert bot.telegram.answers == {query: 1}


async def test_replies_and_edits_are_html_without_link_previews(bot):
    """The application's defaults reach every message: HTML, and no link previews."""
    user = await bot.user(language_code="en", start=False)
    [menu] = await user.send("/start")
    await user.press("ℹ️ Help", menu)
    await user.send("/outline")
    methods = {"sendMessage", "editMessageText"}
    replies = [call for call in bot.telegram.calls if call.method in methods]
    assert {call.method for call in replies} == methods
    for call in replies:
        assert call.params["parse_mode"] == "HTML"
        assert call.params["link_preview_options"] == {"is_disabled": True}
    assert menu.buttons  # the keyboard went out and came back usable


async def test_in_a_group_the_bot_only_points_to_a_private_chat(bot):
    member = await bot.user(
        user_id=2002, language_code="en", chat_id=-100123, chat_type="group", start=False
    )
    [reply] = await member.send("/start")
    assert "private chat" in reply.text
    assert "https://t.me/et417_assistant_bot?start=group" in reply.text
    assert await member.send("how much money is there?") == []
    assert await member.send("/help") == []
    assert await users.get(bot.db, member.user_id) is None


async def test_user_supplied_names_are_escaped(bot):
    user = await bot.user(language_code="en", first_name="<script>&amp;", start=False)
    [reply] = await user.send("/start")
    assert reply.text.startswith("Hello &lt;script&gt;&amp;amp;!")


async def test_errors_are_logged_with_the_update_id_and_the_user_is_told(bot, caplog):
    user = await bot.user(language_code="en")
    # Three server errors in a row: the retries are used up and the handler fails.
    failures = iter([ApiError(500, "Internal Server Error")] * 3)
    bot.telegram.fault = lambda method: next(failures, None) if method == "sendMessage" else None
    typed = "how much funding can my project 4711 get?"
    with caplog.at_level(logging.INFO):
        [reply] = await user.send(typed)
    assert reply.text.startswith("Sorry, something went wrong on my side.")
    [record] = [r for r in caplog.records if r.name == "handlers.errors"]
    assert "error while handling update" in record.getMessage()
    assert record.exc_info is not None  # the traceback, for the operator
    assert "4711" not in caplog.text  # what the user typed is theirs, not the log's


async def test_a_press_whose_handling_fails_is_still_answered_once(bot):
    user = await bot.user(language_code="en")
    [menu] = await user.send("/start")
    failures = iter([ApiError(500, "Internal Server Error")] * 3)
    bot.telegram.fault = lambda method: (
        next(failures, None) if method == "editMessageText" else None
    )
    [reply] = await user.press("ℹ️ Help", menu)
    assert reply.text.startswith("Sorry, something went wrong on my side.")
    assert bot.telegram.answers == {bot.telegram.presses[-1]: 1}


async def test_command_menus_and_descriptions_are_published_per_language(bot):
    commands = bot.telegram.calls_of("setMyCommands")
    assert [c.params.get("language_code") for c in commands] == [None, "fi", "sv", "en"]
    by_language = {c.params.get("language_code"): c.params["commands"] for c in commands}
    assert {"command": "language", "description": "Vaihda kieli"} in by_language["fi"]
    assert {"command": "language", "description": "Byt språk"} in by_language["sv"]
    assert by_language[None] == by_language["fi"]
    assert len(bot.telegram.calls_of("setMyDescription")) == 4
    assert len(bot.telegram.calls_of("setMyShortDescription")) == 4


async def test_a_server_error_on_a_send_is_retried_and_the_user_sees_nothing_of_it(bot):
    user = await bot.user(language_code="en")
    failures = iter([ApiError(502, "Bad Gateway")])
    bot.telegram.fault = lambda method: next(failures, None) if method == "sendMessage" else None
    [reply] = await user.send("/help")
    assert "<b>How I can help</b>" in reply.text
    assert len(bot.telegram.calls_of("sendMessage")) >= 2
