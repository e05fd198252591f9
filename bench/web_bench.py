"""Web chat benchmark: web visitors and Telegram users on one bot process, under the same load.

    python bench/web_bench.py [--users 50] [--pause 1.5] [--seconds 60]

`python -m bot run` long-polls a stand-in Bot API on 127.0.0.1 (as bench/load_bench.py does) and
serves the web chat beside it (BOT_WEB_PORT). `--users` simulated Telegram users and as many web
visitors walk the same script (load_bench's: the outline, buttons, FAQ questions) at the same
time, each pausing `--pause` seconds between messages, a new person every round.

Latency, per path:
- web: the POST's round trip on a connection of its own (the reply comes back in the answer);
- Telegram: update queued at the stand-in → first reply seen there (issue 8's definition), and
  → the whole answer seen (a question mid-outline is answered with two messages).
Only the steady state after a warm-up counts. Nothing is asserted; tests assert behaviour only.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import os
import random
import signal
import socket
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from load_bench import TOKEN, our_script  # noqa: E402

from bot.channels.standin_transport import serve_http  # noqa: E402
from bot.channels.standin_user import TelegramUser  # noqa: E402
from bot.channels.telegram_standin import FakeTelegram  # noqa: E402
from tests.web_harness import WebVisitor  # noqa: E402


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def pct(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))] * 1000 if ordered else 0.0


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--users", type=int, default=50, help="per path (50)")
    parser.add_argument("--pause", type=float, default=1.5, help="seconds between messages")
    parser.add_argument("--seconds", type=float, default=60.0, help="measured time (60)")
    parser.add_argument("--warmup", type=float, default=5.0)
    parser.add_argument(
        "--no-rate-limit",
        action="store_true",
        help="BOT_MAX_MESSAGES_PER_SECOND=0: Telegram's 30 messages/s off, the bot's own work only",
    )
    args = parser.parse_args()

    telegram = FakeTelegram()
    server = await serve_http(telegram, "127.0.0.1", 0)
    api_port = server.sockets[0].getsockname()[1]
    web_port = _free_port()
    folder = Path(tempfile.mkdtemp(prefix="et417-web-"))
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TELEGRAM_", "BOT_"))}
    env.update(
        TELEGRAM_BOT_TOKEN=TOKEN,
        TELEGRAM_API_BASE_URL=f"http://127.0.0.1:{api_port}/bot",
        BOT_DATABASE=str(folder / "bot.sqlite3"),
        LOG_LEVEL="WARNING",
        BOT_WEB_PORT=str(web_port),
        # Every simulated visitor comes from an address of its own, as people do; the bench
        # connects from 127.0.0.1 and names the address in X-Forwarded-For.
        BOT_WEB_TRUSTED_PROXIES="127.0.0.1",
        BOT_MAX_MESSAGES_PER_SECOND="0" if args.no_rate_limit else "30",
        BOT_FLOOD_BURST="10000",
        BOT_FLOOD_PER_MINUTE="100000",
    )
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", "run", env=env, cwd=ROOT
    )
    base = f"http://127.0.0.1:{web_port}"
    tg_first: list[float] = []
    tg_whole: list[float] = []
    web_times: list[float] = []
    web_errors = 0
    window = [float("inf"), float("inf")]
    try:
        while not telegram.calls_of("getUpdates"):  # noqa: ASYNC110 - another process
            await asyncio.sleep(0.05)
        await asyncio.sleep(1.0)

        async def telegram_person(n: int) -> None:
            await asyncio.sleep(random.Random(n).uniform(0, args.pause))
            for round_ in itertools.count():
                uid = 100_000 + round_ * args.users + n
                user = TelegramUser(telegram, telegram.enqueue, user_id=uid, language_code="en")
                for action, text, replies in our_script(uid):
                    if time.perf_counter() >= window[1]:
                        return
                    before = telegram.events.get(user.chat, 0)
                    started = time.perf_counter()
                    await (user.send(text) if action == "send" else user.press(text))
                    seen = []
                    for goal in (before + 1, before + replies):
                        await telegram.wait_for_events(
                            user.chat,
                            lambda goal=goal, chat=user.chat: telegram.events.get(chat, 0) >= goal,
                            120,
                        )
                        seen.append(time.perf_counter())
                    if window[0] <= started and seen[1] <= window[1]:
                        tg_first.append(seen[0] - started)
                        tg_whole.append(seen[1] - started)
                    await asyncio.sleep(args.pause)

        async def web_person(n: int) -> None:
            nonlocal web_errors
            await asyncio.sleep(random.Random(-n).uniform(0, args.pause))
            for round_ in itertools.count():
                uid = 100_000 + round_ * args.users + n
                visitor = WebVisitor(base)
                visitor.session.headers["X-Forwarded-For"] = (
                    f"10.{(uid >> 16) & 255}.{(uid >> 8) & 255}.{uid & 255}"
                )
                try:
                    await visitor.state("en")
                    for action, text, _replies in our_script(uid):
                        if time.perf_counter() >= window[1]:
                            return
                        started = time.perf_counter()
                        if action == "send":
                            status, _ = await visitor.post("/api/send", {"text": text})
                        else:
                            message = visitor.last_with_buttons()
                            data = next(
                                (b["data"] for row in message["buttons"] for b in row
                                 if b["label"] == text), None,
                            )  # fmt: skip
                            if data is None:
                                print("no button", text, visitor.texts()[-2:], file=sys.stderr)
                                web_errors += 1
                                break
                            status, _ = await visitor.post(
                                "/api/press", {"message_id": message["id"], "data": data}
                            )
                        done = time.perf_counter()
                        if status != 200:
                            web_errors += 1
                        elif window[0] <= started and done <= window[1]:
                            web_times.append(done - started)
                        await asyncio.sleep(args.pause)
                finally:
                    await visitor.close()

        began = time.perf_counter()
        window[:] = [began + args.warmup, began + args.warmup + args.seconds]
        await asyncio.gather(
            *(telegram_person(n) for n in range(args.users)),
            *(web_person(n) for n in range(args.users)),
        )
    finally:
        process.send_signal(signal.SIGTERM)
        await process.wait()
        server.close()
        await server.wait_closed()

    print(
        f"{args.users} Telegram users + {args.users} web visitors on one bot process, "
        f"{args.pause} s between messages, {args.seconds:.0f} s measured, Telegram's rate limit "
        f"{'off' if args.no_rate_limit else 'on (30 messages/s)'}"
    )
    print(f"{'path':<24}{'replies':>8}{'p50 ms':>9}{'p95 ms':>9}{'p99 ms':>9}")
    for name, values in (
        ("web (POST round trip)", web_times),
        ("Telegram, first reply", tg_first),
        ("Telegram, whole answer", tg_whole),
    ):
        print(
            f"{name:<24}{len(values):>8}{pct(values, 0.5):>9.1f}{pct(values, 0.95):>9.1f}"
            f"{pct(values, 0.99):>9.1f}"
        )
    print(f"web requests refused or failed: {web_errors}")


if __name__ == "__main__":
    asyncio.run(main())
