"""Privacy: notice, /mydata, /deletedata, retention purge, backup, and what the logs hold."""

from __future__ import annotations

import asyncio
import json
import logging
import sqlite3

from bot import content as content_module
from tests.conftest import replace_settings, running_harness
from tests.test_cli import run_bot
from tests.test_coordinator import _submit_outline

CHECKLIST = content_module.load_valid().checklist
USER_TABLES = {
    "users": "id",
    "conversations": "user_id",
    "checklist_runs": "user_id",
    "drafts": "user_id",
    "faq_feedback": "user_id",
    "faq_queries": "user_id",
    "handled_updates": "user_id",
    "review_events": "actor_id",  # set to NULL: "a removed user"
    "review_comments": "author_id",  # a coordinator's: kept, set to NULL
    "draft_members": "user_id",
    "draft_invitations": "created_by",
    "draft_history": "editor_id",
    "subscriptions": "user_id",
    "outbox": "user_id",
}


async def _someone_with_everything(bot, user_id, *, submit=True):
    user = await bot.user(user_id=user_id, language_code="en")
    await user.send("/checklist")
    await user.press("Yes")
    await user.send("/cancel")
    await user.send("What are the sub-themes?")
    await user.press("👍")
    await user.send("/subscribe")
    await _submit_outline(bot, user, f"Project of {user_id}", submit=submit)
    await user.send("/outline")
    if "draft in progress" in user.last.text:
        await user.press("➕ New draft")
    await user.send("Second draft title")
    return user


async def _rows_referring_to(db, user_id):
    found = {}
    for table, column in USER_TABLES.items():
        rows = await db.fetchall(f"SELECT * FROM {table} WHERE {column} = ?", (user_id,))
        if rows:
            found[table] = len(rows)
    return found


async def test_the_first_contact_shows_the_notice_with_the_controller(tmp_path, settings):
    configured = replace_settings(
        settings, controller_name="Example Ministry", controller_contact="privacy@example.org"
    )
    async with running_harness(configured) as harness:
        user = await harness.user(language_code="en", start=False)
        replies = await user.send("/start outline")  # a deep link first: the notice comes first
        assert replies[0].text.startswith("🔒 <b>Privacy</b>")
        assert "Example Ministry, privacy@example.org" in replies[0].text
        later = await user.send("/start")
        assert "🔒" not in later[0].text  # only once
        [full] = await user.send("/privacy")
        assert "Who can see it" in full.text and "Example Ministry" in full.text


async def test_a_notice_that_cannot_be_noted_as_seen_is_shown_again_and_nothing_fails(bot, caplog):
    """The note is written while the greeting goes out; the database refusing it costs the user
    nothing but seeing the notice once more."""
    await bot.db.execute(
        "CREATE TRIGGER refuse_notes BEFORE UPDATE OF privacy_seen_at ON users "
        "BEGIN SELECT RAISE(ABORT, 'the disk says no'); END"
    )
    user = await bot.user(language_code="en", start=False)
    with caplog.at_level(logging.ERROR):
        [greeting] = await user.send("/start")
    assert "🔒" in greeting.text and "What would you like to do?" in greeting.text
    assert "shown but not noted as seen" in caplog.text
    await bot.db.execute("DROP TRIGGER refuse_notes")
    [again] = await user.send("/start")
    assert "🔒" in again.text
    [later] = await user.send("/start")
    assert "🔒" not in later.text
    row = await bot.db.fetchone("SELECT privacy_seen_at FROM users WHERE id = ?", (user.user_id,))
    assert row["privacy_seen_at"] is not None


async def test_mydata_contains_exactly_the_users_data(bot):
    await _someone_with_everything(bot, 801)
    me = await _someone_with_everything(bot, 802, submit=False)
    await me.send("/mydata")
    document = bot.telegram.calls_of("sendDocument")[-1].params["document"]
    data = json.loads(document.input_file_content)
    assert data["profile"]["id"] == 802
    assert [d["user_id"] for d in data["drafts"]] == [802, 802]
    assert {a["section_id"] for a in data["drafts"][0]["answers"]} >= {"title", "email"}
    assert len(data["drafts"][0]["history"]) >= len(data["drafts"][0]["answers"])
    assert [r["user_id"] for r in data["checklist_runs"]] == [802]
    [answer] = data["checklist_runs"][0]["answers"]  # the one "Yes" pressed
    assert (answer["item_id"], answer["answer"]) == (CHECKLIST[0].id, "yes")
    assert answer["answered_at"]
    assert data["feedback"][0]["entry_id"] == "subthemes-all"
    assert [q["query"] for q in data["questions"]] == ["what are the subthemes"]
    assert "801" not in json.dumps(data)
    assert "Project of 801" not in json.dumps(data)


async def test_deletedata_removes_every_row_and_the_user_starts_afresh(bot):
    other = await _someone_with_everything(bot, 901)
    user = await _someone_with_everything(bot, 902)
    others_rows = await _rows_referring_to(bot.db, other.user_id)
    await user.send("/deletedata")
    await user.press("↩️ No, keep it")
    assert await _rows_referring_to(bot.db, 902) != {}
    await user.send("/deletedata")
    await user.press("🗑 Yes, delete my data")
    assert "Your data was deleted" in user.last.text
    assert await _rows_referring_to(bot.db, 902) == {}
    assert await bot.db.fetchall("SELECT * FROM drafts WHERE user_id IS NULL") == []
    assert await _rows_referring_to(bot.db, other.user_id) == others_rows  # others keep theirs
    assert others_rows["drafts"] == 2
    [reply] = await user.send("/start")
    assert "🔒" in reply.text  # a new user again
    [reply] = await other.send("/start")
    assert "🔒" not in reply.text  # the other user is still known


async def test_kept_submitted_outlines_lose_their_contact_details(tmp_path, settings):
    async with running_harness(replace_settings(settings, keep_submitted=True)) as harness:
        user = await _someone_with_everything(harness, 903)
        await user.send("/deletedata")
        assert "kept for the programme" in user.last.text
        await user.press("🗑 Yes, delete my data")
        assert await _rows_referring_to(harness.db, 903) == {}
        [kept] = await harness.db.fetchall("SELECT * FROM drafts")
        assert (kept["status"], kept["user_id"]) == ("submitted", None)
        sections = {
            r[0]
            for r in await harness.db.fetchall(
                "SELECT section_id FROM draft_answers WHERE draft_id = ?", (kept["id"],)
            )
        }
        assert "title" in sections and not sections & {"contact_name", "email", "phone"}
        assert await harness.db.fetchall("SELECT * FROM draft_history") == []


async def test_purge_is_a_dry_run_by_default_and_deletes_with_yes(bot, settings):
    await _someone_with_everything(bot, 1101)
    active = await bot.user(user_id=1102, language_code="en")
    await bot.db.execute("UPDATE users SET last_seen = '2020-01-01T00:00:00+00:00' WHERE id = 1101")
    await bot.db.execute(
        "UPDATE drafts SET updated_at = '2020-01-01T00:00:00+00:00' WHERE user_id = 1101"
    )
    env = {"BOT_DATABASE": str(settings.database)}
    before = await bot.db.fetchall("SELECT COUNT(*) FROM drafts")
    dry = run_bot("purge", "--inactive-days", "30", env=env)
    assert dry.returncode == 0 and "would delete 1 users" in dry.stdout
    assert await bot.db.fetchall("SELECT COUNT(*) FROM drafts") == before
    real = run_bot("purge", "--inactive-days", "30", "--yes", env=env)
    assert "deleted 1 users and 1 unsubmitted drafts" in real.stdout
    assert await _rows_referring_to(bot.db, 1101) == {}
    kept = await _rows_referring_to(bot.db, active.user_id)
    assert kept["users"] == 1 and set(kept) <= {"users", "handled_updates"}


async def test_backup_while_the_database_is_written_opens_and_matches(bot, settings, tmp_path):
    writer = await bot.user(user_id=1201, language_code="en")
    for n in range(10):  # written before the backup starts: the copy must hold them
        await writer.send(f"question number {n} about funding?")

    async def keep_writing():
        for n in range(10, 60):
            await writer.send(f"question number {n} about funding?")

    target = tmp_path / "backup.sqlite3"
    writing = asyncio.create_task(keep_writing())
    result = await asyncio.to_thread(
        run_bot, "backup", str(target), env={"BOT_DATABASE": str(settings.database)}
    )
    await writing
    assert result.returncode == 0, result.stderr
    with sqlite3.connect(target) as copy:
        assert copy.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        copied = copy.execute("SELECT * FROM faq_queries ORDER BY id").fetchall()
        assert copy.execute("SELECT id FROM users").fetchall() == [(1201,)]
    live = [tuple(row) for row in await bot.db.fetchall("SELECT * FROM faq_queries ORDER BY id")]
    assert len(live) == 60
    # One moment's snapshot: what was there when the backup began, then the queries written
    # meanwhile up to some point, each row as the live database has it.
    assert len(copied) >= 10
    assert copied == live[: len(copied)]
    again = run_bot("backup", str(target), env={"BOT_DATABASE": str(settings.database)})
    assert again.returncode == 2  # never overwrites


async def test_logs_at_info_never_hold_message_texts(bot, caplog):
    secret_text = "my very private project idea 4711"
    with caplog.at_level(logging.INFO):
        user = await bot.user(language_code="en")
        await user.send(secret_text)
        await user.send("/outline")
        await user.send(secret_text + " title")
    assert secret_text not in caplog.text


async def test_every_table_with_user_data_is_covered_by_these_tests(bot):
    # A new table that refers to users must be added to USER_TABLES, and so to the deletion test.
    tables = [
        r[0] for r in await bot.db.fetchall("SELECT name FROM sqlite_master WHERE type='table'")
    ]
    referring = {"users"}
    for table in tables:
        for row in await bot.db.fetchall(f"PRAGMA foreign_key_list({table})"):
            if row["table"] == "users":
                referring.add(table)
    assert referring == set(USER_TABLES)


async def test_retention_purges_inactive_users_when_the_bot_starts_and_daily(tmp_path, settings):
    async with running_harness(settings) as first:
        await first.user(user_id=1301, language_code="en")
        await first.db.execute("UPDATE users SET last_seen = '2020-01-01T00:00:00+00:00'")

    async with running_harness(replace_settings(settings, retention_days=30)) as harness:
        for _ in range(100):  # the purge runs as a background task right after start-up
            if await _rows_referring_to(harness.db, 1301) == {}:
                break
            await asyncio.sleep(0.02)
        assert await _rows_referring_to(harness.db, 1301) == {}


async def test_web_visitors_who_never_said_anything_are_forgotten_daily(tmp_path, settings):
    """A browser that only asked for a device code has a visitor row and no user: housekeeping
    forgets it after two days; a visitor who talked to the bot stays (it goes with its user)."""
    from storage import web_visitors

    async with running_harness(settings) as first:
        idle = await web_visitors.new_visitor(first.db, "idle-cookie")
        talked = await web_visitors.new_visitor(first.db, "talking-cookie")
        await first.user(user_id=talked, language_code="en")
        await first.db.execute("UPDATE web_visitors SET created_at = '2020-01-01T00:00:00+00:00'")

    async with running_harness(settings) as harness:
        for _ in range(100):  # housekeeping runs as a background task right after start-up
            if await web_visitors.visitor_of(harness.db, "idle-cookie") is None:
                break
            await asyncio.sleep(0.02)
        assert await web_visitors.visitor_of(harness.db, "idle-cookie") is None
        assert await web_visitors.visitor_of(harness.db, "talking-cookie") == talked
        assert idle != talked
