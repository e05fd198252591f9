"""What coordinators taught the FAQ matcher: variants attached to entries, out-of-scope marks."""

from __future__ import annotations

from dataclasses import dataclass

from storage.db import Database, utcnow

VARIANT = "variant"
OUT_OF_SCOPE = "out_of_scope"


@dataclass(frozen=True)
class Learned:
    kind: str  # VARIANT or OUT_OF_SCOPE
    language: str
    query: str  # normalized
    entry_id: str | None = None


async def all_learned(db: Database) -> list[Learned]:
    rows = await db.fetchall("SELECT kind, language, query, entry_id FROM faq_learned ORDER BY id")
    return [Learned(*row) for row in rows]


async def teach(db: Database, items: list[Learned]) -> None:
    """Store the decisions in one transaction; a question decided before is decided anew."""
    async with db.transaction() as conn:
        for item in items:
            await conn.execute(
                "INSERT INTO faq_learned (created_at, kind, language, query, entry_id) "
                "VALUES (?, ?, ?, ?, ?) ON CONFLICT (query, language) DO UPDATE SET "
                "created_at = excluded.created_at, kind = excluded.kind, "
                "entry_id = excluded.entry_id",
                (utcnow(), item.kind, item.language, item.query[:500], item.entry_id),
            )


async def counts(db: Database) -> dict[str, int]:
    rows = await db.fetchall("SELECT kind, COUNT(*) FROM faq_learned GROUP BY kind")
    found = {row[0]: row[1] for row in rows}
    return {VARIANT: found.get(VARIANT, 0), OUT_OF_SCOPE: found.get(OUT_OF_SCOPE, 0)}
