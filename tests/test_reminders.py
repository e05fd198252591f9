"""Reminders for drafts left untouched (issue 22 §3): the real Application, stopped and started
on the same database file, with the drafts' last edit set in the past."""

from __future__ import annotations

import asyncio

import pytest

from bot.config import ConfigError, Settings
from storage.db import Database
from tests.conftest import replace_settings, running_harness
from tests.test_outline import _answers, _draft_ids

REMINDER = "has not been edited for 14 days"


async def _checked(harness) -> None:
    """Until the reminders' first pass after a start is done."""
    await asyncio.wait_for(harness.app.bot_data["reminders_checked"].wait(), 30)


async def _draft_untouched(harness, user_id=3001, days=20):
    user = await harness.user(user_id=user_id, language_code="en")
    await user.send("/outline")
    await user.send("Forgotten project")
    await user.press("💾 Save and exit")
    [draft_id] = await _draft_ids(harness, user_id)
    await _age(harness, draft_id, days)
    return user, draft_id


async def _age(harness, draft_id, days):
    """As if the draft was last edited `days` ago (and any reminder came a day before that)."""
    await harness.db.execute(
        "UPDATE drafts SET updated_at = strftime('%Y-%m-%dT%H:%M:%S+00:00', 'now', ?), "
        "reminded_at = iif(reminded_at IS NULL, NULL, "
        "strftime('%Y-%m-%dT%H:%M:%S+00:00', 'now', ?)) WHERE id = ?",
        (f"-{days} days", f"-{days + 1} days", draft_id),
    )


def _reminders(user):
    """The reminders sent to the user (a reminder's message becomes the step when continued)."""
    return [
        call.params
        for call in user.telegram.calls_of("sendMessage")
        if call.params["chat_id"] == user.chat and REMINDER in call.params["text"]
    ]


def _buttons(params):
    return [button["text"] for row in params["reply_markup"]["inline_keyboard"] for button in row]


async def test_one_reminder_after_the_days_and_none_again_after_restarts(bot):
    user, draft_id = await _draft_untouched(bot)
    await bot.restart()
    await _checked(bot)
    [reminder] = _reminders(user)
    assert "<b>Forgotten project</b>" in reminder["text"]
    assert _buttons(reminder) == ["▶️ Continue", "🔕 Don't remind me"]
    reminder = user.last
    for _ in range(2):  # neither repeated nor lost by a restart
        await bot.restart()
        await _checked(bot)
        assert len(_reminders(user)) == 1

    await user.press("▶️ Continue", reminder)
    assert "Step 2/" in user.last.text
    await user.send("Kerava Youth Association")  # an edit starts a new period
    await user.press("💾 Save and exit")
    await bot.restart()
    await _checked(bot)
    assert len(_reminders(user)) == 1  # edited just now: not due
    await _age(bot, draft_id, 15)
    await bot.restart()
    await _checked(bot)
    assert len(_reminders(user)) == 2


async def test_dont_remind_me_stops_reminders_for_that_draft(bot):
    user, draft_id = await _draft_untouched(bot)
    await bot.restart()
    await _checked(bot)
    assert len(_reminders(user)) == 1
    await user.press("🔕 Don't remind me", user.last)
    assert "I will not remind you about this draft again" in user.last.text
    await user.send("/mydrafts")
    await user.press(f"dr:o:{draft_id}")
    await user.press("▶️ Continue")
    await user.send("Kerava Youth Association")
    await _age(bot, draft_id, 30)
    await bot.restart()
    await _checked(bot)
    assert len(_reminders(user)) == 1
    assert (await _answers(bot, draft_id))["organisation"] == "Kerava Youth Association"


async def test_no_reminder_for_submitted_recent_or_others_drafts_and_a_forged_button(bot):
    user, draft_id = await _draft_untouched(bot, days=10)  # not yet
    await bot.restart()
    await _checked(bot)
    assert _reminders(user) == []
    other = await bot.user(user_id=3002, language_code="en")
    await other.send("/start")
    for forged in (f"rem:off:{draft_id}", "rem:off", "rem:on:1", f"rem:off:{draft_id}:1"):
        await other.press_data(forged, user.last_with_buttons())
        answer = bot.telegram.calls_of("answerCallbackQuery")[-1].params
        assert answer.get("text") == "This button is no longer valid."
    row = await bot.db.fetchone("SELECT remind FROM drafts WHERE id = ?", (draft_id,))
    assert row["remind"] == 1


async def test_reminders_in_the_owners_language(bot):
    user = await bot.user(user_id=3003, language_code="fi")
    await user.send("/outline")
    await user.send("Unohtunut hanke")
    [draft_id] = await _draft_ids(bot, 3003)
    await _age(bot, draft_id, 15)
    await bot.restart()
    await _checked(bot)
    assert "<b>Unohtunut hanke</b>" in user.last.text and "14 päivään" in user.last.text
    assert [label for label, _data in user.last.buttons] == ["▶️ Jatka", "🔕 Älä muistuta enää"]


async def test_zero_days_turns_reminders_off(settings):
    async with running_harness(settings) as first:
        user, _draft_id = await _draft_untouched(first, days=100)
        await first.stop()
        first.settings = replace_settings(settings, reminder_days=0)
        await first.start()
        await user.send("/help")
        assert _reminders(user) == []
        assert "reminders" not in first.app.bot_data


def test_reminder_days_from_the_environment():
    assert Settings.from_env({}, need_token=False).reminder_days == 14
    assert Settings.from_env({"BOT_REMINDER_DAYS": "0"}, need_token=False).reminder_days == 0
    for bad in ("-1", "two", "366"):
        with pytest.raises(ConfigError, match="BOT_REMINDER_DAYS"):
            Settings.from_env({"BOT_REMINDER_DAYS": bad}, need_token=False)


async def test_the_due_query_reads_the_partial_index(tmp_path):
    db = Database(tmp_path / "plan.sqlite3")
    await db.open()
    try:
        from storage.reminders import _DUE

        plan = await db.fetchall(f"EXPLAIN QUERY PLAN {_DUE}", ("2026-01-01", 100))
        assert "drafts_reminder_due" in " ".join(row["detail"] for row in plan)
    finally:
        await db.close()
