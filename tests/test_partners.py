"""Partners in a draft (issue 22 §2), end to end through the real Application: an owner, a
partner and others, each in their own chat."""

from __future__ import annotations

import json
import re

from tests.conftest import replace_settings, running_harness
from tests.test_coordinator import _submit_outline
from tests.test_outline import INDEX, SECTIONS, _answers, _draft_ids, answer_for

OWNER, PARTNER, STRANGER = 2001, 2002, 2003
NEED = SECTIONS[INDEX["need"]]
OBJECTIVES = SECTIONS[INDEX["objectives"]]


async def _draft(bot, owner_id=OWNER, title="Group project"):
    owner = await bot.user(user_id=owner_id, language_code="en", first_name="Olga")
    await owner.send("/outline")
    await owner.send(title)
    await owner.send("Kerava Youth Association")  # the organisation
    await owner.press("💾 Save and exit")
    [draft_id] = await _draft_ids(bot, owner_id)
    return owner, draft_id


async def _open_partners(owner, draft_id):
    await owner.send("/mydrafts")
    await owner.press(f"dr:o:{draft_id}")
    await owner.press("👥 Partners")


async def _invite(owner, draft_id) -> str:
    """The owner asks for a link; the token in it."""
    await _open_partners(owner, draft_id)
    await owner.press("➕ Invite a partner")
    found = re.search(
        r"https://t\.me/et417_assistant_bot\?start=join_([A-Za-z0-9_-]+)", owner.last.text
    )
    assert found, owner.last.text
    return found.group(1)


async def _joined(bot, owner, draft_id, partner_id=PARTNER, name="Pekka"):
    token = await _invite(owner, draft_id)
    partner = await bot.user(user_id=partner_id, language_code="en", first_name=name)
    await partner.send(f"/start join_{token}")
    assert "You are now a partner in <b>Group project</b> by " in partner.last.text
    return partner, token


async def _history(bot, draft_id, section_id):
    rows = await bot.db.fetchall(
        "SELECT value, editor_id FROM draft_history WHERE draft_id = ? AND section_id = ? "
        "ORDER BY id",
        (draft_id, section_id),
    )
    return [(row["value"], row["editor_id"]) for row in rows]


async def _edit_from_review(user, draft_id, index):
    await user.press_data(f"ol:r:{draft_id}", user.last_with_buttons())
    await user.press(f"ol:e:{draft_id}:{index}")
    assert f"Step {index + 1}/{len(SECTIONS)}" in user.last.text


async def test_invite_join_and_the_partner_sees_and_edits_the_draft(bot):
    owner, draft_id = await _draft(bot)
    partner, _token = await _joined(bot, owner, draft_id)
    assert "Pekka joined your draft <b>Group project</b> as a partner." in owner.last.text

    await partner.send("/mydrafts")
    listing = partner.last
    assert "Group project" in listing.text
    assert "👥 shared with you by Kerava Youth Association" in listing.text
    await partner.press(f"dr:o:{draft_id}")
    labels = [label for label, _data in partner.last.buttons]
    assert "▶️ Continue" in labels and "🚪 Leave this draft" in labels
    assert not {"✏️ Rename", "🗑 Delete", "👥 Partners"} & set(labels)

    await partner.press("▶️ Continue")  # the first section not answered yet
    org_type = SECTIONS[2]
    assert f"Step 3/{len(SECTIONS)}" in partner.last.text
    await partner.press(org_type.options[0].label["en"])
    assert f"Step 4/{len(SECTIONS)}" in partner.last.text
    stored = await _answers(bot, draft_id)
    assert stored[org_type.id] == org_type.options[0].id
    assert await _history(bot, draft_id, org_type.id) == [(org_type.options[0].id, PARTNER)]
    assert (await _history(bot, draft_id, "title"))[-1] == ("Group project", OWNER)

    # The owner's list shows no "shared" mark for their own draft, and the partner's name.
    await _open_partners(owner, draft_id)
    assert "Pekka, joined" in owner.last.text


async def test_a_partner_cannot_submit_invite_remove_rename_or_delete(bot):
    owner, draft_id = await _draft(bot)
    partner, _token = await _joined(bot, owner, draft_id)
    await partner.press("👁 Review")
    review = partner.last_with_buttons()
    assert "✅ Submit" not in [label for label, _data in review.buttons]
    assert "✏️ 1. Working title of the project" in " ".join(
        label for label, _ in review.buttons
    ) or any(data.startswith(f"ol:e:{draft_id}:") for _label, data in review.buttons)
    before = await bot.db.fetchall("SELECT * FROM drafts")
    invitations = await bot.db.fetchall("SELECT * FROM draft_invitations")
    for forged in (
        f"ol:sub:{draft_id}",
        f"ol:subok:{draft_id}",
        f"pt:i:{draft_id}",
        f"pt:l:{draft_id}",
        f"pt:rmok:{draft_id}:{PARTNER}",
        f"dr:n:{draft_id}",
        f"dr:delok:{draft_id}",
    ):
        await partner.press_data(forged, review)
        answer = bot.telegram.calls_of("answerCallbackQuery")[-1].params
        assert answer.get("text") == "Only the draft's owner can do this.", forged
    assert [tuple(r) for r in await bot.db.fetchall("SELECT * FROM drafts")] == [
        tuple(r) for r in before
    ]
    assert len(await bot.db.fetchall("SELECT * FROM draft_invitations")) == len(invitations)
    assert len(await bot.db.fetchall("SELECT * FROM draft_members")) == 1


async def test_two_people_edit_one_section_and_the_later_save_chooses(bot):
    owner, draft_id = await _draft(bot)
    partner, _token = await _joined(bot, owner, draft_id)
    index = INDEX["need"]
    await owner.send("/mydrafts")
    await owner.press(f"dr:o:{draft_id}")
    await owner.press("👁 Review")
    await _edit_from_review(owner, draft_id, index)
    await partner.press("👁 Review")
    await _edit_from_review(partner, draft_id, index)

    theirs = answer_for(NEED, "partner's text ")
    await partner.send(theirs)
    assert (await _answers(bot, draft_id))["need"] == theirs

    mine = answer_for(NEED, "owner's text ")
    [conflict] = await owner.send(mine)
    assert "someone else saved a newer version" in conflict.text
    assert "Pekka saved:" in conflict.text and "partner's text" in conflict.text
    assert "owner's text" in conflict.text
    assert (await _answers(bot, draft_id))["need"] == theirs  # nothing overwritten

    await owner.press("✏️ Edit again")
    assert "Current answer: <b>partner's text" in owner.last.text
    await owner.press("✔️ Keep the current answer")  # theirs, which the owner has now seen
    assert (await _answers(bot, draft_id))["need"] == theirs

    # Again, and this time the owner's version wins, with both versions kept.
    await _edit_from_review(partner, draft_id, index)
    await _edit_from_review(owner, draft_id, index)
    second = answer_for(NEED, "partner's second ")
    await partner.send(second)
    await owner.send(mine)
    await bot.restart()  # the choice waits in the database, not in memory
    await owner.press("💾 Save mine")
    assert (await _answers(bot, draft_id))["need"] == mine
    assert "Review" in owner.last.text or "sections filled" in owner.last.text
    assert [editor for _value, editor in await _history(bot, draft_id, "need")] == [
        PARTNER,
        PARTNER,
        OWNER,
    ]

    # And "keep theirs": the partner's save after the owner's is shown, the owner keeps it.
    await _edit_from_review(owner, draft_id, index)
    await _edit_from_review(partner, draft_id, index)
    await owner.send(answer_for(NEED, "owner's third "))
    await partner.send(answer_for(NEED, "partner's third "))
    assert "The draft's owner saved:" in partner.last.text
    await partner.press("👥 Keep theirs")
    assert (await _answers(bot, draft_id))["need"] == answer_for(NEED, "owner's third ")


async def test_keeping_the_current_answer_never_takes_a_partners_edit_unseen(bot):
    owner, draft_id = await _draft(bot)
    partner, _token = await _joined(bot, owner, draft_id)
    await owner.send("/outline")
    await owner.press("▶️ Continue")  # the step after the organisation
    await owner.press("⬅️ Back")
    assert "Current answer: <b>Kerava Youth Association</b>" in owner.last.text
    await partner.press("👁 Review")
    await _edit_from_review(partner, draft_id, 1)
    await partner.send("Järvenpää Family Centre")
    await owner.press("✔️ Keep the current answer")
    assert "Järvenpää Family Centre" in owner.last.text and "Keep theirs" in str(owner.last.buttons)
    assert (await _answers(bot, draft_id))["organisation"] == "Järvenpää Family Centre"
    await owner.press("💾 Save mine")
    assert (await _answers(bot, draft_id))["organisation"] == "Kerava Youth Association"


async def test_the_owner_removes_a_partner_whose_old_buttons_then_change_nothing(bot):
    owner, draft_id = await _draft(bot)
    partner, _token = await _joined(bot, owner, draft_id)
    await partner.press("▶️ Continue")
    step = partner.last_with_buttons()
    card_buttons = partner.messages()[-2]
    await _open_partners(owner, draft_id)
    await owner.press("❌ Remove Pekka")
    await owner.press("❌ Yes, remove")
    assert "The partner was removed." in owner.last.text and "No partners yet." in owner.last.text
    assert "removed you from it" in partner.last.text

    answers = await _answers(bot, draft_id)
    for data in (f"ol:go:{draft_id}", f"ol:r:{draft_id}", f"dr:o:{draft_id}", f"pt:lv:{draft_id}"):
        await partner.press_data(data, card_buttons)
        answer = bot.telegram.calls_of("answerCallbackQuery")[-1].params
        assert answer.get("text") == "This button is no longer valid.", data
    await partner.press("💾 Save and exit", step)
    await partner.send("Removed partner's organisation type")  # typed at the old step
    assert await _answers(bot, draft_id) == answers
    await partner.send("/mydrafts")
    assert "You have no drafts yet." in partner.last.text


async def test_forged_expired_used_and_withdrawn_links_each_get_a_clear_reply(bot):
    owner, draft_id = await _draft(bot)
    stranger = await bot.user(user_id=STRANGER, language_code="en")
    for forged in ("/start join_", "/start join_AAAAAAAAAAAAAAAAAAAAAA", "/start join_<x>"):
        [reply] = await stranger.send(forged)
        assert "This invitation link is not valid." in reply.text, forged

    token = await _invite(owner, draft_id)
    [own] = await owner.send(f"/start join_{token}")
    assert "your own draft" in own.text
    await _joined_with(bot, token)
    [used] = await stranger.send(f"/start join_{token}")
    assert "has already been used or was withdrawn" in used.text

    expired = await _invite(owner, draft_id)
    await bot.db.execute(
        "UPDATE draft_invitations SET expires_at = '2020-01-01T00:00:00+00:00' "
        "WHERE used_at IS NULL"
    )
    [late] = await stranger.send(f"/start join_{expired}")
    assert "This invitation link expired on" in late.text

    withdrawn = await _invite(owner, draft_id)
    await owner.press("👥 Partners")
    await owner.press(next(label for label, _d in owner.last.buttons if label.startswith("🚫")))
    assert "The link was withdrawn." in owner.last.text
    [refused] = await stranger.send(f"/start join_{withdrawn}")
    assert "has already been used or was withdrawn" in refused.text

    # Someone with no part in the draft, pressing its buttons (forged or forwarded): no access.
    for data in (f"pt:l:{draft_id}", f"pt:i:{draft_id}", f"ol:r:{draft_id}", f"dr:o:{draft_id}"):
        await stranger.press_data(data, owner.last_with_buttons())
        answer = bot.telegram.calls_of("answerCallbackQuery")[-1].params
        assert answer.get("text") == "This button is no longer valid.", data

    members = await bot.db.fetchall("SELECT user_id FROM draft_members")
    assert [row["user_id"] for row in members] == [PARTNER]
    # Only hashes are stored: no working token is in the database.
    stored = json.dumps([list(r) for r in await bot.db.fetchall("SELECT * FROM draft_invitations")])
    assert token not in stored and expired not in stored and withdrawn not in stored


async def _joined_with(bot, token, partner_id=PARTNER):
    partner = await bot.user(user_id=partner_id, language_code="en", first_name="Pekka")
    await partner.send(f"/start join_{token}")
    assert "You are now a partner" in partner.last.text
    return partner, token


async def test_a_partners_mydata_and_deletedata_leave_the_owners_draft(bot):
    owner, draft_id = await _draft(bot)
    partner, _token = await _joined(bot, owner, draft_id)
    await partner.press("👁 Review")
    await _edit_from_review(partner, draft_id, INDEX["objectives"])
    text = answer_for(OBJECTIVES, "partner wrote ")
    await partner.send(text)
    await partner.send("/mydata")
    data = json.loads(
        bot.telegram.calls_of("sendDocument")[-1].params["document"].input_file_content
    )
    [membership] = data["partner_memberships"]
    assert (membership["draft_id"], membership["display_name"]) == (draft_id, "Pekka")
    assert [(e["section_id"], e["value"]) for e in data["edits_in_others_drafts"]] == [
        (OBJECTIVES.id, text)
    ]
    assert data["drafts"] == []  # the draft is the owner's, not theirs

    await partner.send("/deletedata")
    assert "You leave the drafts you are a partner in." in partner.last.text
    await partner.press("🗑 Yes, delete my data")
    assert await bot.db.fetchall("SELECT * FROM draft_members") == []
    assert (await _answers(bot, draft_id))[OBJECTIVES.id] == text  # the text stays
    assert await _history(bot, draft_id, OBJECTIVES.id) == [(text, None)]  # by a removed user

    # The owner editing that section after it: the removed user's version is named as such.
    await owner.send("/mydrafts")
    await owner.press(f"dr:o:{draft_id}")
    await owner.press("👁 Review")
    await _edit_from_review(owner, draft_id, INDEX["objectives"])
    await owner.send(answer_for(OBJECTIVES, "owner "))
    assert (await _answers(bot, draft_id))[OBJECTIVES.id] == answer_for(OBJECTIVES, "owner ")


async def test_the_owners_deletedata_takes_the_draft_and_tells_the_partner(bot):
    owner, draft_id = await _draft(bot)
    partner, _token = await _joined(bot, owner, draft_id)
    await owner.send("/deletedata")
    assert "Your partners lose access to your drafts" in owner.last.text
    await owner.press("🗑 Yes, delete my data")
    assert "deleted their data, so the draft is no longer shared with you" in partner.last.text
    assert "Group project" in partner.last.text
    await partner.send("/mydrafts")
    assert "You have no drafts yet." in partner.last.text
    assert await bot.db.fetchall("SELECT * FROM draft_members") == []


async def test_a_kept_submitted_outline_is_no_longer_shared_after_its_owner_leaves(settings):
    async with running_harness(replace_settings(settings, keep_submitted=True)) as bot:
        owner = await bot.user(user_id=OWNER, language_code="en", first_name="Olga")
        await _submit_outline(bot, owner, "Group project", submit=False)
        [draft_id] = await _draft_ids(bot, OWNER)
        partner, _token = await _joined(bot, owner, draft_id)
        await owner.send("/mydrafts")
        await owner.press(f"dr:o:{draft_id}")
        await owner.press("👁 Review")
        await owner.press("✅ Submit")
        await owner.press("✅ Yes, submit")
        assert "The owner submitted the draft <b>Group project</b>" in partner.last.text
        await owner.send("/deletedata")
        await owner.press("🗑 Yes, delete my data")
        assert "no longer shared with you" in partner.last.text
        [kept] = await bot.db.fetchall("SELECT status, user_id FROM drafts")
        assert tuple(kept) == ("submitted", None)
        await partner.send("/mydrafts")
        assert "You have no drafts yet." in partner.last.text


async def test_a_partner_leaves_and_the_owner_is_told(bot):
    owner, draft_id = await _draft(bot)
    partner, _token = await _joined(bot, owner, draft_id)
    await partner.send("/mydrafts")
    await partner.press(f"dr:o:{draft_id}")
    await partner.press("🚪 Leave this draft")
    await partner.press("🚪 Yes, leave")
    assert "You left the draft." in partner.last.text
    assert "Pekka left your draft <b>Group project</b>." in owner.last.text
    assert await bot.db.fetchall("SELECT * FROM draft_members") == []


async def test_the_owner_deletes_a_shared_draft_and_the_partner_is_told(bot):
    owner, draft_id = await _draft(bot)
    partner, _token = await _joined(bot, owner, draft_id)
    await owner.send("/mydrafts")
    await owner.press(f"dr:o:{draft_id}")
    await owner.press("🗑 Delete")
    assert "Its partners lose access to it, and they are told so." in owner.last.text
    await owner.press("🗑 Yes, delete")
    assert "The owner deleted the draft <b>Group project</b>" in partner.last.text
    await partner.send("/mydrafts")
    assert "You have no drafts yet." in partner.last.text


async def test_partner_messages_in_finnish_and_swedish(bot):
    owner, draft_id = await _draft(bot)
    token = await _invite(owner, draft_id)
    finn = await bot.user(user_id=2011, language_code="fi", first_name="Aino")
    await finn.send(f"/start join_{token}")
    assert "Tervetuloa! Olet nyt kumppanina luonnoksessa <b>Group project</b>" in finn.last.text
    swede = await bot.user(user_id=2012, language_code="sv", first_name="Elsa")
    await swede.send(f"/start join_{token}")
    assert "Den här inbjudningslänken har redan använts eller återkallats." in swede.last.text
