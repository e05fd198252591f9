"""Files for the user: a project outline as DOCX (from the same data as the review), and
everything stored about them for /mydata."""

from __future__ import annotations

import io
import json
import re
import unicodedata
import zipfile
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from docx import Document
from docx.oxml.ns import qn
from docx.oxml.shared import OxmlElement
from docx.shared import Pt

from bot.content import Content
from bot.outline import display


@dataclass(frozen=True)
class Labels:
    """Translated words the document needs; the handler provides them in the user's language."""

    heading: str
    theme: str
    status: str
    not_answered: str
    comments: str = ""  # the appendix's heading, when there are comments


@dataclass(frozen=True)
class CommentLine:
    """One coordinator's comment in the DOCX appendix: where, when, what."""

    place: str  # a section's title, or "the whole outline" in the reader's language
    when: str
    text: str


# Word's language tags: spelling and hyphenation follow them.
_LANGUAGE_TAGS = {"fi": "fi-FI", "sv": "sv-FI", "en": "en-GB"}


def file_name(title: str, fallback: str, suffix: str = ".docx") -> str:
    """A safe, mostly ASCII file name from a title: "Mukaan! – harrastuspolut" becomes
    "mukaan-harrastuspolut.docx" (accents dropped, ä → a); `fallback` when nothing is left."""
    ascii_text = unicodedata.normalize("NFKD", title).encode("ascii", "ignore").decode()
    slug = re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")[:60].rstrip("-")
    return (slug or fallback) + suffix


def outline_docx(
    content: Content,
    name: str,
    answers: dict[str, str],
    language: str,
    labels: Labels,
    author: str = "",
    comments: list[CommentLine] | None = None,
) -> bytes:
    """`author` is the applicant organisation, shown in the document's properties; `comments`,
    when given, follow the outline as an appendix."""
    document = Document()
    normal = document.styles["Normal"]
    normal.font.size = Pt(11)
    properties = document.core_properties
    properties.title = _printable(name)
    properties.author = _printable(author)
    properties.last_modified_by = _printable(author)
    properties.language = _LANGUAGE_TAGS[language]
    properties.comments = ""
    # The template's own dates are from 2013: the document is made now.
    properties.created = properties.modified = datetime.now(UTC).replace(microsecond=0)
    run_properties = normal.element.get_or_add_rPr()
    lang = run_properties.find(qn("w:lang"))
    if lang is None:
        lang = OxmlElement("w:lang")
        run_properties.append(lang)
    lang.set(qn("w:val"), _LANGUAGE_TAGS[language])
    document.add_heading(_printable(name), level=0)
    document.add_paragraph().add_run(labels.heading).italic = True
    document.add_paragraph(labels.theme)
    document.add_paragraph(labels.status)
    for number, section in enumerate(content.outline, 1):
        document.add_heading(f"{number}. {section.text[language].title}", level=2)
        value = display(content, section, answers.get(section.id), language)
        for paragraph in (value or labels.not_answered).split("\n"):
            document.add_paragraph(_printable(paragraph))
    if comments:
        document.add_page_break()
        document.add_heading(_printable(labels.comments), level=1)
        for comment in comments:
            heading = document.add_paragraph()
            heading.add_run(_printable(comment.place)).bold = True
            heading.add_run(" · " + _printable(comment.when)).italic = True
            for paragraph in comment.text.split("\n"):
                document.add_paragraph(_printable(paragraph))
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()


def _printable(text: str) -> str:
    # XML 1.0 forbids most control characters; python-docx would refuse the whole document.
    return "".join(ch for ch in text if ch in "\t" or ord(ch) >= 32)


def personal_data_files(data: dict[str, Any], limit: int) -> list[tuple[str, bytes]]:
    """Everything stored about a person (`storage.privacy.everything_about`) as files of at most
    `limit` bytes each, so that /mydata always arrives: one JSON file; zipped when that is too
    big; when even the zip is too big, the saved versions of the drafts go in parts of their own
    (`my-data-2-of-3.zip`, ...) and the first part says how many there are."""
    whole = _json(data)
    if len(whole) <= limit:
        return [("my-data.json", whole)]
    zipped = _zipped("my-data.json", whole)
    if len(zipped) <= limit:
        return [("my-data.zip", zipped)]
    versions: list[bytes] = []
    drafts = []
    for draft in data.get("drafts", []):
        versions.extend(_json({"draft_id": draft["id"], **saved}) for saved in draft["history"])
        drafts.append({key: value for key, value in draft.items() if key != "history"})
    # Versions are packed by their size as JSON, so every part stays within the limit even if
    # it did not compress at all.
    budget = limit - 1024
    parts: list[list[bytes]] = [[]]
    size = 0
    for version in versions:
        if parts[-1] and size + len(version) + 2 > budget:
            parts.append([])
            size = 0
        parts[-1].append(version)
        size += len(version) + 2
    count = 1 + len(parts)
    first = {**data, "drafts": drafts, "draft_history_in_files": count - 1}
    files = [(f"my-data-1-of-{count}.zip", _zipped("my-data.json", _json(first)))]
    for number, part in enumerate(parts, 2):
        body = b'{"draft_history": [\n' + b",\n".join(part) + b"\n]}\n"
        name = f"my-data-{number}-of-{count}"
        files.append((f"{name}.zip", _zipped(f"{name}.json", body)))
    return files


def _json(value: Any) -> bytes:
    return json.dumps(value, ensure_ascii=False, indent=2).encode("utf-8")


def _zipped(name: str, body: bytes) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(name, body)
    return buffer.getvalue()
