"""Text to matching tokens: NFKC, case-folded, punctuation to spaces, Snowball stems, ASCII.

"hakemuksessa", "hakemus" and "hakemuksesa" meet, and a query typed without ä/ö/å matches.
Question words (kuka, milloin, paljonko...) are kept: they carry intent.
"""

from __future__ import annotations

import re
import tomllib
import unicodedata
from functools import lru_cache
from importlib import resources

import snowballstemmer

_STEMMERS = {"fi": "finnish", "sv": "swedish", "en": "english"}
# Dots and commas inside numbers ("4.1.7", "1,5") and hyphens inside words ("sub-theme",
# "ESR+-hanke") do not split: "ET 4.1.7" stays one token, "sub-themes" meets "subthemes".
_INNER = re.compile(r"(?<=\d)[.,](?=\d)|(?<=\w)[-‐‑](?=\w)")
_PUNCTUATION = re.compile(r"[^\w.]+|_|\.(?!\d)|(?<!\d)\.")
# Words that carry no meaning for matching (content/stopwords.toml). Question words are
# deliberately absent.
_STOPWORDS: dict[str, frozenset[str]] = {
    language: frozenset(words)
    for language, words in tomllib.loads(
        (resources.files("content") / "stopwords.toml").read_text(encoding="utf-8")
    )["stopwords"].items()
}


def fold(text: str) -> str:
    """Remove diacritics: "päätös" → "paatos", "på" → "pa"."""
    decomposed = unicodedata.normalize("NFD", text)
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


def words(text: str) -> list[str]:
    text = unicodedata.normalize("NFKC", text).casefold()
    text = _INNER.sub(lambda m: "." if m.group(0) in ".," else "", text)
    return [w for w in _PUNCTUATION.sub(" ", text).split() if w]


@lru_cache(maxsize=65536)
def _stem(word: str, language: str) -> str:
    return fold(_stemmer(language).stemWord(word))


@lru_cache(maxsize=3)
def _stemmer(language: str) -> snowballstemmer.BaseStemmer:
    return snowballstemmer.stemmer(_STEMMERS[language])


def tokens(text: str, language: str) -> list[str]:
    """Normalised, stemmed, folded tokens without stop words (duplicates removed, order kept)."""
    stop = _STOPWORDS[language]
    out: dict[str, None] = {}
    for word in words(text):
        if word in stop or fold(word) in stop:
            continue
        out[_stem(word, language)] = None
    return list(out)
