"""A group project from invitation to acceptance (issue 22), in one test: an owner, a partner and a
coordinator, each in their own chat, through the real Application. The parts are tested in depth
in test_partners.py and test_review.py; this one shows that they hold together."""

from __future__ import annotations

from tests.test_coordinator import _submit_outline
from tests.test_outline import INDEX, SECTIONS, _answers, _draft_ids, answer_for
from tests.test_partners import _edit_from_review, _history, _invite
from tests.test_review import _open, _rows, _status

OWNER, PARTNER, COORDINATOR = 2101, 2102, 9001
NEED = SECTIONS[INDEX["need"]]
OBJECTIVES = SECTIONS[INDEX["objectives"]]


async def test_invite_join_edit_together_submit_comment_return_revise_resubmit_accept(bot):
    owner = await bot.user(user_id=OWNER, language_code="en", first_name="Olga")
    coordinator = await bot.user(user_id=COORDINATOR, language_code="en")
    await _submit_outline(bot, owner, "Group project", submit=False)
    [draft_id] = await _draft_ids(bot, OWNER)

    # Invite and join.
    token = await _invite(owner, draft_id)
    partner = await bot.user(user_id=PARTNER, language_code="en", first_name="Pekka")
    await partner.send(f"/start join_{token}")
    assert "You are now a partner in <b>Group project</b>" in partner.last.text

    # Both open the same section; the partner saves first, the owner's later save is stopped
    # and shown both texts, and the owner chooses to save theirs.
    await owner.send("/mydrafts")
    await owner.press(f"dr:o:{draft_id}")
    await owner.press("👁 Review")
    await _edit_from_review(owner, draft_id, INDEX["need"])
    await partner.press("👁 Review")
    await _edit_from_review(partner, draft_id, INDEX["need"])
    theirs, mine = answer_for(NEED, "partner's "), answer_for(NEED, "owner's ")
    await partner.send(theirs)
    [conflict] = await owner.send(mine)
    assert "Pekka saved:" in conflict.text
    assert (await _answers(bot, draft_id))["need"] == theirs
    await owner.press("💾 Save mine")
    assert (await _answers(bot, draft_id))["need"] == mine
    assert [editor for _, editor in await _history(bot, draft_id, "need")][-2:] == [
        PARTNER,
        OWNER,
    ]

    # Only the owner submits; the partner is told.
    review = owner.last_with_buttons()
    await partner.press_data(f"ol:sub:{draft_id}", partner.last_with_buttons())
    assert await _status(bot, draft_id) == "draft"
    await owner.press_data(f"ol:sub:{draft_id}", review)
    await owner.press("✅ Yes, submit")
    assert await _status(bot, draft_id) == "submitted"
    assert "The owner submitted the draft <b>Group project</b>" in partner.last.text
    assert "New outline submitted" in coordinator.last.text

    # The coordinator comments on a section and returns the outline; the owner is told.
    await _open(coordinator, draft_id)
    await coordinator.press("💬 Comment on a section")
    await coordinator.press(f"rv:c:{draft_id}:{INDEX['objectives']}")
    await coordinator.send("Make the objectives measurable, please.")
    await coordinator.press("↩️ Return with comments")
    assert await _status(bot, draft_id) == "returned"
    assert owner.last.buttons == [("👁 Open the outline", f"ol:r:{draft_id}")]
    assert partner.last.buttons == owner.last.buttons  # the partner may revise it too

    # The partner revises the commented section of the returned outline (the same outline).
    await partner.press_data(f"ol:r:{draft_id}", partner.last)
    page = partner.last_with_buttons()
    assert "Make the objectives measurable, please." in page.text
    assert not any(label.startswith("✅") for label, _ in page.buttons)  # the owner's button
    revised = answer_for(OBJECTIVES, "measurable: 40 groups, 300 young people; ")
    await partner.press(f"ol:e:{draft_id}:{INDEX['objectives']}")
    await partner.send(revised)
    assert (await _answers(bot, draft_id))["objectives"] == revised
    assert (await _history(bot, draft_id, "objectives"))[-1] == (revised, PARTNER)

    # /outline offers the returned outline to continue, as it does a draft.
    await owner.send("/outline")
    assert "You have a draft in progress: <b>Group project</b>" in owner.last.text

    # The owner resubmits; the coordinator sees what changed since the comments and accepts.
    await owner.press("▶️ Continue")  # every section is filled in: the review
    await owner.press("✅ Resubmit")
    await owner.press("✅ Yes, submit")
    assert await _status(bot, draft_id) == "resubmitted"
    await _open(coordinator, draft_id)
    await coordinator.press("🔀 Changes since the comments")
    changes = coordinator.last.text
    assert OBJECTIVES.text["en"].title in changes and "300 young people" in changes
    assert "Make the objectives measurable, please." in changes
    await coordinator.press("↩️ Back to the outline")
    await coordinator.press("✅ Accept for application")
    assert await _status(bot, draft_id) == "accepted"

    audit = await _rows(
        bot,
        "SELECT actor_id, from_status, to_status FROM review_events WHERE draft_id = ? ORDER BY id",
        (draft_id,),
    )
    assert audit == [
        (OWNER, "draft", "submitted"),
        (COORDINATOR, "submitted", "returned"),
        (OWNER, "returned", "resubmitted"),
        (COORDINATOR, "resubmitted", "accepted"),
    ]
