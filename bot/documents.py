"""Documents for a word processor: a project outline as DOCX, from the same data as the review."""

from __future__ import annotations

import io
import re
import unicodedata
from dataclasses import dataclass
from datetime import UTC, datetime

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
) -> bytes:
    """`author` is the applicant organisation, shown in the document's properties."""
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
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()


def _printable(text: str) -> str:
    # XML 1.0 forbids most control characters; python-docx would refuse the whole document.
    return "".join(ch for ch in text if ch in "\t" or ord(ch) >= 32)
