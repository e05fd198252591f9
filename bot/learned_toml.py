"""Taught variants (storage.learned) as TOML for the content editors: printed as snippets, or
appended to the entry's `variants` list in its language in content/faq/*.toml.

The files are edited as text, not re-serialised: comments, order and layout stay as the editors
wrote them, and the diff shows only the new lines.
"""

from __future__ import annotations

import json
import re
from collections import defaultdict
from importlib.resources.abc import Traversable
from pathlib import Path

from bot import content as content_module
from bot.content import Content
from bot.faq import words
from storage.learned import VARIANT, Learned


class WriteError(Exception):
    pass


def _same(text: str) -> str:
    return " ".join(words(text))


def pending(content: Content, taught: list[Learned]) -> dict[tuple[str, str], list[str]]:
    """(entry id, language) -> taught variants not yet among the entry's question and variants."""
    found: dict[tuple[str, str], list[str]] = defaultdict(list)
    for item in taught:
        if item.kind != VARIANT or item.entry_id not in content.entries:
            continue
        text = content.entries[item.entry_id].text.get(item.language)
        if text is None:
            continue
        known = {_same(v) for v in (text.question, *text.variants)}
        known.update(_same(v) for v in found[(item.entry_id, item.language)])
        if _same(item.query) not in known:
            found[(item.entry_id, item.language)].append(item.query)
    return {key: values for key, values in found.items() if values}


def _files(root: Traversable) -> dict[str, str]:
    """Entry id -> the name of its file in faq/."""
    where = {}
    for item in sorted(root.joinpath("faq").iterdir(), key=lambda i: i.name):
        if item.name.endswith(".toml"):
            for entry_id in _ENTRY_ID.findall(item.read_text(encoding="utf-8")):
                where[entry_id] = item.name
    return where


_ENTRY_ID = re.compile(r'^\[\[entry\]\]\s*\nid\s*=\s*"([^"]+)"', re.MULTILINE)


def snippets(content: Content, found: dict[tuple[str, str], list[str]], root: Traversable) -> str:
    where = _files(root)
    blocks = []
    for (entry_id, language), variants in sorted(found.items()):
        lines = [f"# faq/{where.get(entry_id, '?')}: entry {entry_id}, [entry.{language}] variants"]
        lines += [f"  {json.dumps(v, ensure_ascii=False)}," for v in variants]
        blocks.append("\n".join(lines))
    return "\n\n".join(blocks)


def write(root: Path, found: dict[tuple[str, str], list[str]]) -> int:
    """Append to the files; all or nothing: if any file then fails the content checks, every
    file is put back as it was."""
    where = _files(root)
    by_file: dict[str, dict[tuple[str, str], list[str]]] = defaultdict(dict)
    for key, variants in found.items():
        if key[0] not in where:
            raise WriteError(f"entry {key[0]} is in no file of {root / 'faq'}")
        by_file[where[key[0]]][key] = variants
    originals = {name: (root / "faq" / name).read_text(encoding="utf-8") for name in by_file}
    try:
        for name, entries in by_file.items():
            text = originals[name]
            for (entry_id, language), variants in entries.items():
                text = _append(text, entry_id, language, variants)
            (root / "faq" / name).write_text(text, encoding="utf-8")
        _loaded, problems = content_module.load(root)
        if problems:
            raise WriteError("; ".join(problems[:3]))
    except BaseException:
        for name, text in originals.items():
            (root / "faq" / name).write_text(text, encoding="utf-8")
        raise
    return sum(len(v) for v in found.values())


def _append(text: str, entry_id: str, language: str, variants: list[str]) -> str:
    lines = text.split("\n")
    start = next(
        (n for n, line in enumerate(lines) if re.fullmatch(rf'id\s*=\s*"{re.escape(entry_id)}"\s*',
                                                            line)),
        None,
    )  # fmt: skip
    if start is None:
        raise WriteError(f"entry {entry_id} not found")
    table = f"[entry.{language}]"
    n = start
    while n < len(lines) and lines[n].strip() != table:
        if n > start and lines[n].strip() == "[[entry]]":
            raise WriteError(f"entry {entry_id} has no {table} table")
        n += 1
    while n < len(lines) and not lines[n].startswith("variants"):
        if lines[n].startswith("[") and lines[n].strip() != table:
            raise WriteError(f"{entry_id} {table} has no variants line")
        n += 1
    if n == len(lines):
        raise WriteError(f"{entry_id} {table} has no variants line")
    quoted = [json.dumps(v, ensure_ascii=False) for v in variants]
    line = lines[n].rstrip()
    if line.endswith("]"):  # on one line: variants = [] or variants = ["a", "b"]
        inner = line[line.index("[") + 1 : -1].strip().rstrip(",")
        items = ([inner] if inner else []) + quoted
        lines[n] = "variants = [" + ", ".join(items) + "]"
        return "\n".join(lines)
    close = n + 1
    while close < len(lines) and lines[close].strip() != "]":
        close += 1
    if close == len(lines):
        raise WriteError(f"{entry_id} {table}: the variants list does not end")
    lines[close:close] = [f"  {q}," for q in quoted]
    return "\n".join(lines)
