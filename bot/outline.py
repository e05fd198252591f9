"""Project outline rules: validating answers, progress, what is missing, showing values.

Plain functions over content sections; nothing here knows Telegram. A validation failure is a
`Problem` (a code plus numbers), which the handler turns into a message in the user's language.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from bot import i18n
from bot.content import Content, Section

MONTH_RANGE = (2021, 2035)  # ESF+ 2021–2027 projects, with room for their last years
BUDGET_MAX = Decimal(100_000_000)


@dataclass(frozen=True)
class Problem:
    code: str  # empty | too_short | too_long | email | phone | month | month_order | money
    minimum: int = 0
    maximum: int = 0
    length: int = 0


def clean_text(text: str) -> str:
    """What we store for free text: NFC, no NULs or other control characters except newlines
    and tabs, trailing spaces trimmed. HTML and Markdown characters are kept literally."""
    text = unicodedata.normalize("NFC", text).replace("\r\n", "\n").replace("\r", "\n")
    text = "".join(ch for ch in text if ch in "\n\t" or unicodedata.category(ch) != "Cc")
    return "\n".join(line.rstrip() for line in text.strip().split("\n"))


_EMAIL = re.compile(
    r"^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}$"
)
_PHONE = re.compile(r"^\+?[0-9][0-9 ()-]{3,28}[0-9]$")
_MONTH_FORMS = (
    re.compile(r"^(?P<y>\d{4})\s*[-/.]\s*(?P<m>\d{1,2})$"),  # 2027-01, 2027/1
    re.compile(r"^(?P<m>\d{1,2})\s*[-/.]\s*(?P<y>\d{4})$"),  # 1/2027, 01.2027, 1-2027
)


def parse_month(text: str) -> str | None:
    """ "2027-01", "1/2027", "01.2027" → "2027-01"; None if it is not a month we accept."""
    text = text.strip()
    for form in _MONTH_FORMS:
        match = form.match(text)
        if match:
            year, month = int(match.group("y")), int(match.group("m"))
            if 1 <= month <= 12 and MONTH_RANGE[0] <= year <= MONTH_RANGE[1]:
                return f"{year:04d}-{month:02d}"
    return None


def parse_money(text: str) -> Decimal | None:
    """Euros as people write them: "150000", "150 000", "150.000", "150 000,50 €", "150k"."""
    text = text.strip().lower().replace("\u00a0", " ").replace("\u202f", " ")
    text = re.sub(r"\s*(€|eur|euro|euroa|euros)\.?$", "", text).strip()
    multiplier = Decimal(1)
    if text.endswith("k"):
        text, multiplier = text[:-1].strip(), Decimal(1000)
    text = text.replace(" ", "")
    if re.fullmatch(r"\d{1,3}(\.\d{3})+(,\d{1,2})?", text):  # 150.000,50
        text = text.replace(".", "").replace(",", ".")
    elif re.fullmatch(r"\d{1,3}(,\d{3})+(\.\d{1,2})?", text):  # 150,000.50
        text = text.replace(",", "")
    else:
        text = text.replace(",", ".")
    if not re.fullmatch(r"\d+(\.\d{1,2})?", text):
        return None
    try:
        value = Decimal(text) * multiplier
    except InvalidOperation:
        return None
    return value if 0 < value <= BUDGET_MAX else None


def validate(
    section: Section, raw: str, answers: dict[str, str]
) -> tuple[str | None, Problem | None]:
    """The value to store for typed text, or the problem with it."""
    text = clean_text(raw)
    if not text:
        return None, Problem("empty")
    if section.kind == "email":
        return (text, None) if _EMAIL.match(text) and len(text) <= 254 else (None, Problem("email"))
    if section.kind == "phone":
        return (text, None) if _PHONE.match(text) else (None, Problem("phone"))
    if section.kind == "month":
        month = parse_month(text)
        if month is None:
            return None, Problem("month")
        start = answers.get("start_month")
        if section.id == "end_month" and start and month < start:
            return None, Problem("month_order")
        end = answers.get("end_month")
        if section.id == "start_month" and end and month > end:
            return None, Problem("month_order")
        return month, None
    if section.kind == "money":
        money = parse_money(text)
        return (str(money), None) if money is not None else (None, Problem("money"))
    length = len(text)
    if length < section.min_length:
        return None, Problem("too_short", section.min_length, section.max_length, length)
    if length > section.max_length:
        return None, Problem("too_long", section.min_length, section.max_length, length)
    return text, None


def missing_required(content: Content, answers: dict[str, str]) -> list[Section]:
    return [s for s in content.outline if s.required and not answers.get(s.id)]


def progress(content: Content, answers: dict[str, str]) -> tuple[int, int]:
    """(sections filled, sections in all)."""
    return sum(1 for s in content.outline if answers.get(s.id)), len(content.outline)


def first_unanswered(content: Content, answers: dict[str, str]) -> int:
    for index, section in enumerate(content.outline):
        if section.id not in answers:
            return index
    return len(content.outline)


def display(content: Content, section: Section, value: str | None, language: str) -> str:
    """A stored value as the user reads it (plain text; escape before putting it in HTML)."""
    if not value:
        return ""
    if section.kind == "choice":
        option = next((o for o in section.options if o.id == value), None)
        return option.label[language] if option else value
    if section.kind == "subthemes":
        names = content.subthemes
        return "; ".join(names[s].title[language] for s in value.split(",") if s in names)
    if section.kind == "month":
        return i18n.format_month(value, language)
    if section.kind == "money":
        return i18n.format_money(value, language)
    return value
