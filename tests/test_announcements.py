"""Announcements and reminders: composed with a preview, delivered once per subscriber through
the outbox in SQLite, with Telegram's errors handled as the issue asks; also across SIGKILL."""

from __future__ import annotations

import asyncio
import signal
import sqlite3
from collections import Counter
from datetime import UTC, datetime, timedelta

from bot.channels import broadcast
from bot.channels.telegram_standin import ApiError, FakeTelegram
from storage import Database
from tests.conftest import assert_telegram_rules_kept, replace_settings, running_harness
from tests.test_calls import COORDINATOR, call_form
from tests.test_cli import run_bot
from tests.test_faults import bot_process

FOOTER_EN = "You get this because you subscribed to call news. /unsubscribe ends them."


async def until_delivered(db, seconds: float = 60) -> None:
    """Until every queued announcement is settled and its sender told."""
    async with asyncio.timeout(seconds):
        while True:
            row = await db.fetchone(
                "SELECT count(*) FROM announcements WHERE status = 'sending' "
                "OR (status = 'done' AND reported_at IS NULL)"
            )
            if row[0] == 0:
                return
            await asyncio.sleep(0.02)


async def eventually(check, seconds: float = 60) -> None:
    """Until `check()` (sync or async) holds: the sender works in the background."""
    async with asyncio.timeout(seconds):
        while True:
            done = check()
            if asyncio.iscoroutine(done):
                done = await done
            if done:
                return
            await asyncio.sleep(0.02)


async def _count(db, sql: str) -> int:
    return (await db.fetchone(sql))[0]


async def _subscribers(bot, ids, language_code="en"):
    people = []
    for user_id in ids:
        person = await bot.user(user_id=user_id, language_code=language_code)
        await person.send("/subscribe")
        people.append(person)
    return people


def _received(person, text):
    return [m for m in person.messages() if text in m.text]


async def test_an_announcement_is_previewed_confirmed_and_received_once_in_each_language(bot):
    english = await _subscribers(bot, [1301, 1302], "en")
    [finnish] = await _subscribers(bot, [1303], "fi")
    [swedish] = await _subscribers(bot, [1304], "sv")
    bystander = await bot.user(user_id=1305, language_code="en")  # not subscribed
    coordinator = await bot.user(user_id=COORDINATOR, language_code="en")

    await coordinator.send(
        "/announce\nfi: Haku on auki <b>nyt</b> & kauan.\nsv: Utlysningen är öppen.\n"
        "en: The call is open."
    )
    previews = coordinator.messages()[-5:]
    assert "Preview" in previews[0].text
    # Typed tags are shown as typed (formatting comes from Telegram's entities).
    assert previews[1].text.startswith("Haku on auki &lt;b&gt;nyt&lt;/b&gt; &amp; kauan.")
    assert previews[3].text == f"The call is open.\n\n<i>{FOOTER_EN}</i>"
    assert "Send this to 4 subscribers?" in previews[4].text
    assert await bot.db.fetchall("SELECT * FROM outbox") == []  # nothing before "Send"
    confirm = coordinator.last_with_buttons()
    send_data = confirm.buttons[0][1]
    await coordinator.press("📣 Send", confirm)
    assert "Sending to 4 subscribers" in coordinator.last.text
    await coordinator.press_data(send_data, confirm)  # a second tap: no second send
    await until_delivered(bot.db)

    for person in english:
        assert [m.text for m in _received(person, "The call is open.")] == [previews[3].text]
    assert [m.text for m in _received(finnish, "Haku on auki")] == [previews[1].text]
    assert [m.text for m in _received(swedish, "Utlysningen")] == [previews[2].text]
    assert _received(bystander, "The call is open.") == []
    assert "Announcement #1 is sent. Delivered: 4; failed: 0" in coordinator.last.text
    await coordinator.send("/announce status")
    assert "#1 announcement" in coordinator.last.text
    assert "delivered 4, failed 0, blocked 0, uncertain 0, waiting 0; of 4" in coordinator.last.text


async def test_one_text_for_all_a_cancel_and_bad_texts(bot):
    [subscriber] = await _subscribers(bot, [1311], "fi")
    coordinator = await bot.user(user_id=COORDINATOR, language_code="en")
    await coordinator.send("/announce")
    assert "send /announce followed by the text" in coordinator.last.text
    await coordinator.send("/announce\nfi: vain suomeksi")
    assert "The text on the line sv: is missing" in coordinator.last.text
    await coordinator.send("/announce " + "x" * 4090)
    assert "would be too long for Telegram" in coordinator.last.text
    await coordinator.send("/announce Hello <everyone>")
    await coordinator.press("✖️ Cancel")
    assert "Cancelled: nothing was sent." in coordinator.last.text
    await coordinator.send("/announce One text for everyone")
    await coordinator.press("📣 Send")
    await until_delivered(bot.db)
    [got] = _received(subscriber, "One text for everyone")
    assert "Saat tämän" in got.text or "/unsubscribe" in got.text  # the footer in Finnish
    assert _received(subscriber, "Hello") == []


async def test_blocked_users_are_unsubscribed_failures_retried_and_429_waited_out(bot, monkeypatch):
    monkeypatch.setattr(broadcast, "BACKOFF_SECONDS", 0.05)
    blocked, flaky, broken, limited, fine = await _subscribers(bot, [1321, 1322, 1323, 1324, 1325])
    tries: Counter[int] = Counter()

    def fault(method: str) -> ApiError | None:
        chat = bot.telegram.calls[-1].params.get("chat_id")
        if method != "sendMessage" or "Big news" not in bot.telegram.calls[-1].params["text"]:
            return None
        tries[chat] += 1
        if chat == blocked.chat:
            return ApiError(403, "Forbidden: bot was blocked by the user")
        if chat == flaky.chat and tries[chat] <= 2:
            return ApiError(502, "Bad Gateway")
        if chat == broken.chat:
            return ApiError(500, "Internal Server Error")
        if chat == limited.chat and tries[chat] == 1:
            return ApiError(429, "Too Many Requests: retry after 1", retry_after=1)
        return None

    bot.telegram.fault = fault
    coordinator = await bot.user(user_id=COORDINATOR, language_code="en")
    await coordinator.send("/announce Big news")
    await coordinator.press("📣 Send")
    await until_delivered(bot.db)
    bot.telegram.fault = None

    statuses = {
        row["user_id"]: (row["status"], row["attempts"])
        for row in await bot.db.fetchall("SELECT user_id, status, attempts FROM outbox")
    }
    assert statuses[blocked.user_id] == ("blocked", 1)
    assert statuses[flaky.user_id] == ("sent", 3)
    assert statuses[broken.user_id] == ("failed", broadcast.MAX_ATTEMPTS)
    assert statuses[limited.user_id] == ("sent", 1)  # a 429 is not an attempt that failed
    assert statuses[fine.user_id] == ("sent", 1)
    for person in (flaky, limited, fine):
        assert len(_received(person, "Big news")) == 1
    assert tries[broken.chat] == broadcast.MAX_ATTEMPTS
    assert (
        await bot.db.fetchone("SELECT unsubscribed_at FROM subscriptions WHERE user_id = 1321")
    )[0] is not None
    assert "Delivered: 3; failed: 1; blocked the bot (unsubscribed): 1" in coordinator.last.text


async def test_reminders_go_once_to_subscribers_and_draft_holders_across_restarts(settings):
    async with running_harness(settings) as bot:
        [subscriber] = await _subscribers(bot, [1331])
        drafter = await bot.user(user_id=1332, language_code="en")
        await drafter.send("/outline")
        await drafter.send("Youth club for everyone")  # a draft, not submitted
        said_no = await bot.user(user_id=1333, language_code="en")
        await said_no.send("/outline")
        await said_no.send("Another project")
        await said_no.send("/unsubscribe")
        nobody = await bot.user(user_id=1334, language_code="en")
        coordinator = await bot.user(user_id=COORDINATOR, language_code="en")
        now = datetime.now(UTC)
        await coordinator.send(
            "/calls add\n" + call_form(now - timedelta(days=3), now + timedelta(days=10))
        )
        await eventually(lambda: _count(bot.db, "SELECT count(*) FROM announcements"))
        await until_delivered(bot.db)
        for person in (subscriber, drafter):
            [reminder] = _received(person, "⏰ Reminder: the call Spring call closes on")
            assert "/mydrafts" in reminder.text
        for person in (said_no, nobody, coordinator):
            assert _received(person, "⏰ Reminder") == []
        await bot.restart()  # the same reminder is due again, but was made: nothing new
        await bot.db.fetchall("SELECT 1")
        await asyncio.sleep(0.3)
        await until_delivered(bot.db)
        rows = await bot.db.fetchall("SELECT call_id, reminder_days FROM announcements")
        assert [tuple(r) for r in rows] == [(1, 14)]
        assert len(_received(subscriber, "⏰ Reminder")) == 1

        # Three days before: the second one, to the same people.
        await coordinator.send(f"/calls edit 1\ncloses: {_local(now + timedelta(days=2))}")
        await eventually(
            lambda: _count(bot.db, "SELECT count(*) FROM announcements WHERE reminder_days = 3")
        )
        await until_delivered(bot.db)
        assert len(_received(subscriber, "⏰ Reminder")) == 2
        assert len(_received(drafter, "⏰ Reminder")) == 2
        assert _received(said_no, "⏰ Reminder") == []


def _local(moment):
    from tests.test_calls import local

    return local(moment)


def test_the_command_line_queues_an_announcement_and_shows_its_status(tmp_path):
    env = {"BOT_DATABASE": str(tmp_path / "bot.sqlite3")}
    text = tmp_path / "news.txt"
    text.write_text("fi: Uusi haku\nsv: Ny utlysning\nen: A new call <soon>\n", encoding="utf-8")
    assert run_bot("calls", "list", env=env).returncode == 0  # creates the database
    with sqlite3.connect(tmp_path / "bot.sqlite3") as conn:
        conn.execute(
            "INSERT INTO users (id, first_seen, last_seen) VALUES (1, '2026-01-01', '2026-01-01')"
        )
        conn.execute("INSERT INTO subscriptions (user_id, subscribed_at) VALUES (1, '2026-01-01')")
    refused = run_bot("announce", "--file", str(text), env=env, stdin="n\n")
    assert refused.returncode == 1 and "nothing was sent" in refused.stdout
    queued = run_bot("announce", "--file", str(text), "--yes", env=env)
    assert queued.returncode == 0, queued.stderr
    assert "A new call <soon>" in queued.stdout
    assert "queued for 1 subscribers" in queued.stdout
    with sqlite3.connect(tmp_path / "bot.sqlite3") as conn:
        [(html,)] = conn.execute("SELECT html_en FROM announcements").fetchall()
        assert html.startswith("A new call &lt;soon&gt;")
        assert conn.execute("SELECT count(*) FROM outbox").fetchone()[0] == 1
    status = run_bot("announce", "--status", env=env)
    assert "#1 announcement sending" in status.stdout and "pending 1" in status.stdout


async def test_sigkill_mid_broadcast_then_restart_sends_each_subscriber_at_most_once(tmp_path):
    """The bot process is killed while it sends to 400 subscribers and started again: everyone
    gets the announcement exactly once, except the one row that may have been in flight at the
    kill, which is never sent twice and is reported as uncertain."""
    database = tmp_path / "bot.sqlite3"
    subscribers = list(range(20_000, 20_400))
    db = Database(database)
    await db.open()
    async with db.transaction() as conn:
        for user_id in subscribers:
            await conn.execute(
                "INSERT INTO users (id, telegram_language, first_seen, last_seen) "
                "VALUES (?, 'en', '2026-01-01', '2026-01-01')",
                (user_id,),
            )
            await conn.execute(
                "INSERT INTO subscriptions (user_id, subscribed_at) VALUES (?, '2026-01-01')",
                (user_id,),
            )
    await db.close()
    text = tmp_path / "news.txt"
    text.write_text("Exactly once, please.", encoding="utf-8")
    queued = run_bot("announce", "--file", str(text), "--yes", env={"BOT_DATABASE": str(database)})
    assert queued.returncode == 0, queued.stderr

    telegram = FakeTelegram()

    def delivered() -> Counter[int]:
        return Counter(
            call.params["chat_id"]
            for call in telegram.calls_of("sendMessage")
            if "Exactly once" in str(call.params.get("text"))
        )

    rate = {"BOT_MAX_MESSAGES_PER_SECOND": "200", "BOT_BROADCAST_SHARE": "50"}
    async with bot_process(telegram, database, **rate) as (process, _):
        await eventually(lambda: sum(delivered().values()) >= 120)
        process.send_signal(signal.SIGKILL)
        await process.wait()
    before_restart = delivered()
    assert 120 <= sum(before_restart.values()) < len(subscribers)

    async with bot_process(telegram, database, **rate):
        async with asyncio.timeout(60):
            while True:
                with sqlite3.connect(database) as conn:
                    waiting = conn.execute(
                        "SELECT count(*) FROM outbox WHERE status IN ('pending', 'claimed')"
                    ).fetchone()[0]
                if waiting == 0:
                    break
                await asyncio.sleep(0.05)

    counts = delivered()
    assert max(counts.values()) == 1, "someone got the announcement twice"
    with sqlite3.connect(database) as conn:
        status = dict(conn.execute("SELECT user_id, status FROM outbox").fetchall())
        [(state,)] = conn.execute("SELECT status FROM announcements").fetchall()
    assert state == "done"
    uncertain = [user for user, s in status.items() if s == "uncertain"]
    assert len(uncertain) <= 1  # only the row in flight at the kill
    for user_id in subscribers:
        if status[user_id] == "sent":
            assert counts[user_id] == 1
        else:
            assert status[user_id] == "uncertain" and counts[user_id] <= 1
    assert_telegram_rules_kept(telegram)


async def test_a_broadcast_leaves_room_for_replies(settings):
    """Replies to a chatting user go out while a broadcast runs, not after it."""
    settings = replace_settings(settings, max_messages_per_second=30, broadcast_share=50)
    async with running_harness(settings) as bot:
        await _subscribers(bot, range(1400, 1460))
        coordinator = await bot.user(user_id=COORDINATOR, language_code="en")
        await coordinator.send("/announce Long broadcast")
        await coordinator.press("📣 Send")
        chatter = await bot.user(user_id=1499, language_code="en")
        await chatter.send("When is the next call?")
        # The reply is there while most of the broadcast still waits.
        assert "next call" in chatter.last.text.lower()
        row = await bot.db.fetchone(
            "SELECT count(*) FROM outbox WHERE status IN ('pending', 'claimed')"
        )
        assert row[0] > 0
        await until_delivered(bot.db)


async def test_formatting_made_in_telegram_is_kept_in_the_announcement(bot):
    [subscriber] = await _subscribers(bot, [1501])
    coordinator = await bot.user(user_id=COORDINATOR, language_code="en")
    text = "/announce The call is open now & <soon>"
    entities = [
        {"type": "bot_command", "offset": 0, "length": 9},
        {"type": "bold", "offset": 22, "length": 4},
    ]
    await coordinator._deliver(coordinator._message(text=text, entities=entities))
    await coordinator.press("📣 Send")
    await until_delivered(bot.db)
    [got] = _received(subscriber, "The call is")
    assert got.text.startswith("The call is <b>open</b> now &amp; &lt;soon&gt;")


async def test_an_applicant_cannot_press_a_coordinators_send_button(bot):
    await _subscribers(bot, [1511])
    coordinator = await bot.user(user_id=COORDINATOR, language_code="en")
    await coordinator.send("/announce Only for coordinators to send")
    confirm = coordinator.last_with_buttons()
    applicant = await bot.user(user_id=1512, language_code="en")
    await applicant.press_data(confirm.buttons[0][1], applicant.last)  # forged: cn:send:1
    assert bot.telegram.calls_of("answerCallbackQuery")[-1].params.get("show_alert")
    assert await bot.db.fetchall("SELECT * FROM outbox") == []
    [(status,)] = await bot.db.fetchall("SELECT status FROM announcements")
    assert status == "draft"
