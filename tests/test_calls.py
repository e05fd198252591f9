"""Calls for applications: coordinators keep them in chat and on the command line; the FAQ's
"next call" answer and the menu tell them; /subscribe, /unsubscribe and what privacy says."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from bot import i18n
from bot.calls import parse_local_time
from tests.test_cli import run_bot

COORDINATOR = 9001  # in the `settings` fixture's COORDINATOR_IDS
LINK = "https://www.eura2021.fi/haku/S123"


def local(moment: datetime) -> str:
    """A moment as a coordinator types it: Finnish time, to the minute."""
    return i18n.in_helsinki(moment).strftime("%Y-%m-%d %H:%M")


def call_form(opens: datetime, closes: datetime, *, title: str = "Spring call") -> str:
    return (
        f"fi: {title} FI\nsv: {title} SV\nen: {title}\nopens: {local(opens)}\n"
        f"closes: {local(closes)}\nsubthemes: identify, leisure\nlink: {LINK}"
    )


def _now() -> datetime:
    return datetime.now(UTC)


async def _calls_rows(bot):
    return [dict(r) for r in await bot.db.fetchall("SELECT * FROM calls ORDER BY id")]


async def test_a_coordinator_adds_a_call_and_the_faq_and_menu_tell_it(bot):
    coordinator = await bot.user(user_id=COORDINATOR, language_code="en")
    now = _now()
    closes = now + timedelta(days=10, hours=2)
    await coordinator.send("/calls add\n" + call_form(now - timedelta(days=1), closes))
    assert "Call #1 saved" in coordinator.last.text
    [row] = await _calls_rows(bot)
    assert (row["title_fi"], row["title_sv"], row["title_en"]) == (
        "Spring call FI",
        "Spring call SV",
        "Spring call",
    )
    assert row["subthemes"] == "identify leisure"
    # Typed as Finnish time, stored in UTC.
    assert datetime.fromisoformat(row["closes_at"]) == closes.replace(second=0, microsecond=0)

    # Days as the calendar in Finland counts them: the closing day minus today.
    days = (i18n.in_helsinki(closes).date() - i18n.in_helsinki(_now()).date()).days
    applicant = await bot.user(user_id=1201, language_code="en")
    start = applicant.last.text
    assert "📣 Call open: Spring call. It closes on" in start
    assert f"days left: {days}." in start
    await applicant.send("When is the next call?")
    answer = applicant.last.text
    assert "Open now: Spring call" in answer
    assert f"days left: {days}" in answer
    assert "Identification and support; Culture, sport and leisure" in answer
    assert "The call in EURA 2021" in answer
    assert "Updated on" in answer
    assert "I don't know" not in answer
    finnish = await bot.user(user_id=1202, language_code="fi")
    await finnish.send("Milloin on seuraava haku?")
    assert "Spring call FI" in finnish.last.text


async def test_the_faq_says_it_does_not_know_when_no_call_is_open_or_announced(bot):
    coordinator = await bot.user(user_id=COORDINATOR, language_code="en")
    now = _now()
    # One that is over: not a call to tell anyone about.
    await coordinator.send(
        "/calls add\n" + call_form(now - timedelta(days=60), now - timedelta(days=30))
    )
    applicant = await bot.user(user_id=1203, language_code="en")
    assert "Call open" not in applicant.last.text
    await applicant.send("When is the next call?")
    assert "I don't know" in applicant.last.text


async def test_an_announced_call_is_the_next_one_and_edit_and_close_change_what_is_told(bot):
    coordinator = await bot.user(user_id=COORDINATOR, language_code="en")
    now = _now()
    opens = now + timedelta(days=20)
    await coordinator.send("/calls add\n" + call_form(opens, opens + timedelta(days=40)))
    applicant = await bot.user(user_id=1204, language_code="en")
    assert "Call open" not in applicant.last.text  # announced, not open
    await applicant.send("When is the next call?")
    assert "Next call: Spring call" in applicant.last.text
    assert "Open from" in applicant.last.text

    await coordinator.send(f"/calls edit 1\nopens: {local(now - timedelta(hours=1))}\nen: Renamed")
    assert "Call #1 changed" in coordinator.last.text
    [row] = await _calls_rows(bot)
    assert (row["title_en"], row["title_fi"]) == ("Renamed", "Spring call FI")
    await applicant.send("/start")
    assert "📣 Call open: Renamed" in applicant.last.text

    await coordinator.send("/calls close 1")
    await coordinator.press("Yes, close it")
    assert "Call #1 is closed" in coordinator.last.text
    assert (await _calls_rows(bot))[0]["closed_at"] is not None
    await applicant.send("/start")
    assert "Call open" not in applicant.last.text
    await applicant.send("When is the next call?")
    assert "I don't know" in applicant.last.text
    await coordinator.send("/calls")
    assert "#1 Renamed" in coordinator.last.text and "(closed)" in coordinator.last.text


async def test_a_bad_call_form_lists_every_problem_and_saves_nothing(bot):
    coordinator = await bot.user(user_id=COORDINATOR, language_code="en")
    await coordinator.send(
        "/calls add\nfi: Haku\nen: <b>Call</b>\nopens: 31.2.2027\ncloses: 2027-01-01 10:00\n"
        "subthemes: identify, sports\nlink: javascript:alert(1)"
    )
    text = coordinator.last.text
    assert text.startswith("Nothing was saved:")
    assert "The line sv: (the title in that language) is missing." in text
    assert "“31.2.2027” is not a date and time" in text
    assert "Unknown or missing sub-themes: sports." in text
    assert "“javascript:alert(1)” is not a web address" in text
    await coordinator.send("/calls edit 7\ncloses: 2027-01-01")
    assert "There is no call #7." in coordinator.last.text
    await coordinator.send(
        "/calls add\n"
        + call_form(_now() + timedelta(days=5), _now() + timedelta(days=2)).replace(
            "fi:", "hello\nfi:"
        )
    )
    assert "I don't understand the line “hello”" in coordinator.last.text
    assert "The call must close after it opens." in coordinator.last.text
    assert await _calls_rows(bot) == []


async def test_calls_and_announce_do_not_exist_for_applicants(bot):
    applicant = await bot.user(user_id=1205, language_code="en")
    now = _now()
    for command in (
        "/calls",
        "/calls add\n" + call_form(now, now + timedelta(days=3)),
        "/announce hi",
    ):
        await applicant.send(command)
        assert "I don't know the command" in applicant.last.text
    assert await _calls_rows(bot) == []
    assert await bot.db.fetchall("SELECT * FROM announcements") == []


async def test_subscribe_from_the_command_the_menu_and_the_checklist_summary(bot):
    user = await bot.user(user_id=1206, language_code="en")
    await user.send("/subscribe")
    assert "🔔 Subscribed." in user.last.text
    await user.send("/subscribe")
    assert "already subscribed" in user.last.text
    await user.send("/unsubscribe")
    assert "🔕 Unsubscribed" in user.last.text
    row = await bot.db.fetchone("SELECT * FROM subscriptions WHERE user_id = 1206")
    assert row["unsubscribed_at"] is not None
    await user.send("/unsubscribe")
    assert "not subscribed" in user.last.text

    await user.send("/menu")
    await user.press("🔔 Call news")
    assert "No call is open or announced at the moment." in user.last.text
    await user.press("🔔 Subscribe")
    assert "🔔 Subscribed." in user.last.text
    await user.send("/menu")
    await user.press("🔔 Call news")
    assert "You are subscribed to call news." in user.last.text
    await user.press("🔕 Unsubscribe")
    assert "🔕 Unsubscribed" in user.last.text

    await user.send("/checklist")
    while "🔔 Tell me when a call opens" not in [label for label, _ in user.last.buttons]:
        labels = [label for label, _ in user.last.buttons]
        if "☐ " + "Identification and support" in labels:
            await user.press("☐ Identification and support")
            await user.press("Continue ➡️")
        else:
            await user.press("Yes")
    await user.press("🔔 Tell me when a call opens")
    assert "🔔 Subscribed." in user.last.text
    row = await bot.db.fetchone("SELECT * FROM subscriptions WHERE user_id = 1206")
    assert row["unsubscribed_at"] is None


async def test_mydata_shows_the_subscription_and_deletedata_removes_it(bot):
    user = await bot.user(user_id=1207, language_code="en")
    await user.send("/subscribe")
    await user.send("/privacy")
    assert "If you subscribe to call news" in user.last.text
    coordinator = await bot.user(user_id=COORDINATOR, language_code="en")
    await coordinator.send("/announce News for everyone")
    await coordinator.press("📣 Send")
    from tests.test_announcements import until_delivered

    await until_delivered(bot.db)
    await user.send("/mydata")
    document = bot.telegram.calls_of("sendDocument")[-1].params["document"]
    data = json.loads(document.input_file_content)
    assert data["subscription"]["user_id"] == 1207
    assert data["subscription"]["unsubscribed_at"] is None
    [received] = data["announcements"]
    assert (received["kind"], received["status"]) == ("announcement", "sent")
    assert "News for everyone" not in json.dumps(data)  # the coordinator's text is not theirs
    await user.send("/deletedata")
    await user.press("🗑 Yes, delete my data")
    assert await bot.db.fetchall("SELECT * FROM subscriptions") == []
    assert await bot.db.fetchall("SELECT * FROM outbox WHERE user_id = 1207") == []


def test_local_times_are_read_as_finnish_time():
    assert parse_local_time("2027-03-01 09:00") == datetime(2027, 3, 1, 7, 0, tzinfo=UTC)
    assert parse_local_time("1.7.2027 klo 16.15") == datetime(2027, 7, 1, 13, 15, tzinfo=UTC)
    assert parse_local_time("15.4.2027", end_of_day=True) == datetime(
        2027, 4, 15, 20, 59, tzinfo=UTC
    )
    assert parse_local_time("2027-02-30 10:00") is None
    assert parse_local_time("tomorrow") is None


def test_the_command_line_adds_edits_lists_and_closes_calls(tmp_path):
    env = {"BOT_DATABASE": str(tmp_path / "bot.sqlite3")}
    added = run_bot(
        "calls", "add", "--fi", "Haku", "--sv", "Utlysning", "--en", "Call",
        "--opens", "2027-03-01 09:00", "--closes", "15.4.2027 16.15",
        "--subthemes", "all", "--link", LINK, "--lang", "en", env=env,
    )  # fmt: skip
    assert added.returncode == 0, added.stderr
    assert "call #1 saved" in added.stdout
    assert "Open from 1 Mar 2027, 09:00 to 15 Apr 2027, 16:15" in added.stdout
    bad = run_bot("calls", "edit", "1", "--closes", "2027-02-01", "--lang", "en", env=env)
    assert bad.returncode == 1 and "must close after it opens" in bad.stderr
    edited = run_bot("calls", "edit", "1", "--en", "Spring call", "--lang", "en", env=env)
    assert edited.returncode == 0 and "Spring call" in edited.stdout
    closed = run_bot("calls", "close", "1", env=env)
    assert closed.returncode == 0 and "call #1 closed" in closed.stdout
    listed = run_bot("calls", "list", "--lang", "en", env=env)
    assert "#1 closed" in listed.stdout and "Spring call" in listed.stdout


def test_broadcast_settings_are_checked_and_read():
    import pytest

    from bot.config import ConfigError, Settings

    deadline = "BOT_DEADLINE_REMINDER_DAYS"
    for name, value in (("BOT_BROADCAST_SHARE", "0"), ("BOT_BROADCAST_SHARE", "half"),
                        (deadline, "14,x"), (deadline, "0,3")):  # fmt: skip
        with pytest.raises(ConfigError, match=name):
            Settings.from_env({name: value}, need_token=False)
    settings = Settings.from_env({"BOT_DEADLINE_REMINDER_DAYS": "3, 7,3"}, need_token=False)
    assert settings.deadline_reminder_days == (7, 3) and settings.broadcast_share == 50
    off = Settings.from_env({"BOT_DEADLINE_REMINDER_DAYS": "off"}, need_token=False)
    assert off.deadline_reminder_days == ()
