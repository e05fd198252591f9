"""The requirements checklist: one question per message, every answer saved before the next.

States are the item positions ("0", "1", ...) of flow "checklist"; the run id travels in the
conversation data and, for checking, in every button. A button is acted on only when its run
belongs to the user, is unfinished and is at the step the button was made for.
"""

from __future__ import annotations

from dataclasses import dataclass

from telegram import Update
from telegram.ext import CallbackQueryHandler, CommandHandler, filters

from bot.channels.context import BotContext
from bot.checklist import (
    NO,
    NO_SUBTHEME,
    UNSURE,
    YES,
    is_gap,
    selected_subthemes,
    subtheme_answer,
    summarize,
)
from bot.content import ChecklistItem
from bot.intent import Expect
from bot.rendering import render
from handlers import faq, flows, start
from handlers.common import (
    PRIVATE,
    Handlers,
    Keyboard,
    answer_button,
    button_data,
    button_data_parts,
    send,
    show,
)
from handlers.flows import Flow
from storage import checklists, conversations
from storage.conversations import Conversation

PREFIX = "ck"  # callback data of this module's buttons

FLOW = "checklist"
_ANSWER_CODES = {"y": YES, "n": NO, "u": UNSURE}


@dataclass(frozen=True)
class Step:
    run: int
    index: int
    selected: tuple[str, ...] = ()  # sub-themes ticked so far on the sub-theme question


def _state(step: Step) -> Conversation:
    return Conversation(FLOW, str(step.index), {"run": step.run, "selected": list(step.selected)})


def _step(state: Conversation | None) -> Step | None:
    if state is None or state.flow != FLOW or not state.step.isdigit():
        return None
    return Step(int(state.data["run"]), int(state.step), tuple(state.data.get("selected", [])))


def _items(context: BotContext) -> tuple[ChecklistItem, ...]:
    return context.services.content.checklist


def _answer_label(context: BotContext, item: ChecklistItem, answer: str | None) -> str:
    _ = context.gettext
    if item.kind == "subthemes":
        chosen = selected_subthemes(answer)
        names = context.services.content.subthemes
        return ", ".join(names[s].short[context.lang] for s in chosen if s in names) or _(
            "None of these"
        )
    return {YES: _("Yes"), NO: _("No"), UNSURE: _("Not sure")}.get(answer or "", "")


def _question(context: BotContext, step: Step, answers: dict[str, str]) -> tuple[str, Keyboard]:
    _ = context.gettext
    items = _items(context)
    item = items[step.index]
    text = item.text[context.lang]
    previous = answers.get(item.id)
    html = render(
        "checklist_question.html",
        heading=_("Requirements checklist"),
        progress=f"{step.index + 1}/{len(items)}",
        question=text.question,
        why=text.why,
        earlier=_answer_label(context, item, previous) if previous else None,
        _=_,
    )
    run, index = step.run, step.index
    rows: list[list[tuple[str, str]]] = []
    if item.kind == "subthemes":
        for subtheme in context.services.content.subthemes.values():
            mark = "☑" if subtheme.id in step.selected else "☐"
            rows.append(
                [
                    (
                        f"{mark} {subtheme.short[context.lang]}",
                        button_data(PREFIX, "t", run, index, subtheme.id),
                    )
                ]
            )
        # "None of these" is ticked like a sub-theme but excludes them: ticking it clears the
        # sub-themes' ticks and ticking a sub-theme clears it, both in plain sight.
        mark = "☑" if NO_SUBTHEME in step.selected else "☐"
        rows.append([(f"{mark} {_('None of these')}", button_data(PREFIX, "z", run, index))])
        if step.selected:
            rows.append([(_("Continue ➡️"), button_data(PREFIX, "ok", run, index))])
    else:
        rows.append(
            [
                (_("Yes"), button_data(PREFIX, "a", run, index, "y")),
                (_("No"), button_data(PREFIX, "a", run, index, "n")),
                (_("Not sure"), button_data(PREFIX, "a", run, index, "u")),
            ]
        )
    if item.faq:
        rows.append([(_("ℹ️ Tell me more"), button_data(PREFIX, "m", run, index))])
    navigation = [(_("✖️ Stop"), button_data(PREFIX, "x", run, index))]
    if index > 0:
        navigation.insert(0, (_("⬅️ Back"), button_data(PREFIX, "b", run, index)))
    rows.append(navigation)
    return html, rows


async def _ask(update: Update, context: BotContext, step: Step, *, new_message: bool) -> None:
    html, buttons = _question(context, step, await checklists.answers(context.db, step.run))
    if new_message:
        await send(update, context, html, buttons)
    else:
        await show(update, context, html, buttons)


# -- entering the checklist -------------------------------------------------------------------


async def begin(update: Update, context: BotContext) -> None:
    """From the menu, /checklist or /start checklist: resume an unfinished run or start one."""
    _ = context.gettext
    assert context.user is not None
    unfinished = await checklists.unfinished(context.db, context.user.id)
    if unfinished is not None:
        done = len(await checklists.answers(context.db, unfinished.id))
        if done:
            await show(
                update,
                context,
                _(
                    "You have an unfinished checklist ({done}/{total} answered). Continue where "
                    "you left off, or start over?",
                    done=done,
                    total=len(_items(context)),
                ),
                [
                    [(_("▶️ Continue"), button_data(PREFIX, "res", unfinished.id))],
                    [(_("🔁 Start over"), button_data(PREFIX, "new"))],
                ],
            )
            return
        await _resume(update, context, unfinished.id)
        return
    await start_new(update, context)


async def start_new(update: Update, context: BotContext) -> None:
    assert context.user is not None
    async with context.db.transaction() as conn:
        run = await checklists.start(conn, context.user.id)
        step = Step(run, 0)
        await conversations.put(conn, context.user.id, _state(step))
    await _ask(update, context, step, new_message=update.callback_query is None)


async def _resume(update: Update, context: BotContext, run_id: int) -> None:
    assert context.user is not None
    answers = await checklists.answers(context.db, run_id)
    items = _items(context)
    index = next((i for i, item in enumerate(items) if item.id not in answers), len(items) - 1)
    step = Step(run_id, index)
    await conversations.set_state(context.db, context.user.id, _state(step))
    await _ask(update, context, step, new_message=update.callback_query is None)


# -- buttons ----------------------------------------------------------------------------------


async def button(update: Update, context: BotContext) -> None:
    parts = button_data_parts(update)
    action = parts[1] if len(parts) > 1 else ""
    if action == "new" and len(parts) == 2:
        await start_new(update, context)
        return
    if action == "res" and len(parts) == 3 and parts[2].isdigit():
        assert context.user is not None
        run = await checklists.get(context.db, int(parts[2]), context.user.id)
        if run is not None and run.finished_at is None:
            await _resume(update, context, run.id)
            return
    step = await _current_step(context, parts)
    if step is None:
        await answer_button(update, context.gettext("This button is no longer valid."), True)
        return
    item = _items(context)[step.index]
    extra = parts[4:]
    if action == "a" and item.kind == "yesno" and extra and extra[0] in _ANSWER_CODES:
        await _answer(update, context, step, item, _ANSWER_CODES[extra[0]])
    elif action == "t" and item.kind == "subthemes" and extra:
        await _toggle(update, context, step, extra[0])
    elif action == "z" and item.kind == "subthemes":
        chosen = () if NO_SUBTHEME in step.selected else (NO_SUBTHEME,)
        await _choose(update, context, Step(step.run, step.index, chosen))
    elif action == "ok" and item.kind == "subthemes" and step.selected:
        ticked = [s for s in step.selected if s != NO_SUBTHEME]
        await _answer(update, context, step, item, subtheme_answer(ticked))
    elif action == "b" and step.index > 0:
        previous = Step(step.run, step.index - 1)
        await conversations.set_state(context.db, context.user.id, _state(previous))
        await _ask(update, context, previous, new_message=False)
    elif action == "m" and item.faq:
        await faq.send_entry(update, context, context.services.content.entries[item.faq])
        await _ask(update, context, step, new_message=True)
    elif action == "x":
        await conversations.set_state(context.db, context.user.id, None)
        await start.send_menu(
            update, context, context.gettext("Checklist paused. Your answers are saved.")
        )
    else:
        await answer_button(update, context.gettext("This button is no longer valid."), True)


async def _current_step(context: BotContext, parts: list[str]) -> Step | None:
    """The step a button refers to, if it is the user's current step of their own run."""
    if len(parts) < 4 or not parts[2].isdigit() or not parts[3].isdigit() or context.user is None:
        return None
    step = _step(await flows.state(context))
    if step is None or (step.run, step.index) != (int(parts[2]), int(parts[3])):
        return None
    run = await checklists.get(context.db, step.run, context.user.id)
    if run is None or run.finished_at is not None or step.index >= len(_items(context)):
        return None
    return step


async def _toggle(update: Update, context: BotContext, step: Step, subtheme_id: str) -> None:
    if subtheme_id not in context.services.content.subthemes:
        await answer_button(update, context.gettext("This button is no longer valid."), True)
        return
    selected = [s for s in step.selected if s != NO_SUBTHEME]
    if subtheme_id in selected:
        selected.remove(subtheme_id)
    else:
        selected.append(subtheme_id)
    await _choose(update, context, Step(step.run, step.index, tuple(selected)))


async def _choose(update: Update, context: BotContext, step: Step) -> None:
    """Keep the ticks so far (they survive a restart) and show them."""
    assert context.user is not None
    await conversations.set_state(context.db, context.user.id, _state(step))
    await _ask(update, context, step, new_message=False)


async def _answer(
    update: Update, context: BotContext, step: Step, item: ChecklistItem, answer: str
) -> None:
    """Save the answer and the next step in one transaction, then show what comes next."""
    _ = context.gettext
    assert context.user is not None
    items = _items(context)
    finished = step.index + 1 >= len(items)
    async with context.db.transaction() as conn:
        await checklists.save_answer(conn, step.run, item.id, answer)
        if finished:
            await checklists.finish(conn, step.run)
            await conversations.clear(conn, context.user.id)
        else:
            await conversations.put(conn, context.user.id, _state(Step(step.run, step.index + 1)))
    if is_gap(item, answer):
        # Keep the question with the advice where it was asked; the next question comes below.
        text = item.text[context.lang]
        html = render(
            "checklist_advice.html",
            question=text.question,
            answer=_answer_label(context, item, answer),
            advice=text.advice,
            _=_,
        )
        more = [[(_("ℹ️ Tell me more"), button_data("faq", "e", item.faq))]] if item.faq else None
        await show(update, context, html, more)
        if finished:
            await send_summary(update, context, step.run, new_message=True)
        else:
            await _ask(update, context, Step(step.run, step.index + 1), new_message=True)
    elif finished:
        await send_summary(update, context, step.run, new_message=False)
    else:
        await _ask(update, context, Step(step.run, step.index + 1), new_message=False)


async def send_summary(
    update: Update, context: BotContext, run_id: int, *, new_message: bool
) -> None:
    _ = context.gettext
    summary = summarize(_items(context), await checklists.answers(context.db, run_id))
    subthemes = context.services.content.subthemes
    html = render(
        "checklist_summary.html",
        summary=summary,
        lang=context.lang,
        subtheme_names=[
            subthemes[s].title[context.lang] for s in summary.subthemes if s in subthemes
        ],
        answer_label=lambda item, answer: _answer_label(context, item, answer),
        _=_,
    )
    buttons = [
        [(_("📝 Draft an outline with these answers"), button_data("ol", "ck", run_id))],
        [(_("🔁 Check again"), button_data(PREFIX, "new"))],
        [(_("🔔 Tell me when a call opens"), button_data("cn", "on"))],  # handlers.announcements
        [(_("⬅️ Menu"), button_data("menu", "main"))],
    ]
    if new_message:
        await send(update, context, html, buttons)
    else:
        await show(update, context, html, buttons)


# -- typed text and other input during the checklist --------------------------------------------


def expects(context: BotContext, state: Conversation) -> Expect | None:
    """Every checklist question is answered with buttons: typed text is a question, small talk,
    or a reply that gets pointed to the buttons (`handlers.flows` tells them apart)."""
    return Expect("buttons") if _step(state) is not None else None


async def on_text(update: Update, context: BotContext, state: Conversation) -> None:
    step = _step(state)
    if step is None:
        return
    await send(update, context, context.gettext("Please answer with the buttons below."))
    await _ask(update, context, step, new_message=True)


async def reprompt(update: Update, context: BotContext, state: Conversation) -> None:
    step = _step(state)
    if step is not None:
        await _ask(update, context, step, new_message=True)


flow = Flow(FLOW, on_text, reprompt, expects)


def deep_links() -> Handlers:
    """`/start checklist`, from a t.me link; before the plain /start (handlers.start)."""
    return [CommandHandler("start", begin, filters=PRIVATE & filters.Regex(r"^/start checklist$"))]


def handlers() -> Handlers:
    return [
        CommandHandler("checklist", begin, filters=PRIVATE),
        CallbackQueryHandler(begin, pattern=r"^menu:checklist$"),
        CallbackQueryHandler(button, pattern=rf"^{PREFIX}:"),
    ]
