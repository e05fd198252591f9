"""FAQ matcher speed: index build time and per-query latency, shipped and 5,000-entry content.

    python bench/faq_bench.py [--entries 5000] [--rounds 5]

Prints figures; asserts nothing. Targets (issue 3): p99 < 2 ms shipped, < 20 ms at 5,000 entries,
index build < 300 ms shipped.
"""

from __future__ import annotations

import argparse
import random
import statistics
import time
from importlib import resources

from bot import content as content_module
from bot.content import Content, Entry, EntryText
from bot.faq import FaqMatcher, read_labelled, words


def _percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def synthetic(base: Content, size: int, seed: int = 17) -> Content:
    """`size` entries whose texts recombine the shipped vocabulary (plus made-up words)."""
    rng = random.Random(seed)
    vocabulary = {
        lang: sorted({w for e in base.entries.values() for w in words(e.text[lang].answer)})
        for lang in ("fi", "sv", "en")
    }
    entries = dict(base.entries)
    for n in range(size - len(entries)):
        texts = {}
        for lang, vocab in vocabulary.items():

            def phrase(k: int, vocab: list[str] = vocab, n: int = n) -> str:
                return " ".join(rng.choice(vocab) for _ in range(k)) + f" x{n}"

            texts[lang] = EntryText(
                question=phrase(rng.randint(4, 9)),
                variants=tuple(phrase(rng.randint(3, 9)) for _ in range(4)),
                keywords=tuple(rng.choice(vocab) for _ in range(5)),
                answer="…",
                source="synthetic",
                short=phrase(2)[:40],
            )
        entries[f"syn-{n}"] = Entry(f"syn-{n}", "synthetic", (), texts)
    return Content(base.topics, entries, base.contacts)


def measure(content: Content, queries: list[tuple[str, str]], rounds: int) -> dict[str, float]:
    builds = []
    for _ in range(3):
        started = time.perf_counter()
        matcher = FaqMatcher(content)
        builds.append(time.perf_counter() - started)
    for query, language in queries[:20]:  # warm caches as a running bot would have them
        matcher.match(query, language)
    latencies = []
    for _ in range(rounds):
        for query, language in queries:
            started = time.perf_counter()
            matcher.match(query, language)
            latencies.append(time.perf_counter() - started)
    return {
        "entries": len(content.entries),
        "build_ms": statistics.median(builds) * 1000,
        "queries": len(latencies),
        "p50_ms": _percentile(latencies, 0.50) * 1000,
        "p99_ms": _percentile(latencies, 0.99) * 1000,
        "max_ms": max(latencies) * 1000,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--entries", type=int, default=5000)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()

    shipped = content_module.load_valid()
    labelled = read_labelled(
        resources.files("content").joinpath("eval", "faq_eval.tsv").read_text("utf-8").splitlines()
    )
    queries = [(item.query, item.language) for item in labelled]
    print(f"{'content':<12} {'entries':>7} {'build ms':>9} {'queries':>8} "
          f"{'p50 ms':>7} {'p99 ms':>7} {'max ms':>7}")  # fmt: skip
    for name, content in (
        ("shipped", shipped),
        ("synthetic", synthetic(shipped, args.entries)),
    ):
        figures = measure(content, queries, args.rounds if name == "shipped" else 1)
        print(
            f"{name:<12} {figures['entries']:>7} {figures['build_ms']:>9.1f} "
            f"{figures['queries']:>8} {figures['p50_ms']:>7.3f} {figures['p99_ms']:>7.3f} "
            f"{figures['max_ms']:>7.2f}"
        )


if __name__ == "__main__":
    main()
