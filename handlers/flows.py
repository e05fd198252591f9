"""Multi-step flows and the routing of typed text to the flow the user is in.

A flow registers itself under a name (`register`); the user's current flow and step live in the
`conversations` table, so after a restart the next message still reaches the right step.
Free text outside any flow goes to the FAQ.

Inside a flow, typed text is first read for what it is (`bot.intent.in_step`): small talk gets
its reply and the step again; a question is answered from the FAQ and the step is asked again.
When the step takes typed answers, the question's text is held in the conversation state
("pending", committed before the reply) and the step comes with a button that saves it as the
answer after all, so a wrong guess never loses what was typed, not even across a restart.
"""

from __future__ import annotations

import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from telegram import Update
from telegram.ext import CallbackQueryHandler

from bot.channels.context import BotContext
from bot.content import SmallTalk
from bot.intent import Expect, in_step
from handlers.common import (
    Handlers,
    answer_button,
    button_data,
    button_data_parts,
    typed_text,
)
from storage import conversations
from storage.conversations import Conversation

PREFIX = "fl"  # callback data of this module's buttons

Handler = Callable[[Update, BotContext, Conversation], Awaitable[None]]
AnswerHandler = Callable[[Update, BotContext, Conversation, str], Awaitable[None]]
PENDING = "pending"  # the key of held text in a conversation's data: {"text": …, "id": …}


@dataclass(frozen=True)
class Flow:
    name: str
    on_text: Handler
    reprompt_step: Handler
    # What typed text the state's step takes (None: the flow reads all text itself).
    expects: Callable[[BotContext, Conversation], Expect | None] | None = None
    # Take `text` as the answer to the state's step: the "save it as my answer" button.
    on_answer: AnswerHandler | None = None

    async def reprompt(self, update: Update, context: BotContext) -> None:
        assert context.user is not None
        state = await conversations.get(context.db, context.user.id)
        if state is not None and state.flow == self.name:
            await self.reprompt_step(update, context, state)


FreeTextHandler = Callable[[Update, BotContext], Awaitable[None]]
QuestionHandler = Callable[[Update, BotContext, str], Awaitable[None]]
SmallTalkHandler = Callable[[Update, BotContext, SmallTalk], Awaitable[None]]


@dataclass
class Router:
    """Kept in bot_data by build_application: the flows, where text outside them goes, and how
    a question or small talk inside a flow is answered."""

    flows: dict[str, Flow]
    outside_flows: FreeTextHandler
    question: QuestionHandler
    smalltalk: SmallTalkHandler


def pending_id(state: Conversation | None) -> str | None:
    """The id of the text held from a question at this step, which its save button quotes."""
    held = state.data.get(PENDING) if state is not None else None
    return held.get("id") if isinstance(held, dict) else None


def save_button(label: str, state: Conversation | None) -> list[tuple[str, str]]:
    """The "save it as my answer" row for a step prompt, when text is held at the step."""
    held = pending_id(state)
    return [(label, button_data(PREFIX, "s", held))] if held else []


async def _hold(context: BotContext, current: Conversation, text: str) -> Conversation:
    assert context.user is not None
    data: dict[str, Any] = {**current.data, PENDING: {"text": text, "id": secrets.token_hex(4)}}
    held = Conversation(current.flow, current.step, data)
    await conversations.set_state(context.db, context.user.id, held)
    return held


async def state(context: BotContext) -> Conversation | None:
    """The user's conversation state, as the database has it now."""
    assert context.user is not None
    return await conversations.get(context.db, context.user.id)


def _router(context: BotContext) -> Router:
    return context.application.bot_data["router"]


async def current_flow(context: BotContext) -> Flow | None:
    if context.user is None:
        return None
    state = await conversations.get(context.db, context.user.id)
    return _router(context).flows.get(state.flow) if state else None


async def route_text(update: Update, context: BotContext) -> None:
    router = _router(context)
    current = await state(context)
    flow = router.flows.get(current.flow) if current else None
    if flow is None or current is None:
        await router.outside_flows(update, context)
        return
    text = typed_text(update)
    if text.lstrip().startswith("?") and len(text.strip()) > 1:
        # A question asked as one on purpose: nothing to hold, it is no answer.
        await router.question(update, context, text)
        await flow.reprompt_step(update, context, current)
        return
    expect = flow.expects(context, current) if flow.expects is not None else None
    if expect is None:
        await flow.on_text(update, context, current)
        return
    services = context.services

    def faq_answers(query: str) -> bool:
        return services.matcher.match(query, context.lang).outcome == "answer"

    intent = in_step(text, expect, services.content, faq_answers)
    if intent.kind == "smalltalk" and intent.smalltalk is not None:
        await router.smalltalk(update, context, intent.smalltalk)
        await flow.reprompt_step(update, context, current)
    elif intent.kind == "question":
        if expect.typed and flow.on_answer is not None:
            current = await _hold(context, current, text)
        await router.question(update, context, text)
        await flow.reprompt_step(update, context, current)
    else:
        await flow.on_text(update, context, current)


async def save_pending(update: Update, context: BotContext) -> None:
    """fl:s:<id>: the text held at the current step is the answer after all."""
    parts = button_data_parts(update)
    current = await state(context)
    flow = _router(context).flows.get(current.flow) if current else None
    held = current.data.get(PENDING) if current else None
    if (
        current is None
        or flow is None
        or flow.on_answer is None
        or len(parts) != 3
        or parts[2] != pending_id(current)
        or not isinstance(held, dict)
    ):
        await answer_button(update, context.gettext("This button is no longer valid."), True)
        return
    data = {key: value for key, value in current.data.items() if key != PENDING}
    await flow.on_answer(
        update, context, Conversation(current.flow, current.step, data), str(held["text"])
    )


def handlers() -> Handlers:
    return [CallbackQueryHandler(save_pending, pattern=rf"^{PREFIX}:s:")]
