"""Exports of outlines for coordinators: CSV, XLSX, JSON and an HTML report. No Telegram here.

Every writer takes the outlines as an async iterator and writes as it goes, so memory stays flat
however many outlines there are. CSV fields that a spreadsheet would run as a formula get a
leading apostrophe (`neutralize`); XLSX cells are typed (strings, numbers, dates), so nothing
there is evaluated and nothing needs a prefix.
"""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, replace
from datetime import date, datetime
from decimal import Decimal
from typing import IO, Any

import jinja2
from markupsafe import Markup

from bot import i18n, review
from bot.config import LANGUAGES
from bot.content import Content
from bot.outline import display
from storage.drafts import TITLE
from storage.reports import Outline

FORMATS = ("csv", "xlsx", "json", "html")
META = (
    "id",
    "status",
    "language",
    "created_at",
    "updated_at",
    "submitted_at",
    "name",
    "latest_comment",
)
_TIMESTAMPS = ("created_at", "updated_at", "submitted_at")

# What makes a spreadsheet evaluate a CSV field: a leading =, +, -, @ (also their full-width
# forms, which spreadsheets fold to ASCII), tab or carriage return, also after leading spaces or
# invisible characters (zero-width space, joiners, direction marks, BOM).
_TRIGGERS = frozenset("=+-@\t\r＝＋－＠")
_INVISIBLE = frozenset("\u200b\u200c\u200d\u200e\u200f\u2060\u2061\u2062\u2063\u2064\ufeff")
_INVISIBLE |= frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u180e")
_LEADING = re.compile(r"[\s\u200b-\u200f\u2060-\u2064\ufeff\u202a-\u202e\u2066-\u2069\u180e]*")
# Data, not a formula: a sign followed only by digits, spaces, parentheses, "." and "," - a
# phone number ("+358 40 123 4567", "+358 (0)40 123 4567") or a number ("-12,5", "-1 234.50").
# Without letters, operators or references a spreadsheet can call no function and open no
# link with it, so it is left as the person wrote it. "+358-40-123" is prefixed: "-" subtracts.
_PLAIN_NUMBER = re.compile(r"[+-]\d[\d ().,\u00a0]*")


# The first characters that may need a look: a trigger, any whitespace (all of it is below
# U+3001) or an invisible character. Everything else is decided by one set lookup.
_SUSPECT = _TRIGGERS | _INVISIBLE | frozenset(c for c in map(chr, range(0x3001)) if c.isspace())


def neutralize(value: str) -> str:
    """Keep a spreadsheet from evaluating CSV text ("=HYPERLINK(...)") as a formula: such a
    value gets a leading apostrophe. Phone numbers and numbers stay as they are (see
    `_PLAIN_NUMBER`). XLSX needs none of this: a cell written as a string is never evaluated."""
    if not value:
        return value
    first = value[0]
    if first in "\t\r":
        return "'" + value
    if first in _TRIGGERS or first.isspace() or first in _INVISIBLE:
        rest = value[_LEADING.match(value).end() :]  # type: ignore[union-attr]
        if rest[:1] in _TRIGGERS and not _PLAIN_NUMBER.fullmatch(rest):
            return "'" + value
    return value


@dataclass(frozen=True)
class Column:
    key: str
    header: str
    kind: str = "text"  # text | number | status | timestamp | month | money


def columns(content: Content, language: str, meta_headers: dict[str, str]) -> list[Column]:
    """Meta columns, then one per outline section; headers in the coordinator's language."""
    meta_kinds = {"id": "number", "status": "status", **dict.fromkeys(_TIMESTAMPS, "timestamp")}
    return [
        Column(key, meta_headers.get(key, key), meta_kinds.get(key, "text")) for key in META
    ] + [
        Column(
            section.id,
            section.text[language].title,
            section.kind if section.kind in ("month", "money") else "text",
        )
        for section in content.outline
    ]


def status_names(gettext: Callable[[str], str]) -> dict[str, str]:
    """Statuses as people read them; /stats, /mydrafts and the exports say the same."""
    return review.status_names(gettext)


Cell = str | int | Decimal | date | datetime


async def _spreadsheet_rows(
    content: Content,
    rows: AsyncIterator[list[Any]],
    language: str,
    statuses: dict[str, str],
) -> AsyncIterator[list[Cell]]:
    """Rows of `storage.reports.outline_rows` (the order of `columns`) made ready in place for
    people reading a spreadsheet: option labels and sub-theme names instead of ids, the
    working title as the name, the status in their language, and typed values: the budget a
    Decimal, months dates, timestamps aware datetimes in Finnish time. Empty cells are ""."""
    sections = content.outline
    width = len(META)
    shown = [(width + i, s) for i, s in enumerate(sections) if s.kind in ("choice", "subthemes")]
    months = [width + i for i, s in enumerate(sections) if s.kind == "month"]
    money = [width + i for i, s in enumerate(sections) if s.kind == "money"]
    title = width + next((i for i, s in enumerate(sections) if s.id == TITLE), 0)
    status, name = META.index("status"), META.index("name")
    comment = META.index("latest_comment")
    stamps = [META.index(key) for key in _TIMESTAMPS]

    async for row in rows:
        row[status] = statuses.get(row[status], row[status])
        row[name] = row[title]  # one title: renaming a draft changes its working title
        row[comment] = row[comment] or ""
        for index in stamps:
            row[index] = i18n.in_helsinki(row[index]) if row[index] else ""
        for index, section in shown:
            if row[index]:
                row[index] = display(content, section, row[index], language)
        for index in months:
            if row[index]:
                year, month = row[index].split("-")[:2]
                row[index] = date(int(year), int(month), 1)
        for index in money:
            if row[index]:
                row[index] = Decimal(row[index])
        yield row


_SEPARATOR = "\x1f"  # never in stored text (clean_text drops control characters); checked anyway


def _csv_cell(value: Cell, decimal_comma: bool) -> str:
    """A typed cell as CSV text: the budget as plain digits with the locale's decimal mark (no
    grouping, no currency, so a spreadsheet reads a number), months as ISO yyyy-mm, timestamps
    as ISO date and time with the UTC offset of Finnish time then."""
    if type(value) is str:
        return neutralize(value)
    if isinstance(value, datetime):
        return value.isoformat(sep=" ", timespec="minutes")
    if isinstance(value, date):
        return value.strftime("%Y-%m")
    if isinstance(value, Decimal):
        text = format(value.normalize() if value == value.to_integral_value() else value, "f")
        return text.replace(".", ",") if decimal_comma else text
    return str(value)


async def write_csv(
    fh: IO[bytes], rows: AsyncIterator[list[Cell]], cols: list[Column], language: str = "fi"
) -> int:
    """UTF-8 with BOM and semicolons: what Excel with Finnish settings opens correctly.

    Every field is quoted and inner quotes doubled (RFC 4180). A row is escaped as one string
    (fields joined by a separator, quotes doubled, the separator turned into ";"): faster than
    the csv module and than quoting field by field (measured: docs/performance.md)."""
    decimal_comma = language in ("fi", "sv")
    typed = [
        i for i, column in enumerate(cols) if column.kind != "text" and column.kind != "status"
    ]
    fh.write("\ufeff".encode())
    fh.write(_csv_line([neutralize(c.header) for c in cols]))
    count = 0
    lines: list[bytes] = []
    suspect = _SUSPECT
    async for row in rows:
        for index in typed:
            row[index] = _csv_cell(row[index], decimal_comma)
        # neutralize(), called only for a value whose first character may need it: this runs
        # for every cell of every outline.
        lines.append(_csv_line([neutralize(v) if v and v[0] in suspect else v for v in row]))
        count += 1
        if len(lines) == 256:
            fh.write(b"".join(lines))
            lines.clear()
    fh.write(b"".join(lines))
    return count


def _csv_line(fields: list[str]) -> bytes:
    joined = _SEPARATOR.join(fields)
    if joined.count(_SEPARATOR) != len(fields) - 1:  # a field held the separator itself
        joined = _SEPARATOR.join(f.replace(_SEPARATOR, " ") for f in fields)
    return ('"' + joined.replace('"', '""').replace(_SEPARATOR, '";"') + '"\r\n').encode()


async def write_json(
    fh: IO[bytes],
    content: Content,
    items: AsyncIterator[Outline],
    cols: list[Column],
    language: str,
) -> int:
    """For machines: stable keys (section ids), stored values (option and sub-theme ids)."""
    fh.write(b"[")
    count = 0
    async for outline in items:
        record: dict[str, Any] = {
            "id": outline.id,
            "status": outline.status,
            "language": outline.language,
            "created_at": outline.created_at,
            "updated_at": outline.updated_at,
            "submitted_at": outline.submitted_at,
            "name": outline.answers.get(TITLE) or None,
            "latest_comment": outline.latest_comment,
            "sections": {
                section.id: _json_value(section.kind, outline.answers.get(section.id))
                for section in content.outline
            },
        }
        fh.write((b",\n" if count else b"\n") + json.dumps(record, ensure_ascii=False).encode())
        count += 1
    fh.write(b"\n]\n")
    return count


def _json_value(kind: str, value: str | None) -> Any:
    if value is None or value == "":
        return None
    if kind == "subthemes":
        return [s for s in value.split(",") if s]
    return value


async def write_xlsx(
    fh: IO[bytes], rows: AsyncIterator[list[Cell]], cols: list[Column], language: str = "fi"
) -> int:
    """Strings are written as strings (never evaluated, so never prefixed), the budget as a
    number in euros, months as dates shown as month and year, timestamps as date-times in
    Finnish time with their UTC offset shown."""
    import xlsxwriter  # imported here: only coordinators' exports need it

    # constant_memory: rows are flushed to disk as they are written, not kept in memory.
    # Wrapped text is the workbook's default format (also its Normal style, which LibreOffice
    # reads): a cell without a format of its own then needs no style attribute, which XlsxWriter
    # would otherwise escape for each of the cells.
    workbook = xlsxwriter.Workbook(
        fh,
        {
            "constant_memory": True,
            "strings_to_formulas": False,
            "default_format_properties": {
                "font_name": "Calibri",
                "font_size": 11,
                "text_wrap": True,
                "valign": "top",
            },
        },
    )
    sheet = workbook.add_worksheet("ET 4.1.7")
    # Formats start from the default: the header keeps the bottom alignment it had.
    header = workbook.add_format({"bold": True, "bg_color": "#DDEBF7", "valign": "bottom"})
    # Excel shows the separators of the reader's own settings; the € goes where the language
    # puts it.
    euros = workbook.add_format(
        {"num_format": '"€"#,##0.00' if language == "en" else '#,##0.00\\ "€"'}
    )
    month_format = workbook.add_format({"num_format": "mmmm yyyy", "align": "left"})
    offsets: dict[str, Any] = {}  # one date-time format per UTC offset (+02:00, +03:00)
    for index, column in enumerate(cols):
        long_text = column.kind == "text" and (
            column.key not in META or column.key == "latest_comment"
        )
        long_text = long_text and column.key not in ("email", "phone")
        sheet.set_column(index, index, 60 if long_text else 18)
        sheet.write_string(0, index, column.header, header)
    sheet.freeze_panes(1, 1)
    count = 0
    write = sheet.write_string
    async for row in rows:
        count += 1
        for index, value in enumerate(row):
            if type(value) is str:
                if value:  # an empty cell is no cell: nothing to write
                    write(count, index, value)
            elif isinstance(value, datetime):
                offset = value.strftime("%z")
                offset = f"{offset[:3]}:{offset[3:]}"
                if offset not in offsets:
                    offsets[offset] = workbook.add_format(
                        {"num_format": f'yyyy-mm-dd hh:mm "{offset}"', "align": "left"}
                    )
                sheet.write_datetime(count, index, value.replace(tzinfo=None), offsets[offset])
            elif isinstance(value, date):
                sheet.write_datetime(
                    count, index, datetime(value.year, value.month, value.day), month_format
                )
            elif isinstance(value, Decimal):
                sheet.write_number(count, index, float(value), euros)
            else:
                sheet.write_number(count, index, value)
    sheet.autofilter(0, 0, max(count, 1), len(cols) - 1)
    workbook.close()
    return count


@dataclass(frozen=True)
class ReportSummary:
    by_status: dict[str, int]
    by_subtheme: dict[str, int]
    per_week: list[tuple[str, int]]


def bar_chart(per_week: list[tuple[str, int]], width: int = 640, height: int = 160) -> Markup:
    """Submissions per week as an inline SVG bar chart (no JavaScript, no external files)."""
    if not per_week:
        return Markup("")
    top = max(n for _, n in per_week)
    bar = width / len(per_week)
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height + 30}" '
        f'role="img" aria-label="submissions per week">'
    ]
    for index, (week, n) in enumerate(per_week):
        h = (height - 20) * n / top
        x = index * bar
        parts.append(
            f'<rect x="{x + 2:.1f}" y="{height - h:.1f}" width="{max(bar - 4, 1):.1f}" '
            f'height="{h:.1f}" fill="#2b6cb0"><title>{week}: {n}</title></rect>'
            f'<text x="{x + bar / 2:.1f}" y="{height - h - 4:.1f}" font-size="11" '
            f'text-anchor="middle">{n}</text>'
        )
        if len(per_week) <= 16 or index % max(1, len(per_week) // 12) == 0:
            parts.append(
                f'<text x="{x + bar / 2:.1f}" y="{height + 16}" font-size="10" '
                f'text-anchor="middle">{week}</text>'
            )
    parts.append("</svg>")
    return Markup("".join(parts))


async def write_html(
    fh: IO[bytes],
    content: Content,
    groups: Callable[[str | None], AsyncIterator[Outline] | None],
    summary: ReportSummary,
    language: str,
    gettext: Callable[[str], str],
) -> int:
    """A readable report: summary with a chart, then every outline grouped by sub-theme.

    `groups(subtheme_id)` yields the outlines of one sub-theme (None: those without one), or is
    None for a group left out.
    """
    environment = jinja2.Environment(
        loader=jinja2.PackageLoader("content", "templates"), autoescape=True
    )
    page = environment.get_template("report.html").make_module(
        {
            "_": gettext,
            "lang": language,
            "languages": LANGUAGES,
            "summary": summary,
            "subtheme_names": {s.id: s.title[language] for s in content.subthemes.values()},
            "chart": bar_chart(summary.per_week),
            "fmt_time": lambda stored: i18n.format_datetime(stored, language) if stored else "",
            "status_names": status_names(gettext),
        }
    )
    sections = content.outline
    shown: set[int] = set()  # an outline with two sub-themes is shown twice but counted once
    # The template's macros render synchronously, outline by outline: Jinja's async rendering
    # of the whole page cost more than half of a big report's time.
    fh.write(str(page.page_start()).encode("utf-8"))
    chosen = [(s.title[language], s.id) for s in content.subthemes.values()]
    for title, subtheme_id in [*chosen, (gettext("No sub-theme chosen"), None)]:
        items = groups(subtheme_id)
        if items is None:
            continue
        fh.write(str(page.group(title)).encode("utf-8"))
        async for outline in items:
            shown.add(outline.id)
            rows = [
                (
                    section.text[language].title,
                    display(content, section, outline.answers.get(section.id), language),
                )
                for section in sections
            ]
            fh.write(str(page.outline({"outline": outline, "rows": rows})).encode("utf-8"))
    fh.write(str(page.page_end()).encode("utf-8"))
    return len(shown)


def meta_headers(gettext: Callable[[str], str]) -> dict[str, str]:
    _ = gettext
    return {
        "id": _("Number"),
        "status": _("Status"),
        "language": _("Language"),
        "created_at": _("Created"),
        "updated_at": _("Last edited"),
        "submitted_at": _("Submitted"),
        "name": _("Name"),
        "latest_comment": _("Latest comment"),
    }


async def export(
    fh: IO[bytes],
    fmt: str,
    db: Any,
    content: Content,
    selection: Any,
    language: str,
    gettext: Callable[[str], str],
) -> int:
    """Write the outlines `selection` picks in format `fmt`; returns how many were written."""
    from storage import reports

    cols = columns(content, language, meta_headers(gettext))
    section_ids = [section.id for section in content.outline]
    if fmt in ("csv", "xlsx"):
        flat = reports.outline_rows(db, selection, section_ids)
        rows = _spreadsheet_rows(content, flat, language, status_names(gettext))
        writer = write_csv if fmt == "csv" else write_xlsx
        return await writer(fh, rows, cols, language)
    if fmt == "json":
        return await write_json(
            fh, content, reports.outlines(db, selection, section_ids), cols, language
        )
    if fmt == "html":
        summary = ReportSummary(
            by_status=await reports.count_outlines(db, selection),
            by_subtheme=await reports.subtheme_counts(db, selection),
            per_week=await reports.submissions_per_week(db, selection),
        )

        def group(subtheme: str | None) -> AsyncIterator[Outline] | None:
            # One query per group keeps memory flat; an outline with two sub-themes appears
            # under both, as a coordinator reading one sub-theme expects. A report for one
            # sub-theme has that group only.
            wanted = reports.NO_SUBTHEME if subtheme is None else subtheme
            if selection.subtheme is not None and wanted != selection.subtheme:
                return None
            return reports.outlines(db, replace(selection, subtheme=wanted), section_ids)

        return await write_html(fh, content, group, summary, language, gettext)
    raise ValueError(f"unknown format {fmt!r}")
