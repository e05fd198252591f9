"""Coordinators teach the FAQ matcher from /unanswered (issue 19, section 4): attach a question to
an entry, or mark it out of scope; at once, after a restart, in /stats, on the command line."""

from __future__ import annotations

import shutil
import tomllib
from importlib import resources

from bot import content as content_module
from tests.test_cli import run_bot

QUESTION = "voiko kunnanvaltuusto ryhtyä hakijaksi"  # nothing in the content says it this way
NONSENSE = "mikä on paras pizza"


async def _ask(user, text):
    [reply] = await user.send(text)
    return reply


async def test_a_taught_question_is_answered_at_once_and_after_a_restart(bot):
    asker = await bot.user(user_id=600, language_code="fi")
    before = await _ask(asker, QUESTION)
    assert "Yhteyshenkilöt" in str(before.buttons) or "En löytänyt" in before.text
    assert not any(data.startswith("faq:f:") for _label, data in before.buttons)  # no answer

    coordinator = await bot.user(user_id=9001, language_code="en")
    listing = await _ask(coordinator, "/unanswered")
    assert QUESTION in listing.text
    [group] = [data for _label, data in listing.buttons if data.startswith("un:g:")]
    await coordinator.press_data(group, listing)
    await coordinator.press("📎 Attach to an entry…")
    await coordinator.press("Target groups")
    topic = coordinator.last_with_buttons()
    who = next(label for label, data in topic.buttons if data.endswith(":who-can-apply"))
    [done] = await coordinator.press(who)
    assert "Done" in done.text and QUESTION in done.text
    rows = await bot.db.fetchall("SELECT kind, language, query, entry_id FROM faq_learned")
    assert [tuple(row) for row in rows] == [("variant", "fi", QUESTION, "who-can-apply")]

    # At once, no restart: the same question gets the entry's answer.
    answer = await _ask(asker, QUESTION.capitalize() + "?")
    who_can_apply = content_module.load_valid().entries["who-can-apply"].text["fi"]
    assert who_can_apply.question in answer.text
    # It left the unanswered list, and /stats counts it.
    assert QUESTION not in (await _ask(coordinator, "/unanswered")).text
    stats = await _ask(coordinator, "/stats")
    assert "new variants: 1" in stats.text and "marked out of scope: 0" in stats.text

    await bot.restart()
    answer = await _ask(asker, QUESTION)
    assert who_can_apply.question in answer.text


async def test_out_of_scope_marks_answer_i_dont_know_at_once_without_a_menu(bot):
    asker = await bot.user(user_id=600, language_code="en")
    await asker.send("is there a parking permit for the ministry")
    coordinator = await bot.user(user_id=9001, language_code="fi")
    listing = await _ask(coordinator, "/unanswered")
    [group] = [data for _label, data in listing.buttons if data.startswith("un:g:")]
    await coordinator.press_data(group, listing)
    [done] = await coordinator.press("🚫 Rajaa aiheen ulkopuolelle")
    assert "Valmis" in done.text
    reply = await _ask(asker, "Is there a parking permit for the ministry?")
    assert not any(data.startswith(("faq:e:", "faq:f:")) for _label, data in reply.buttons)
    assert "parking" not in (await _ask(coordinator, "/unanswered")).text
    # A group already dealt with: the old button says so and changes nothing.
    await coordinator.press_data(group, listing)
    assert tuple(await bot.db.fetchone("SELECT COUNT(*) FROM faq_learned")) == (1,)


async def test_teaching_buttons_are_validated_and_for_coordinators_only(bot):
    asker = await bot.user(user_id=600, language_code="en")
    await asker.send(NONSENSE)
    [row] = await bot.db.fetchall("SELECT id FROM faq_queries")
    for forged in (
        f"un:e:{row[0]}:no-such-entry",
        f"un:t:{row[0]}:no-such-topic",
        "un:o:abc",
        "un:o:99999",
        f"un:x:{row[0]}",
    ):
        coordinator = await bot.user(user_id=9001, language_code="en")
        await coordinator.press_data(forged, coordinator.last)
    await asker.press_data(f"un:o:{row[0]}", asker.last)
    await asker.press_data(f"un:e:{row[0]}:who-can-apply", asker.last)
    assert await bot.db.fetchall("SELECT * FROM faq_learned") == []


async def test_the_command_line_teaches_and_writes_the_variants_into_the_toml(
    bot, settings, tmp_path
):
    asker = await bot.user(user_id=600, language_code="fi")
    await asker.send(QUESTION)
    await asker.send(NONSENSE)
    env = {"BOT_DATABASE": str(settings.database)}
    listed = run_bot("unanswered", "--lang", "en", env=env)
    line = next(line for line in listed.stdout.splitlines() if QUESTION in line)
    group = line.rsplit("#", 1)[1]
    result = run_bot("unanswered", "--attach", group, "who-can-apply", env=env)
    assert result.returncode == 0, result.stderr
    result = run_bot("unanswered", "--out-of-scope", NONSENSE, "--lang", "fi", env=env)
    assert result.returncode == 0, result.stderr
    assert run_bot("unanswered", "--attach", "999999", "who-can-apply", env=env).returncode == 2
    assert run_bot("unanswered", "--attach", group, "no-such-entry", env=env).returncode == 2

    # The running bot takes command-line teaching at /reload.
    coordinator = await bot.user(user_id=9001, language_code="en")
    await coordinator.send("/reload")
    who_can_apply = content_module.load_valid().entries["who-can-apply"].text["fi"]
    assert who_can_apply.question in (await _ask(asker, QUESTION)).text

    printed = run_bot("content", "learned", env=env)
    assert "entry who-can-apply, [entry.fi] variants" in printed.stdout
    assert f'"{QUESTION}",' in printed.stdout

    folder = tmp_path / "content"
    shutil.copytree(
        resources.files("content"), folder, ignore=shutil.ignore_patterns("*.py", "__pycache__")
    )  # type: ignore[arg-type]
    env["BOT_CONTENT_DIR"] = str(folder)
    written = run_bot("content", "learned", "--write", env=env)
    assert written.returncode == 0, written.stderr
    entries = {}
    for path in (folder / "faq").glob("*.toml"):
        for entry in tomllib.loads(path.read_text("utf-8")).get("entry", []):
            entries[entry["id"]] = entry
    assert entries["who-can-apply"]["fi"]["variants"][-1] == QUESTION
    assert run_bot("check-content", env=env).returncode == 0
    # Written once: the second run finds nothing new.
    again = run_bot("content", "learned", env=env)
    assert "nothing new" in again.stdout


def test_a_learned_variant_scores_as_if_it_were_in_the_content():
    """The index grows in place (IDF and weights updated, no rebuild): the scores must be those
    of a matcher built from content that has the variant."""
    import dataclasses

    from bot.faq import FaqMatcher, tokens
    from storage.learned import Learned

    loaded = content_module.load_valid()
    entry = loaded.entries["who-can-apply"]
    texts = dict(entry.text)
    texts["fi"] = dataclasses.replace(texts["fi"], variants=(*texts["fi"].variants, QUESTION))
    entries = dict(loaded.entries)
    entries[entry.id] = dataclasses.replace(entry, text=texts)
    built = FaqMatcher(dataclasses.replace(loaded, entries=entries))
    taught = FaqMatcher(loaded, [Learned("variant", "fi", QUESTION, "who-can-apply")])
    for query in (QUESTION, "voiko kunta hakea", "kunnanvaltuusto", "mikä on omarahoitus"):
        stems = tokens(query, "fi")
        assert taught._rank(stems, "fi") == built._rank(stems, "fi"), query
    # Decided again (now out of scope), the variant leaves the index.
    taught.learn(Learned("out_of_scope", "fi", QUESTION))
    assert taught.match(QUESTION, "fi").outcome == "none"
    assert taught._rank(tokens("kunnanvaltuusto", "fi"), "fi") == FaqMatcher(loaded)._rank(
        tokens("kunnanvaltuusto", "fi"), "fi"
    )
