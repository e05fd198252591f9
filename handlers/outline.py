"""Drafting a project outline step by step, reviewing it, downloading and submitting it.

Flow "outline": the step is the section's position, the data holds the draft id, whether to return
to the review after the answer (editing from the review), and the sub-themes ticked so far; while
a question typed at the step is held (`handlers.flows`), "pending", and while an ambiguous amount
waits for the user's yes or no, "money".
Every answer is committed together with the next step before the bot replies.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from decimal import Decimal

from telegram import Update
from telegram.ext import CallbackQueryHandler, CommandHandler, filters

from bot import i18n
from bot.channels.context import BotContext
from bot.channels.replies import send_html
from bot.checklist import selected_subthemes
from bot.content import Section
from bot.documents import Labels, file_name, outline_docx
from bot.intent import Expect
from bot.outline import (
    MAX_DRAFTS,
    Problem,
    display,
    first_unanswered,
    missing_required,
    progress,
    validate,
)
from bot.rendering import escape, render
from handlers import flows, start
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
from storage import checklists, conversations, drafts, users
from storage.conversations import Conversation
from storage.drafts import Draft

PREFIX = "ol"  # callback data of this module's buttons

log = logging.getLogger(__name__)

FLOW = "outline"


@dataclass(frozen=True)
class Step:
    draft: int
    index: int  # position in content.outline
    review: bool = False  # go back to the review after this answer
    selected: tuple[str, ...] = ()


def _state(step: Step) -> Conversation:
    return Conversation(
        FLOW,
        str(step.index),
        {"draft": step.draft, "review": step.review, "selected": list(step.selected)},
    )


def _step(state: Conversation | None) -> Step | None:
    if state is None or state.flow != FLOW or not state.step.isdigit():
        return None
    data = state.data
    return Step(
        int(data["draft"]),
        int(state.step),
        bool(data.get("review")),
        tuple(data.get("selected", [])),
    )


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
    if await _refused_for_too_many_drafts(update, context):
        return
    async with context.db.transaction() as conn:
        draft_id = await drafts.create(conn, context.user.id, context.lang)
        if subthemes:
            await drafts.save_answer(conn, draft_id, "subthemes", ",".join(subthemes))
        step = Step(draft_id, 0)
        await conversations.put(conn, context.user.id, _state(step))
    intro = context.gettext(
        "Let's draft your project outline. I save every answer at once, so you can stop any "
        "time and continue later from /mydrafts."
    )
    # One message, not two: every message counts against Telegram's 30 per second.
    answers = {"subthemes": ",".join(subthemes)} if subthemes else {}
    await ask_step(update, context, step, new_message=True, intro=intro, answers=answers)


async def _refused_for_too_many_drafts(update: Update, context: BotContext) -> bool:
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
        await send_review(update, context, draft)
        return
    step = Step(draft.id, index)
    await conversations.set_state(context.db, context.user.id, _state(step))
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
        found = await drafts.get_with_answers(context.db, step.draft, context.user.id)
        answers = found[1] if found else {}
    section = context.services.content.outline[step.index]
    if section.kind == "subthemes" and not step.selected and answers.get(section.id):
        step = Step(
            step.draft, step.index, step.review, tuple(selected_subthemes(answers[section.id]))
        )
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
) -> None:
    """Commit the answer and the next step in one transaction, then show what comes next."""
    assert context.user is not None
    outline = context.services.content.outline
    following = step.index + 1
    done = step.review or following >= len(outline)
    async with context.db.transaction() as conn:
        await drafts.save_answer(conn, step.draft, section.id, value)
        if done:
            await conversations.clear(conn, context.user.id)
        else:
            await conversations.put(conn, context.user.id, _state(Step(step.draft, following)))
    if done:
        draft = await drafts.get(context.db, step.draft, context.user.id)
        assert draft is not None
        await send_review(update, context, draft, new_message=typed)
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
    found = await drafts.get_with_answers(context.db, step.draft, context.user.id)
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
        await drafts.get_with_answers(context.db, int(parts[2]), context.user.id)
        if len(parts) >= 3 and parts[2].isdigit()
        else None
    )
    if found is None:
        await _stale(update, context)
        return
    draft, answers = found
    if action in ("r", "go", "doc", "sub", "subok", "re"):
        await _draft_action(update, context, action, draft)
        return
    step = await _current_step(context, parts, draft)
    if step is None:
        await _stale(update, context)
        return
    await _step_action(update, context, action, parts[4:], step, answers)


async def _stale(update: Update, context: BotContext) -> None:
    await answer_button(update, context.gettext("This button is no longer valid."), True)


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
        step = Step(step.draft, step.index, step.review, tuple(selected))
        await conversations.set_state(context.db, context.user.id, _state(step))
        await ask_step(update, context, step, new_message=False, answers=answers)
    elif action == "c" and section.kind == "subthemes" and step.selected:
        await _save(update, context, step, section, ",".join(step.selected), answers, typed=False)
    elif action in ("my", "mn") and section.kind == "money":
        await _money_answer(update, context, action == "my", step, section, answers)
    elif action == "k" and answers.get(section.id):
        await _save(update, context, step, section, answers[section.id], answers, typed=False)
    elif action == "s" and not section.required:
        await _save(update, context, step, section, "", answers, typed=False)
    elif action == "b" and step.index > 0 and not step.review:
        previous = Step(step.draft, step.index - 1)
        await conversations.set_state(context.db, context.user.id, _state(previous))
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
    found = await drafts.get_with_answers(context.db, step.draft, context.user.id) if step else None
    if found is not None and found[0].editable and not found[1]:
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


# -- review, download, submit, reopen -----------------------------------------------------------


async def send_review(
    update: Update, context: BotContext, draft: Draft, *, new_message: bool = True
) -> None:
    _ = context.gettext
    content = context.services.content
    answers = await drafts.answers(context.db, draft.id)
    filled, total = progress(content, answers)
    missing = {s.id for s in missing_required(content, answers)}
    html = render(
        "outline_review.html",
        name=draft_name(context, draft, answers),
        status=_status(context, draft),
        progress=_("{filled}/{total} sections filled", filled=filled, total=total),
        sections=[
            (
                number,
                section.text[context.lang].title,
                display(content, section, answers.get(section.id), context.lang),
                section.id in missing,
            )
            for number, section in enumerate(content.outline, 1)
        ],
        missing=[s.text[context.lang].title for s in content.outline if s.id in missing],
        editable=draft.editable,
        _=_,
    )
    rows: list[list[tuple[str, str]]] = []
    if draft.editable:
        edits = [
            (
                f"✏️ {n}. {shorten(s.text[context.lang].title, 24)}",
                button_data(PREFIX, "e", draft.id, n - 1),
            )
            for n, s in enumerate(content.outline, 1)
        ]
        rows += [edits[i : i + 2] for i in range(0, len(edits), 2)]
        rows.append([(_("✅ Submit"), button_data(PREFIX, "sub", draft.id))])
    else:
        rows.append([(_("🔁 Reopen as a new draft"), button_data(PREFIX, "re", draft.id))])
    rows.append([(_("📄 Download (DOCX)"), button_data(PREFIX, "doc", draft.id))])
    rows.append(
        [(_("📂 My drafts"), button_data("dr", "l")), (_("⬅️ Menu"), button_data("menu", "main"))]
    )
    if new_message:
        await send(update, context, html, rows)
    else:
        await show(update, context, html, rows)


def _status(context: BotContext, draft: Draft) -> str:
    _ = context.gettext
    if draft.submitted_at:
        return _("Submitted {when}", when=i18n.format_datetime(draft.submitted_at, context.lang))
    return _("Draft, last edited {when}", when=i18n.format_datetime(draft.updated_at, context.lang))


async def _draft_action(update: Update, context: BotContext, action: str, draft: Draft) -> None:
    _ = context.gettext
    assert context.user is not None
    if action == "r":
        await conversations.set_state(context.db, context.user.id, None)
        await send_review(update, context, draft)
    elif action == "go" and draft.editable:
        await continue_draft(update, context, draft)
    elif action == "doc":
        await answer_button(update)  # before building the document
        await send_docx(update, context, draft)
    elif action == "sub" and draft.editable:
        await _confirm_submit(update, context, draft)
    elif action == "subok" and draft.editable:
        await _submit(update, context, draft)
    elif action == "re" and not draft.editable:
        if await _refused_for_too_many_drafts(update, context):
            return
        async with context.db.transaction() as conn:
            copy_id = await drafts.reopen(conn, draft)
        copy = await drafts.get(context.db, copy_id, context.user.id)
        assert copy is not None
        await send(
            update,
            context,
            _("A new editable copy is ready. The submitted version stays as it was."),
        )
        await send_review(update, context, copy)
    else:
        await _stale(update, context)


async def edit_section(update: Update, context: BotContext) -> None:
    """ol:e:<draft>:<index> from the review: jump to a section, then come back to the review."""
    assert context.user is not None
    parts = button_data_parts(update)
    valid = len(parts) == 4 and parts[2].isdigit() and parts[3].isdigit()
    draft = await drafts.get(context.db, int(parts[2]), context.user.id) if valid else None
    index = int(parts[3]) if valid else -1
    if (
        draft is None
        or not draft.editable
        or not 0 <= index < len(context.services.content.outline)
    ):
        await _stale(update, context)
        return
    step = Step(draft.id, index, review=True)
    await conversations.set_state(context.db, context.user.id, _state(step))
    await ask_step(update, context, step, new_message=True)


async def send_docx(update: Update, context: BotContext, draft: Draft) -> None:
    _ = context.gettext
    content = context.services.content
    answers = await drafts.answers(context.db, draft.id)
    name = draft_name(context, draft, answers)
    labels = Labels(
        heading=_("Project outline"),
        theme=_(
            "ESF+ national theme ET 4.1.7 – Equality of the children, young people and families"
        ),
        status=_status(context, draft),
        not_answered=_("(not answered yet)"),
    )
    data = outline_docx(
        content, name, answers, context.lang, labels, author=answers.get("organisation", "")
    )
    chat = update.effective_chat
    assert chat is not None
    filename = file_name(answers.get(drafts.TITLE, ""), f"outline-{draft.id}")
    await context.bot.send_document(
        chat.id,
        document=data,
        filename=filename,
        caption=_("Your outline: {name}", name=name)[:1000],
    )


async def _confirm_submit(update: Update, context: BotContext, draft: Draft) -> None:
    _ = context.gettext
    content = context.services.content
    answers = await drafts.answers(context.db, draft.id)
    missing = missing_required(content, answers)
    if missing:
        first = content.outline.index(missing[0])
        await send(
            update,
            context,
            render(
                "outline_missing.html",
                intro=_("Before you can submit, fill in these required sections:"),
                titles=[s.text[context.lang].title for s in missing],
            ),
            [
                [(_("✏️ Fill in the first one"), button_data(PREFIX, "e", draft.id, first))],
                [(_("↩️ Back to review"), button_data(PREFIX, "r", draft.id))],
            ],
        )
        return
    await show(
        update,
        context,
        _(
            "Submit <b>{name}</b> to the theme's coordinators? After submitting, this version "
            "can no longer be edited; you can reopen it as a new draft.",
            name=draft_name(context, draft, answers),
        ),
        [
            [(_("✅ Yes, submit"), button_data(PREFIX, "subok", draft.id))],
            [(_("↩️ Back to review"), button_data(PREFIX, "r", draft.id))],
        ],
    )


async def _submit(update: Update, context: BotContext, draft: Draft) -> None:
    _ = context.gettext
    content = context.services.content
    answers = await drafts.answers(context.db, draft.id)
    if missing_required(content, answers):
        await _confirm_submit(update, context, draft)
        return
    async with context.db.transaction() as conn:
        submitted = await drafts.submit(conn, draft.id)
        await conversations.clear(conn, draft.user_id)
    if not submitted:
        await _stale(update, context)
        return
    name = draft_name(context, draft, answers)
    await show(
        update,
        context,
        _(
            "✅ Submitted: <b>{name}</b>. The coordinators have been told. Thank you!",
            name=name,
        ),
        [[(_("📂 My drafts"), button_data("dr", "l")), (_("⬅️ Menu"), button_data("menu", "main"))]],
    )
    await notify_coordinators(context, draft.id, name, answers.get("organisation", ""))


async def notify_coordinators(
    context: BotContext, draft_id: int, name: str, organisation: str
) -> None:
    """Tell coordinators about a submission; a failure here never touches the applicant's submit."""
    recipients = set(context.services.settings.coordinator_ids)
    recipients |= set(await users.coordinators(context.db))
    default_language = context.services.settings.default_language
    for coordinator in sorted(recipients):
        try:
            person = await users.get(context.db, coordinator)
            # As in their own chat: the language they chose, else the one Telegram reports.
            language = (person.language if person else None) or i18n.negotiate(
                person.telegram_language if person else None, default_language
            )

            def _(message: str, language: str = language) -> str:
                return i18n.gettext(language, message)

            text = _(
                "📥 New outline submitted: <b>{name}</b> ({organisation}), number {number}."
            ).format(name=escape(name), organisation=escape(organisation), number=draft_id)
            await send_html(context.bot, coordinator, text)
        except Exception:
            log.warning("could not notify coordinator about draft %s", draft_id, exc_info=True)


flow = Flow(FLOW, on_text, reprompt, expects, on_answer)


def deep_links() -> Handlers:
    """`/start outline`, from a t.me link; before the plain /start (handlers.start)."""
    return [CommandHandler("start", begin, filters=PRIVATE & filters.Regex(r"^/start outline$"))]


def handlers() -> Handlers:
    return [
        CommandHandler(["outline", "draft"], begin, filters=PRIVATE),
        CallbackQueryHandler(begin, pattern=r"^menu:outline$"),
        CallbackQueryHandler(edit_section, pattern=rf"^{PREFIX}:e:"),  # before the other ol:
        CallbackQueryHandler(button, pattern=rf"^{PREFIX}:"),
    ]
