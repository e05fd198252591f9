"""Curated content: loading the TOML files in content/ and checking them.

Content is data a coordinator edits without Python: FAQ entries per topic (content/faq/*.toml) and
the contact persons (content/contacts.toml). `check` finds every problem at once, one line each,
so an editor can fix a file in one go; the bot refuses to start on content that does not pass.

Facts age: every FAQ entry carries the date its facts were last checked (`checked`), and entries
about organisations, calls, money or contacts are marked `changing = true`. Their answers end with
that date, and `stale` lists the changing entries nobody has checked for a while.
"""

from __future__ import annotations

import os
import re
import tomllib
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date, datetime
from importlib import resources
from importlib.resources.abc import Traversable
from pathlib import Path
from typing import Any

from bot import glossary
from bot.config import LANGUAGES

_ID = re.compile(r"^[a-z0-9][a-z0-9-]{0,31}$")
ANSWER_LIMIT = 3000  # leaves room for the question, source and buttons within 4,096 characters
STALE_DAYS = 180  # a changing entry not checked for this long is reported to coordinators


class ContentError(Exception):
    def __init__(self, problems: list[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = problems


SHORT_LIMIT = 40  # an entry's button label: whole on a phone, where a question would be cut


@dataclass(frozen=True)
class EntryText:
    question: str
    variants: tuple[str, ...]
    keywords: tuple[str, ...]
    answer: str
    source: str
    short: str = ""  # the button label (suggestions, "see also", topics); required in content


@dataclass(frozen=True)
class Entry:
    id: str
    topic: str
    related: tuple[str, ...]
    text: dict[str, EntryText]
    checked: date | None = None  # when its facts were last checked against the sources
    changing: bool = False  # about organisations, calls, money or contacts: facts that age
    file: str = field(default="", compare=False)  # where an editor finds it, e.g. faq/costs.toml


@dataclass(frozen=True)
class Topic:
    id: str
    order: int
    title: dict[str, str]


@dataclass(frozen=True)
class Contact:
    organisation: dict[str, str]
    name: str
    email: str
    phone: str


@dataclass(frozen=True)
class Subtheme:
    id: str
    title: dict[str, str]
    short: dict[str, str]
    description: dict[str, str]


@dataclass(frozen=True)
class ItemText:
    question: str
    why: str
    advice: str
    done: str
    gap: str


@dataclass(frozen=True)
class ChecklistItem:
    id: str
    kind: str  # "yesno" or "subthemes"
    faq: str | None
    text: dict[str, ItemText]


@dataclass(frozen=True)
class SectionText:
    title: str
    prompt: str
    hint: str
    example: str


@dataclass(frozen=True)
class Option:
    id: str
    label: dict[str, str]


@dataclass(frozen=True)
class SmallTalk:
    """A kind of small talk (greeting, thanks…): what people type and what the bot replies."""

    id: str
    patterns: dict[str, tuple[str, ...]]  # per language, lower case as written in the file
    reply: dict[str, str]


@dataclass(frozen=True)
class QuestionWords:
    """Words that open a question, per language (content/questions.toml)."""

    words: dict[str, frozenset[str]] = field(default_factory=dict)
    suffixes: dict[str, tuple[str, ...]] = field(default_factory=dict)


SECTION_KINDS = ("text", "email", "phone", "choice", "subthemes", "month", "money")
TEXT_LIMIT = 3000  # the most any outline section may hold


@dataclass(frozen=True)
class Section:
    id: str
    kind: str
    required: bool
    min_length: int
    max_length: int
    options: tuple[Option, ...]
    text: dict[str, SectionText]


@dataclass(frozen=True)
class Content:
    topics: dict[str, Topic]
    entries: dict[str, Entry]
    contacts: tuple[Contact, ...] = ()
    subthemes: dict[str, Subtheme] = field(default_factory=dict)
    checklist: tuple[ChecklistItem, ...] = ()
    outline: tuple[Section, ...] = ()
    smalltalk: tuple[SmallTalk, ...] = ()
    question_words: QuestionWords = field(default_factory=QuestionWords)
    source: str = field(default="", compare=False)

    def section(self, section_id: str) -> Section | None:
        return next((s for s in self.outline if s.id == section_id), None)

    def entries_in(self, topic: str) -> list[Entry]:
        return [entry for entry in self.entries.values() if entry.topic == topic]

    def sorted_topics(self) -> list[Topic]:
        return sorted(self.topics.values(), key=lambda topic: (topic.order, topic.id))


def content_root(override: str | os.PathLike[str] | None = None) -> Traversable:
    """The content folder: BOT_CONTENT_DIR if set, else the copy installed with the package."""
    return Path(override) if override else resources.files("content")


def _read_toml(item: Traversable, problems: list[str]) -> dict[str, Any]:
    try:
        with item.open("rb") as fh:
            return tomllib.load(fh)
    except (OSError, tomllib.TOMLDecodeError) as error:
        problems.append(f"{item.name}: cannot read: {error}")
        return {}


def _texts(value: Any, where: str, problems: list[str], *, lists: Iterable[str] = ()) -> bool:
    ok = True
    if not isinstance(value, dict):
        problems.append(f"{where}: missing")
        return False
    for name, item in value.items():
        if name in lists:
            if not isinstance(item, list) or not all(
                isinstance(x, str) and x.strip() for x in item
            ):
                problems.append(f"{where}.{name}: must be a list of non-empty texts")
                ok = False
        elif not isinstance(item, str) or not item.strip():
            problems.append(f"{where}.{name}: must be a non-empty text")
            ok = False
    return ok


def _localized(table: Any, where: str, problems: list[str]) -> dict[str, str]:
    out = {}
    for language in LANGUAGES:
        value = table.get(language) if isinstance(table, dict) else None
        if not isinstance(value, str) or not value.strip():
            problems.append(f"{where}.{language}: missing or empty")
        else:
            out[language] = value.strip()
    return out


def _entry_text(data: Any, where: str, problems: list[str]) -> EntryText | None:
    required = ("question", "short", "variants", "keywords", "answer", "source")
    if not isinstance(data, dict):
        problems.append(f"{where}: missing")
        return None
    missing = [name for name in required if name not in data]
    if missing:
        problems.append(f"{where}: missing {', '.join(missing)}")
    if missing or not _texts(data, where, problems, lists=("variants", "keywords")):
        return None
    answer = data["answer"].strip()
    if len(answer) > ANSWER_LIMIT:
        problems.append(f"{where}.answer: {len(answer)} characters, more than {ANSWER_LIMIT}")
    short = data["short"].strip()
    if len(short) > SHORT_LIMIT:
        problems.append(
            f"{where}.short: {len(short)} characters, more than {SHORT_LIMIT} (a button label)"
        )
    return EntryText(
        question=data["question"].strip(),
        variants=tuple(v.strip() for v in data["variants"]),
        keywords=tuple(k.strip() for k in data["keywords"]),
        answer=answer,
        source=data["source"].strip(),
        short=short,
    )


def _load_faq(root: Traversable, problems: list[str]) -> tuple[dict[str, Topic], dict[str, Entry]]:
    topics: dict[str, Topic] = {}
    entries: dict[str, Entry] = {}
    files = sorted(
        (item for item in root.joinpath("faq").iterdir() if item.name.endswith(".toml")),
        key=lambda item: item.name,
    )
    if not files:
        problems.append("faq/: no FAQ files")
    for item in files:
        data = _read_toml(item, problems)
        if not data:
            continue
        name = f"faq/{item.name}"
        topic_data = data.get("topic", {})
        topic_id = topic_data.get("id", "")
        if not _ID.match(str(topic_id)):
            problems.append(f"{name}: [topic] id {topic_id!r} must be lowercase a-z, 0-9 and -")
            continue
        if topic_id in topics:
            problems.append(f"{name}: topic id {topic_id!r} is used twice")
        order = topic_data.get("order", 100)
        if not isinstance(order, int):
            problems.append(f"{name}: [topic] order must be a whole number")
            order = 100
        titles = _localized(topic_data.get("title"), f"{name} [topic] title", problems)
        topics[topic_id] = Topic(topic_id, order, titles)
        for index, raw in enumerate(data.get("entry", []), 1):
            entry_id = raw.get("id", "")
            where = f"{name} entry {entry_id or index}"
            if not _ID.match(str(entry_id)):
                problems.append(f"{where}: id must be lowercase a-z, 0-9 and -, at most 32")
                continue
            if entry_id in entries:
                problems.append(f"{where}: id {entry_id!r} is used twice")
                continue
            related = raw.get("related", [])
            if not isinstance(related, list) or not all(isinstance(r, str) for r in related):
                problems.append(f"{where}: related must be a list of entry ids")
                related = []
            texts = {}
            for language in LANGUAGES:
                text = _entry_text(raw.get(language), f"{where} [{language}]", problems)
                if text is not None:
                    texts[language] = text
            checked, changing = _dating(raw, where, problems)
            entries[entry_id] = Entry(
                entry_id, topic_id, tuple(related), texts, checked, changing, name
            )
    labels: dict[tuple[str, str], str] = {}
    for entry in entries.values():
        for language, text in entry.text.items():
            # Two buttons with one label would be the look-alikes short labels are for.
            earlier = labels.setdefault((language, text.short.casefold()), entry.id)
            if earlier != entry.id:
                problems.append(
                    f"entry {entry.id} [{language}]: short {text.short!r} is also {earlier}'s"
                )
        for other in entry.related:
            if other not in entries:
                problems.append(f"entry {entry.id}: related entry {other!r} does not exist")
            elif other == entry.id:
                problems.append(f"entry {entry.id}: lists itself as related")
    return topics, entries


def _dating(raw: dict[str, Any], where: str, problems: list[str]) -> tuple[date | None, bool]:
    """The entry's `checked` date (required) and `changing` flag (optional, default false)."""
    checked = raw.get("checked")
    if checked is None:
        problems.append(
            f"{where}: checked is missing: the date its facts were last checked, "
            "e.g. checked = 2026-12-01"
        )
    elif isinstance(checked, datetime) or not isinstance(checked, date):
        problems.append(
            f"{where}: checked must be a date written without quotes, e.g. checked = 2026-12-01"
        )
        checked = None
    elif checked > date.today():
        problems.append(f"{where}: checked {checked.isoformat()} is in the future")
    changing = raw.get("changing", False)
    if not isinstance(changing, bool):
        problems.append(f"{where}: changing must be true or false")
        changing = False
    return checked, changing


def stale(content: Content, today: date, days: int = STALE_DAYS) -> list[Entry]:
    """Changing entries last checked more than `days` days before `today`, oldest first."""
    found = [
        entry
        for entry in content.entries.values()
        if entry.changing and entry.checked is not None and (today - entry.checked).days > days
    ]
    return sorted(found, key=lambda entry: (entry.checked, entry.id))


def answer_html(entry: Entry, language: str, gettext: Callable[..., str]) -> str:
    """An answer as the bot sends it. A changing entry ends with the date it was checked, so
    that nobody quotes an old fact as today's."""
    from bot.i18n import format_long_date
    from bot.rendering import render

    checked = None
    if entry.changing and entry.checked is not None:
        checked = format_long_date(entry.checked, language)
    return render("faq_answer.html", text=entry.text[language], checked=checked, _=gettext)


def _load_contacts(root: Traversable, problems: list[str]) -> tuple[Contact, ...]:
    item = root.joinpath("contacts.toml")
    if not item.is_file():
        problems.append("contacts.toml: missing (the bot names these people when it can't answer)")
        return ()
    contacts = []
    for index, raw in enumerate(_read_toml(item, problems).get("contact", []), 1):
        where = f"contacts.toml contact {index}"
        organisation = _localized(raw.get("ministry"), f"{where} ministry", problems)
        fields = {name: str(raw.get(name, "")).strip() for name in ("name", "email", "phone")}
        for name, value in fields.items():
            if not value:
                problems.append(f"{where}: {name} is missing")
        if fields["email"] and not re.fullmatch(r"[^@\s]+@[^@\s]+\.[a-z]{2,}", fields["email"]):
            problems.append(f"{where}: {fields['email']!r} is not an e-mail address")
        contacts.append(Contact(organisation, **fields))
    if not contacts:
        problems.append("contacts.toml: no [[contact]] entries")
    return tuple(contacts)


def _load_subthemes(root: Traversable, problems: list[str]) -> dict[str, Subtheme]:
    subthemes: dict[str, Subtheme] = {}
    for index, raw in enumerate(
        _read_toml(root.joinpath("subthemes.toml"), problems).get("subtheme", []), 1
    ):
        subtheme_id = raw.get("id", "")
        where = f"subthemes.toml subtheme {subtheme_id or index}"
        if not re.fullmatch(r"[a-z][a-z0-9_]{0,15}", str(subtheme_id)):
            problems.append(f"{where}: id must be a-z, 0-9 and _, at most 16 characters")
            continue
        if subtheme_id in subthemes:
            problems.append(f"{where}: id used twice")
        short = _localized(raw.get("short"), f"{where} short", problems)
        for language, label in short.items():
            if len(label) > 30:
                problems.append(f"{where} short.{language}: over 30 characters (a button label)")
        subthemes[subtheme_id] = Subtheme(
            subtheme_id,
            _localized(raw.get("title"), f"{where} title", problems),
            short,
            _localized(raw.get("description"), f"{where} description", problems),
        )
    if not subthemes:
        problems.append("subthemes.toml: no [[subtheme]] entries")
    return subthemes


def _language_blocks(
    raw: dict[str, Any], where: str, fields: tuple[str, ...], problems: list[str], build: Any
) -> dict[str, Any]:
    """`build(*texts)` for each language's table of required text fields."""
    blocks = {}
    for language in LANGUAGES:
        data = raw.get(language)
        if not isinstance(data, dict) or any(name not in data for name in fields):
            problems.append(f"{where} [{language}]: needs {', '.join(fields)}")
            continue
        if _texts(data, f"{where} [{language}]", problems):
            blocks[language] = build(*(data[name].strip() for name in fields))
    return blocks


def _new_id(
    raw: dict[str, Any], where: str, pattern: str, seen: set[str], problems: list[str]
) -> str | None:
    """The item's id if it is well-formed and not used before; else the problem is noted."""
    item_id = str(raw.get("id", ""))
    if not re.fullmatch(pattern, item_id) or item_id in seen:
        problems.append(f"{where}: id must be unique and match {pattern}")
        return None
    seen.add(item_id)
    return item_id


def _load_checklist(
    root: Traversable, entries: dict[str, Entry], problems: list[str]
) -> tuple[ChecklistItem, ...]:
    items: list[ChecklistItem] = []
    seen: set[str] = set()
    raw_items = _read_toml(root.joinpath("checklist.toml"), problems).get("item", [])
    for index, raw in enumerate(raw_items, 1):
        where = f"checklist.toml item {raw.get('id') or index}"
        item_id = _new_id(raw, where, r"[a-z][a-z0-9-]{0,19}", seen, problems)
        if item_id is None:
            continue
        kind = raw.get("kind")
        if kind not in ("yesno", "subthemes"):
            problems.append(f"{where}: kind must be yesno or subthemes")
            continue
        faq = raw.get("faq") or None
        if faq is not None and faq not in entries:
            problems.append(f"{where}: faq entry {faq!r} does not exist")
            faq = None
        fields = ("question", "why", "advice", "done", "gap")
        texts = _language_blocks(raw, where, fields, problems, ItemText)
        items.append(ChecklistItem(item_id, kind, faq, texts))
    if sum(item.kind == "subthemes" for item in items) != 1:
        problems.append('checklist.toml: exactly one item must have kind = "subthemes"')
    return tuple(items)


def _load_outline(root: Traversable, problems: list[str]) -> tuple[Section, ...]:
    sections: list[Section] = []
    seen: set[str] = set()
    raw_sections = _read_toml(root.joinpath("outline.toml"), problems).get("section", [])
    for index, raw in enumerate(raw_sections, 1):
        where = f"outline.toml section {raw.get('id') or index}"
        section_id = _new_id(raw, where, r"[a-z][a-z0-9_]{0,19}", seen, problems)
        if section_id is None:
            continue
        kind = raw.get("kind")
        if kind not in SECTION_KINDS:
            problems.append(f"{where}: kind must be one of {', '.join(SECTION_KINDS)}")
            continue
        required = raw.get("required")
        if not isinstance(required, bool):
            problems.append(f"{where}: required must be true or false")
            required = False
        low, high = raw.get("min_length", 1), raw.get("max_length", TEXT_LIMIT)
        if not (isinstance(low, int) and isinstance(high, int) and 1 <= low <= high <= TEXT_LIMIT):
            problems.append(f"{where}: need 1 <= min_length <= max_length <= {TEXT_LIMIT}")
            low, high = 1, TEXT_LIMIT
        options = []
        for option in raw.get("option", []):
            option_id = str(option.get("id", ""))
            if not re.fullmatch(r"[a-z][a-z0-9_]{0,15}", option_id):
                problems.append(f"{where}: option id {option_id!r} must be a-z, 0-9, _ (max 16)")
                continue
            label = _localized(option.get("label"), f"{where} option {option_id} label", problems)
            options.append(Option(option_id, label))
        if (kind == "choice") != bool(options):
            problems.append(f"{where}: options are needed for kind choice, and only there")
        fields = ("title", "prompt", "hint", "example")
        texts = _language_blocks(raw, where, fields, problems, SectionText)
        sections.append(Section(section_id, kind, required, low, high, tuple(options), texts))
    ids = [section.id for section in sections]
    for needed in ("title", "start_month", "end_month"):
        if needed not in ids:
            problems.append(f"outline.toml: a section with id {needed!r} is needed")
    return tuple(sections)


def _word_lists(
    table: Any, where: str, problems: list[str], *, allow_empty: bool
) -> dict[str, tuple[str, ...]]:
    out: dict[str, tuple[str, ...]] = {}
    for language in LANGUAGES:
        value = table.get(language) if isinstance(table, dict) else None
        if (
            not isinstance(value, list)
            or not (value or allow_empty)
            or not all(isinstance(w, str) and w.strip() and w == w.casefold() for w in value)
        ):
            problems.append(f"{where}.{language}: must be a list of lower-case texts")
            continue
        out[language] = tuple(w.strip() for w in value)
    return out


def _load_question_words(root: Traversable, problems: list[str]) -> QuestionWords:
    data = _read_toml(root.joinpath("questions.toml"), problems)
    words = _word_lists(data.get("question_words"), "questions.toml question_words", problems,
                        allow_empty=False)  # fmt: skip
    for language, listed in words.items():
        if any(len(word.split()) != 1 for word in listed):
            problems.append(f"questions.toml question_words.{language}: one word per item")
    suffixes = _word_lists(data.get("question_suffixes", {}), "questions.toml question_suffixes",
                           problems, allow_empty=True)  # fmt: skip
    return QuestionWords({k: frozenset(v) for k, v in words.items()}, suffixes)


def _load_smalltalk(root: Traversable, problems: list[str]) -> tuple[SmallTalk, ...]:
    from bot.intent import phrase_key  # the form messages are compared in

    kinds: list[SmallTalk] = []
    seen: set[str] = set()
    owner: dict[tuple[str, ...], str] = {}
    raw_kinds = _read_toml(root.joinpath("smalltalk.toml"), problems).get("kind", [])
    for index, raw in enumerate(raw_kinds, 1):
        where = f"smalltalk.toml kind {raw.get('id') or index}"
        kind_id = _new_id(raw, where, r"[a-z][a-z0-9_]{0,19}", seen, problems)
        if kind_id is None:
            continue
        blocks = {language: raw.get(language) for language in LANGUAGES}
        patterns = _word_lists(
            {k: v.get("patterns") for k, v in blocks.items() if isinstance(v, dict)},
            f"{where} patterns",
            problems,
            allow_empty=False,
        )
        replies = _localized(
            {k: v.get("reply") for k, v in blocks.items() if isinstance(v, dict)},
            f"{where} reply",
            problems,
        )
        for language, listed in patterns.items():
            for pattern in listed:
                key = phrase_key(pattern)
                if not key:
                    problems.append(f"{where} [{language}]: pattern {pattern!r} has no words")
                elif owner.setdefault(key, kind_id) != kind_id:
                    problems.append(
                        f"{where} [{language}]: pattern {pattern!r} is also in kind {owner[key]!r}"
                    )
        kinds.append(SmallTalk(kind_id, patterns, replies))
    if not kinds:
        problems.append("smalltalk.toml: no [[kind]] entries")
    return tuple(kinds)


def load(root: Traversable | None = None) -> tuple[Content, list[str]]:
    """Everything in content/, and every problem found (empty when the content is usable)."""
    root = root or content_root()
    problems: list[str] = []
    topics, entries = _load_faq(root, problems)
    contacts = _load_contacts(root, problems)
    subthemes = _load_subthemes(root, problems)
    checklist = _load_checklist(root, entries, problems)
    outline = _load_outline(root, problems)
    content = Content(
        topics,
        entries,
        contacts,
        subthemes,
        checklist,
        outline,
        _load_smalltalk(root, problems),
        _load_question_words(root, problems),
        source=str(root),
    )
    problems += _problems_after_rendering(content)
    problems += glossary.check(glossary.load(root, problems), glossary.content_texts(root))
    return content, problems


def _problems_after_rendering(content: Content) -> list[str]:
    """Every answer, as the bot would send it, must be valid Telegram HTML within limits."""
    from bot.rendering import check_html  # rendering is only needed for this check

    def untranslated(message: str, **values: object) -> str:
        return message.format(**values)

    problems = []
    for entry in content.entries.values():
        for language in entry.text:
            html = answer_html(entry, language, untranslated)
            for problem in check_html(html):
                problems.append(f"entry {entry.id} [{language}]: rendered answer: {problem}")
    return problems


def load_valid(root: Traversable | None = None) -> Content:
    content, problems = load(root)
    if problems:
        raise ContentError(problems)
    return content
