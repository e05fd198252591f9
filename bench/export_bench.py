"""Export speed and memory: 10,000 submitted outlines to CSV, XLSX, JSON and the HTML report.

    python bench/export_bench.py [--outlines 10000]

Each format runs in a fresh process (so peak RSS is that format's alone) and writes to a file the
way `python -m bot export` does, three times (the median is shown, with the spread). Content
loading is the bot's start-up and is not timed. Targets (issue 6): CSV under 1 s, XLSX under 5 s.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import resource
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

PARAGRAPH = (
    "Hanke kehittää yhdessä perheiden, koulujen ja nuorisotyön kanssa uusia tapoja tukea "
    "lapsia arjessa; tulokset levitetään valtakunnallisesti. "
)


async def _create(path: Path, outlines: int) -> None:
    from bot import content as content_module
    from storage import Database

    db = Database(path)
    await db.open()
    await db.close()
    content = content_module.load_valid()
    now = "2027-03-01T10:00:00+00:00"
    values = {
        "org_type": "association",
        "subthemes": "identify,leisure",
        "email": "name@example.org",
        "phone": "+358 40 123 4567",
        "start_month": "2027-04",
        "end_month": "2028-10",
        "budget": "250000",
    }
    with sqlite3.connect(path) as conn:
        conn.executemany(
            "INSERT INTO users (id, first_seen, last_seen) VALUES (?, ?, ?)",
            [(n, now, now) for n in range(1, outlines + 1)],
        )
        conn.executemany(
            "INSERT INTO drafts (id, user_id, status, language, created_at, updated_at, "
            "submitted_at) VALUES (?, ?, 'submitted', 'fi', ?, ?, ?)",
            [
                (n, n, now, now, f"2027-0{1 + n % 9}-1{n % 10}T12:00:00+00:00")
                for n in range(1, outlines + 1)
            ],
        )
        for n in range(1, outlines + 1):
            conn.executemany(
                "INSERT INTO draft_answers (draft_id, section_id, value, updated_at) "
                "VALUES (?, ?, ?, ?)",
                [
                    (n, s.id, values.get(s.id, f"{s.id} {n}: " + PARAGRAPH * (1 + n % 5)), now)
                    for s in content.outline
                ],
            )


def one(fmt: str, database: Path, output: Path) -> None:
    """Runs in its own process: export once, print JSON figures."""
    from bot import content as content_module
    from bot import i18n
    from bot.exports import export
    from storage import Database
    from storage.reports import Filter

    # Content and imports are loaded before the clock starts: they are the bot's start-up.
    content = content_module.load_valid()
    import xlsxwriter  # noqa: F401

    async def run() -> int:
        db = Database(database)
        await db.open()
        try:
            with output.open("wb") as fh:
                return await export(
                    fh, fmt, db, content, Filter(), "fi", lambda m: i18n.gettext("fi", m)
                )
        finally:
            await db.close()

    baseline = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    started = time.perf_counter()
    count = asyncio.run(run())
    seconds = time.perf_counter() - started
    print(
        json.dumps(
            {
                "format": fmt,
                "outlines": count,
                "seconds": seconds,
                "rss_before_mb": baseline,
                "rss_peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                "file_mb": output.stat().st_size / 2**20,
            }
        )
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--outlines", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=3, help="runs per format (median shown)")
    parser.add_argument("--one", nargs=3, metavar=("FORMAT", "DB", "OUT"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        one(args.one[0], Path(args.one[1]), Path(args.one[2]))
        return
    folder = Path(tempfile.mkdtemp(prefix="et417-export-"))
    database = folder / "bot.sqlite3"
    started = time.perf_counter()
    asyncio.run(_create(database, args.outlines))
    print(f"{args.outlines} outlines created in {time.perf_counter() - started:.1f} s")
    print(
        f"{'format':<6} {'outlines':>8} {'seconds':>8} {'(min-max)':>11} {'RSS before':>10} "
        f"{'RSS peak':>8} {'file MB':>8}"
    )
    for fmt in ("csv", "xlsx", "json", "html"):
        runs = []
        for _ in range(args.repeat):  # this machine's speed varies; one run can mislead
            result = subprocess.run(
                [sys.executable, __file__, "--one", fmt, str(database), str(folder / f"o.{fmt}")],
                capture_output=True,
                text=True,
                check=True,
            )
            runs.append(json.loads(result.stdout.strip().splitlines()[-1]))
        runs.sort(key=lambda run: run["seconds"])
        f = runs[len(runs) // 2]
        spread = f"{runs[0]['seconds']:.2f}-{runs[-1]['seconds']:.2f}"
        print(
            f"{f['format']:<6} {f['outlines']:>8} {f['seconds']:>8.2f} {spread:>11} "
            f"{f['rss_before_mb']:>10.1f} {f['rss_peak_mb']:>8.1f} {f['file_mb']:>8.1f}"
        )


if __name__ == "__main__":
    main()
