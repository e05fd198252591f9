"""Offline chat in the terminal: the same Application, handlers and database, no network.

Each typed line becomes a Telegram update from a console user; the bot's Bot API calls land in
the in-process stand-in and are printed as plain text. Buttons are numbered; typing a number
presses that button of the latest message that has buttons.
"""

from __future__ import annotations

import asyncio
import os
import sys
import time
from pathlib import Path
from typing import TextIO

from bot.app import build_application, deliver, running
from bot.channels.standin_transport import InProcessRequest
from bot.channels.standin_user import TelegramUser
from bot.channels.telegram_standin import FakeTelegram, SentMessage
from bot.config import Settings
from bot.rendering import html_to_text

CONSOLE_USER_ID = 1


def save_download(directory: Path, file_name: str, data: bytes) -> Path:
    """Write a file the bot sent into `directory` and return its path.

    An existing file is never overwritten: "outline-1.docx" becomes "outline-1-1.docx", then
    "-2" and so on. Files are readable by their owner only (0600), as they hold personal data
    (an outline, a /mydata copy, coordinators' exports)."""
    directory.mkdir(parents=True, exist_ok=True, mode=0o700)
    name = Path(file_name.replace("\\", "/")).name.lstrip(".") or "download"
    stem, dot, suffix = name.partition(".")
    for attempt in range(10_000):
        candidate = directory / (name if attempt == 0 else f"{stem}-{attempt}{dot}{suffix}")
        try:
            # O_EXCL: the check and the creation are one step, so two consoles never race.
            fd = os.open(candidate, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            continue
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        return candidate
    raise FileExistsError(f"no free file name for {name} in {directory}")


async def run_console(
    settings: Settings,
    stdin: TextIO = sys.stdin,
    stdout: TextIO = sys.stdout,
    language_code: str | None = None,
    user_id: int = CONSOLE_USER_ID,
) -> int:
    # Update ids from the clock, as Telegram's only grow: the bot skips an id it handled before
    # (a redelivery), and a second session on the same database must not look like one.
    telegram = FakeTelegram(first_update_id=time.time_ns() // 1000)
    downloads = settings.console_downloads
    app = build_application(settings, InProcessRequest(telegram))
    choices: list[tuple[str, str]] = []
    choice_message: list[SentMessage] = []

    def show(event: str, message: SentMessage) -> None:
        if message.chat_id != user_id:
            return
        text = html_to_text(message.text).strip()
        if message.document is not None:
            data = telegram.files.get((message.chat_id, message.message_id), b"")
            try:
                where = f"saved to {save_download(downloads, message.document['file_name'], data)}"
            except OSError as error:
                where = f"{message.document['file_name']} could not be saved: {error.strerror}"
            text = f"[📎 {where}]" + (f"\n{text}" if text else "")
        lines = [f"bot> {line}" if line else "bot>" for line in text.splitlines() or [""]]
        if message.buttons:
            choices[:] = message.buttons
            choice_message[:] = [message]
            lines += [f"  [{n}] {label}" for n, (label, _) in enumerate(message.buttons, 1)]
        stdout.write("\n".join(lines) + "\n\n")
        stdout.flush()

    telegram.listeners.append(show)
    async with running(app):
        user = TelegramUser(
            telegram,
            lambda update: deliver(app, update),
            user_id=user_id,
            language_code=language_code,
            first_name="Console",
        )
        stdout.write("ET 4.1.7 assistant, offline console. Type /start; Ctrl-D ends.\n\n")
        stdout.flush()
        while True:
            line = await asyncio.to_thread(stdin.readline)
            if not line:
                break
            text = line.strip()
            if not text:
                continue
            seen_calls = len(telegram.calls)
            if text.isdigit() and choices and 1 <= int(text) <= len(choices):
                _label, data = choices[int(text) - 1]
                if data.startswith(("http://", "https://")):
                    stdout.write(f"(link) {data}\n\n")
                    continue
                await user.press_data(data, choice_message[0])
            else:
                await user.send(text)
            for call in telegram.calls[seen_calls:]:
                if call.method == "answerCallbackQuery" and call.params.get("text"):
                    stdout.write(f"bot (notice)> {call.params['text']}\n\n")
    return 0
