"""Coordinator tools: exports in every format, filters, statistics, unanswered questions, reload."""

from __future__ import annotations

import csv
import io
import json
import re
import shutil
import sqlite3
import zipfile
from datetime import date
from html.parser import HTMLParser
from importlib import resources

import openpyxl
import pytest

from bot import content as content_module
from tests.test_cli import run_bot
from tests.test_outline import INDEX, SECTIONS, answer_for, fill

CONTENT = content_module.load_valid()
INJECTION = '=HYPERLINK("http://evil.example","click")'


async def _submit_outline(bot, user, title, subtheme="professionals", submit=True):
    await user.send("/outline")
    if "draft in progress" in user.last.text:
        await user.press("➕ New draft")
    await user.send(title)
    await fill(user, "en", start_at=1, stop_before=INDEX["subthemes"], skip=("phone",))
    await user.press("☐ " + CONTENT.subthemes[subtheme].short["en"])
    await user.press("Continue ➡️")
    await fill(user, "en", start_at=INDEX["subthemes"] + 1, skip=("phone",))
    if submit:
        await user.press("✅ Submit")
        await user.press("✅ Yes, submit")


@pytest.fixture
async def outlines(bot):
    """Two submitted outlines (one hostile) and one unsubmitted draft from three users."""
    await _submit_outline(bot, await bot.user(user_id=501, language_code="en"), "Plain project")
    await _submit_outline(
        bot,
        await bot.user(user_id=502, language_code="en"),
        INJECTION + " <script>x</script>",
        "leisure",
    )
    await _submit_outline(
        bot, await bot.user(user_id=503, language_code="en"), "Not yet", submit=False
    )
    return bot


def _export(settings, *args):
    return run_bot("export", *args, env={"BOT_DATABASE": str(settings.database)})


async def test_csv_export_opens_in_excel_and_neutralizes_formulas(outlines, settings, tmp_path):
    result = _export(settings, "--format", "csv", "--lang", "en")
    assert result.returncode == 0, result.stderr
    raw = result.stdout.encode("utf-8")
    assert raw.startswith("\ufeff".encode())  # BOM: Excel reads UTF-8
    rows = list(csv.reader(io.StringIO(result.stdout.lstrip("\ufeff")), delimiter=";"))
    header, body = rows[0], rows[1:]
    assert header[:3] == ["Number", "Status", "Language"]
    assert SECTIONS[INDEX["need"]].text["en"].title in header
    assert len(body) == 2  # submitted only, by default
    titles = {row[header.index("Working title")] for row in body}
    assert "'" + INJECTION + " <script>x</script>" in titles
    assert all(row[header.index("Status")] == "submitted" for row in body)
    assert all(row[header.index("Name")] == row[header.index("Working title")] for row in body)
    need = answer_for(SECTIONS[INDEX["need"]])
    assert all(row[header.index(SECTIONS[INDEX["need"]].text["en"].title)] == need for row in body)

    everything = _export(settings, "--format", "csv", "--status", "all")
    assert len(list(csv.reader(io.StringIO(everything.stdout), delimiter=";"))) == 4

    # Text the bot would never store (it drops control characters) still makes valid CSV.
    odd = '-1 "quoted"\x1f;\nnext line'
    await outlines.db.execute(
        "UPDATE draft_answers SET value = ? WHERE section_id = 'need'", (odd,)
    )
    rows = list(
        csv.reader(
            io.StringIO(_export(settings, "--format", "csv", "--lang", "en").stdout), delimiter=";"
        )
    )
    assert len(rows) == 3
    column = rows[0].index(SECTIONS[INDEX["need"]].text["en"].title)
    assert {row[column] for row in rows[1:]} == {'\'-1 "quoted" ;\nnext line'}


async def test_xlsx_export_has_typed_cells_and_a_frozen_header(outlines, settings, tmp_path):
    target = tmp_path / "out.xlsx"
    result = _export(settings, "--format", "xlsx", "--lang", "fi", "-o", str(target))
    assert result.returncode == 0, result.stderr
    sheet = openpyxl.load_workbook(target).active
    rows = list(sheet.iter_rows(values_only=True))
    header = rows[0]
    assert header[0] == "Numero" and SECTIONS[0].text["fi"].title in header
    assert sheet.freeze_panes == "B2"
    assert len(rows) == 3
    cells = {c.column_letter: c for c in sheet[1]}
    column = {cell.value: letter for letter, cell in cells.items()}

    def cell(row, title):
        return sheet[f"{column[title]}{row}"]

    titles = [cell(r, SECTIONS[0].text["fi"].title) for r in (2, 3)]
    # Strings are strings: never evaluated, so written exactly as typed, without an apostrophe.
    assert {c.value for c in titles} == {"Plain project", INJECTION + " <script>x</script>"}
    assert all(c.data_type == "s" for c in titles)
    assert not any(c.data_type == "f" for row in sheet.iter_rows() for c in row)
    phone = cell(2, SECTIONS[INDEX["phone"]].text["fi"].title)
    assert phone.value in (None, "+358 40 123 4567")
    budget = cell(2, SECTIONS[INDEX["budget"]].text["fi"].title)
    assert budget.data_type == "n" and budget.value == 250000 and "€" in budget.number_format
    start = cell(2, SECTIONS[INDEX["start_month"]].text["fi"].title)
    assert start.is_date and start.value.date() == date(2027, 3, 1)
    assert start.number_format == "mmmm yyyy"
    submitted = cell(2, "Lähetetty")
    assert submitted.is_date and submitted.number_format.endswith(('"+02:00"', '"+03:00"'))
    assert cell(2, "Tila").value == "lähetetty"  # the status in the coordinator's language
    assert cell(2, "Nimi").value == titles[0].value  # one title
    assert any(c is None for row in rows for c in row)  # an empty answer is an empty cell
    # Long answers wrap: the workbook's default format, so every cell has it.
    assert sheet["A1"].font.b and not sheet["A2"].font.b
    assert all(c.alignment.wrap_text for row in sheet.iter_rows() for c in row if c.value)
    # LibreOffice shows a cell without a format of its own in the Normal style: it wraps too.
    with zipfile.ZipFile(target) as package:
        styles = package.read("xl/styles.xml").decode()
    normal = styles.split("<cellStyleXfs")[1].split("</cellStyleXfs>")[0]
    assert 'wrapText="1"' in normal


@pytest.mark.parametrize(
    ("value", "prefixed"),
    [
        ("=HYPERLINK(1)", True),
        ("+SUM(A1)", True),
        ("-2+3", True),
        ("@cmd", True),
        ("\tx", True),
        ("\rx", True),
        ("  =1+1", True),
        ("\u200b=HYPERLINK(1)", True),
        ("\ufeff\u200d@x", True),
        ("＝1+1", True),
        ("＋1", True),
        ("－1", True),
        ("＠x", True),
        ("+358-40-123", True),  # "-" subtracts: a formula
        ("- a bullet", True),
        ("+358 40 123 4567", False),
        ("+358 (0)40 123 4567", False),
        ("-12,5", False),
        ("-1 234.50", False),
        (" +358 40 123 4567", False),
        ("Plain text", False),
        ("", False),
        ("a=b", False),
    ],
)
def test_csv_prefixes_exactly_what_a_spreadsheet_would_evaluate(value, prefixed):
    from bot.exports import neutralize

    assert neutralize(value) == ("'" + value if prefixed else value)


async def test_csv_numbers_months_times_and_statuses_are_for_people(outlines, settings):
    await outlines.db.execute(
        "UPDATE draft_answers SET value = '250000.5' WHERE section_id = 'budget'"
    )
    await outlines.db.execute(
        "UPDATE draft_answers SET value = '+358 40 123 4567' WHERE section_id = 'phone'"
    )
    for language, budget, status in (
        ("fi", "250000,5", "lähetetty"),
        ("sv", "250000,5", "inskickat"),
        ("en", "250000.5", "submitted"),
    ):
        text = _export(settings, "--format", "csv", "--lang", language).stdout
        header, *body = csv.reader(io.StringIO(text.lstrip("\ufeff")), delimiter=";")
        row = dict(zip(header, body[0], strict=True))
        titles = {s.id: s.text[language].title for s in SECTIONS}
        assert row[titles["budget"]] == budget
        assert row[titles["phone"]] == "+358 40 123 4567"
        assert (row[titles["start_month"]], row[titles["end_month"]]) == ("2027-03", "2028-10")
        assert row[header[1]] == status
        assert re.fullmatch(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}\+0[23]:00", row[header[5]])


async def test_html_report_translates_statuses(outlines, settings):
    report = _export(settings, "--format", "html", "--lang", "sv", "--status", "all").stdout
    assert "inskickat" in report and "utkast" in report
    assert ">submitted<" not in report and "submitted ·" not in report


async def test_json_export_uses_stable_keys_and_matches_the_database(outlines, settings, bot):
    result = _export(settings, "--format", "json", "--status", "all")
    records = json.loads(result.stdout)
    assert len(records) == 3
    by_id = {r["id"]: r for r in records}
    for row in await bot.db.fetchall("SELECT draft_id, section_id, value FROM draft_answers"):
        value = by_id[row["draft_id"]]["sections"][row["section_id"]]
        if row["section_id"] == "subthemes":
            assert value == row["value"].split(",")
        else:
            assert value == (row["value"] or None)
    assert set(records[0]["sections"]) == {s.id for s in SECTIONS}


async def test_filters_by_subtheme_and_dates(outlines, settings):
    leisure = json.loads(_export(settings, "--format", "json", "--subtheme", "leisure").stdout)
    assert [r["sections"]["subthemes"] for r in leisure] == [["leisure"]]
    assert json.loads(_export(settings, "--format", "json", "--since", "2099-01-01").stdout) == []
    assert (
        len(json.loads(_export(settings, "--format", "json", "--until", "2099-01-01").stdout)) == 2
    )
    assert _export(settings, "--format", "json", "--subtheme", "nope").returncode == 2


class _Collector(HTMLParser):
    def __init__(self):
        super().__init__()
        self.tags, self.text = [], []

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)

    def handle_data(self, data):
        self.text.append(data)


async def test_html_report_is_grouped_escaped_and_has_a_chart(outlines, settings):
    result = _export(settings, "--format", "html", "--lang", "en")
    assert result.returncode == 0, result.stderr
    parser = _Collector()
    parser.feed(result.stdout)
    assert "script" not in parser.tags  # the title's <script> is text, not markup
    text = "".join(parser.text)
    assert INJECTION + " <script>x</script>" in text
    assert "svg" in parser.tags and "rect" in parser.tags
    assert parser.tags.count("section") == 2
    leisure_title = CONTENT.subthemes["leisure"].title["en"]
    assert text.index(leisure_title) < text.index(INJECTION)


async def test_html_report_of_one_subtheme_and_of_outlines_without_one(outlines, settings):
    user = await outlines.user(user_id=504, language_code="en")
    await user.send("/outline")
    await user.send("Only a title")  # a draft with no sub-theme chosen yet

    def report(*args: str) -> _Collector:
        result = _export(settings, "--format", "html", "--lang", "en", *args)
        assert result.returncode == 0, result.stderr
        parser = _Collector()
        parser.feed(result.stdout)
        return parser

    everything = report("--status", "all")
    text = "".join(everything.text)
    assert everything.tags.count("section") == 4
    assert everything.tags.count("h2") == 1 + len(CONTENT.subthemes) + 1  # summary, groups
    assert text.index("No sub-theme chosen") < text.index("Only a title")
    leisure = report("--subtheme", "leisure")
    assert leisure.tags.count("section") == 1 and leisure.tags.count("h2") == 2
    assert INJECTION in "".join(leisure.text) and "Plain project" not in "".join(leisure.text)


async def test_export_in_chat_for_a_coordinator(outlines, bot):
    coordinator = await bot.user(user_id=9001, language_code="en")
    await coordinator.send("/export")
    await coordinator.press("CSV")
    await coordinator.press("All, drafts included")
    await coordinator.press("All sub-themes")
    [call] = bot.telegram.calls_of("sendDocument")
    rows = list(
        csv.reader(
            io.StringIO(call.params["document"].input_file_content.decode("utf-8-sig")),
            delimiter=";",
        )
    )
    assert len(rows) == 4
    assert call.params["caption"] == "Outlines: 3."

    # One sub-theme, submitted only: the hostile outline (leisure) alone.
    await coordinator.send("/export")
    await coordinator.press("JSON")
    await coordinator.press("Submitted")
    await coordinator.press(CONTENT.subthemes["leisure"].short["en"])
    document = bot.telegram.calls_of("sendDocument")[-1].params["document"]
    [only] = json.loads(document.input_file_content)
    assert only["sections"]["subthemes"] == ["leisure"]
    assert only["sections"]["title"].startswith(INJECTION)

    # The spreadsheet and the report, parsed back: the same outlines, injections neutralized.
    await coordinator.send("/export")
    await coordinator.press("XLSX")
    await coordinator.press("Submitted")
    await coordinator.press("All sub-themes")
    document = bot.telegram.calls_of("sendDocument")[-1].params["document"]
    header, *body = openpyxl.load_workbook(io.BytesIO(document.input_file_content)).active.values
    column = header.index(SECTIONS[INDEX["title"]].text["en"].title)
    stored = await bot.db.fetchall(
        "SELECT a.value FROM draft_answers a JOIN drafts d ON d.id = a.draft_id "
        "WHERE a.section_id = 'title' AND d.status = 'submitted'"
    )
    assert sorted(row[column] for row in body) == sorted(r["value"] for r in stored)
    await coordinator.send("/export")
    await coordinator.press("HTML")
    await coordinator.press("Submitted")
    await coordinator.press("All sub-themes")
    document = bot.telegram.calls_of("sendDocument")[-1].params["document"]
    parser = _Collector()
    parser.feed(document.input_file_content.decode())
    assert "script" not in parser.tags and parser.tags.count("section") == 2
    assert INJECTION + " <script>x</script>" in "".join(parser.text)

    # A forged sub-theme or format changes nothing.
    for forged in ("ex:s:csv:all:nonexistent", "ex:s:exe:all:*", "ex:s:csv:everything:*"):
        await coordinator.press_data(forged, coordinator.last)
    assert len(bot.telegram.calls_of("sendDocument")) == 4


async def test_an_export_of_several_pages_holds_every_outline_once_in_order(bot, settings):
    """Exports read the outlines a page (storage.reports.PAGE) at a time: no row may be lost or
    repeated where one page ends and the next begins."""
    from storage.reports import PAGE

    count = 2 * PAGE + 7
    now = "2027-03-01T10:00:00+00:00"
    with sqlite3.connect(settings.database) as conn:  # as another process would write them
        conn.execute("INSERT INTO users (id, first_seen, last_seen) VALUES (600, ?, ?)", (now, now))
        conn.executemany(
            "INSERT INTO drafts (id, user_id, status, language, created_at, updated_at, "
            "submitted_at) VALUES (?, 600, 'submitted', 'fi', ?, ?, ?)",
            [(n, now, now, now) for n in range(1, count + 1)],
        )
        conn.executemany(
            "INSERT INTO draft_answers (draft_id, section_id, value, updated_at) "
            "VALUES (?, 'title', ?, ?)",
            [(n, f"Outline {n}", now) for n in range(1, count + 1)],
        )
    coordinator = await bot.user(user_id=9001, language_code="en")
    await coordinator.send("/export")
    await coordinator.press("CSV")
    await coordinator.press("Submitted")
    await coordinator.press("All sub-themes")
    [call] = bot.telegram.calls_of("sendDocument")
    assert call.params["caption"] == f"Outlines: {count}."
    document = call.params["document"].input_file_content.decode("utf-8-sig")
    header, *body = csv.reader(io.StringIO(document), delimiter=";")
    title = header.index(SECTIONS[INDEX["title"]].text["en"].title)
    assert [(row[0], row[title]) for row in body] == [
        (str(n), f"Outline {n}") for n in range(1, count + 1)
    ]


async def test_non_coordinators_get_nothing_and_learn_nothing(outlines, bot, caplog):
    applicant = await bot.user(user_id=501, language_code="en")
    [unknown] = await applicant.send("/nonsense")
    for command in ("/export", "/stats", "/unanswered", "/reload"):
        [reply] = await applicant.send(command)
        assert reply.text == unknown.text.replace("/nonsense", command)
    await applicant.press_data("ex:g:csv:all", applicant.last)
    await applicant.press_data("ex:s:csv:all:*", applicant.last)
    assert bot.telegram.calls_of("sendDocument") == []
    assert "coordinator command refused" in caplog.text


async def test_stats_in_chat_and_on_the_command_line(outlines, bot, settings):
    asker = await bot.user(user_id=600, language_code="fi")
    await asker.send("mikä on paras pizza")
    await asker.send("alateemat")
    coordinator = await bot.user(user_id=9001, language_code="en")
    [reply] = await coordinator.send("/stats")
    assert "<b>Users</b>: 5" in reply.text
    assert "submitted: 2" in reply.text and "draft: 1" in reply.text
    assert "fi · no answer: 1" in reply.text and "fi · answered: 1" in reply.text
    result = run_bot("stats", "--lang", "en", env={"BOT_DATABASE": str(settings.database)})
    assert result.returncode == 0
    assert "Users: 5" in result.stdout and "<b>" not in result.stdout


async def test_unanswered_groups_similar_questions_most_frequent_first(bot, settings):
    asker = await bot.user(user_id=600, language_code="en")
    for question in (
        "best pizza in town",
        "best pizza in the town",
        "weather tomorrow",
        "pizza best in town",
    ):
        await asker.send(question)
    coordinator = await bot.user(user_id=9001, language_code="en")
    [reply] = await coordinator.send("/unanswered")
    lines = [line for line in reply.text.splitlines() if line.startswith("• ")]
    assert lines[0].startswith("• <b>3×</b>") and "pizza" in lines[0]
    assert "weather tomorrow" in lines[1]
    result = run_bot("unanswered", "--lang", "en", env={"BOT_DATABASE": str(settings.database)})
    assert "3× " in result.stdout


async def test_reload_with_broken_content_keeps_the_old_content(tmp_path, settings):
    from tests.conftest import replace_settings, running_harness

    folder = tmp_path / "content"
    shutil.copytree(
        resources.files("content"), folder, ignore=shutil.ignore_patterns("*.py", "__pycache__")
    )  # type: ignore[arg-type]
    async with running_harness(replace_settings(settings, content_dir=folder)) as harness:
        coordinator = await harness.user(user_id=9001, language_code="en")
        entries = (folder / "faq" / "theme.toml").read_text("utf-8")
        (folder / "faq" / "theme.toml").write_text(
            entries.replace('id = "theme-overview"', 'id = "BROKEN id"'), "utf-8"
        )
        [reply] = await coordinator.send("/reload")
        assert "kept the old content" in reply.text and "BROKEN id" in reply.text
        [answer] = await coordinator.send("What is the ET 4.1.7 theme?")
        assert CONTENT.entries["theme-overview"].text["en"].question in answer.text

        (folder / "faq" / "theme.toml").write_text(
            entries.replace("What is the ET 4.1.7 theme?", "What is this theme all about?"), "utf-8"
        )
        [reply] = await coordinator.send("/reload")
        assert reply.text.startswith("Content reloaded:")
        [answer] = await coordinator.send("What is the ET 4.1.7 theme?")
        assert "What is this theme all about?" in answer.text


async def test_coordinators_added_on_the_command_line_are_coordinators(bot, settings):
    env = {"BOT_DATABASE": str(settings.database), "COORDINATOR_IDS": "9001"}
    result = run_bot("coordinators", "add", "4242", env=env)
    assert result.returncode == 0
    assert result.stdout.splitlines() == ["4242\tdatabase", "9001\tCOORDINATOR_IDS"]
    await bot.restart()  # roles are read per update; a restart is not needed, but must not hurt
    [reply] = await (await bot.user(user_id=4242, language_code="en")).send("/stats")
    assert "Statistics" in reply.text
    run_bot("coordinators", "remove", "4242", env=env)
    [reply] = await (await bot.user(user_id=4242, language_code="en")).send("/stats")
    assert reply.text.startswith("I don't know the command /stats")


async def test_an_export_too_big_for_telegram_goes_zipped_or_is_refused(outlines, monkeypatch):
    bot = outlines
    coordinator = await bot.user(user_id=9001, language_code="en")

    async def export_csv() -> None:
        await coordinator.send("/export")
        await coordinator.press("CSV")
        await coordinator.press("All, drafts included")
        await coordinator.press("All sub-themes")

    await export_csv()
    plain = bot.telegram.calls_of("sendDocument")[-1].params["document"].input_file_content

    # Telegram's 50 MB, scaled down to just under this export: the file goes zipped.
    monkeypatch.setattr("handlers.coordinator.DOCUMENT_LIMIT", len(plain) - 1)
    await export_csv()
    call = bot.telegram.calls_of("sendDocument")[-1]
    assert call.params["document"].filename.endswith(".csv.zip")
    with zipfile.ZipFile(io.BytesIO(call.params["document"].input_file_content)) as archive:
        [member] = archive.namelist()
        assert member.endswith(".csv") and archive.read(member) == plain

    # Too big even zipped: a clear reply, no file.
    monkeypatch.setattr("handlers.coordinator.DOCUMENT_LIMIT", 100)
    await export_csv()
    assert len(bot.telegram.calls_of("sendDocument")) == 2
    assert "too big for Telegram" in coordinator.last.text
    assert "python -m bot export" in coordinator.last.text


async def test_stats_gap_lines_read_as_sentences_with_the_count_first(bot):
    from tests.test_checklist import ITEMS, _walk

    user = await bot.user(language_code="en")
    await user.send("/checklist")
    await _walk(user, "en", lambda i, item: [] if item.kind == "subthemes" else "no")
    coordinator = await bot.user(user_id=9001, language_code="en")
    [reply] = await coordinator.send("/stats")
    assert "Most common gaps (number of answers):" in reply.text
    gaps = {item.text["en"].gap.replace("'", "&#x27;") for item in ITEMS} | {
        item.text["en"].gap for item in ITEMS
    }
    lines = [line for line in reply.text.split("\n") if line.startswith("• 1 × ")]
    assert len(lines) == 5 and all(line.removeprefix("• 1 × ") in gaps for line in lines)
    assert ".: " not in reply.text
