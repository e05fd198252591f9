"""Documents for a word processor: a project outline as DOCX, from the same data as the review."""

from __future__ import annotations

import io
from dataclasses import dataclass

from docx import Document
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


def outline_docx(
    content: Content, name: str, answers: dict[str, str], language: str, labels: Labels
) -> bytes:
    document = Document()
    document.styles["Normal"].font.size = Pt(11)
    document.core_properties.title = name
    document.add_heading(name, level=0)
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
