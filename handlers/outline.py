"""Drafting a project outline step by step (its review, DOCX and submit: `handlers.submission`).

Flow "outline": the step is the section's position, the data holds the draft id, whether to return
to the review after the answer (editing from the review), and the sub-themes ticked so far; while
a question typed at the step is held (`handlers.flows`), "pending", and while an ambiguous amount
waits for the user's yes or no, "money". "seen" is the section's latest version when the step was
entered: a save finding a newer one by someone else (a partner, the owner) saves nothing and
shows both, with "mine" held until the user chooses (`storage.partners.save_section`).
Every answer is committed together with the next step before the bot replies.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, replace
from decimal import Decimal

from telegram import Update
from telegram.ext import CallbackQueryHandler, CommandHandler, filters

from bot import i18n
from bot.channels.context import BotContext
from bot.checklist import selected_subthemes
from bot.content import Section
from bot.intent import Expect
from bot.outline import (
    MAX_DRAFTS,
    Problem,
    display,
    first_unanswered,
    progress,
    validate,
)
from bot.rendering import escape, render
from handlers import flows, start, submission
from handlers import partners as partners_handlers
from handlers.common import (
    PRIVATE,
    Handlers,
    Keyboard,
    answer_button,
    button_data,
    button_data_parts,
    send,
    shorten,
    show,
    typed_text,
)
from handlers.flows import Flow
from storage import checklists, conversations, drafts, partners
from storage.conversations import Conversation
from storage.drafts import Draft
from storage.partners import Conflict, Next

PREFIX = "ol"  # callback data of this module's buttons

log = logging.getLogger(__name__)

FLOW = "outline"


@dataclass(frozen=True)
class Step:
    draft: int
    index: int  # position in content.outline
    review: bool = False  # go back to the review after this answer
    selected: tuple[str, ...] = ()
    seen: int | None = None  # the section's version shown (storage.partners.enter_step)


def _state(step: Step, **more: object) -> Conversation:
    data = {"draft": step.draft, "review": step.review, "selected": list(step.selected)}
    if step.seen is not None:
        data["seen"] = step.seen
    return Conversation(FLOW, str(step.index), {**data, **more})


def _step(state: Conversation | None) -> Step | None:
    if state is None or state.flow != FLOW or not state.step.isdigit():
        return None
    data = state.data
    return Step(
        int(data["draft"]),
        int(state.step),
        bool(data.get("review")),
        tuple(data.get("selected", [])),
        int(data["seen"]) if isinstance(data.get("seen"), int) else None,
    )


async def _enter(context: BotContext, step: Step) -> None:
    """Put the user at a step of a draft, noting the section's version they are about to see."""
    assert context.user is not None
    section_id = context.services.content.outline[step.index].id
    async with context.db.transaction() as conn:
        await partners.enter_step(conn, context.user.id, _state(step), step.draft, section_id)


def draft_name(context: BotContext, draft: Draft, answers: dict[str, str]) -> str:
    """The working title, which renaming changes too; "Untitled draft N" until there is one."""
    return answers.get(drafts.TITLE) or context.gettext("Untitled draft {number}", number=draft.id)


# -- starting -----------------------------------------------------------------------------------


async def begin(update: Update, context: BotContext) -> None:
    """/outline, /draft, the menu and /start outline: continue the latest draft or start one."""
    _ = context.gettext
    assert context.user is not None
    latest = await drafts.latest_editable(context.db, context.user.id)
    if latest is None:
        await new_draft(update, context)
        return
    name = draft_name(context, latest, await drafts.answers(context.db, latest.id))
    await show(
        update,
        context,
        _(
            "You have a draft in progress: <b>{name}</b>. Continue it or start a new one?",
            name=name,
        ),
        [
            [(_("▶️ Continue"), button_data(PREFIX, "go", latest.id))],
            [(_("➕ New draft"), button_data(PREFIX, "new"))],
            [(_("📂 My drafts"), button_data("dr", "l"))],
        ],
    )


async def new_draft(
    update: Update, context: BotContext, subthemes: list[str] | None = None
) -> None:
    assert context.user is not None
    if await refused_for_too_many_drafts(update, context):
        return
    async with context.db.transaction() as conn:
        draft_id = await drafts.create(conn, context.user.id, context.lang)
        if subthemes:
            await drafts.save_answer(conn, draft_id, "subthemes", ",".join(subthemes))
        step = Step(draft_id, 0)
        section_id = context.services.content.outline[0].id
        await partners.enter_step(conn, context.user.id, _state(step), draft_id, section_id)
    intro = context.gettext(
        "Let's draft your project outline. I save every answer at once, so you can stop any "
        "time and continue later from /mydrafts."
    )
    # One message, not two: every message counts against Telegram's 30 per second.
    answers = {"subthemes": ",".join(subthemes)} if subthemes else {}
    await ask_step(update, context, step, new_message=True, intro=intro, answers=answers)


async def refused_for_too_many_drafts(update: Update, context: BotContext) -> bool:
    """One person keeps at most MAX_DRAFTS outlines: a script must not fill the database."""
    assert context.user is not None
    count = await drafts.count_of_user(context.db, context.user.id)
    if count < MAX_DRAFTS:
        return False
    await send(
        update,
        context,
        context.gettext(
            "You already have {count} drafts, the most one person can keep. Delete the ones "
            "you no longer need in /mydrafts, then start a new one.",
            count=count,
        ),
    )
    return True


async def continue_draft(update: Update, context: BotContext, draft: Draft) -> None:
    assert context.user is not None
    answers = await drafts.answers(context.db, draft.id)
    index = first_unanswered(context.services.content, answers)
    if index >= len(context.services.content.outline):
        await conversations.set_state(context.db, context.user.id, None)
        await submission.send_review(update, context, draft)
        return
    step = Step(draft.id, index)
    await _enter(context, step)
    await ask_step(update, context, step, new_message=update.callback_query is None)


# -- one step -----------------------------------------------------------------------------------


def _step_message(
    context: BotContext, step: Step, answers: dict[str, str], state: Conversation | None = None
) -> tuple[str, Keyboard]:
    """The step's prompt and buttons; `state` holding a question's text adds its save button."""
    _ = context.gettext
    content = context.services.content
    section = content.outline[step.index]
    text = section.text[context.lang]
    current = answers.get(section.id)
    html = render(
        "outline_step.html",
        heading=_("Step {number}/{total}", number=step.index + 1, total=len(content.outline)),
        section=text,
        optional=not section.required,
        current=shorten(display(content, section, current, context.lang), 600) if current else None,
        _=_,
    )
    d, i = step.draft, step.index
    rows: list[list[tuple[str, str]]] = []
    if section.kind == "choice":
        for option in section.options:
            mark = "● " if option.id == current else ""
            rows.append(
                [(mark + option.label[context.lang], button_data(PREFIX, "o", d, i, option.id))]
            )
    elif section.kind == "subthemes":
        for subtheme in content.subthemes.values():
            mark = "☑" if subtheme.id in step.selected else "☐"
            rows.append(
                [
                    (
                        f"{mark} {subtheme.short[context.lang]}",
                        button_data(PREFIX, "t", d, i, subtheme.id),
                    )
                ]
            )
        if step.selected:
            rows.append([(_("Continue ➡️"), button_data(PREFIX, "c", d, i))])
    if current and section.kind not in ("subthemes",):
        rows.append([(_("✔️ Keep the current answer"), button_data(PREFIX, "k", d, i))])
    if held := flows.save_button(_("✍️ No — save it as my answer"), state):
        rows.append(held)
    navigation = []
    if step.review:
        navigation.append((_("↩️ Back to review"), button_data(PREFIX, "r", d)))
    elif i > 0:
        navigation.append((_("⬅️ Back"), button_data(PREFIX, "b", d, i)))
    if not section.required:
        navigation.append((_("⏭ Skip"), button_data(PREFIX, "s", d, i)))
    navigation.append((_("💾 Save and exit"), button_data(PREFIX, "x", d, i)))
    rows.append(navigation)
    return html, rows


async def ask_step(
    update: Update,
    context: BotContext,
    step: Step,
    *,
    new_message: bool,
    intro: str = "",
    answers: dict[str, str] | None = None,
    state: Conversation | None = None,
) -> None:
    """Show a step; `answers` are the draft's answers when the caller has them at hand, and
    `state` the conversation state when it holds a question's text (its save button)."""
    assert context.user is not None
    if answers is None:
        found = await drafts.shared_with_answers(context.db, step.draft, context.user.id)
        answers = found[1] if found else {}
    section = context.services.content.outline[step.index]
    if section.kind == "subthemes" and not step.selected and answers.get(section.id):
        # The version noted when the step was entered is in the stored state, not in `step`.
        stored = _step(await conversations.get(context.db, context.user.id))
        seen = stored.seen if stored is not None else step.seen
        step = replace(step, selected=tuple(selected_subthemes(answers[section.id])), seen=seen)
        await conversations.set_state(context.db, context.user.id, _state(step))
    html, buttons = _step_message(context, step, answers, state)
    if flows.pending_id(state) and not intro:
        intro = context.gettext(
            "I took your message as a question. If it was your answer to this step, press "
            "“No — save it as my answer”."
        )
    if intro:
        html = f"{intro}\n\n{html}"
    if new_message:
        await send(update, context, html, buttons)
    else:
        await show(update, context, html, buttons)


async def _save(
    update: Update,
    context: BotContext,
    step: Step,
    section: Section,
    value: str,
    answers: dict[str, str],
    *,
    typed: bool,
    keep: bool = False,
) -> None:
    """Commit the answer and the next step in one transaction, then show what comes next; or,
    when someone else saved the section meanwhile, save nothing and let the user choose.
    `keep`: the user keeps `value`, the version they were shown, without saving it again."""
    assert context.user is not None
    outline = context.services.content.outline
    following = step.index + 1
    done = step.review or following >= len(outline)
    after = Next() if done else Next(_state(Step(step.draft, following)), outline[following].id)
    conflict = await partners.save_section(
        context.db,
        context.user.id,
        step.draft,
        section.id,
        None if keep else value,
        step.seen or 0,
        after,
        _state(step, mine=value),
    )
    if conflict is not None:
        await _show_conflict(update, context, step, section, value, conflict, typed=typed)
        return
    if done:
        found = await drafts.access(context.db, step.draft, context.user.id)
        if found is None:  # the draft went meanwhile (deleted, or the partner removed)
            await start.send_menu(update, context)
            return
        await submission.send_review(update, context, found[0], new_message=typed)
    else:
        answers = {**answers, section.id: value}
        await ask_step(
            update, context, Step(step.draft, following), new_message=typed, answers=answers
        )


def expects(context: BotContext, state: Conversation) -> Expect | None:
    """What typed text the step takes (`handlers.flows` reads questions and small talk)."""
    step = _step(state)
    outline = context.services.content.outline
    if step is None or not 0 <= step.index < len(outline):
        return None
    section = outline[step.index]
    if section.kind in ("choice", "subthemes"):
        return Expect("buttons")
    return Expect(section.kind, section.min_length)


async def on_text(update: Update, context: BotContext, state: Conversation) -> None:
    if update.effective_message is not None:
        await _take(update, context, state, typed_text(update), typed=True)


async def on_answer(update: Update, context: BotContext, state: Conversation, text: str) -> None:
    """The text held from a question is the answer after all (its button was pressed)."""
    await _take(update, context, state, text, typed=False)


async def _take(
    update: Update, context: BotContext, state: Conversation, text: str, *, typed: bool
) -> None:
    _ = context.gettext
    step = _step(state)
    if step is None or context.user is None:
        return
    found = await drafts.shared_with_answers(context.db, step.draft, context.user.id)
    if found is None or not found[0].editable:
        await conversations.set_state(context.db, context.user.id, None)
        await start.send_menu(update, context)
        return
    answers = found[1]
    section = context.services.content.outline[step.index]
    if section.kind in ("choice", "subthemes"):
        await send(update, context, _("Please choose with the buttons."))
        await _reask(update, context, step)
        return
    value, problem = validate(section, text, answers)
    if problem is not None and problem.code == "money_confirm":
        await _confirm_money(update, context, state, step, problem)
        return
    if problem is not None:
        # The question is still on screen just above: a short reply with the step's buttons
        # reads better than the whole prompt, hint and example again.
        section_title = section.text[context.lang].title
        heading = _(
            "Step {number}/{total}",
            number=step.index + 1,
            total=len(context.services.content.outline),
        )
        _html, buttons = _step_message(context, step, answers)
        await send(
            update,
            context,
            f"<b>{heading} · {escape(section_title)}</b>\n{problem_text(context, problem)}",
            buttons,
        )
        return
    assert value is not None
    await _save(update, context, step, section, value, answers, typed=typed)


async def _confirm_money(
    update: Update, context: BotContext, state: Conversation, step: Step, problem: Problem
) -> None:
    """ "450.000": 450 000 € or 450 €? The likelier reading waits in the state for a yes."""
    _ = context.gettext
    assert context.user is not None
    waiting = Conversation(state.flow, state.step, {**state.data, "money": problem.value})
    await conversations.set_state(context.db, context.user.id, waiting)
    amount = i18n.format_money(Decimal(problem.value), context.lang)
    await send(
        update,
        context,
        _("Did you mean {amount}?", amount=amount),
        [
            [
                (_("Yes"), button_data(PREFIX, "my", step.draft, step.index)),
                (_("No"), button_data(PREFIX, "mn", step.draft, step.index)),
            ]
        ],
    )


def problem_text(context: BotContext, problem: Problem) -> str:
    _ = context.gettext
    messages: dict[str, str] = {
        "empty": _("The answer is empty. Please write your answer as text."),
        "too_short": _(
            "Length of your answer: {length}. This section needs at least {minimum} "
            "characters; please add a little more.",
            length=problem.length,
            minimum=problem.minimum,
        ),
        "too_long": _(
            "Length of your answer: {length}. This section takes at most {maximum} "
            "characters; please shorten it.",
            length=problem.length,
            maximum=problem.maximum,
        ),
        "email": _("That does not look like an e-mail address, e.g. name@example.org."),
        "phone": _("That does not look like a phone number, e.g. +358 40 123 4567."),
        "month": _("Please give the month as year and month, e.g. 2027-03, 3/2027 or March 2027."),
        "month_range": _(
            "The year is out of range: give a month between {first} and {last}.",
            first=problem.minimum,
            last=problem.maximum,
        ),
        "month_order": _("The project cannot end before it starts. Please check the months."),
        "money": _(
            "Please give the amount in euros as a number, e.g. 250000, 250 000 € or 1,5 milj. €."
        ),
    }
    return messages[problem.code]


async def _reask(update: Update, context: BotContext, step: Step) -> None:
    await ask_step(update, context, step, new_message=True)


async def reprompt(update: Update, context: BotContext, state: Conversation) -> None:
    step = _step(state)
    if step is not None:
        await ask_step(update, context, step, new_message=True, state=state)


# -- buttons ------------------------------------------------------------------------------------


async def button(update: Update, context: BotContext) -> None:
    _ = context.gettext
    assert context.user is not None
    parts = button_data_parts(update)
    action = parts[1] if len(parts) > 1 else ""
    if action == "new" and len(parts) == 2:
        await new_draft(update, context)
        return
    if action == "ck" and len(parts) == 3 and parts[2].isdigit():
        run = await checklists.get(context.db, int(parts[2]), context.user.id)
        if run is not None:
            chosen = selected_subthemes(
                (await checklists.answers(context.db, run.id)).get("subthemes")
            )
            await new_draft(update, context, chosen)
            return
    found = (
        await drafts.shared_with_answers(context.db, int(parts[2]), context.user.id)
        if len(parts) >= 3 and parts[2].isdigit()
        else None
    )
    if found is None:
        await _stale(update, context)
        return
    draft, answers = found
    if action == "go" and len(parts) == 3 and draft.editable:
        await continue_draft(update, context, draft)
        return
    step = await _current_step(context, parts, draft)
    if step is None:
        await _stale(update, context)
        return
    await _step_action(update, context, action, parts[4:], step, answers)


async def _stale(update: Update, context: BotContext) -> None:
    await answer_button(update, context.gettext("This button is no longer valid."), True)


async def edit_from_review(update: Update, context: BotContext, draft: Draft, index: int) -> None:
    """✏️ in the review: ask that one section, then go back to the review."""
    assert context.user is not None
    step = Step(draft.id, index, review=True)
    await _enter(context, step)
    await ask_step(update, context, step, new_message=True)


async def _current_step(context: BotContext, parts: list[str], draft: Draft) -> Step | None:
    """The step a button refers to, if it is the user's current step in this editable draft."""
    if len(parts) < 4 or not parts[3].isdigit() or not draft.editable or context.user is None:
        return None
    step = _step(await flows.state(context))
    if step is None or (step.draft, step.index) != (draft.id, int(parts[3])):
        return None
    if not 0 <= step.index < len(context.services.content.outline):
        return None
    return step


async def _step_action(
    update: Update,
    context: BotContext,
    action: str,
    extra: list[str],
    step: Step,
    answers: dict[str, str],
) -> None:
    assert context.user is not None
    _ = context.gettext
    content = context.services.content
    section = content.outline[step.index]
    if action == "o" and section.kind == "choice" and extra:
        if extra[0] not in {o.id for o in section.options}:
            await _stale(update, context)
            return
        await _save(update, context, step, section, extra[0], answers, typed=False)
    elif action == "t" and section.kind == "subthemes" and extra and extra[0] in content.subthemes:
        selected = list(step.selected)
        selected.remove(extra[0]) if extra[0] in selected else selected.append(extra[0])
        step = replace(step, selected=tuple(selected))
        await conversations.set_state(context.db, context.user.id, _state(step))
        await ask_step(update, context, step, new_message=False, answers=answers)
    elif action == "c" and section.kind == "subthemes" and step.selected:
        await _save(update, context, step, section, ",".join(step.selected), answers, typed=False)
    elif action in ("my", "mn") and section.kind == "money":
        await _money_answer(update, context, action == "my", step, section, answers)
    elif action == "k" and answers.get(section.id):
        # What the user was shown, not what is stored now: a partner's edit since then is
        # shown to them (`_show_conflict`) rather than taken for theirs unseen.
        shown = step.seen and await partners.version_value(
            context.db, step.draft, section.id, step.seen
        )
        kept = shown or answers[section.id]
        await _save(update, context, step, section, kept, answers, typed=False, keep=True)
    elif action in ("ct", "cm", "ce"):
        await _conflict_choice(update, context, action, step, section, answers)
    elif action == "s" and not section.required:
        await _save(update, context, step, section, "", answers, typed=False)
    elif action == "b" and step.index > 0 and not step.review:
        previous = Step(step.draft, step.index - 1)
        await _enter(context, previous)
        await ask_step(update, context, previous, new_message=False, answers=answers)
    elif action == "x":
        await start.send_menu(update, context, await leave(context, step))
    else:
        await _stale(update, context)


async def _money_answer(
    update: Update,
    context: BotContext,
    yes: bool,
    step: Step,
    section: Section,
    answers: dict[str, str],
) -> None:
    """ol:my / ol:mn: the amount waiting for confirmation is saved, or the step asked again."""
    assert context.user is not None
    current = await conversations.get(context.db, context.user.id)
    waiting = current.data.get("money") if current is not None else None
    if not isinstance(waiting, str):
        await _stale(update, context)
        return
    if yes:
        await _save(update, context, step, section, waiting, answers, typed=False)
        return
    await conversations.set_state(context.db, context.user.id, _state(step))
    await ask_step(update, context, step, new_message=False, answers=answers)


async def leave(context: BotContext, state: Conversation | Step) -> str:
    """Leave the outline (💾 Save and exit, /cancel); returns what to tell the user.

    A draft with nothing in it is deleted rather than kept: it holds nothing to continue, and
    an "Untitled draft" in /mydrafts would only look like lost work. The user is told so."""
    _ = context.gettext
    assert context.user is not None
    step = state if isinstance(state, Step) else _step(state)
    found = (
        await drafts.shared_with_answers(context.db, step.draft, context.user.id) if step else None
    )
    mine = found is not None and found[0].user_id == context.user.id  # a partner deletes nothing
    if found is not None and mine and found[0].editable and not found[1]:
        async with context.db.transaction() as conn:
            await conversations.clear(conn, context.user.id)
            await drafts.delete(conn, found[0].id)
        return _(
            "Nothing was filled in yet, so no draft was kept. Start one any time with /outline."
        )
    await conversations.set_state(context.db, context.user.id, None)
    if found is None:
        return _("Cancelled.")
    filled, total = progress(context.services.content, found[1])
    return _(
        "Saved ({filled}/{total} sections). Continue any time from /mydrafts.",
        filled=filled,
        total=total,
    )


# -- two people, one section ----------------------------------------------------------------


async def _show_conflict(
    update: Update,
    context: BotContext,
    step: Step,
    section: Section,
    mine: str,
    conflict: Conflict,
    *,
    typed: bool,
) -> None:
    """Someone else saved the section after the user was shown it: both versions, and a choice
    (`_conflict_choice`)."""
    message = await partners_handlers.conflict_message(
        context, step.draft, step.index, section, mine, conflict
    )
    if message is None:  # the draft is gone, or the user no longer has it
        await start.send_menu(update, context)
    elif typed:
        await send(update, context, *message)
    else:
        await show(update, context, *message)


async def _conflict_choice(
    update: Update,
    context: BotContext,
    action: str,
    step: Step,
    section: Section,
    answers: dict[str, str],
) -> None:
    """ol:ct (keep theirs), ol:cm (save mine), ol:ce (edit again) after `_show_conflict`."""
    current = await flows.state(context)
    mine = current.data.get("mine") if current is not None else None
    if not isinstance(mine, str) or step.seen is None:
        await _stale(update, context)
        return
    if action == "ce":
        await _enter(context, step)
        await ask_step(
            update, context, Step(step.draft, step.index, step.review), new_message=False
        )
        return
    if action == "cm":
        await _save(update, context, step, section, mine, answers, typed=False)
        return
    theirs = await partners.version_value(context.db, step.draft, section.id, step.seen)
    kept = theirs if theirs is not None else answers.get(section.id, "")
    await _save(update, context, step, section, kept, answers, typed=False, keep=True)


flow = Flow(FLOW, on_text, reprompt, expects, on_answer)


def deep_links() -> Handlers:
    """`/start outline`, from a t.me link; before the plain /start (handlers.start)."""
    return [CommandHandler("start", begin, filters=PRIVATE & filters.Regex(r"^/start outline$"))]


def handlers() -> Handlers:
    return [
        CommandHandler(["outline", "draft"], begin, filters=PRIVATE),
        CallbackQueryHandler(begin, pattern=r"^menu:outline$"),
        # After `handlers.submission`'s, which take the review's, download's and submit's.
        CallbackQueryHandler(button, pattern=rf"^{PREFIX}:"),
    ]
