"""Coordinators review submitted outlines (issue 22 §1): /outlines with filters and paging, one
outline read-only, comments on the whole and on a section, statuses with their audit rows, the
applicant told in their language, revising a returned outline, the diff, the DOCX appendix,
the command line, the migration from the schema before it; and every refusal changing nothing."""

from __future__ import annotations

import io
import json
import sqlite3

import docx
import pytest

from bot import content as content_module
from storage import Database
from storage.db import LATEST_VERSION
from tests.test_cli import run_bot
from tests.test_coordinator import _submit_outline
from tests.test_outline import INDEX, SECTIONS

CONTENT = content_module.load_valid()
COORDINATOR = 9001
NEED = SECTIONS[INDEX["need"]]


async def _rows(bot, sql, params=()):
    return [tuple(row) for row in await bot.db.fetchall(sql, params)]


async def _status(bot, draft_id):
    return (await _rows(bot, "SELECT status FROM drafts WHERE id = ?", (draft_id,)))[0][0]


async def _draft_id(bot, title):
    rows = await _rows(
        bot,
        "SELECT draft_id FROM draft_answers WHERE section_id = 'title' AND value = ?",
        (title,),
    )
    return rows[0][0]


async def _open(coordinator, draft_id):
    """/outlines, then the outline's button in the list."""
    await coordinator.send("/outlines")
    await coordinator.press(f"rv:o:{draft_id}")
    return coordinator.last_with_buttons()


async def _comment(coordinator, button, text):
    await coordinator.press(button)
    await coordinator.send(text)


async def test_review_round_trip_from_submit_to_accept(bot):
    applicant = await bot.user(user_id=501, language_code="fi")
    coordinator = await bot.user(user_id=COORDINATOR, language_code="en")
    await applicant.send("/language en")
    await _submit_outline(bot, applicant, "Harrastuspolku")
    await applicant.send("/language fi")  # told in their own language from now on
    draft_id = await _draft_id(bot, "Harrastuspolku")
    assert await _status(bot, draft_id) == "submitted"
    # The coordinator was told, with a button that opens the outline for review.
    notice = coordinator.messages()[-1]
    assert "New outline submitted" in notice.text and f"rv:o:{draft_id}" in dict(
        (data, label) for label, data in notice.buttons
    )

    # The list, then the outline read-only: no edit buttons, comment and status buttons.
    await coordinator.send("/outlines")
    listing = coordinator.last
    assert "Outlines for review" in listing.text and "Harrastuspolku" in listing.text
    await coordinator.press(f"rv:o:{draft_id}")
    view = coordinator.last_with_buttons()
    labels = [label for label, _ in view.buttons]
    assert "Status: submitted" in view.text
    assert "💬 Comment on the whole" in labels and "↩️ Return with comments" in labels
    assert not any(data.startswith("ol:e:") for _, data in view.buttons)

    # Returning without a comment is refused: the applicant would not know what to revise.
    await coordinator.press("↩️ Return with comments")
    assert await _status(bot, draft_id) == "submitted"

    await coordinator.press("🔎 Take into review")
    assert await _status(bot, draft_id) == "in_review"
    assert "Harrastuspolku" in applicant.messages()[-1].text
    assert "käsittelevät" in applicant.messages()[-1].text  # Finnish: their language

    # A comment on the whole outline, then one on a section chosen by button.
    await _comment(
        coordinator, "💬 Comment on the whole", "Please say more about <results> & costs."
    )
    assert "Comment saved" in coordinator.messages()[-2].text
    await coordinator.press("💬 Comment on a section")
    await coordinator.press(f"rv:c:{draft_id}:{INDEX['need']}")
    state = await _rows(bot, "SELECT flow FROM conversations WHERE user_id = ?", (COORDINATOR,))
    assert state == [("review_comment",)]  # the step is in the database, not in memory
    await bot.restart()
    await coordinator.send("The need is not backed by figures.")
    comments = await _rows(
        bot, "SELECT section_id, author_id, body FROM review_comments WHERE draft_id = ?",
        (draft_id,),
    )  # fmt: skip
    assert comments == [
        (None, COORDINATOR, "Please say more about <results> & costs."),
        ("need", COORDINATOR, "The need is not backed by figures."),
    ]
    view = coordinator.last_with_buttons()
    assert "Please say more about &lt;results&gt; &amp; costs." in view.text  # as typed
    assert "The need is not backed by figures." in view.text

    await coordinator.press("↩️ Return with comments")
    assert await _status(bot, draft_id) == "returned"

    # The applicant is told in Finnish, with a button that opens their outline.
    told = applicant.messages()[-1]
    assert "palauttaneet" in told.text and told.buttons == [
        ("👁 Avaa hankeluonnos", f"ol:r:{draft_id}")
    ]
    await applicant.press(f"ol:r:{draft_id}")
    review_page = applicant.last_with_buttons()
    assert "The need is not backed by figures." in review_page.text
    assert "Please say more about &lt;results&gt; &amp; costs." in review_page.text
    # The comment sits beside its section: after the section's title, before the next one.
    need_title = NEED.text["fi"].title
    following = SECTIONS[INDEX["need"] + 1].text["fi"].title
    text = review_page.text
    assert text.index(need_title) < text.index("not backed") < text.index(following)
    # Editable again: the same outline, not a copy.
    edit = next(data for _, data in review_page.buttons if data.startswith("ol:e:"))
    assert edit.startswith(f"ol:e:{draft_id}:")
    await applicant.press(f"ol:e:{draft_id}:{INDEX['need']}")
    revised = "Tarve perustuu kunnan lukuihin: 40 % nuorista ei harrasta mitään. " * 3
    await applicant.send(revised)
    assert await _rows(bot, "SELECT count(*) FROM drafts WHERE user_id = 501") == [(1,)]
    await applicant.press("✅ Lähetä uudelleen")
    await applicant.press("✅ Kyllä, lähetä")
    assert await _status(bot, draft_id) == "resubmitted"
    assert "resubmitted after your comments" in coordinator.messages()[-1].text

    # The coordinator sees what changed since the comments: the section, old and new.
    view = await _open(coordinator, draft_id)
    await coordinator.press("🔀 Changes since the comments")
    changes = coordinator.last
    assert NEED.text["en"].title in changes.text
    assert "Before:" in changes.text and "Now:" in changes.text
    assert "40 % nuorista" in changes.text
    assert "The need is not backed by figures." in changes.text
    assert SECTIONS[INDEX["title"]].text["en"].title not in changes.text  # unchanged: not shown

    await coordinator.press("↩️ Back to the outline")
    await coordinator.press("✅ Accept for application")
    assert await _status(bot, draft_id) == "accepted"
    assert "hyväksyneet" in applicant.messages()[-1].text
    assert not any(d.startswith("ol:e:") for _, d in applicant.messages()[-1].buttons)

    # The audit: every change with who, when, from and to.
    audit = await _rows(
        bot,
        "SELECT actor_id, via, from_status, to_status FROM review_events WHERE draft_id = ? "
        "ORDER BY id",
        (draft_id,),
    )
    assert audit == [
        (501, "chat", "draft", "submitted"),
        (COORDINATOR, "chat", "submitted", "in_review"),
        (COORDINATOR, "chat", "in_review", "returned"),
        (501, "chat", "returned", "resubmitted"),
        (COORDINATOR, "chat", "resubmitted", "accepted"),
    ]
    assert all(row[0] for row in await _rows(bot, "SELECT created_at FROM review_events"))
    await coordinator.press("📜 History")
    assert "resubmitted → accepted for application" in coordinator.last.text

    # The coordinator's DOCX has the comments as an appendix.
    await coordinator.press("↩️ Back to the outline")
    await coordinator.press("📄 DOCX with comments")
    document = bot.telegram.calls_of("sendDocument")[-1].params["document"]
    paragraphs = [p.text for p in docx.Document(io.BytesIO(document.input_file_content)).paragraphs]
    assert "Appendix: coordinators' comments" in paragraphs
    assert "The need is not backed by figures." in paragraphs

    # /mydata of the applicant has the comments on their outline.
    await applicant.send("/mydata")
    data = json.loads(
        bot.telegram.calls_of("sendDocument")[-1].params["document"].input_file_content
    )
    [mine] = data["drafts"]
    assert [c["comment"] for c in mine["comments"]] == [
        "Please say more about <results> & costs.",
        "The need is not backed by figures.",
    ]
    assert mine["status_changes"][-1]["to"] == "accepted"


async def _returned_outline(bot):
    """One submitted outline from applicant 501, the coordinator's whole-outline comment."""
    applicant = await bot.user(user_id=501, language_code="en")
    coordinator = await bot.user(user_id=COORDINATOR, language_code="en")
    await _submit_outline(bot, applicant, "Youth paths")
    draft_id = await _draft_id(bot, "Youth paths")
    await _open(coordinator, draft_id)
    await _comment(coordinator, "💬 Comment on the whole", "Tighten the budget.")
    return applicant, coordinator, draft_id


async def _state_of(bot, draft_id):
    return (
        await _status(bot, draft_id),
        await _rows(bot, "SELECT count(*) FROM review_events WHERE draft_id = ?", (draft_id,)),
        await _rows(bot, "SELECT count(*) FROM review_comments WHERE draft_id = ?", (draft_id,)),
    )


async def test_refusals_change_nothing(bot):
    applicant, coordinator, draft_id = await _returned_outline(bot)
    view = coordinator.last_with_buttons()
    accept = dict((label, data) for label, data in view.buttons)["✅ Accept for application"]
    before = await _state_of(bot, draft_id)

    # A non-coordinator: /outlines does not exist for them, coordinators' buttons are stale.
    await applicant.send("/outlines")
    assert "I don't know the command /outlines" in applicant.last.text
    for data in (
        accept,
        f"rv:o:{draft_id}",
        f"rv:c:{draft_id}:-",
        "rv:l:*:*:0",
        f"rv:d:{draft_id}",
    ):
        await applicant.press_data(data, view)
        alert = bot.telegram.calls_of("answerCallbackQuery")[-1].params
        assert alert.get("show_alert") and "no longer valid" in alert["text"]
    assert await _state_of(bot, draft_id) == before
    state = await _rows(bot, "SELECT flow FROM conversations WHERE user_id = 501")
    assert state == []  # the comment button put the applicant in no flow

    # Forged data from a coordinator: unknown outline, status, section, filter, search.
    forged = [
        "rv:o:999999",
        f"rv:s:{draft_id}:9:5",
        f"rv:s:{draft_id}:x:5",
        f"rv:c:{draft_id}:99",
        f"rv:c:{draft_id}:abc",
        "rv:l:9:*:0",
        "rv:l:*:99:0",
        "rv:l:*:*:x",
        "rv:l:*:*:0:%%%",
        "rv:fs:*",
        "rv:zz:1",
        "rv",
    ]
    for data in forged:
        await coordinator.press_data(data, view)
        assert bot.telegram.calls_of("answerCallbackQuery")[-1].params.get("show_alert"), data
    assert await _state_of(bot, draft_id) == before

    # An illegal transition: a coordinator cannot resubmit for the applicant.
    await coordinator.press_data(f"rv:s:{draft_id}:1:4", view)
    assert "not possible" in bot.telegram.calls_of("answerCallbackQuery")[-1].params["text"]
    assert await _state_of(bot, draft_id) == before

    # A stale status button: the outline was returned meanwhile (from another message).
    await _open(coordinator, draft_id)
    await coordinator.press("↩️ Return with comments")
    after_return = await _state_of(bot, draft_id)
    await coordinator.press_data(accept, view)
    answer = bot.telegram.calls_of("answerCallbackQuery")[-1].params
    assert "changed meanwhile" in answer["text"] and "returned with comments" in answer["text"]
    assert await _state_of(bot, draft_id) == after_return

    # The applicant's submit from an old message cannot submit an outline under review again.
    await applicant.press_data(f"ol:subok:{draft_id}", applicant.last_with_buttons())
    assert await _status(bot, draft_id) == "resubmitted"  # returned → the submit is legitimate
    await applicant.press_data(f"ol:subok:{draft_id}", applicant.last_with_buttons())
    assert "no longer valid" in bot.telegram.calls_of("answerCallbackQuery")[-1].params["text"]
    assert await _rows(
        bot, "SELECT to_status FROM review_events WHERE draft_id = ? ORDER BY id", (draft_id,)
    ) == [("submitted",), ("returned",), ("resubmitted",)]

    # Comments: empty and over-long ones are refused and the step stays.
    await _open(coordinator, draft_id)
    await coordinator.press("💬 Comment on the whole")
    await coordinator.send("x" * 2001)
    assert "2001 characters" in coordinator.last.text
    state = await _rows(bot, "SELECT flow FROM conversations WHERE user_id = ?", (COORDINATOR,))
    assert state == [("review_comment",)]
    await coordinator.send("/cancel")
    assert await _rows(bot, "SELECT count(*) FROM review_comments") == [(1,)]


async def test_list_filters_search_and_pages(bot):
    coordinator = await bot.user(user_id=COORDINATOR, language_code="en")
    subthemes = list(CONTENT.subthemes)
    async with bot.db.transaction() as conn:
        for n in range(11):
            draft_id = await conn.insert(
                "INSERT INTO drafts (user_id, status, language, created_at, updated_at, "
                "submitted_at) VALUES (NULL, ?, 'fi', ?, ?, ?)",
                ("in_review" if n % 2 else "submitted", f"2027-01-{n + 1:02d}T10:00:00+00:00",
                 f"2027-01-{n + 1:02d}T10:00:00+00:00", f"2027-01-{n + 1:02d}T10:00:00+00:00"),
            )  # fmt: skip
            for section, value in (
                ("title", "ÄITIYSNEUVOLA" if n == 3 else f"Hanke {n}"),
                ("organisation", "Kaupunki" if n < 6 else "Yhdistys ry"),
                ("subthemes", subthemes[n % 2]),
            ):
                await conn.execute(
                    "INSERT INTO draft_answers (draft_id, section_id, value, updated_at) "
                    "VALUES (?, ?, ?, '2027-01-01T10:00:00+00:00')",
                    (draft_id, section, value),
                )
        await conn.insert(
            "INSERT INTO drafts (user_id, status, language, created_at, updated_at) "
            "VALUES (NULL, 'draft', 'fi', '2027-02-01', '2027-02-01')"
        )  # a draft: never listed
    await coordinator.send("/outlines")
    first = coordinator.last
    assert "Outlines: 11." in first.text and "Page 1/2" in first.text
    assert "Hanke 10" in first.text and "Hanke 0" not in first.text  # latest first
    await coordinator.press("Next ▶️")
    assert "Page 2/2" in coordinator.last.text and "Hanke 0" in coordinator.last.text

    await coordinator.press("🏷 Status…")
    await coordinator.press("in review")
    assert "Outlines: 5." in coordinator.last.text and "Hanke 2" not in coordinator.last.text
    await coordinator.press("🗂 Sub-theme…")
    await coordinator.press(CONTENT.subthemes[subthemes[1]].short["en"])
    assert "Outlines: 5." in coordinator.last.text  # the odd ones have the second sub-theme
    await coordinator.press("🗂 Sub-theme…")
    await coordinator.press(CONTENT.subthemes[subthemes[0]].short["en"])
    assert "No outlines match." in coordinator.last.text

    # Search, case and accents as in the text: "äitiys" finds "ÄITIYSNEUVOLA"; organisations.
    await coordinator.send("/outlines äitiys")
    assert "Outlines: 1." in coordinator.last.text and "ÄITIYSNEUVOLA" in coordinator.last.text
    await coordinator.send("/outlines yhdistys")
    assert "Outlines: 5." in coordinator.last.text
    # The search survives filtering and paging (it travels in the buttons).
    await coordinator.press("🏷 Status…")
    await coordinator.press("submitted")
    listing = coordinator.last
    assert (
        "“yhdistys”" in listing.text and "Hanke 6" in listing.text and "Hanke 7" not in listing.text
    )
    await coordinator.press("✖️ Clear the filters")
    assert "Outlines: 11." in coordinator.last.text


async def test_command_line_lists_shows_comments_and_changes_status(bot, settings):
    _applicant, coordinator, draft_id = await _returned_outline(bot)
    env = {"BOT_DATABASE": str(settings.database)}
    listed = run_bot("outlines", "list", "--search", "youth", env=env)
    assert listed.returncode == 0, listed.stderr
    assert listed.stdout.startswith(f"{draft_id}\tsubmitted\t")
    assert run_bot("outlines", "list", "--status", "accepted", env=env).stdout == ""

    added = run_bot(
        "outlines", "comment", str(draft_id), "Add figures.", "--section", "need", env=env
    )
    assert added.returncode == 0, added.stderr
    bad = run_bot("outlines", "comment", str(draft_id), "x", "--section", "nope", env=env)
    assert bad.returncode == 2 and "unknown section" in bad.stderr

    illegal = run_bot("outlines", "status", str(draft_id), "resubmitted", env=env)
    assert illegal.returncode == 1 and "cannot become resubmitted" in illegal.stderr
    changed = run_bot("outlines", "status", str(draft_id), "returned", env=env)
    assert changed.returncode == 0, changed.stderr
    assert "not told" in changed.stderr
    assert await _status(bot, draft_id) == "returned"
    assert (await _rows(
        bot, "SELECT actor_id, via, to_status FROM review_events WHERE draft_id = ? "
        "ORDER BY id DESC LIMIT 1", (draft_id,),
    )) == [(None, "cli", "returned")]  # fmt: skip

    shown = run_bot("outlines", "show", str(draft_id), "--lang", "en", env=env)
    assert shown.returncode == 0, shown.stderr
    assert "returned with comments" in shown.stdout and "Add figures." in shown.stdout
    assert "submitted -> returned\tcli" in shown.stdout
    data = json.loads(run_bot("outlines", "show", str(draft_id), "--json", env=env).stdout)
    assert [c["body"] for c in data["comments"]] == ["Tighten the budget.", "Add figures."]
    assert run_bot("outlines", "show", "424242", env=env).returncode == 1

    # In the chat, a comment from the command line is "on the server".
    await _open(coordinator, draft_id)
    assert "on the server" in coordinator.last_with_buttons().text


async def test_exports_carry_status_and_latest_comment(bot, settings):
    _applicant, coordinator, _draft_id = await _returned_outline(bot)
    await coordinator.press("↩️ Return with comments")
    env = {"BOT_DATABASE": str(settings.database)}
    csv_text = run_bot("export", "--format", "csv", "--lang", "en", env=env).stdout
    header, row = [line.split('";"') for line in csv_text.strip().splitlines()]
    assert header[1] == "Status" and header[7] == "Latest comment"
    assert row[header.index("Status")] == "returned with comments"
    assert row[header.index("Latest comment")] == "Tighten the budget."
    records = json.loads(run_bot("export", "--format", "json", env=env).stdout)
    assert (records[0]["status"], records[0]["latest_comment"]) == (
        "returned",
        "Tighten the budget.",
    )
    html = run_bot("export", "--format", "html", "--lang", "en", env=env).stdout
    assert "returned with comments" in html and "Tighten the budget." in html
    only = run_bot("export", "--format", "json", "--status", "accepted", env=env).stdout
    assert json.loads(only) == []


async def test_a_coordinators_deletedata_keeps_their_comments_as_a_removed_users(bot):
    applicant, coordinator, draft_id = await _returned_outline(bot)
    await coordinator.send("/deletedata")
    await coordinator.press("🗑 Yes, delete my data")
    assert await _rows(bot, "SELECT author_id, body FROM review_comments") == [
        (None, "Tighten the budget.")
    ]
    coordinator = await bot.user(user_id=COORDINATOR, language_code="en")
    await _open(coordinator, draft_id)
    assert "a removed user" in coordinator.last_with_buttons().text
    # The applicant's /deletedata takes the outline, its comments and its audit with it.
    await applicant.send("/deletedata")
    await applicant.press("🗑 Yes, delete my data")
    for table in ("drafts", "review_comments", "review_events", "review_snapshots"):
        assert await _rows(bot, f"SELECT count(*) FROM {table}") == [(0,)], table


async def test_migration_keeps_every_outline_answer_and_link(tmp_path):
    path = tmp_path / "old.sqlite3"
    db = Database(path)
    await db.open(target_version=11)  # the schema before the review
    async with db.transaction() as conn:
        await conn.execute(
            "INSERT INTO users (id, first_seen, last_seen) VALUES (7, '2026-01-01', '2026-01-01')"
        )
        await conn.execute(
            "INSERT INTO drafts (id, user_id, status, language, created_at, updated_at, "
            "submitted_at) VALUES (1, 7, 'submitted', 'fi', '2026-01-01', '2026-01-02', "
            "'2026-01-02T10:00:00+00:00')"
        )
        await conn.execute(
            "INSERT INTO drafts (id, user_id, status, language, created_at, updated_at, "
            "reopened_from) VALUES (2, 7, 'draft', 'fi', '2026-01-03', '2026-01-03', 1)"
        )
        for draft_id in (1, 2):
            await conn.execute(
                "INSERT INTO draft_answers VALUES (?, 'title', 'Otsikko', '2026-01-01')",
                (draft_id,),
            )
            await conn.execute(
                "INSERT INTO draft_history (draft_id, section_id, value, saved_at) "
                "VALUES (?, 'title', 'Otsikko', '2026-01-01')",
                (draft_id,),
            )
    await db.close()

    db = Database(path)
    await db.open()
    try:
        assert await db.version() == LATEST_VERSION
        rows = [tuple(r) for r in await db.fetchall(
            "SELECT id, user_id, status, reopened_from FROM drafts ORDER BY id"
        )]  # fmt: skip
        assert rows == [(1, 7, "submitted", None), (2, 7, "draft", 1)]
        assert (await db.fetchone("SELECT count(*) FROM draft_answers"))[0] == 2
        assert (await db.fetchone("SELECT count(*) FROM draft_history"))[0] == 2
        assert [tuple(r) for r in await db.fetchall(
            "SELECT draft_id, actor_id, from_status, to_status, created_at FROM review_events"
        )] == [(1, 7, "draft", "submitted", "2026-01-02T10:00:00+00:00")]  # fmt: skip
        assert await db.fetchall("PRAGMA foreign_key_check") == []
        assert (await db.fetchone("PRAGMA foreign_keys"))[0] == 1
        # The widened CHECK takes the new statuses and still refuses others.
        await db.execute("UPDATE drafts SET status = 'in_review' WHERE id = 1")
        with pytest.raises(sqlite3.IntegrityError):
            await db.execute("UPDATE drafts SET status = 'lost' WHERE id = 1")
        # The foreign keys still hold: deleting the draft takes its answers and history.
        await db.execute("DELETE FROM drafts WHERE id = 2")
        assert (await db.fetchone("SELECT count(*) FROM draft_answers"))[0] == 1
        await db.execute("DELETE FROM users WHERE id = 7")
        assert (await db.fetchone("SELECT count(*) FROM drafts"))[0] == 0
        assert (await db.fetchone("SELECT count(*) FROM review_events"))[0] == 0
    finally:
        await db.close()


async def test_a_coordinator_whose_role_ends_mid_comment_saves_nothing(bot, settings):
    applicant = await bot.user(user_id=501, language_code="en")
    await _submit_outline(bot, applicant, "Youth paths")
    draft_id = await _draft_id(bot, "Youth paths")
    helper = await bot.user(user_id=777, language_code="sv")
    assert (
        run_bot(
            "coordinators", "add", "777", env={"BOT_DATABASE": str(settings.database)}
        ).returncode
        == 0
    )
    await _open(helper, draft_id)
    await helper.press("💬 Kommentera helheten")
    assert "Skriv din kommentar" in helper.last.text  # Swedish: the coordinator's language
    run_bot("coordinators", "remove", "777", env={"BOT_DATABASE": str(settings.database)})
    await helper.send("Bra idé.")
    assert "inte längre är koordinator" in helper.last.text
    assert await _rows(bot, "SELECT count(*) FROM review_comments") == [(0,)]
    assert await _rows(bot, "SELECT count(*) FROM conversations WHERE user_id = 777") == [(0,)]
