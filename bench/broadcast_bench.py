"""Broadcast benchmark: an announcement to 10,000 subscribers while 20 users chat.

    python bench/broadcast_bench.py [--subscribers 10000] [--rate 30] [--share 50] [--chatters 20]

The bot runs as a separate process (`python -m bot run`) against the stand-in Bot API over HTTP on
127.0.0.1, with `BOT_MAX_MESSAGES_PER_SECOND=--rate` and `BOT_BROADCAST_SHARE=--share`. Its
database holds the subscribers (a third each in Finnish, Swedish and English) and one queued
announcement, which the bot starts sending at once. Meanwhile each chatting user asks a question
or opens the menu, waits for the reply, pauses 1-3 s (seeded), and again.

Printed: the broadcast's duration (first to last message at the stand-in) against what the share
allows ((subscribers - 1) / (rate x share)), the ratio of the two; the achieved rate; the chatting
users' reply latency (message queued -> first reply seen) p50/p95/p99/max; the bot's RSS sampled
every second (at 10 %, 50 % and 100 % of the broadcast, and the peak); the outbox's final states.
`--rate 300` scales time tenfold (the sender's own ceiling shows there). Nothing is asserted.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import signal
import sqlite3
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot.calls import announcement_html  # noqa: E402
from bot.channels.standin_transport import serve_http  # noqa: E402
from bot.channels.standin_user import TelegramUser  # noqa: E402
from bot.channels.telegram_standin import FakeTelegram  # noqa: E402

TOKEN = "123456:BENCHbenchBENCHbenchBENCHbench_0123"
FIRST_SUBSCRIBER = 6_000_000
QUESTIONS = ["who can apply", "/start", "how much funding is there", "when is the next call"]


def _rss_mb(pid: int, field: str = "VmRSS:") -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field):
            return int(line.split()[1]) / 1024
    return 0.0


async def prepare(database: Path, subscribers: int) -> None:
    from storage import Database, outbox

    db = Database(database)
    await db.open()
    now = "2026-11-01T10:00:00+00:00"
    languages = ("fi", "sv", "en")
    await db.write(
        lambda conn: conn.executemany(
            "INSERT INTO users (id, language, first_seen, last_seen, privacy_seen_at) "
            "VALUES (?, ?, ?, ?, ?)",
            [(FIRST_SUBSCRIBER + n, languages[n % 3], now, now, now) for n in range(subscribers)],
        )
    )
    await db.write(
        lambda conn: conn.executemany(
            "INSERT INTO subscriptions (user_id, subscribed_at) VALUES (?, ?)",
            [(FIRST_SUBSCRIBER + n, now) for n in range(subscribers)],
        )
    )
    body = "The spring call of ET 4.1.7 is open: see EURA 2021."
    html = {lang: announcement_html(body, lang) for lang in languages}
    announcement = await outbox.create(db, html, None)
    await outbox.queue(db, announcement)
    await db.close()


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--subscribers", type=int, default=10_000)
    parser.add_argument("--rate", type=int, default=30, help="BOT_MAX_MESSAGES_PER_SECOND")
    parser.add_argument("--share", type=int, default=50, help="BOT_BROADCAST_SHARE (percent)")
    parser.add_argument("--chatters", type=int, default=20)
    parser.add_argument("--db-synchronous", default="full")
    args = parser.parse_args()

    folder = Path(tempfile.mkdtemp(prefix="et417-broadcast-"))
    database = folder / "bot.sqlite3"
    await prepare(database, args.subscribers)
    telegram = FakeTelegram()
    sent_at: list[float] = []

    def on_message(event: str, message) -> None:
        if event == "send" and message.chat_id >= FIRST_SUBSCRIBER:
            sent_at.append(time.perf_counter())

    telegram.listeners.append(on_message)
    server = await serve_http(telegram, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TELEGRAM_", "BOT_"))}
    env.update(
        TELEGRAM_BOT_TOKEN=TOKEN,
        TELEGRAM_API_BASE_URL=f"http://127.0.0.1:{port}/bot",
        BOT_DATABASE=str(database),
        LOG_LEVEL="WARNING",
        BOT_MAX_MESSAGES_PER_SECOND=str(args.rate),
        BOT_BROADCAST_SHARE=str(args.share),
        BOT_DB_SYNCHRONOUS=args.db_synchronous,
        BOT_FLOOD_BURST="10000",
        BOT_FLOOD_PER_MINUTE="100000",
    )
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", "run", env=env, cwd=ROOT
    )
    latencies: list[float] = []
    rss: list[tuple[int, float]] = []  # (messages sent so far, MB)
    done = asyncio.Event()

    async def chatter(n: int) -> None:
        rng = random.Random(n)
        user = TelegramUser(telegram, telegram.enqueue, user_id=100 + n, language_code="en")
        await asyncio.sleep(rng.uniform(0, 2))
        while not done.is_set():
            before = telegram.events.get(user.chat, 0)
            started = time.perf_counter()
            await user.send(rng.choice(QUESTIONS))
            await telegram.wait_for_events(
                user.chat, lambda b=before: telegram.events.get(user.chat, 0) > b, 120
            )
            if sent_at and not done.is_set():  # only while the broadcast runs
                latencies.append(time.perf_counter() - started)
            await asyncio.sleep(rng.uniform(1, 3))

    async def sample() -> None:
        while not done.is_set():
            rss.append((len(sent_at), _rss_mb(process.pid)))
            await asyncio.sleep(1)

    try:
        # The broadcast starts with the Application; the users once it polls for updates.
        while not telegram.calls_of("getUpdates"):  # noqa: ASYNC110 - another process
            await asyncio.sleep(0.05)
        people = [asyncio.create_task(chatter(n)) for n in range(args.chatters)]
        sampler = asyncio.create_task(sample())
        allowed = (args.subscribers - 1) / (args.rate * args.share / 100)
        deadline = time.perf_counter() + allowed * 3 + 60
        while len(sent_at) < args.subscribers and time.perf_counter() < deadline:  # noqa: ASYNC110
            await asyncio.sleep(0.2)
        done.set()
        await asyncio.gather(*people, sampler, return_exceptions=True)
        peak = _rss_mb(process.pid, "VmHWM:")
    finally:
        process.send_signal(signal.SIGTERM)
        await process.wait()
        server.close()
    with sqlite3.connect(database) as conn:
        states = dict(conn.execute("SELECT status, count(*) FROM outbox GROUP BY status"))

    duration = sent_at[-1] - sent_at[0] if len(sent_at) > 1 else float("nan")
    print(
        f"subscribers {args.subscribers}, BOT_MAX_MESSAGES_PER_SECOND={args.rate}, "
        f"BOT_BROADCAST_SHARE={args.share} %, {args.chatters} users chatting, "
        f"synchronous={args.db_synchronous}"
    )
    print(f"broadcast messages seen: {len(sent_at)}; outbox: {states}")
    print(
        f"duration {duration:.1f} s; the share allows {allowed:.1f} s; ratio "
        f"{duration / allowed:.3f} ({(duration / allowed - 1) * 100:+.1f} %); "
        f"achieved {(len(sent_at) - 1) / duration:.2f} msg/s of {args.rate * args.share / 100:g}"
    )
    if latencies:
        ordered = sorted(latencies)

        def pct(share: float) -> float:
            return ordered[min(len(ordered) - 1, int(share * len(ordered)))] * 1000

        print(
            f"chatting users' replies ({len(ordered)}): p50 {pct(0.5):.0f} ms, p95 "
            f"{pct(0.95):.0f} ms, p99 {pct(0.99):.0f} ms, max {ordered[-1] * 1000:.0f} ms, "
            f"mean {statistics.mean(ordered) * 1000:.0f} ms"
        )
    marks = []
    for share in (0.1, 0.5, 1.0):
        goal = share * args.subscribers
        at = next((mb for count, mb in rss if count >= goal), rss[-1][1] if rss else 0.0)
        marks.append(f"{share:.0%} {at:.1f} MB")
    print(f"bot RSS at {', '.join(marks)}; peak {peak:.1f} MB")


if __name__ == "__main__":
    asyncio.run(main())
