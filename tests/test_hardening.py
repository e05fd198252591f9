"""Attacks and faults from the security review, each reproduced first: the real process over
HTTP where the attack comes over the network, the real Application for the rest."""

from __future__ import annotations

import asyncio
import json
import logging
import signal
import socket
import sys

import pytest

from bot.channels.standin_transport import serve_http
from bot.channels.standin_user import TelegramUser
from bot.channels.telegram_standin import ApiError, FakeTelegram
from tests.conftest import assert_telegram_rules_kept
from tests.test_cli import TOKEN, bot_env

VICTIM = 4242


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


async def _raw_post(port: int, path: str, headers: dict[str, str], body: bytes) -> int:
    """One HTTP/1.1 POST over a bare socket: the status line's code. With a Content-Length larger
    than `body`, the rest of the body is never sent: a server that waits for it never answers."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        head = f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n" + "".join(
            f"{name}: {value}\r\n" for name, value in headers.items()
        )
        writer.write(head.encode() + b"\r\n" + body)
        await writer.drain()
        status_line = await asyncio.wait_for(reader.readline(), 10)
        return int(status_line.split()[1])
    finally:
        writer.close()


class WebhookBot:
    """`python -m bot` in webhook mode, against a stand-in Bot API on 127.0.0.1."""

    def __init__(self, tmp_path, secret: str | None) -> None:
        self.telegram = FakeTelegram()
        self.tmp_path = tmp_path
        self.secret = secret
        self.port = _free_port()
        self.stderr = ""

    async def __aenter__(self) -> WebhookBot:
        self.server = await serve_http(self.telegram, "127.0.0.1", 0)
        extra = {"BOT_WEBHOOK_URL": "https://bot.example.org/tg/hook"}
        extra["BOT_WEBHOOK_PORT"] = str(self.port)
        if self.secret:
            extra["BOT_WEBHOOK_SECRET"] = self.secret
        env = bot_env(self.server.sockets[0].getsockname()[1], self.tmp_path / "b.db", **extra)
        self.process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bot", env=env, stderr=asyncio.subprocess.PIPE
        )
        async with asyncio.timeout(30):
            while not self.telegram.calls_of("setWebhook"):  # noqa: ASYNC110 - another process
                await asyncio.sleep(0.05)
        return self

    async def __aexit__(self, *exc: object) -> None:
        self.process.send_signal(signal.SIGTERM)
        _, stderr = await asyncio.wait_for(self.process.communicate(), 30)
        self.stderr = stderr.decode()
        self.server.close()
        await self.server.wait_closed()

    def registered_secret(self) -> str:
        [call] = self.telegram.calls_of("setWebhook")
        return call.params["secret_token"]


def _forged_update(telegram: FakeTelegram, text: str) -> bytes:
    victim = TelegramUser(telegram, telegram.enqueue, user_id=VICTIM, language_code="en")
    command = [{"type": "bot_command", "offset": 0, "length": len(text)}]
    return json.dumps(victim._message(text=text, entities=command)).encode()


@pytest.mark.parametrize("configured", ["s3cret-token_1", None], ids=["given", "generated"])
async def test_a_forged_webhook_request_is_refused_before_its_body_is_read(tmp_path, configured):
    async with WebhookBot(tmp_path, configured) as bot:
        secret = bot.registered_secret()
        assert len(secret) >= 32 if configured is None else secret == configured
        forged = _forged_update(bot.telegram, "/mydata")
        json_type = {"Content-Type": "application/json"}
        # No secret, a wrong one: refused, and nothing reaches the victim's chat.
        for headers in ({}, {"X-Telegram-Bot-Api-Secret-Token": "guess"}):
            length = {"Content-Length": str(len(forged))}
            assert (
                await _raw_post(bot.port, "/tg/hook", json_type | length | headers, forged) == 403
            )
        # A wrong secret with a 95 MB body: answered from the headers, the body never sent.
        huge = {"Content-Length": str(95 * 1024 * 1024), "X-Telegram-Bot-Api-Secret-Token": "x"}
        assert await _raw_post(bot.port, "/tg/hook", json_type | huge, b"{") == 403
        # The right secret but a body no update can be: refused by its length alone.
        right = {"X-Telegram-Bot-Api-Secret-Token": secret}
        assert await _raw_post(bot.port, "/tg/hook", json_type | huge | right, b"{") == 413
        # The right secret and a body that is not JSON: 400, one short log line.
        junk = b"{not json" * 10
        headers = json_type | right | {"Content-Length": str(len(junk))}
        assert await _raw_post(bot.port, "/tg/hook", headers, junk) == 400
        # Telegram itself, with the secret: served.
        start = _forged_update(bot.telegram, "/start")
        headers = json_type | right | {"Content-Length": str(len(start))}
        assert await _raw_post(bot.port, "/tg/hook", headers, start) == 200
        await bot.telegram.wait_for_messages(VICTIM, 1)
    assert bot.telegram.sent_to(VICTIM)[0].text.startswith("Hello Testi")
    assert bot.telegram.calls_of("sendDocument") == []  # the forged /mydata never ran
    assert bot.stderr.count("not an update") == 1
    assert "Traceback" not in bot.stderr
    assert "not json" not in bot.stderr  # what a stranger sent is not logged
    assert bot.secret is None or bot.secret not in bot.stderr
    assert TOKEN not in bot.stderr and TOKEN.split(":")[1] not in bot.stderr
    assert_telegram_rules_kept(bot.telegram)


@pytest.mark.parametrize("code", [401, 404])
async def test_a_refused_token_ends_the_bot_with_one_line_and_no_token(tmp_path, code):
    telegram = FakeTelegram()
    telegram.fault = lambda method: ApiError(code, "Unauthorized" if code == 401 else "Not Found")
    server = await serve_http(telegram, "127.0.0.1", 0)
    env = bot_env(server.sockets[0].getsockname()[1], tmp_path / "bot.sqlite3")
    try:
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "bot",
            "run",
            env=env,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        out, err = await asyncio.wait_for(process.communicate(), 60)
    finally:
        server.close()
        await server.wait_closed()
    stderr = err.decode()
    assert process.returncode == 2
    assert stderr.strip().splitlines() == [
        "Telegram refused the token: check TELEGRAM_BOT_TOKEN (revoked or mistyped?) and "
        "TELEGRAM_API_BASE_URL"
    ]
    assert TOKEN.split(":")[1] not in stderr + out.decode()


def test_a_logged_traceback_is_redacted_too(capsys):
    import logging

    from bot.cli import setup_logging
    from bot.config import Settings

    setup_logging(Settings(token=TOKEN))
    try:
        raise RuntimeError(f"GET https://api.telegram.org/bot{TOKEN}/getMe failed")
    except RuntimeError:
        logging.getLogger("test").exception("request failed")
    err = capsys.readouterr().err
    assert "request failed" in err and "<redacted>" in err
    assert TOKEN.split(":")[1] not in err


@pytest.mark.parametrize("text", ["@et417_assistant_bot my new title", "@", " @x", "/start@other"])
async def test_nothing_from_a_group_is_handled_but_start(bot, text):
    """A message starting with "@" once slipped past the group guard: a user mid-outline had
    their text saved and their draft's review posted into the group."""
    person = await bot.user(user_id=3003, language_code="en")
    await person.send("/outline")
    [draft_id] = [row["id"] for row in await bot.db.fetchall("SELECT id FROM drafts")]
    in_group = await bot.user(
        user_id=3003, language_code="en", chat_id=-100555, chat_type="group", start=False
    )
    stranger = await bot.user(
        user_id=3004, language_code="en", chat_id=-100555, chat_type="group", start=False
    )
    assert await in_group.send(text) == []
    assert await stranger.send(text) == []
    assert bot.telegram.sent_to(-100555) == []
    assert (
        await bot.db.fetchall("SELECT * FROM draft_answers WHERE draft_id = ?", (draft_id,)) == []
    )
    assert await bot.db.fetchone("SELECT 1 FROM users WHERE id = 3004") is None
    # /start addressed to us still gets the pointer to a private chat
    [pointer] = await stranger.send("/start@et417_assistant_bot")
    assert "private chat" in pointer.text


FORGED = [
    "dr:o:99999999999999999999",
    "ol:go:²",
    "ol:o:1:99999999999999999999:x",
    "ol:e:٣:1",
    "ck:res:¹",
    "ck:a:1:99999999999999999999:y",
    "dr:delok:1e3",
    "faq:f:x:u:\u200b",
    "pv:" + "9" * 61,
]


async def test_forged_buttons_are_refused_as_stale_without_a_traceback(bot, caplog):
    user = await bot.user(language_code="en")
    menu = user.last_with_buttons()
    state = (
        "SELECT flow, step, data FROM conversations "
        "UNION ALL SELECT 'drafts', count(*), '' FROM drafts"
    )
    before = [tuple(r) for r in await bot.db.fetchall(state)]
    with caplog.at_level(logging.WARNING):
        for data in FORGED:
            await user.press_data(data, menu)
    alerts = [c.params for c in bot.telegram.calls_of("answerCallbackQuery")][-len(FORGED) :]
    assert all("no longer valid" in alert["text"] and alert["show_alert"] for alert in alerts)
    assert [r for r in caplog.records if r.levelno >= logging.WARNING] == []
    assert [tuple(r) for r in await bot.db.fetchall(state)] == before


async def test_control_characters_never_reach_the_database(bot):
    """A NUL in a draft's name was stored: its DOCX could never be built again."""
    from tests.test_outline import fill

    user = await bot.user(language_code="en")
    await user.send("/outline")
    await fill(user, "en", stop_before=1)
    await user.send("/mydrafts")
    await user.press(next(label for label, _ in user.last.buttons if label.startswith("1. ")))
    await user.press("✏️ Rename")
    await user.send("\x00Our\x01 project\x7f\x1b[31m")
    assert "Renamed: <b>Our project[31m</b>." in user.messages()[-2].text
    [name] = await bot.db.fetchall("SELECT value FROM draft_answers WHERE section_id = 'title'")
    assert name["value"] == "Our project[31m"
    await user.press("📄 Download (DOCX)")
    assert bot.telegram.calls_of("sendDocument")
    await user.send("how much\x00 money\x07 is there?")
    queries = [row["query"] for row in await bot.db.fetchall("SELECT query FROM faq_queries")]
    assert queries and not any(ch < " " for query in queries for ch in query)


async def test_a_coordinator_is_told_of_a_submission_in_their_telegram_language(bot):
    from tests.test_outline import fill

    coordinator = await bot.user(user_id=9001, language_code="en")  # never chose a language
    applicant = await bot.user(language_code="sv")
    await applicant.send("/outline")
    await fill(applicant, "sv", skip=("phone",))
    await applicant.press("✅ Skicka in")
    await applicant.press("✅ Ja, skicka in")
    assert coordinator.last.text.startswith("📥 New outline submitted")


async def test_export_and_backup_never_overwrite_the_database_or_an_existing_file(
    settings, tmp_path
):
    import os
    import stat

    from tests.test_cli import run_bot

    env = {"BOT_DATABASE": str(settings.database)}
    assert run_bot("backup", str(tmp_path / "first.sqlite3"), env=env).returncode == 1  # no db yet
    result = run_bot("console", env=env, stdin="/start\n")
    assert result.returncode == 0
    original = settings.database.read_bytes()
    for target in (settings.database, settings.database.with_name("bot.sqlite3-wal")):
        refused = run_bot("export", "--format", "csv", "-o", str(target), env=env)
        assert refused.returncode == 2 and "database" in refused.stderr
    assert settings.database.read_bytes() == original

    existing = tmp_path / "outlines.csv"
    existing.write_text("keep me")
    refused = run_bot("export", "-o", str(existing), env=env)
    assert refused.returncode == 2 and "--force" in refused.stderr
    assert existing.read_text() == "keep me"
    replaced = run_bot("export", "-o", str(existing), "--force", env=env)
    assert replaced.returncode == 0, replaced.stderr
    assert existing.read_bytes() != b"keep me"
    assert stat.S_IMODE(existing.stat().st_mode) == 0o600
    assert [p.name for p in tmp_path.iterdir() if p.name.endswith(".part")] == []

    missing = run_bot("backup", str(tmp_path / "no" / "such" / "b.sqlite3"), env=env)
    assert missing.returncode == 2 and "does not exist" in missing.stderr
    assert "Traceback" not in missing.stderr
    backup = tmp_path / "b.sqlite3"
    made = run_bot("backup", str(backup), env=env)
    assert made.returncode == 0, made.stderr
    assert stat.S_IMODE(os.stat(backup).st_mode) == 0o600


async def _many_drafts(bot, user_id: int, count: int) -> None:
    async with bot.db.transaction() as conn:
        for n in range(count):
            stamp = f"2026-01-01T00:{n // 60:02d}:{n % 60:02d}+00:00"
            draft_id = await conn.insert(
                "INSERT INTO drafts (user_id, language, created_at, updated_at) "
                "VALUES (?, 'en', ?, ?)",
                (user_id, stamp, stamp),
            )
            await conn.execute(
                "INSERT INTO draft_answers (draft_id, section_id, value, updated_at) "
                "VALUES (?, 'title', ?, ?)",
                (draft_id, f"Draft number {n}", stamp),
            )


async def test_mydrafts_is_paged_and_drafts_per_person_are_capped(bot):
    from bot.outline import MAX_DRAFTS

    user = await bot.user(language_code="en")
    await _many_drafts(bot, user.user_id, MAX_DRAFTS)
    await user.send("/mydrafts")
    first = user.last
    assert "Page 1/7" in first.text and len(first.buttons) == 8 + 1 + 2
    assert first.buttons[0][0] == f"1. Draft number {MAX_DRAFTS - 1}"  # latest first
    await user.press("Older ▶️")
    second = user.last
    assert "Page 2/7" in second.text and second.buttons[0][0] == f"9. Draft number {MAX_DRAFTS - 9}"
    assert "◀️ Newer" in [label for label, _ in second.buttons]

    await user.send("/outline")
    await user.press("➕ New draft")
    assert f"You already have {MAX_DRAFTS} drafts" in user.last.text
    assert (await bot.db.fetchone("SELECT count(*) FROM drafts"))[0] == MAX_DRAFTS


async def test_one_vote_per_person_and_answer_and_only_on_their_own_question(bot):
    asker = await bot.user(user_id=5001, language_code="en")
    [answer] = await asker.send("What are the sub-themes?")
    thumbs_down = next(data for label, data in answer.buttons if label == "👎")
    voter = await bot.user(user_id=5002, language_code="en")
    [own] = await voter.send("Who can apply?")
    for _ in range(200):  # a press forged to quote the asker's question, again and again
        await voter.press_data(thumbs_down, own)
    votes = await bot.db.fetchall("SELECT user_id, entry_id, value FROM faq_feedback")
    assert [tuple(v) for v in votes] == [(5002, "subthemes-all", -1)]
    asked = "SELECT feedback FROM faq_queries WHERE user_id = 5001"
    assert (await bot.db.fetchone(asked))["feedback"] is None  # no stranger's vote on it
    await asker.press("👍")
    assert (await bot.db.fetchone(asked))["feedback"] == 1


async def test_questions_are_erased_with_the_asker_and_purged_with_retention(bot):
    from storage import privacy

    user = await bot.user(user_id=5003, language_code="en")
    await user.send("my name is Maija Meikäläinen, who can apply?")
    other = await bot.user(user_id=5004, language_code="en")
    await other.send("who can apply?")
    await user.send("/deletedata")
    await user.press("🗑 Yes, delete my data")
    rows = await bot.db.fetchall("SELECT query FROM faq_queries")
    assert [r["query"] for r in rows] == ["who can apply"]
    await bot.db.execute("UPDATE faq_queries SET created_at = '2020-01-01T00:00:00+00:00'")
    await privacy.purge(bot.db, "2021-01-01T00:00:00+00:00", keep_submitted=False)
    assert await bot.db.fetchall("SELECT query FROM faq_queries") == []


async def test_mydata_always_arrives_however_many_versions_were_saved(bot, monkeypatch):
    import io
    import random
    import zipfile

    import handlers.privacy

    limit = 60_000
    monkeypatch.setattr(handlers.privacy, "DOCUMENT_LIMIT", limit)
    user = await bot.user(language_code="en")
    await user.send("/outline")
    await user.send("A title that will be saved many times")
    [draft_id] = [r["id"] for r in await bot.db.fetchall("SELECT id FROM drafts")]
    noise = random.Random(7)
    async with bot.db.transaction() as conn:
        for n in range(120):  # text that does not compress: random letters
            value = "".join(noise.choice("abcdefghijklmnopqrstuvwxyzåäö ") for _ in range(1500))
            await conn.execute(
                "INSERT INTO draft_history (draft_id, section_id, value, saved_at) "
                "VALUES (?, 'title', ?, ?)",
                (draft_id, value, f"2026-01-01T00:00:{n % 60:02d}+00:00"),
            )
    await user.send("/mydata")
    sent = bot.telegram.calls_of("sendDocument")
    assert len(sent) > 2
    history = []
    for number, call in enumerate(sent, 1):
        blob = call.params["document"].input_file_content
        assert len(blob) <= limit
        assert call.params["caption"].endswith(f"part {number} of {len(sent)}.")
        with zipfile.ZipFile(io.BytesIO(blob)) as archive:
            [name] = archive.namelist()
            part = json.loads(archive.read(name))
        if number == 1:
            assert part["profile"]["id"] == user.user_id
            assert part["draft_history_in_files"] == len(sent) - 1
        else:
            history.extend(part["draft_history"])
    saved = await bot.db.fetchall("SELECT value FROM draft_history WHERE draft_id = ?", (draft_id,))
    assert sorted(v["value"] for v in history) == sorted(r["value"] for r in saved)


def test_personal_data_is_one_file_or_one_zip_when_that_fits():
    from bot.documents import personal_data_files

    data = {"profile": {"id": 1}, "drafts": [{"id": 2, "history": [{"value": "a" * 5000}]}]}
    [(name, _)] = personal_data_files(data, 100_000)
    assert name == "my-data.json"
    [(name, blob)] = personal_data_files(data, 1_000)
    assert name == "my-data.zip" and len(blob) <= 1_000


async def test_one_users_flood_is_told_once_then_dropped_and_others_are_served(settings):
    from tests.conftest import replace_settings, running_harness

    flood = replace_settings(settings, flood_burst=5, flood_rate=0.001)
    async with running_harness(flood) as harness:
        flooder = await harness.user(user_id=6001, language_code="en", start=False)
        replies = [await flooder.send(f"question number {n}?") for n in range(12)]
        menu = await flooder.send("/menu")
        assert all(replies[:5])  # the burst is served (the first with the privacy notice)
        [[notice]] = [r for r in replies[5:] if r]  # then one notice, then silence
        assert "faster than I can answer" in notice.text
        assert menu == []
        assert (await harness.db.fetchone("SELECT count(*) FROM faq_queries"))[0] == 5
        someone = await harness.user(user_id=6002, language_code="en")
        assert someone.last.text.startswith("Hello Testi")


async def test_a_429_for_one_chat_pauses_that_chat_only(bot):
    first = await bot.user(user_id=7001, language_code="en")
    second = await bot.user(user_id=7002, language_code="en")
    refused = []

    def once(method):
        if method == "sendMessage" and not refused:
            refused.append(method)
            return ApiError(429, "Too Many Requests: retry after 2", retry_after=2)
        return None

    bot.telegram.fault = once
    paused = asyncio.create_task(first.send("/help"))
    async with asyncio.timeout(10):
        while not refused:  # noqa: ASYNC110 - the other task is what we wait for
            await asyncio.sleep(0.01)
    [reply] = await second.send("/help")  # not held up by the first chat's pause
    assert not paused.done()
    [late] = await paused
    assert late.text == reply.text


async def test_erased_text_leaves_the_files_and_the_files_are_private(bot, settings):
    import os
    import stat

    secret = "Salainen-Hanke-QX7"
    user = await bot.user(language_code="en")
    await user.send("/outline")
    await user.send(f"{secret} title")
    await user.send(f"is {secret} eligible?")
    await user.send("/deletedata")
    await user.press("🗑 Yes, delete my data")
    files = [settings.database, settings.database.with_name(settings.database.name + "-wal")]
    for path in files:
        if path.exists():
            assert secret.encode() not in path.read_bytes(), path.name
    for path in settings.database.parent.glob(settings.database.name + "*"):
        assert stat.S_IMODE(os.stat(path).st_mode) == 0o600, path.name


async def test_only_the_latest_versions_of_a_section_are_kept(bot):
    from storage.drafts import VERSIONS_KEPT

    user = await bot.user(language_code="en")
    await user.send("/outline")
    for n in range(VERSIONS_KEPT + 15):
        await user.send("/mydrafts")
        await user.press(next(label for label, _ in user.last.buttons if label.startswith("1. ")))
        await user.press("✏️ Rename")
        await user.send(f"Title version {n}")
    rows = await bot.db.fetchall(
        "SELECT value FROM draft_history WHERE section_id = 'title' ORDER BY id"
    )
    assert [r["value"] for r in rows] == [
        f"Title version {n}" for n in range(15, VERSIONS_KEPT + 15)
    ]


async def test_an_update_delivered_again_after_a_crash_is_not_applied_twice(bot):
    """Killed just after an answer was committed, the bot got the same update again on restart:
    the title was also saved as the next section's answer."""
    from tests.test_outline import SECTIONS, _answers, _draft_ids

    user = await bot.user(language_code="en")
    await user.send("/outline")
    title = user._message(text="Family meeting points in Kainuu")
    await user._deliver(title)
    [draft_id] = await _draft_ids(bot, user.user_id)
    before = await _answers(bot, draft_id)
    assert before == {"title": "Family meeting points in Kainuu"}
    step = await bot.db.fetchone("SELECT step FROM conversations WHERE user_id = ?", (1001,))
    await bot.restart()
    assert await user._deliver(title) == []  # nothing applied, nothing said
    assert await _answers(bot, draft_id) == before
    again = await bot.db.fetchone("SELECT step FROM conversations WHERE user_id = ?", (1001,))
    assert again["step"] == step["step"]
    # The next, new update is handled as ever.
    await user.send(SECTIONS[1].text["en"].example or "An organisation")
    assert len(await _answers(bot, draft_id)) >= 1


async def test_a_button_pressed_again_by_a_redelivery_is_answered_and_ignored(bot):
    user = await bot.user(language_code="en")
    await user.send("/language")
    choice = user.last_with_buttons()
    data = next(data for label, data in choice.buttons if label.endswith("Svenska"))
    shown = choice.as_telegram()

    def press(query: str) -> dict:
        bot.telegram.presses.append(query)
        return {
            "update_id": 424242,
            "callback_query": {
                "id": query,  # the first answer never reached Telegram: it is answered again
                "from": user._from(),
                "chat_instance": "1",
                "data": data,
                "message": shown,
            },
        }

    await user._deliver(press("first"))
    assert (await bot.db.fetchone("SELECT language FROM users"))["language"] == "sv"
    await bot.db.execute("UPDATE users SET language = 'en'")  # changed again since, elsewhere
    handled = len(bot.telegram.calls)
    await bot.restart()
    await user._deliver(press("again"))
    assert (await bot.db.fetchone("SELECT language FROM users"))["language"] == "en"
    methods = [call.method for call in bot.telegram.calls[handled:]]
    assert "editMessageText" not in methods and "sendMessage" not in methods
    assert "answerCallbackQuery" in methods
