"""Grouping near-identical logged questions, for the coordinators' /unanswered report."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from rapidfuzz import fuzz, process


def group_similar(queries: list[str], threshold: float = 75.0) -> list[tuple[str, int, list[str]]]:
    """Cluster near-identical questions: (representative, count, other phrasings), biggest first.

    token_sort_ratio compares whole questions regardless of word order, without letting a short
    question that is a subset of a long one count as the same (as token_set_ratio would).
    """
    counts: dict[str, int] = defaultdict(int)
    for query in queries:
        counts[query] += 1
    clusters: list[list[Any]] = []  # [representative, count, variants]
    for query, count in sorted(counts.items(), key=lambda item: (-item[1], item[0])):
        found = process.extractOne(
            query, [c[0] for c in clusters], scorer=fuzz.token_sort_ratio, score_cutoff=threshold
        )
        if found is None:
            clusters.append([query, count, []])
        else:
            cluster = clusters[found[2]]
            cluster[1] += count
            cluster[2].append(query)
    clusters.sort(key=lambda c: (-c[1], c[0]))
    return [(c[0], c[1], c[2]) for c in clusters]
