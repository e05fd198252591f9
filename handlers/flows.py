"""Multi-step flows and the routing of typed text to the flow the user is in.

A flow registers itself under a name (`register`); the user's current flow and step live in the
`conversations` table, so after a restart the next message still reaches the right step.
Free text outside any flow goes to the FAQ.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from telegram import Update

from bot.context import BotContext
from storage import conversations
from storage.conversations import Conversation

Handler = Callable[[Update, BotContext, Conversation], Awaitable[None]]


@dataclass(frozen=True)
class Flow:
    name: str
    on_text: Handler
    reprompt_step: Handler

    async def reprompt(self, update: Update, context: BotContext) -> None:
        assert context.user is not None
        state = await conversations.get(context.db, context.user.id)
        if state is not None and state.flow == self.name:
            await self.reprompt_step(update, context, state)


FreeTextHandler = Callable[[Update, BotContext], Awaitable[None]]


@dataclass
class Router:
    """Kept in bot_data by build_application: the flows and where text outside them goes."""

    flows: dict[str, Flow]
    outside_flows: FreeTextHandler


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
    if flow is not None and current is not None:
        await flow.on_text(update, context, current)
    else:
        await router.outside_flows(update, context)
