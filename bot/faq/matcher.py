"""Matching a typed question to a curated FAQ entry. Knows nothing of Telegram.

The index maps every stem of every question, variant and keyword to the entries using it, weighted
by rarity (IDF). A query's stems are expanded to similar stems of the vocabulary (rapidfuzz ratio
for typos, containment for Finnish compounds), and each candidate variant is scored by how much
of the query it explains and how much of it the query covers (an F-score over IDF weights). This
avoids the failure of WRatio/partial scorers, which give a one-shared-word query a near-perfect
score. Keywords add a bounded bonus. The best variant is the entry's score; a second stage then
moves the leaders' scores by how much of the query the entry's whole vocabulary covers.
"""

from __future__ import annotations

import bisect
import heapq
import math
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field

from rapidfuzz import fuzz, process

from bot.config import LANGUAGES
from bot.content import Content
from bot.faq.normalise import tokens, words
from storage.learned import OUT_OF_SCOPE, VARIANT, Learned

# Decided from the labelled evaluation set (content/eval/faq_eval.tsv, `python -m bot eval-faq`)
# and, for ANSWER_SCORE, 165 out-of-scope probes written apart from the frozen held-out set: with
# the variants added in December 2026, 68 answered 0.849 of the shipped in-scope questions directly
# and 9 of the probes (64: 0.877 and 17; the content before, at 64: 0.726 and 16).
# ANSWER_GAP went from 6 to 9 with the coverage stage below, which lifts runners-up too.
ANSWER_SCORE = 68.0  # at least this, and
ANSWER_GAP = 9.0  # this far ahead of the runner-up: answer directly
# At least this: "did you mean" with up to three entries; below it "I don't know". Raised from 36
# (issue 19): from 36 to 55 most scores were out-of-scope questions sharing a word with an entry.
SUGGEST_SCORE = 56.0
# Under "I don't know": the FAQ's nearest questions from this score, as buttons that make no
# claim (a "did you mean" from here misled people asking about other services).
CLOSEST_SCORE = 36.0
SEE_ALSO_WITHIN = 16.0  # under an answer, runners-up this close to it (and >= SUGGEST_SCORE)
KEYWORD_BONUS = 6.0  # per keyword found in the query,
KEYWORD_BONUS_MAX = 12.0  # at most this in all
FUZZY_CUTOFF = 82.0  # rapidfuzz ratio for a typo to count as the same stem
COMPOUND_SIMILARITY = 0.75  # "strategia" inside "lapsistrategia"
# Second stage: how much of the query the entry's whole vocabulary (question, every variant,
# keywords) explains moves its score by COVERAGE_WEIGHT x (coverage - COVERAGE_NEUTRAL). A query
# whose words are spread over several variants of one entry is in scope; a near-domain question
# sharing only its question words with one variant is not. Chosen on faq_eval.tsv and tuning.tsv
# (docs/matching.md).
COVERAGE_WEIGHT = 40.0
COVERAGE_NEUTRAL = 0.7
# A query word the language's vocabulary does not know at all ("Erasmus", "STEA", "holiday")
# counts this many times in the coverage's denominator: it names something the FAQ is not about.
COVERAGE_UNKNOWN = 3.0


@dataclass(frozen=True)
class Scored:
    entry_id: str
    score: float


@dataclass(frozen=True)
class Match:
    outcome: str  # "answer" | "suggest" | "none"
    normalized: str
    language: str  # the language whose index produced the match
    ranked: tuple[Scored, ...] = ()

    @property
    def best(self) -> Scored | None:
        return self.ranked[0] if self.ranked else None

    @property
    def suggestions(self) -> tuple[Scored, ...]:
        return self.ranked[:3] if self.outcome == "suggest" else ()

    @property
    def closest(self) -> tuple[Scored, ...]:
        """Under "I don't know": the nearest entries, if any came near at all."""
        if self.outcome != "none":
            return ()
        return tuple(s for s in self.ranked[:3] if s.score >= CLOSEST_SCORE)

    @property
    def see_also(self) -> tuple[Scored, ...]:
        """Under a direct answer: the runners-up close enough to it to be what was meant."""
        if self.outcome != "answer" or not self.ranked:
            return ()
        floor = max(SUGGEST_SCORE, self.ranked[0].score - SEE_ALSO_WITHIN)
        return tuple(s for s in self.ranked[1:3] if s.score >= floor)


@dataclass
class _Index:
    language: str
    docs: list[tuple[str, tuple[str, ...]]] = field(default_factory=list)  # (entry id, tokens)
    postings: dict[str, list[int]] = field(default_factory=lambda: defaultdict(list))
    idf: dict[str, float] = field(default_factory=dict)
    doc_weights: list[float] = field(default_factory=list)
    # keyword stem -> [(entry id, keyword number)], and how many stems each keyword has
    keyword_postings: dict[str, list[tuple[str, int]]] = field(
        default_factory=lambda: defaultdict(list)
    )
    keyword_sizes: dict[tuple[str, int], int] = field(default_factory=dict)
    vocabulary: list[str] = field(default_factory=list)
    # prefixes and suffixes (5+ letters) of longer stems -> the stems: Finnish compounds
    affixes: dict[str, set[str]] = field(default_factory=lambda: defaultdict(set))
    unknown_weight: float = 1.0
    expansions: dict[str, dict[str, float]] = field(default_factory=dict)
    # stem -> the entries using it (for IDF; kept to add learned variants without a rebuild)
    document_frequency: dict[str, set[str]] = field(default_factory=lambda: defaultdict(set))


class FaqMatcher:
    """Built once per content version; `match` is then cheap and safe to call concurrently."""

    def __init__(self, content: Content, learned: Iterable[Learned] = ()) -> None:
        self.content = content
        self._indexes = {language: self._build(language) for language in LANGUAGES}
        # What coordinators taught (storage.learned), in the order taught: a later decision on
        # the same question replaces an earlier one.
        self.learned: dict[tuple[str, str], Learned] = {}
        self.out_of_scope: set[str] = set()
        self.learn_all(learned)

    def learn_all(self, items: Iterable[Learned]) -> None:
        for item in items:
            self.learn(item)

    def learn(self, item: Learned) -> bool:
        """Take a coordinator's decision at once: a variant joins the index of its language (no
        rebuild), an out-of-scope question is answered "I don't know". False if it cannot apply
        (an entry or language the content does not have)."""
        if item.language not in LANGUAGES:
            return False
        if item.kind == VARIANT and (
            item.entry_id not in self.content.entries
            or item.language not in self.content.entries[item.entry_id].text
        ):
            return False
        key = (item.language, item.query)
        earlier = self.learned.get(key)
        if earlier == item:
            return True
        self.learned[key] = item
        if earlier is not None and earlier.kind == VARIANT:
            # A variant cannot be taken out of an index: rebuild with the decisions as they are.
            self._indexes = {language: self._build(language) for language in LANGUAGES}
            self.out_of_scope = set()
            for taught in self.learned.values():
                self._apply(taught)
        else:
            self._apply(item)
        return True

    def _apply(self, item: Learned) -> None:
        if item.kind == OUT_OF_SCOPE:
            self.out_of_scope.add(item.query)
        elif item.entry_id is not None:
            self.out_of_scope.discard(item.query)
            self._add_variant(self._indexes[item.language], item.entry_id, item.query)

    def _add_variant(self, index: _Index, entry_id: str, phrase: str) -> None:
        stems = tuple(tokens(phrase, index.language))
        if not stems:
            return
        doc = len(index.docs)
        index.docs.append((entry_id, stems))
        index.doc_weights.append(1.0)
        changed = set()
        for stem in stems:
            index.postings[stem].append(doc)
            users = index.document_frequency[stem]
            if entry_id not in users:
                users.add(entry_id)
                changed.add(stem)
        total = max(1, len(self.content.entries))
        for stem in changed:
            if stem not in index.idf:
                bisect.insort(index.vocabulary, stem)
                for cut in range(5, len(stem)):
                    index.affixes[stem[:cut]].add(stem)
                    index.affixes[stem[-cut:]].add(stem)
            index.idf[stem] = math.log(1 + total / len(index.document_frequency[stem]))
        for other in {d for stem in changed for d in index.postings[stem]} | {doc}:
            index.doc_weights[other] = sum(index.idf[s] for s in index.docs[other][1]) or 1.0
        index.expansions.clear()  # the vocabulary changed: typo expansions are stale

    def _build(self, language: str) -> _Index:
        index = _Index(language)
        document_frequency = index.document_frequency
        for entry in self.content.entries.values():
            text = entry.text.get(language)
            if text is None:
                continue
            for phrase in (text.question, *text.variants):
                stems = tuple(tokens(phrase, language))
                if not stems:
                    continue
                for stem in stems:
                    index.postings[stem].append(len(index.docs))
                    document_frequency[stem].add(entry.id)
                index.docs.append((entry.id, stems))
            keyword_stems = [tuple(tokens(k, language)) for k in text.keywords]
            for number, stems in enumerate(k for k in keyword_stems if k):
                index.keyword_sizes[(entry.id, number)] = len(stems)
                for stem in stems:
                    index.keyword_postings[stem].append((entry.id, number))
                    document_frequency[stem].add(entry.id)
        total = max(1, len(self.content.entries))
        index.idf = {
            stem: math.log(1 + total / len(ids)) for stem, ids in document_frequency.items()
        }
        index.vocabulary = sorted(index.idf)
        index.unknown_weight = math.log(1 + total)  # as rare as a word can be
        index.doc_weights = [sum(index.idf[s] for s in stems) or 1.0 for _, stems in index.docs]
        for stem in index.vocabulary:
            for cut in range(5, len(stem)):
                index.affixes[stem[:cut]].add(stem)
                index.affixes[stem[-cut:]].add(stem)
        return index

    def _expand(self, index: _Index, stem: str) -> dict[str, float]:
        """Vocabulary stems this query stem stands for, with a similarity in (0, 1]."""
        cached = index.expansions.get(stem)
        if cached is not None:
            return cached
        similar: dict[str, float] = {}
        if stem in index.idf:
            similar[stem] = 1.0
        if len(stem) >= 4:
            for other, score, _ in process.extract(
                stem, index.vocabulary, scorer=fuzz.ratio, score_cutoff=FUZZY_CUTOFF, limit=8
            ):
                similar.setdefault(other, score / 100)
        if len(stem) >= 5:
            # "strategia" inside "lapsistrategia", or "lapsistrategia" typed for "strategia"
            compounds = set(index.affixes.get(stem, ()))
            compounds.update(
                part
                for cut in range(5, len(stem))
                for part in (stem[:cut], stem[-cut:])
                if part in index.idf
            )
            for other in compounds:
                similar.setdefault(other, COMPOUND_SIMILARITY)
        if len(index.expansions) > 50_000:  # bounded: a long-running bot sees many typos
            index.expansions.clear()
        index.expansions[stem] = similar
        return similar

    def _rank(self, query: list[str], language: str) -> list[Scored]:
        index = self._indexes[language]
        expansions = [self._expand(index, stem) for stem in query]
        weights = [
            max((index.idf[o] * s for o, s in ex.items()), default=index.unknown_weight)
            if ex
            else index.unknown_weight
            for ex in expansions
        ]
        query_weight = sum(weights)

        # Walk the postings of every expanded stem once, keeping per document the best
        # similarity for each query stem (precision) and for each of its own stems (recall).
        per_query: dict[int, dict[int, float]] = defaultdict(dict)
        per_stem: dict[int, dict[str, float]] = defaultdict(dict)
        for position, expansion in enumerate(expansions):
            for other, similarity in expansion.items():
                for doc in index.postings.get(other, ()):
                    found = per_query[doc]
                    if similarity > found.get(position, 0.0):
                        found[position] = similarity
                    matched = per_stem[doc]
                    if similarity > matched.get(other, 0.0):
                        matched[other] = similarity

        best: dict[str, float] = {}
        idf = index.idf
        # A document whose F-score could not reach a suggestion even with full recall and every
        # keyword bonus cannot matter: skip the rest of its arithmetic.
        hopeless = (
            SUGGEST_SCORE - KEYWORD_BONUS_MAX - COVERAGE_WEIGHT * (1 - COVERAGE_NEUTRAL)
        ) / 100
        for doc, found in per_query.items():
            precision = sum(weights[p] * v for p, v in found.items()) / query_weight
            if 2 * precision / (precision + 1) < hopeless:
                continue
            recall = sum(idf[o] * v for o, v in per_stem[doc].items()) / index.doc_weights[doc]
            score = 100 * 2 * precision * recall / (precision + recall)
            entry_id = index.docs[doc][0]
            if score > best.get(entry_id, 0.0):
                best[entry_id] = score

        covered = set(query).union(*expansions)
        keyword_hits: dict[tuple[str, int], int] = defaultdict(int)
        for stem in covered:
            for keyword in index.keyword_postings.get(stem, ()):
                keyword_hits[keyword] += 1
        per_entry: dict[str, int] = defaultdict(int)
        for keyword, hits in keyword_hits.items():
            if hits == index.keyword_sizes[keyword]:
                per_entry[keyword[0]] += 1
        for entry_id, hits in per_entry.items():
            bonus = min(KEYWORD_BONUS_MAX, KEYWORD_BONUS * hits)
            best[entry_id] = min(100.0, best.get(entry_id, 0.0) + bonus)
        candidates = heapq.nsmallest(8, best.items(), key=lambda item: (-item[1], item[0]))
        users = index.document_frequency
        unknown_extra = (COVERAGE_UNKNOWN - 1) * sum(
            w for w, ex in zip(weights, expansions, strict=True) if not ex
        )
        adjusted = {}
        for entry_id, score in candidates:
            explained = sum(
                weight
                * max(
                    (v for o, v in expansion.items() if entry_id in users.get(o, ())), default=0.0
                )
                for weight, expansion in zip(weights, expansions, strict=True)
            )
            coverage = explained / (query_weight + unknown_extra) if query_weight else 0.0
            shift = COVERAGE_WEIGHT * (coverage - COVERAGE_NEUTRAL)
            adjusted[entry_id] = max(0.0, min(100.0, score + shift))
        top = heapq.nsmallest(5, adjusted.items(), key=lambda item: (-item[1], item[0]))
        return [Scored(entry_id, round(score, 1)) for entry_id, score in top]

    def match(self, query: str, language: str) -> Match:
        """Match in the user's language; if that gives nothing usable, try the other two."""
        normalized = " ".join(words(query))
        if normalized in self.out_of_scope:  # a coordinator said the FAQ does not cover it
            return Match("none", normalized, language)
        first = self._match_in(query, language)
        if first.outcome != "none":
            return first
        closest = first  # when no language gives anything usable, the nearest miss is logged
        for other in LANGUAGES:
            if other != language:
                found = self._match_in(query, other)
                if found.outcome != "none":
                    return found
                if found.best and (not closest.best or found.best.score > closest.best.score):
                    closest = found
        return closest

    def _match_in(self, query: str, language: str) -> Match:
        stems = tokens(query, language)
        normalized = " ".join(words(query))
        if not stems:
            return Match("none", normalized, language)
        ranked = self._rank(stems, language)
        top = ranked[0].score if ranked else 0.0
        runner_up = ranked[1].score if len(ranked) > 1 else 0.0
        if top >= ANSWER_SCORE and top - runner_up >= ANSWER_GAP:
            outcome = "answer"
        elif top >= SUGGEST_SCORE:
            outcome = "suggest"
            ranked = [s for s in ranked if s.score >= SUGGEST_SCORE]
        else:
            outcome = "none"
        return Match(outcome, normalized, language, tuple(ranked))
