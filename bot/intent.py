"""What a typed message is: small talk, a question, or an answer to the step a flow waits on.

Plain functions over content (content/smalltalk.toml, content/questions.toml) and the outline's
parsers; nothing here knows Telegram. The handlers route on the result (`handlers.flows`).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache

from bot.content import Content, QuestionWords, SmallTalk
from bot.outline import read_money, read_month, valid_email, valid_phone

# Skin tones, variation selectors and the zero-width joiner: "👍🏽" is "👍".
_EMOJI_PARTS = re.compile("[\U0001f3fb-\U0001f3ff\ufe0e\ufe0f\u200d]")
_WORD = re.compile(r"[^\W_]+")
_REPEATS = re.compile(r"(.)\1{2,}")  # "kiitoksiaaa" → "kiitoksia"
SMALLTALK_WORDS = 8  # longer messages are never small talk, whatever they contain
SMALLTALK_CHARS = 80  # nor are longer texts: they are not even read for it


def _fold(text: str) -> str:
    if text.isascii():
        return text.lower()
    decomposed = unicodedata.normalize("NFD", unicodedata.normalize("NFKC", text).casefold())
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


def phrase_key(text: str) -> tuple[str, ...]:
    """The words of `text` as small talk is compared: case, ä/ö/å, punctuation and emoji
    ignored, letters typed three times or more read once. A message of emoji only is its emoji."""
    folded = _REPEATS.sub(r"\1", _fold(text))
    words = tuple(_WORD.findall(folded))
    if words:
        return words
    return tuple(ch for ch in _EMOJI_PARTS.sub("", folded) if not ch.isspace() and _is_symbol(ch))


def _is_symbol(ch: str) -> bool:
    return unicodedata.category(ch) == "So"


# The patterns of the content in use, by phrase key; built once per content version.
_built: dict[int, tuple[tuple[SmallTalk, ...], dict[tuple[str, ...], str]]] = {}


def _patterns(smalltalk: tuple[SmallTalk, ...]) -> dict[tuple[str, ...], str]:
    found = _built.get(id(smalltalk))
    if found is not None and found[0] is smalltalk:
        return found[1]
    patterns = {
        phrase_key(pattern): kind.id
        for kind in smalltalk
        for listed in kind.patterns.values()
        for pattern in listed
        if phrase_key(pattern)
    }
    _built.clear()  # only the latest content is matched against
    _built[id(smalltalk)] = (smalltalk, patterns)
    return patterns


def smalltalk_kind(text: str, smalltalk: tuple[SmallTalk, ...]) -> SmallTalk | None:
    """The kind of small talk `text` is, if it is nothing but small talk ("ok thanks!",
    "Moi 👋", "are you a person?"), in any of the languages; the last phrase decides."""
    if len(text) > SMALLTALK_CHARS:
        return None
    words = phrase_key(text)
    if not words or len(words) > SMALLTALK_WORDS:
        return None
    patterns = _patterns(smalltalk)
    longest = max(len(key) for key in patterns) if patterns else 0
    position, last = 0, None
    while position < len(words):
        for size in range(min(longest, len(words) - position), 0, -1):
            found = patterns.get(words[position : position + size])
            if found is not None:
                position, last = position + size, found
                break
        else:
            return None
    return next((kind for kind in smalltalk if kind.id == last), None)


def has_words(text: str) -> bool:
    """Whether `text` has a letter in it: only emoji, digits or punctuation is not a question."""
    return any(ch.isalpha() for ch in text)


def ends_with_question_mark(text: str) -> bool:
    """The last mark before the end is a question mark: "…grant?", "…grant? 🙂", "…grant?!"."""
    for ch in reversed(text):
        if ch in "?？":
            return True
        if ch.isalnum():
            return False
    return False


def starts_with_question_word(text: str, words: QuestionWords) -> bool:
    """The first word opens a question in any of the languages: people ask in the language they
    think in, not always the one the bot speaks."""
    first = _WORD.search(_fold(text[:60]))
    if first is None:
        return False
    word = first.group()
    for language, listed in words.words.items():
        if word in _folded(listed):
            return True
        for suffix in _folded(frozenset(words.suffixes.get(language, ()))):
            stem = word[: -len(suffix)]
            # "taulu-kko", "lu-kko": a noun, not a verb with the suffix ("voi-ko")
            if word.endswith(suffix) and len(stem) >= 2 and not stem.endswith(suffix[0]):
                return True
    return False


@cache
def _folded(words: frozenset[str]) -> frozenset[str]:
    return frozenset(_fold(word) for word in words)


@dataclass(frozen=True)
class Expect:
    """What typed text the current step takes as its answer.

    kind: an outline section kind (text, email, phone, month, money), "name" (a free name,
    e.g. a draft's), or "buttons" (typed text is never the answer: choices, the checklist).
    min_length: for text, the shortest answer the step takes."""

    kind: str
    min_length: int = 1

    @property
    def typed(self) -> bool:
        return self.kind != "buttons"


# A free-text section this long or longer asks for a description: there a statement of the
# section's length without a question mark is an answer, whatever word it begins with.
LONG_TEXT_STEP = 30


@dataclass(frozen=True)
class Intent:
    kind: str  # "smalltalk" | "question" | "answer"
    smalltalk: SmallTalk | None = None


ANSWER = Intent("answer")
QUESTION = Intent("question")


def in_step(
    text: str, expect: Expect, content: Content, faq_answers: Callable[[str], bool]
) -> Intent:
    """What a message typed while a step waits is: small talk, a question to answer from the
    FAQ, or (the default) the answer to the step, which the flow then validates.

    A question ends with "?", starts with a question word, or is one the FAQ answers with
    confidence (`faq_answers`, called only when the rest leaves it open) — unless it reads as
    an answer to this step: a value that parses for e-mail, phone, month and money steps; for
    long free-text steps a statement of the step's length without "?"; for short text steps
    (a title, a name) anything without "?" or a question word."""
    kind = smalltalk_kind(text, content.smalltalk)
    if kind is not None:
        return Intent("smalltalk", kind)
    stripped = text.strip()
    if _parses(expect, stripped) or not has_words(stripped):
        return ANSWER  # "??" or "🤔" is no question to look up: the step handles it
    asks = ends_with_question_mark(stripped) or starts_with_question_word(
        stripped, content.question_words
    )
    if expect.kind in ("text", "name"):
        long_step = expect.kind == "text" and expect.min_length >= LONG_TEXT_STEP
        if long_step and len(stripped) >= expect.min_length and not ends_with_question_mark(text):
            return ANSWER
        if asks:
            return QUESTION
        # Too short to be this step's answer anyway: a question only if the FAQ knows it.
        if long_step and has_words(stripped) and faq_answers(stripped):
            return QUESTION
        return ANSWER
    if asks or (has_words(stripped) and faq_answers(stripped)):
        return QUESTION
    return ANSWER


def _parses(expect: Expect, text: str) -> bool:
    if expect.kind == "email":
        return valid_email(text)
    if expect.kind == "phone":
        return valid_phone(text)
    if expect.kind == "month":
        return read_month(text).problem != "month"  # a year out of range is still a month
    if expect.kind == "money":
        return read_money(text).value is not None
    return False
