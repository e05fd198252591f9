"""The command line: configuration errors, the offline console, and Telegram over real HTTP."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import sqlite3
import subprocess
import sys

import pytest

from bot.channels.standin_transport import serve_http
from bot.channels.standin_user import TelegramUser
from bot.channels.telegram_standin import FakeTelegram
from bot.config import ConfigError, Settings
from tests.conftest import assert_telegram_rules_kept

TOKEN = "123456:ABCdefGHIjklMNOpqrSTUvwxYZ0123456789_-"


def bot_env(api_port: int, database, **extra: str) -> dict[str, str]:
    """The environment of a bot process that talks to a stand-in Bot API on 127.0.0.1."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TELEGRAM_", "BOT_"))}
    env.update(
        TELEGRAM_BOT_TOKEN=TOKEN,
        TELEGRAM_API_BASE_URL=f"http://127.0.0.1:{api_port}/bot",
        BOT_DATABASE=str(database),
        **extra,
    )
    return env


def run_bot(*args: str, env: dict[str, str] | None = None, stdin: str = "", timeout: float = 60):
    full_env = {k: v for k, v in os.environ.items() if not k.startswith(("TELEGRAM_", "BOT_"))}
    full_env.update(env or {})
    return subprocess.run(
        [sys.executable, "-m", "bot", *args],
        input=stdin,
        capture_output=True,
        text=True,
        env=full_env,
        timeout=timeout,
    )


@pytest.mark.parametrize(
    ("env", "variable"),
    [
        ({}, "TELEGRAM_BOT_TOKEN"),
        ({"TELEGRAM_BOT_TOKEN": "not-a-token-" + TOKEN}, "TELEGRAM_BOT_TOKEN"),
        ({"TELEGRAM_BOT_TOKEN": TOKEN, "BOT_DEFAULT_LANGUAGE": "de"}, "BOT_DEFAULT_LANGUAGE"),
        ({"TELEGRAM_BOT_TOKEN": TOKEN, "COORDINATOR_IDS": "12,abc"}, "COORDINATOR_IDS"),
        (
            {"TELEGRAM_BOT_TOKEN": TOKEN, "TELEGRAM_API_BASE_URL": "ftp://x"},
            "TELEGRAM_API_BASE_URL",
        ),
        ({"TELEGRAM_BOT_TOKEN": TOKEN, "BOT_WEBHOOK_URL": "http://x.fi/h"}, "BOT_WEBHOOK_URL"),
        ({"TELEGRAM_BOT_TOKEN": TOKEN, "BOT_POLL_INTERVAL_MS": "0.5"}, "BOT_POLL_INTERVAL_MS"),
    ],
)
def test_bad_configuration_is_one_clear_line_naming_the_variable(env, variable):
    with pytest.raises(ConfigError, match=variable) as error:
        Settings.from_env(env, need_token=True)
    assert TOKEN not in str(error.value)


def test_a_bad_token_exits_with_one_line_and_never_prints_the_token():
    result = run_bot(env={"TELEGRAM_BOT_TOKEN": TOKEN + "!"})
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1 and "TELEGRAM_BOT_TOKEN" in result.stderr
    assert TOKEN not in result.stderr + result.stdout
    assert TOKEN not in repr(Settings.from_env({"TELEGRAM_BOT_TOKEN": TOKEN}, need_token=True))


def test_help_lists_the_subcommands():
    result = run_bot("--help")
    assert result.returncode == 0
    assert "console" in result.stdout and "run" in result.stdout


def test_console_chats_offline_and_ends_cleanly_at_end_of_input(tmp_path):
    database = tmp_path / "console.sqlite3"
    result = run_bot(
        "console",
        "--lang",
        "en",
        env={"BOT_DATABASE": str(database)},
        stdin="/start\n6\n2\n/nosuchthing\n",
    )
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "bot> Hello Console!" in out
    assert "  [1] " in out and "Choose your language:" in out
    assert "Språk valt: Svenska." in out  # button 2 of the language menu, HTML made plain
    assert "Jag känner inte till kommandot /nosuchthing" in out
    with sqlite3.connect(database) as conn:
        assert conn.execute("SELECT language FROM users").fetchall() == [("sv",)]


def test_a_second_console_session_on_the_same_database_is_answered_too(tmp_path):
    """The bot skips an update id it handled before (a redelivery after a crash): a new session's
    messages must not look like the last session's."""
    env = {"BOT_DATABASE": str(tmp_path / "console.sqlite3")}
    first = run_bot("console", "--lang", "en", env=env, stdin="/start\n")
    second = run_bot("console", "--lang", "en", env=env, stdin="/start\n")
    assert "bot> Hello Console!" in first.stdout
    assert "bot> Hello Console!" in second.stdout
    assert "handled before" not in second.stderr


def test_console_refuses_a_database_it_cannot_use(tmp_path):
    path = tmp_path / "broken.sqlite3"
    path.write_bytes(b"garbage" * 200)
    result = run_bot("console", env={"BOT_DATABASE": str(path)}, stdin="/start\n")
    assert result.returncode == 1
    assert "database error" in result.stderr
    assert path.read_bytes() == b"garbage" * 200


async def test_the_bot_long_polls_a_bot_api_server_over_real_http(tmp_path):
    telegram = FakeTelegram()
    server = await serve_http(telegram, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    env = bot_env(port, tmp_path / "bot.sqlite3", LOG_LEVEL="DEBUG")
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", "run", env=env, stderr=asyncio.subprocess.PIPE
    )
    try:
        user = TelegramUser(telegram, telegram.enqueue, user_id=555, language_code="sv")
        await user.send("/start")
        await telegram.wait_for_messages(555, 1)
        [reply] = telegram.sent_to(555)
        assert reply.text.startswith("Hej Testi!")
        assert telegram.calls_of("getUpdates"), "the bot did not long-poll"
        assert all(c.params.get("timeout") for c in telegram.calls_of("getUpdates")[1:])
        assert [c.params.get("language_code") for c in telegram.calls_of("setMyCommands")] == [
            None, "fi", "sv", "en",
        ]  # fmt: skip
    finally:
        process.send_signal(signal.SIGTERM)
        _, stderr = await asyncio.wait_for(process.communicate(), 30)
        server.close()
        await server.wait_closed()
    assert process.returncode == 0
    assert TOKEN not in stderr.decode(), "the token leaked into the log"
    assert TOKEN.split(":")[1] not in stderr.decode()
    assert_telegram_rules_kept(telegram)


async def test_webhook_mode_takes_updates_with_the_secret_and_refuses_without(tmp_path):
    import httpx

    telegram = FakeTelegram()
    server = await serve_http(telegram, "127.0.0.1", 0)
    api_port = server.sockets[0].getsockname()[1]
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        hook_port = probe.getsockname()[1]
    env = bot_env(
        api_port,
        tmp_path / "bot.sqlite3",
        BOT_WEBHOOK_URL="https://bot.example.org/telegram/hook",
        BOT_WEBHOOK_LISTEN="127.0.0.1",
        BOT_WEBHOOK_PORT=str(hook_port),
        BOT_WEBHOOK_SECRET="s3cret-token_1",
    )
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", env=env, stderr=asyncio.subprocess.PIPE
    )
    try:
        async with asyncio.timeout(30):
            while not telegram.calls_of("setWebhook"):  # noqa: ASYNC110 - another process
                await asyncio.sleep(0.05)
        [set_webhook] = telegram.calls_of("setWebhook")
        assert set_webhook.params["url"] == "https://bot.example.org/telegram/hook"
        assert set_webhook.params["secret_token"] == "s3cret-token_1"

        user = TelegramUser(telegram, telegram.enqueue, user_id=777, language_code="en")
        update = user._message(
            text="/start", entities=[{"type": "bot_command", "offset": 0, "length": 6}]
        )
        url = f"http://127.0.0.1:{hook_port}/telegram/hook"
        async with httpx.AsyncClient() as client:
            for _ in range(100):  # the webhook server may still be starting
                try:
                    refused = await client.post(url, json=update)
                    break
                except httpx.ConnectError:
                    await asyncio.sleep(0.1)
            assert refused.status_code == 403  # no secret token
            accepted = await client.post(
                url, json=update, headers={"X-Telegram-Bot-Api-Secret-Token": "s3cret-token_1"}
            )
            assert accepted.status_code == 200
        await telegram.wait_for_messages(777, 1)
        assert telegram.sent_to(777)[0].text.startswith("Hello Testi!")
    finally:
        process.send_signal(signal.SIGTERM)
        _, stderr = await asyncio.wait_for(process.communicate(), 30)
        server.close()
        await server.wait_closed()
    assert TOKEN not in stderr.decode()
    assert "s3cret-token_1" not in stderr.decode()
    assert_telegram_rules_kept(telegram)


def test_console_saves_files_without_overwriting_and_readable_by_the_owner_only(tmp_path):
    downloads = tmp_path / "files"
    downloads.mkdir()
    (downloads / "keep.txt").write_text("mine")
    env = {"BOT_DATABASE": str(tmp_path / "c.sqlite3"), "BOT_CONSOLE_DOWNLOADS": str(downloads)}
    result = run_bot("console", "--lang", "en", env=env, stdin="/start\n/mydata\n/mydata\n")
    assert result.returncode == 0, result.stderr
    saved = sorted(
        (p for p in downloads.iterdir() if p.name != "keep.txt"), key=lambda p: len(p.name)
    )
    assert len(saved) == 2, result.stdout
    first, second = saved
    assert second.stem == first.stem + "-1" and second.suffix == first.suffix
    for path in saved:
        assert f"saved to {path}" in result.stdout
        assert path.stat().st_mode & 0o777 == 0o600
        assert path.stat().st_size > 0
    assert (downloads / "keep.txt").read_text() == "mine"


def test_console_saves_to_downloads_in_the_working_directory_by_default(tmp_path):
    env = {"BOT_DATABASE": str(tmp_path / "c.sqlite3")}
    full_env = {k: v for k, v in os.environ.items() if not k.startswith(("TELEGRAM_", "BOT_"))}
    full_env.update(env, PYTHONPATH=os.getcwd())
    result = subprocess.run(
        [sys.executable, "-m", "bot", "console", "--lang", "en"],
        input="/start\n/mydata\n",
        capture_output=True,
        text=True,
        env=full_env,
        cwd=tmp_path,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    [saved] = list((tmp_path / "downloads").iterdir())
    assert f"saved to {os.path.join('downloads', saved.name)}" in result.stdout


async def test_export_into_a_pipe_that_closes_early_ends_quietly(bot, settings):
    user = await bot.user(language_code="en")
    await user.send("/outline")
    await user.send("A title long enough " * 5)
    [draft_id] = [r[0] for r in await bot.db.fetchall("SELECT id FROM drafts")]
    for _ in range(400):  # far more than a pipe holds
        await bot.db.execute(
            "INSERT INTO drafts (user_id, language, created_at, updated_at) "
            "SELECT user_id, language, created_at, updated_at FROM drafts WHERE id = ?",
            (draft_id,),
        )
    await bot.db.execute(
        "INSERT INTO draft_answers SELECT d.id, 'need', ?, d.created_at FROM drafts d",
        ("x" * 2000,),
    )
    status, error = _export_into_a_closing_pipe(settings.database)
    assert status in (0, 141)
    assert "Traceback" not in error and "BrokenPipe" not in error, error


def _export_into_a_closing_pipe(database) -> tuple[int, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TELEGRAM_", "BOT_"))}
    env["BOT_DATABASE"] = str(database)
    process = subprocess.Popen(
        [sys.executable, "-m", "bot", "export", "--format", "csv", "--status", "all"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
    )
    assert process.stdout is not None and process.stderr is not None
    process.stdout.read(100)
    process.stdout.close()  # as `head` does once it has its lines
    error = process.stderr.read().decode()
    return process.wait(timeout=60), error
