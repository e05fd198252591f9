"""Partners and reminders: what the version check costs a save, and what a reminders' pass costs.

    python bench/partners_bench.py [--users 200] [--saves 10] [--drafts 100000]

1. Saves: `--users` writers at once, each saving `--saves` sections of its own draft through the
   real `Database`, as `storage.partners.save_section` does (check and writes as one function in
   the group commit) and as a `Unit` that reads inside its transaction would (the check a trip of
   its own, holding the connection until the commit). Saves per second, median of three.
2. Reminders: a database of `--drafts` unsubmitted drafts, nearly all already reminded or edited
   recently, 100 due; the due query as shipped (the partial index, named) and as the planner
   would run it unnamed. Milliseconds per query, median of 20.

Prints figures; asserts nothing.
"""

from __future__ import annotations

import argparse
import asyncio
import sqlite3
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from storage import drafts, partners, reminders  # noqa: E402
from storage.conversations import Conversation  # noqa: E402
from storage.db import Database, utcnow  # noqa: E402


async def _prepare(db: Database, users: int) -> None:
    now = utcnow()
    async with db.transaction() as conn:
        for user in range(1, users + 1):
            await conn.execute(
                "INSERT INTO users (id, first_seen, last_seen) VALUES (?, ?, ?)", (user, now, now)
            )
            await conn.execute(
                "INSERT INTO drafts (id, user_id, language, created_at, updated_at) "
                "VALUES (?, ?, 'fi', ?, ?)",
                (user, user, now, now),
            )


async def _one_trip(db: Database, user: int, n: int) -> None:
    state = Conversation("outline", "9", {"draft": user})
    result = await partners.save_section(
        db, user, user, "need", f"text {n} " * 20, 0, partners.Next(state, "objectives"), state
    )
    assert result is None


async def _two_trips(db: Database, user: int, n: int) -> None:
    async with db.transaction() as conn:
        await conn.fetchone(
            "SELECT id FROM draft_history WHERE draft_id = ? AND section_id = ? AND id > ? "
            "AND editor_id IS NOT ? ORDER BY id DESC LIMIT 1",
            (user, "need", 0, user),
        )
        await drafts.save_answer(conn, user, "need", f"text {n} " * 20, user)
        await partners.enter_step(
            conn, user, Conversation("outline", "9", {"draft": user}), user, "objectives"
        )


async def _saves_per_second(save, users: int, saves: int) -> float:
    with tempfile.TemporaryDirectory() as folder:
        db = Database(Path(folder) / "bench.sqlite3")
        await db.open()
        try:
            await _prepare(db, users)

            async def writer(user: int) -> None:
                for n in range(saves):
                    await save(db, user, n)

            started = time.perf_counter()
            await asyncio.gather(*(writer(user) for user in range(1, users + 1)))
            elapsed = time.perf_counter() - started
        finally:
            await db.close()
    return users * saves / elapsed


async def bench_saves(users: int, saves: int) -> None:
    print(f"saves: {users} writers at once, {saves} saves each (median of 3)")
    for name, save in (("one trip (shipped)", _one_trip), ("unit with a read", _two_trips)):
        rates = [await _saves_per_second(save, users, saves) for _ in range(3)]
        print(f"  {name:22} {statistics.median(rates):8.0f} saves/s")


async def bench_reminders(count: int) -> None:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "reminders.sqlite3"
        db = Database(path)
        await db.open()
        await db.close()
        conn = sqlite3.connect(path)
        conn.execute("INSERT INTO users (id, first_seen, last_seen) VALUES (1, 'x', 'x')")
        rows = []
        for n in range(count):
            if n < 100:  # due: untouched for a month, never reminded
                rows.append((1, "2026-01-01T00:00:00+00:00", None))
            elif n % 2:  # reminded after their last edit long ago
                rows.append((1, "2025-06-01T00:00:00+00:00", "2025-07-01T00:00:00+00:00"))
            else:  # edited recently
                rows.append((1, "2026-12-01T00:00:00+00:00", None))
        conn.executemany(
            "INSERT INTO drafts (user_id, language, created_at, updated_at, reminded_at) "
            "VALUES (?, 'fi', '2025-01-01', ?, ?)",
            rows,
        )
        conn.commit()
        before = "2026-11-01T00:00:00+00:00"
        plain = reminders._DUE.replace(" INDEXED BY drafts_reminder_due", "")
        print(f"reminders: due query over {count} unsubmitted drafts, 100 due (median of 20)")
        for name, sql in (("partial index (shipped)", reminders._DUE), ("planner's choice", plain)):
            plan = " ".join(r[3] for r in conn.execute(f"EXPLAIN QUERY PLAN {sql}", (before, 100)))
            times = []
            for _ in range(20):
                started = time.perf_counter()
                found = conn.execute(sql, (before, 100)).fetchall()
                times.append((time.perf_counter() - started) * 1000)
            assert len(found) == 100
            print(f"  {name:24} {statistics.median(times):8.3f} ms   {plan}")
        conn.close()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--users", type=int, default=200)
    parser.add_argument("--saves", type=int, default=10)
    parser.add_argument("--drafts", type=int, default=100_000)
    args = parser.parse_args()
    asyncio.run(bench_saves(args.users, args.saves))
    asyncio.run(bench_reminders(args.drafts))


if __name__ == "__main__":
    main()
