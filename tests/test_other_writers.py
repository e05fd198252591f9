"""Another writer changes a user's rows between two of their updates: the next update sees the
change and never writes the old value back.

The writers: a partner's edit of the same draft (a direct write, standing in for the partners
feature), another process through the command line, a second connection as another instance of
the bot would have, and the retention purge that runs in the background.
"""

from __future__ import annotations

import sqlite3

from storage import privacy
from storage.db import Database, utcnow
from tests.test_cli import run_bot
from tests.test_outline import SECTIONS, _answers, _draft_ids, answer_for

TITLE = SECTIONS[0]
ORGANISATION = SECTIONS[1]


def _partner_edits(path, draft_id: int, section_id: str, value: str) -> None:
    """A write through a connection of its own, as a partner's edit would come in."""
    with sqlite3.connect(path) as conn:
        conn.execute(
            "UPDATE draft_answers SET value = ?, updated_at = ? "
            "WHERE draft_id = ? AND section_id = ?",
            (value, utcnow(), draft_id, section_id),
        )


async def _at_second_step(bot, user_id: int):
    user = await bot.user(user_id=user_id, language_code="en")
    await user.send("/outline")
    await user.send("Owner's title")
    assert f"Step 2/{len(SECTIONS)}" in user.last.text
    [draft_id] = await _draft_ids(bot, user_id)
    return user, draft_id


async def test_a_partners_edit_is_shown_at_the_owners_next_step(bot, settings):
    user, draft_id = await _at_second_step(bot, 1501)
    _partner_edits(settings.database, draft_id, TITLE.id, "Partner's title")
    await user.press("⬅️ Back")
    assert "Current answer: <b>Partner's title</b>" in user.last.text


async def test_keeping_the_current_answer_keeps_the_partners_edit(bot, settings):
    user, draft_id = await _at_second_step(bot, 1502)
    await user.press("⬅️ Back")
    assert "Owner's title" in user.last.text
    _partner_edits(settings.database, draft_id, TITLE.id, "Partner's title")
    await user.press("✔️ Keep the current answer")
    assert f"Step 2/{len(SECTIONS)}" in user.last.text
    assert (await _answers(bot, draft_id))[TITLE.id] == "Partner's title"


async def test_the_owners_next_answer_leaves_the_partners_edit_alone(bot, settings):
    user, draft_id = await _at_second_step(bot, 1503)
    _partner_edits(settings.database, draft_id, TITLE.id, "Partner's title")
    [reply] = await user.send(answer_for(ORGANISATION))
    assert f"Step 3/{len(SECTIONS)}" in reply.text
    answers = await _answers(bot, draft_id)
    assert answers[TITLE.id] == "Partner's title"
    assert answers[ORGANISATION.id] == answer_for(ORGANISATION)
    await user.send("/mydrafts")
    assert "Partner" in user.last.text and "Owner" not in user.last.text


async def test_a_purge_on_the_command_line_mid_outline_starts_the_user_afresh(bot, settings):
    user, draft_id = await _at_second_step(bot, 1504)
    await bot.db.execute(
        "UPDATE users SET last_seen = '2020-01-01T00:00:00+00:00' WHERE id = ?", (user.user_id,)
    )
    await bot.db.execute(
        "UPDATE drafts SET updated_at = '2020-01-01T00:00:00+00:00' WHERE id = ?", (draft_id,)
    )
    env = {"BOT_DATABASE": str(settings.database)}
    result = run_bot("purge", "--inactive-days", "30", "--yes", env=env)
    assert "deleted 1 users" in result.stdout, result.stderr
    replies = await user.send(answer_for(ORGANISATION))  # meant for the deleted draft
    assert "🔒" in replies[0].text  # a new user again: the privacy notice
    assert not any("Step" in reply.text or "went wrong" in reply.text for reply in replies)
    assert await _draft_ids(bot, user.user_id) == []
    assert (
        await bot.db.fetchall("SELECT * FROM draft_answers WHERE draft_id = ?", (draft_id,)) == []
    )
    assert (
        await bot.db.fetchall("SELECT * FROM conversations WHERE user_id = ?", (user.user_id,))
        == []
    )


async def test_a_role_taken_away_on_the_command_line_counts_at_the_next_update(bot, settings):
    env = {"BOT_DATABASE": str(settings.database)}
    assert run_bot("coordinators", "add", "4343", env=env).returncode == 0
    coordinator = await bot.user(user_id=4343, language_code="en")
    [reply] = await coordinator.send("/stats")
    assert "Statistics" in reply.text
    assert run_bot("coordinators", "remove", "4343", env=env).returncode == 0
    [reply] = await coordinator.send("/stats")
    assert reply.text.startswith("I don't know the command /stats")


async def test_changes_by_another_instance_are_seen_at_the_next_update(bot, settings):
    """A second connection to the same file, as a second instance of the bot (or the web
    channel) would have: it leaves the outline for the user and switches their language."""
    user, draft_id = await _at_second_step(bot, 1505)
    other = Database(settings.database)
    await other.open()
    try:
        await other.execute("DELETE FROM conversations WHERE user_id = ?", (user.user_id,))
        await other.execute("UPDATE users SET language = 'sv' WHERE id = ?", (user.user_id,))
    finally:
        await other.close()
    await user.send(answer_for(ORGANISATION))  # no longer an answer: the outline was left
    assert ORGANISATION.id not in await _answers(bot, draft_id)
    await user.send("/help")
    assert "Step" not in user.last.text
    assert user.last.text == await _help_in(bot, "sv")


async def _help_in(bot, language: str) -> str:
    person = await bot.user(user_id=1599, language_code=language)
    [reply] = await person.send("/help")
    return reply.text


async def test_the_retention_purge_between_two_updates_starts_the_user_afresh(bot):
    user, draft_id = await _at_second_step(bot, 1506)
    await bot.db.execute(
        "UPDATE users SET last_seen = '2020-01-01T00:00:00+00:00' WHERE id = ?", (user.user_id,)
    )
    # What the daily housekeeping task runs (bot.app._housekeeping_daily), in this process.
    assert await privacy.purge(bot.db, "2025-01-01T00:00:00+00:00", keep_submitted=True) == (1, 0)
    replies = await user.send(answer_for(ORGANISATION))
    assert "🔒" in replies[0].text
    assert not any("Step" in reply.text or "went wrong" in reply.text for reply in replies)
    assert await _draft_ids(bot, user.user_id) == []
    assert (
        await bot.db.fetchall("SELECT * FROM draft_answers WHERE draft_id = ?", (draft_id,)) == []
    )
