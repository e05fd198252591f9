"""Project outline rules: validating answers, progress, what is missing, showing values.

Plain functions over content sections; nothing here knows Telegram. A validation failure is a
`Problem` (a code plus numbers), which the handler turns into a message in the user's language.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from decimal import Decimal
from functools import cache

from babel.dates import get_month_names

from bot import i18n
from bot.content import Content, Section

MONTH_RANGE = (2021, 2035)  # ESF+ 2021–2027 projects, with room for their last years
BUDGET_MAX = Decimal(100_000_000)
MAX_DRAFTS = 50  # per person, submitted ones included


@dataclass(frozen=True)
class Problem:
    # empty | too_short | too_long | email | phone | month | month_range | month_order | money
    # | money_confirm (an ambiguous amount: `value` is the likelier reading, to be confirmed)
    code: str
    minimum: int = 0
    maximum: int = 0
    length: int = 0
    value: str = ""


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
_NUMERIC_MONTHS = (
    re.compile(r"^(?P<y>\d{4})\s*[-/.]\s*(?P<m>\d{1,2})(?:\s*[-/.]\s*\d{1,2})?$"),  # 2027-03(-01)
    re.compile(r"^(?:\d{1,2}\s*[./-]\s*)?(?P<m>\d{1,2})\s*[-/.]\s*(?P<y>\d{4})$"),  # (1.)3.2027
    re.compile(r"^(?P<m>\d{1,2})\s*/\s*(?P<y>\d{2})$"),  # 03/27
)
# Words that may stand around a month name: "i mars 2027", "in March 2027", "vuonna 2027".
_MONTH_FILLERS = frozenset({"i", "in", "of", "vuonna", "vuoden", "ar", ","})
# Finnish inflects month names: "maaliskuussa", "maaliskuuta", "maaliskuun", "maaliskuuhun".
_FINNISH_CASE_ENDINGS = ("", "ta", "n", "ssa", "sta", "hun", "lla", "lta", "lle")


def _fold(text: str) -> str:
    """Lower case without diacritics: "Kesäkuu" → "kesakuu"."""
    decomposed = unicodedata.normalize("NFD", text.casefold())
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


@cache
def _month_words() -> dict[str, int]:
    """Month names as people type them, folded, → month number: Babel's wide and abbreviated
    names in Finnish, Swedish and English (format and stand-alone), and the Finnish cases."""
    names: dict[str, int] = {}
    for language in ("fi", "sv", "en"):
        for width in ("wide", "abbreviated"):
            for context in ("format", "stand-alone"):
                for number, name in get_month_names(width, context, language).items():
                    names[_fold(name).rstrip(".")] = number
    for number, name in get_month_names("wide", "stand-alone", "fi").items():
        for ending in _FINNISH_CASE_ENDINGS:
            names[_fold(name) + ending] = number
    return names


@dataclass(frozen=True)
class MonthReading:
    value: str | None  # "2027-03", or None
    problem: str | None = None  # "month" (not a month) or "month_range" (year out of range)


def read_month(text: str) -> MonthReading:
    """A month as people write it: "2027-03", "3/2027", "03/27", "March 2027", "maaliskuussa
    2027", "i mars 2027", "Mar 2027"; what `display` shows can be typed back."""
    text = unicodedata.normalize("NFKC", text).strip()
    year = month = None
    for form in _NUMERIC_MONTHS:
        match = form.match(text)
        if match:
            year, month = int(match.group("y")), int(match.group("m"))
            year += 2000 if year < 100 else 0
            break
    else:
        words = re.findall(r"\d+|[^\W\d_]+", _fold(text))
        years = [w for w in words if w.isdigit()]
        names = [w for w in words if not w.isdigit() and w not in _MONTH_FILLERS]
        if len(years) == 1 and len(years[0]) == 4 and len(names) == 1:
            year, month = int(years[0]), _month_words().get(names[0])
    if year is None or month is None or not 1 <= month <= 12:
        return MonthReading(None, "month")
    if not MONTH_RANGE[0] <= year <= MONTH_RANGE[1]:
        return MonthReading(None, "month_range")
    return MonthReading(f"{year:04d}-{month:02d}")


def parse_month(text: str) -> str | None:
    """ "2027-01", "1/2027", "tammikuu 2027" → "2027-01"; None if it is not a month we accept."""
    return read_month(text).value


_CURRENCY = re.compile(r"€|\b(?:eur|euro|euroa|euros|euron|eurot)\b\.?")
_MULTIPLIERS = {
    **dict.fromkeys(("k", "t", "te", "tuhat", "tuhatta", "thousand", "tusen"), Decimal(1000)),
    **dict.fromkeys(
        ("m", "mn", "mio", "milj", "miljoona", "miljoonaa", "million", "millions", "miljon",
         "miljoner", "meur"),
        Decimal(1_000_000),
    ),
}  # fmt: skip
_AMOUNT = re.compile(r"(?P<number>\d[\d .,'’]*?)\s*(?P<unit>[^\W\d_]+)?\.?")
_SPACE_GROUPS = re.compile(r"\d{1,3}(?:[ '’]\d{3})+(?:[.,]\d{1,2})?")


@dataclass(frozen=True)
class MoneyReading:
    value: Decimal | None  # the amount, or the likelier reading of an ambiguous one
    ambiguous: bool = False  # "450.000": 450 000 or 450? Ask before saving.


def read_money(text: str) -> MoneyReading:
    """Euros as people write them: "450000", "450 000 €", "€450,000", "450 000,50",
    "1,5 milj. €", "1.5M", "450k". "450.000" or "1,500" could be either of two amounts: the
    reading with a thousands separator comes back marked ambiguous, to be confirmed."""
    text = unicodedata.normalize("NFKC", text).strip().casefold().replace("\u202f", " ")
    sign_first = text.startswith("€")  # "€450,000": English notation, "," groups thousands
    text = " ".join(_CURRENCY.sub(" ", text).split())
    match = _AMOUNT.fullmatch(text)
    if match is None:
        return MoneyReading(None)
    number, unit = match.group("number").strip(), match.group("unit")
    ambiguous = False
    if unit is not None:
        if unit not in _MULTIPLIERS or not re.fullmatch(r"\d+(?:[.,]\d+)?", number):
            return MoneyReading(None)
        amount = Decimal(number.replace(",", ".")) * _MULTIPLIERS[unit]
    else:
        if re.search(r"[ '’]", number):
            if not _SPACE_GROUPS.fullmatch(number):
                return MoneyReading(None)
            number = re.sub(r"[ '’]", "", number)
        if re.fullmatch(r"\d+(?:[.,]\d{1,2})?", number):  # 450000, 450000,50
            digits = number.replace(",", ".")
        elif re.fullmatch(r"\d{1,3}(?:\.\d{3}){2,}(?:,\d{1,2})?|\d{1,3}\.\d{3},\d{1,2}", number):
            digits = number.replace(".", "").replace(",", ".")  # 1.500.000,50
        elif re.fullmatch(r"\d{1,3}(?:,\d{3}){2,}(?:\.\d{1,2})?|\d{1,3},\d{3}\.\d{1,2}", number):
            digits = number.replace(",", "")  # 1,500,000.50
        elif re.fullmatch(r"\d{1,3}[.,]\d{3}", number):  # 450.000 or 1,500
            digits = number[:-4] + number[-3:]
            ambiguous = not (sign_first and "," in number)
        else:
            return MoneyReading(None)
        amount = Decimal(digits)
    if not 0 < amount <= BUDGET_MAX:
        return MoneyReading(None)
    if amount == amount.to_integral():
        amount = amount.quantize(Decimal(1))  # "1500000", not "1.5E+6" or "1500000.0"
    return MoneyReading(amount, ambiguous)


def parse_money(text: str) -> Decimal | None:
    """The amount in `text`, if it can be read one way only (see `read_money`)."""
    reading = read_money(text)
    return None if reading.ambiguous else reading.value


def valid_email(text: str) -> bool:
    return bool(_EMAIL.match(text)) and len(text) <= 254


def valid_phone(text: str) -> bool:
    return bool(_PHONE.match(text))


def validate(
    section: Section, raw: str, answers: dict[str, str]
) -> tuple[str | None, Problem | None]:
    """The value to store for typed text, or the problem with it."""
    text = clean_text(raw)
    if not text:
        return None, Problem("empty")
    if section.kind == "email":
        return (text, None) if valid_email(text) else (None, Problem("email"))
    if section.kind == "phone":
        return (text, None) if valid_phone(text) else (None, Problem("phone"))
    if section.kind == "month":
        reading = read_month(text)
        month = reading.value
        if month is None:
            return None, Problem(reading.problem or "month", MONTH_RANGE[0], MONTH_RANGE[1])
        start = answers.get("start_month")
        if section.id == "end_month" and start and month < start:
            return None, Problem("month_order")
        end = answers.get("end_month")
        if section.id == "start_month" and end and month > end:
            return None, Problem("month_order")
        return month, None
    if section.kind == "money":
        money = read_money(text)
        if money.value is None:
            return None, Problem("money")
        if money.ambiguous:
            return None, Problem("money_confirm", value=str(money.value))
        return str(money.value), None
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
