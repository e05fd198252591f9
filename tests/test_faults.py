"""Load and faults: the bot as its own process over HTTP, killed with SIGKILL, served by a flaky
Bot API; concurrent taps; a database another process holds."""

from __future__ import annotations

import asyncio
import os
import signal
import sqlite3
import sys
from collections import Counter
from contextlib import asynccontextmanager
from pathlib import Path

import pytest

from bot.channels.standin_transport import serve_http
from bot.channels.standin_user import TelegramUser
from bot.channels.telegram_standin import ApiError, FakeTelegram
from storage import Database, DatabaseError
from tests.conftest import assert_telegram_rules_kept
from tests.test_cli import TOKEN, bot_env, run_bot
from tests.test_outline import INDEX, SECTIONS, answer_for

TEXT_STEPS = SECTIONS[: INDEX["org_type"] + 1]  # two typed answers, then buttons


@asynccontextmanager
async def bot_process(telegram: FakeTelegram, database: Path, **extra_env: str):
    server = await serve_http(telegram, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    env = bot_env(port, database, **{"LOG_LEVEL": "WARNING", **extra_env})
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", "run", env=env, stderr=asyncio.subprocess.PIPE
    )
    stderr: list[bytes] = []

    async def drain() -> None:
        assert process.stderr is not None
        stderr.append(await process.stderr.read())

    draining = asyncio.create_task(drain())
    try:
        yield process, stderr
    finally:
        if process.returncode is None:
            process.send_signal(signal.SIGTERM)
            await asyncio.wait_for(process.wait(), 30)
        await draining
        server.close()
        await server.wait_closed()


async def _say(telegram, user, text, replies=1):
    goal = telegram.events.get(user.chat, 0) + replies
    await user.send(text)
    await telegram.wait_for_events(user.chat, lambda: telegram.events.get(user.chat, 0) >= goal, 60)


def _answers(database: Path) -> dict[int, dict[str, str]]:
    with sqlite3.connect(database) as conn:
        rows = conn.execute(
            "SELECT d.user_id, a.section_id, a.value FROM draft_answers a "
            "JOIN drafts d ON d.id = a.draft_id"
        ).fetchall()
    found: dict[int, dict[str, str]] = {}
    for user_id, section, value in rows:
        found.setdefault(user_id, {})[section] = value
    return found


async def test_sigkill_mid_outline_loses_no_acknowledged_answer(tmp_path):
    telegram = FakeTelegram()
    database = tmp_path / "bot.sqlite3"
    people = [
        TelegramUser(telegram, telegram.enqueue, user_id=3000 + n, language_code="en")
        for n in range(6)
    ]
    acknowledged: dict[int, int] = {}
    async with bot_process(telegram, database) as (process, _):
        for person in people:
            await _say(telegram, person, "/start")
            await _say(telegram, person, "/outline")

        async def walk(person: TelegramUser, steps: int) -> None:
            for section in TEXT_STEPS[:steps]:
                await _say(telegram, person, answer_for(section))
                acknowledged[person.user_id] = acknowledged.get(person.user_id, 0) + 1

        await asyncio.gather(*(walk(p, 1 + n % 2) for n, p in enumerate(people)))
        for person in people:  # in flight when the process dies: may or may not be saved
            await person.send(answer_for(TEXT_STEPS[acknowledged[person.user_id]]))
        process.send_signal(signal.SIGKILL)
        await process.wait()

    saved = _answers(database)
    for person in people:
        count = len(saved.get(person.user_id, {}))
        assert count in (acknowledged[person.user_id], acknowledged[person.user_id] + 1)
        for section in TEXT_STEPS[: acknowledged[person.user_id]]:
            assert saved[person.user_id][section.id] == answer_for(section)

    async with bot_process(telegram, database):
        for person in people:
            seen = len(person.messages())
            await person.send_sticker()  # where am I? (the in-flight answer may come again too)

            def answered(person: TelegramUser = person, seen: int = seen) -> bool:
                texts = [m.text for m in person.messages()[seen:]]
                refused = [i for i, t in enumerate(texts) if t.startswith("I can only read")]
                return bool(refused) and any("Step " in t for t in texts[refused[0] :])

            await telegram.wait_for_events(person.chat, answered, 60)
            step = len(_answers(database).get(person.user_id, {})) + 1
            assert f"Step {step}/{len(SECTIONS)}" in person.messages()[-1].text
    assert_telegram_rules_kept(telegram)


async def test_a_flaky_bot_api_slows_the_bot_but_loses_nothing(tmp_path):
    telegram = FakeTelegram()
    database = tmp_path / "bot.sqlite3"
    sends: Counter[int] = Counter()

    def flaky(method: str) -> ApiError | float | None:
        if method not in ("sendMessage", "editMessageText"):
            return None
        # Counted per chat: a user's sends go one at a time, so no send meets a fault at each of
        # its three attempts, however the users' sends interleave.
        chat = telegram.calls[-1].params.get("chat_id")
        sends[chat] += 1
        if sends[chat] == 3 and chat == people[0].chat:
            return ApiError(429, "Too Many Requests: retry after 1", retry_after=1)
        if sends[chat] == 3 and chat == people[1].chat:
            return 6.0  # longer than the client's read timeout
        if sends[chat] % 4 == 0:
            return ApiError(500, "Internal Server Error")
        return None

    people = [
        TelegramUser(telegram, telegram.enqueue, user_id=4000 + n, language_code="en")
        for n in range(4)
    ]
    async with bot_process(telegram, database) as (process, stderr):
        telegram.fault = flaky

        async def walk(person: TelegramUser) -> None:
            await _say(telegram, person, "/start")
            await _say(telegram, person, "/outline")
            for section in TEXT_STEPS[:2]:
                await _say(telegram, person, answer_for(section))

        await asyncio.gather(*(walk(p) for p in people))
        assert process.returncode is None  # still serving
    saved = _answers(database)
    for person in people:
        assert saved[person.user_id] == {s.id: answer_for(s) for s in TEXT_STEPS[:2]}
    log = b"".join(stderr).decode()
    assert "Traceback" not in log
    assert TOKEN not in log
    assert_telegram_rules_kept(telegram)


async def test_two_fast_taps_and_simultaneous_messages_keep_the_flow_intact(bot):
    """Through the update queue and the per-user processor, as in production."""
    from telegram import Update

    app = bot.app
    await app.start()
    try:
        user = await bot.user(language_code="en")
        await user.send("/outline")
        await user.send(answer_for(SECTIONS[0]))
        await user.send(answer_for(SECTIONS[1]))  # now at the organisation type (buttons)
        step = user.last_with_buttons()
        data = dict(step.buttons)[SECTIONS[INDEX["org_type"]].options[0].label["en"]]

        def tap() -> dict:
            query = f"cq{bot.telegram.next_update_id()}"
            bot.telegram.presses.append(query)  # so the fixture checks that each was answered
            return {
                "update_id": bot.telegram.next_update_id(),
                "callback_query": {
                    "id": query,
                    "from": user._from(),
                    "chat_instance": "1",
                    "data": data,
                    "message": step.as_telegram(),
                },
            }

        for raw in (tap(), tap(), user._message(text="Maija Meikäläinen"), user._message(text="x")):
            await app.update_queue.put(Update.de_json(raw, app.bot))
        for _ in range(200):
            if app.update_queue.empty() and app.update_processor.held_locks == 0:
                break
            await asyncio.sleep(0.02)
        [draft_id] = [r[0] for r in await bot.db.fetchall("SELECT id FROM drafts")]
        answers = {
            r[0]: r[1]
            for r in await bot.db.fetchall(
                "SELECT section_id, value FROM draft_answers WHERE draft_id = ?", (draft_id,)
            )
        }
        assert answers["org_type"] == SECTIONS[INDEX["org_type"]].options[0].id
        assert answers["contact_name"] == "Maija Meikäläinen"  # the second tap changed nothing
        assert "email" not in answers  # "x" was refused as an e-mail address, in order
        assert app.update_processor.held_locks == 0  # idle locks are dropped
    finally:
        await app.stop()


async def test_a_database_held_by_another_process_is_reported_at_start_up(tmp_path):
    path = tmp_path / "bot.sqlite3"
    db = Database(path)
    await db.open()
    await db.close()
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")
    try:
        blocked = Database(path)
        blocked.busy_timeout_ms = 200
        with pytest.raises(DatabaseError, match="locked"):
            await blocked.open()
        before = path.read_bytes()
        result = await asyncio.to_thread(
            run_bot, "console", env={"BOT_DATABASE": str(path)}, stdin="/start\n"
        )
        assert result.returncode == 1 and "database error" in result.stderr
        assert "locked" in result.stderr
        assert path.read_bytes() == before
    finally:
        holder.execute("ROLLBACK")
        holder.close()


@pytest.mark.skipif(os.geteuid() == 0, reason="root can write any file")
async def test_an_unwritable_database_is_reported_at_start_up(tmp_path):
    path = tmp_path / "bot.sqlite3"
    db = Database(path)
    await db.open()
    await db.close()
    path.chmod(0o444)
    with pytest.raises(DatabaseError):
        await Database(path).open()


async def test_sighup_reloads_valid_content_in_a_running_bot(tmp_path):
    import shutil
    from importlib import resources

    folder = tmp_path / "content"
    shutil.copytree(
        resources.files("content"), folder, ignore=shutil.ignore_patterns("*.py", "__pycache__")
    )
    telegram = FakeTelegram()
    user = TelegramUser(telegram, telegram.enqueue, user_id=5100, language_code="en")
    async with bot_process(telegram, tmp_path / "bot.sqlite3", BOT_CONTENT_DIR=str(folder)) as (
        process,
        _,
    ):
        await _say(telegram, user, "/start")
        theme = folder / "faq" / "theme.toml"
        text = theme.read_text("utf-8")
        theme.write_text(
            text.replace("What is the ET 4.1.7 theme?", "What is this theme all about?"), "utf-8"
        )
        process.send_signal(signal.SIGHUP)
        for _ in range(50):  # the signal is handled between updates; ask until it took effect
            await _say(telegram, user, "What is the ET 4.1.7 theme?")
            if "What is this theme all about?" in user.last.text:
                break
            await asyncio.sleep(0.1)
        assert "What is this theme all about?" in user.last.text
    assert_telegram_rules_kept(telegram)


async def test_the_bot_api_client_uploads_files_and_keeps_the_token_out_of_errors():
    """AiohttpRequest, the transport `python -m bot run` uses, against the stand-in over HTTP."""
    from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup
    from telegram.error import NetworkError, TimedOut

    from bot.channels.api_client import AiohttpRequest

    telegram = FakeTelegram()
    server = await serve_http(telegram, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    bot = Bot(TOKEN, base_url=f"http://127.0.0.1:{port}/bot", request=AiohttpRequest())
    try:
        await bot.initialize()
        sent = await bot.send_document(4242, b"PK\x03\x04 a draft", filename="luonnos.docx")
        assert telegram.files[(4242, sent.message_id)] == b"PK\x03\x04 a draft"
        text = '<b>Hyvää päivää</b> &amp; tervetuloa 👋 + = ? " \\ %20'
        buttons = InlineKeyboardMarkup([[InlineKeyboardButton("Jatka ➡️", callback_data="ol:n")]])
        message = await bot.send_message(4242, text, parse_mode="HTML", reply_markup=buttons)
        assert message.text == text  # the JSON body carried every character
        assert telegram.calls[-1].params["reply_markup"] == buttons.to_dict()
        assert telegram.calls[-1].params["chat_id"] == 4242

        telegram.fault = lambda method: 3.0 if method == "sendMessage" else None  # a hang
        with pytest.raises(TimedOut) as hung:
            await bot.send_message(4242, "hello?", read_timeout=0.3)
        assert TOKEN not in str(hung.value)
        telegram.fault = None
    finally:
        await bot.shutdown()
        server.close()
        await server.wait_closed()

    # Nothing listens on the port any more: a refused connection, reported without the URL.
    request = AiohttpRequest()
    await request.initialize()
    try:
        with pytest.raises(NetworkError) as refused:
            await request.post(f"http://127.0.0.1:{port}/bot{TOKEN}/getMe")
        assert TOKEN.split(":")[1] not in str(refused.value) + repr(refused.value)
        assert refused.value.__cause__ is None and refused.value.__suppress_context__
    finally:
        await request.shutdown()
