"""One terminology per language: content/glossary.toml, checked over what users read.

The glossary names, per language, a preferred term and the variants to avoid. `check-content`
reports every discouraged variant in the content files and in the UI catalogs, with the file and
the place in it, so that wording drifted apart by several writers comes back together.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from importlib import resources
from importlib.resources.abc import Traversable
from typing import Any

from babel.messages.pofile import read_po

from bot.config import LANGUAGES

GLOSSARY = "glossary.toml"
# Matching and ordering fields, not text anybody reads as the bot's wording: `variants` and
# `keywords` model how people ask, and people do write the discouraged words.
_NOT_CHECKED = frozenset({"id", "kind", "faq", "related", "variants", "keywords", "email", "phone"})


@dataclass(frozen=True)
class Term:
    language: str
    preferred: str
    discouraged: tuple[str, ...]
    note: str = ""
    allow: tuple[str, ...] = ()
    required: bool = False

    def patterns(self) -> list[re.Pattern[str]]:
        # At the start of a word, in any case: "yrkesutbildad" also finds "Yrkesutbildades".
        return [re.compile(r"(?<!\w)" + re.escape(v), re.IGNORECASE) for v in self.discouraged]


def _strings(value: Any, where: str, problems: list[str]) -> tuple[str, ...]:
    if value is None:
        return ()
    if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
        problems.append(f"{where}: must be a list of non-empty texts")
        return ()
    return tuple(v.strip() for v in value)


def load(root: Traversable, problems: list[str]) -> tuple[Term, ...]:
    """The glossary of a content folder; a folder without one has no terms to enforce."""
    item = root.joinpath(GLOSSARY)
    if not item.is_file():
        return ()
    try:
        with item.open("rb") as fh:
            data = tomllib.load(fh)
    except (OSError, tomllib.TOMLDecodeError) as error:
        problems.append(f"{GLOSSARY}: cannot read: {error}")
        return ()
    terms = []
    for index, raw in enumerate(data.get("term", []), 1):
        where = f"{GLOSSARY} term {index}"
        language, preferred = raw.get("language"), raw.get("preferred")
        if language not in LANGUAGES:
            problems.append(f"{where}: language must be one of {', '.join(LANGUAGES)}")
            continue
        if not isinstance(preferred, str) or not preferred.strip():
            problems.append(f"{where}: preferred must be a non-empty text")
            continue
        discouraged = _strings(raw.get("discouraged"), f"{where} discouraged", problems)
        if not discouraged:
            problems.append(f"{where}: discouraged needs at least one variant")
            continue
        note, required = raw.get("note", ""), raw.get("required", False)
        if not isinstance(note, str) or not isinstance(required, bool):
            problems.append(f"{where}: note must be a text and required true or false")
            continue
        allow = _strings(raw.get("allow"), f"{where} allow", problems)
        terms.append(Term(language, preferred.strip(), discouraged, note.strip(), allow, required))
    return tuple(terms)


# -- what users read --------------------------------------------------------------------------


def _walk(value: Any, where: list[str], language: str | None) -> Iterator[tuple[str, str, str]]:
    if isinstance(value, dict):
        for key, item in value.items():
            if key in _NOT_CHECKED:
                continue
            if key in LANGUAGES:
                yield from _walk(item, [*where, f"[{key}]"], key)
            else:
                yield from _walk(item, [*where, key], language)
    elif isinstance(value, list):
        for index, item in enumerate(value, 1):
            label = item.get("id", index) if isinstance(item, dict) else index
            yield from _walk(item, [*where[:-1], f"{where[-1]} {label}"] if where else [], language)
    elif isinstance(value, str) and language is not None:
        yield language, " ".join(where), value


def content_texts(root: Traversable) -> Iterator[tuple[str, str, str]]:
    """(language, where, text) for every text in the content files a user may read."""
    folders = [("", root)]
    if root.joinpath("faq").is_dir():
        folders.append(("faq/", root.joinpath("faq")))
    for prefix, folder in folders:
        items = sorted(
            (item for item in folder.iterdir() if item.name.endswith(".toml")),
            key=lambda item: item.name,
        )
        for item in items:
            if item.name == GLOSSARY:
                continue
            try:
                with item.open("rb") as fh:
                    data = tomllib.load(fh)
            except (OSError, tomllib.TOMLDecodeError):
                continue  # the content check reports unreadable files
            for language, where, text in _walk(data, [], None):
                yield language, f"{prefix}{item.name} {where}", text


def catalog_texts(locales: Traversable | None = None) -> Iterator[tuple[str, str, str]]:
    """(language, where, text) for every translated UI message."""
    locales = locales or resources.files("locales")
    for language in LANGUAGES:
        po = locales.joinpath(language, "LC_MESSAGES", "messages.po")
        with po.open("rb") as fh:
            catalog = read_po(fh, locale=language)
        name = f"locales/{language}/LC_MESSAGES/messages.po"
        for message in catalog:
            if not message.id or not message.string:
                continue
            msgid = message.id if isinstance(message.id, str) else message.id[0]
            strings = [message.string] if isinstance(message.string, str) else message.string
            short = msgid if len(msgid) <= 50 else msgid[:49] + "…"
            for text in strings:
                yield language, f"{name} msgid {short!r}", text


# -- the check --------------------------------------------------------------------------------


_WORD_REST = re.compile(r"\w*")


def _without(text: str, phrases: Iterable[str]) -> str:
    for phrase in phrases:
        text = re.sub(re.escape(phrase), lambda m: " " * len(m.group(0)), text, flags=re.I)
    return text


def check(terms: Iterable[Term], texts: Iterable[tuple[str, str, str]]) -> list[str]:
    """One problem per discouraged variant found, and one per required term never used."""
    terms = list(terms)
    compiled = [(term, term.patterns()) for term in terms]
    problems = []
    used: set[tuple[str, str]] = set()
    for language, where, text in texts:
        for term, patterns in compiled:
            if term.language != language:
                continue
            if term.preferred.casefold() in text.casefold():
                used.add((language, term.preferred))
            visible = _without(text, term.allow)
            for pattern in patterns:
                for found in pattern.finditer(visible):
                    end = _WORD_REST.match(text, found.end())
                    shown = text[found.start() : end.end() if end else found.end()]
                    note = f" ({term.note})" if term.note else ""
                    problems.append(
                        f"{where}: {shown!r} is discouraged; use {term.preferred!r}{note}"
                    )
    for term in terms:
        if term.required and (term.language, term.preferred) not in used:
            problems.append(
                f"{GLOSSARY}: {term.preferred!r} must appear at least once in {term.language}"
            )
    return problems
