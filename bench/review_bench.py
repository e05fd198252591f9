"""The coordinators' review list (/outlines) over many submitted outlines: one page unfiltered,
filtered by status and sub-theme, and with a text search (which runs in Python, see
docs/review.md).

    python bench/review_bench.py [--outlines 10000] [--rounds 20]

Prints the median and the slowest of `rounds` page reads for each query.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

STATUSES = ("submitted", "in_review", "returned", "resubmitted", "accepted", "not_proceeding")
SUBTHEMES = ("identify", "professionals", "leisure")


async def _create(path: Path, outlines: int) -> None:
    from storage import Database

    db = Database(path)
    await db.open()
    now = "2027-03-01T10:00:00+00:00"
    async with db.transaction() as conn:
        for n in range(outlines):
            draft_id = await conn.insert(
                "INSERT INTO drafts (status, language, created_at, updated_at, submitted_at) "
                "VALUES (?, 'fi', ?, ?, ?)",
                (STATUSES[n % len(STATUSES)], now, now, now),
            )
            for section, value in (
                ("title", f"Hanke {n}: lasten ja nuorten harrastuspolut"),
                ("organisation", f"Esimerkkikaupunki {n % 300}"),
                ("subthemes", SUBTHEMES[n % len(SUBTHEMES)]),
            ):
                await conn.execute(
                    "INSERT INTO draft_answers (draft_id, section_id, value, updated_at) "
                    "VALUES (?, ?, ?, ?)",
                    (draft_id, section, value, now),
                )
            await conn.execute(
                "INSERT INTO review_events (draft_id, via, from_status, to_status, created_at) "
                "VALUES (?, 'cli', 'draft', 'submitted', ?)",
                (draft_id, now),
            )
    await db.close()


async def _measure(path: Path, rounds: int) -> None:
    from storage import Database
    from storage.review import ListFilter, page

    db = Database(path)
    await db.open()
    queries = {
        "all, first page": ListFilter(),
        "status in_review": ListFilter(status="in_review"),
        "sub-theme leisure": ListFilter(subtheme="leisure"),
        "search 'kaupunki 17'": ListFilter(text="kaupunki 17"),
    }
    try:
        for label, selection in queries.items():
            times = []
            for _ in range(rounds):
                start = time.perf_counter()
                _found, total = await page(db, selection, 8, 0)
                times.append((time.perf_counter() - start) * 1000)
            print(
                f"{label:24} {total:6d} match  median {statistics.median(times):6.1f} ms  "
                f"slowest {max(times):6.1f} ms"
            )
    finally:
        await db.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--outlines", type=int, default=10_000)
    parser.add_argument("--rounds", type=int, default=20)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "bench.sqlite3"
        asyncio.run(_create(path, args.outlines))
        print(f"{args.outlines} submitted outlines")
        asyncio.run(_measure(path, args.rounds))


if __name__ == "__main__":
    main()
