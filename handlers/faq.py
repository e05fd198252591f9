"""Questions answered from the curated FAQ: free text, /ask, the topic browser, feedback."""

from __future__ import annotations

from datetime import UTC, datetime

from telegram import Update
from telegram.error import BadRequest
from telegram.ext import CallbackQueryHandler, CommandHandler, filters

from bot.calls import CALL_ENTRIES, calls_answer
from bot.channels.context import BotContext
from bot.content import Entry, SmallTalk, answer_html
from bot.faq import Match
from bot.intent import has_words, smalltalk_kind
from bot.outline import clean_text
from bot.rendering import escape, render
from handlers import flows, start
from handlers.common import (
    PRIVATE,
    Handlers,
    Keyboard,
    answer_button,
    button_data,
    button_data_parts,
    reply_while_storing,
    send,
    show,
    typed_text,
)
from storage import calls, faq_log
from storage.faq_log import QueryRef

PREFIX = "faq"  # callback data of this module's buttons


# Typed alone, these open the menu or the help. The msgid is the English list; a translation
# adds the words of its language (space-separated), and the English ones always work.
def N_(message: str) -> str:
    """Marks a message for extraction; it is translated where it is used."""
    return message


MENU_WORDS = N_("menu start back home")
HELP_WORDS = N_("help instructions")
QUESTION_LIMIT = 500  # longer texts are not questions; ask for one short question instead


def _navigation(context: BotContext) -> list[tuple[str, str]]:
    _ = context.gettext
    return [
        (_("📚 Browse topics"), button_data(PREFIX, "t")),
        (_("⬅️ Menu"), button_data("menu", "main")),
    ]


def _words(context: BotContext, message: str) -> set[str]:
    return set(message.split()) | set(context.gettext(message).casefold().split())


async def ask(update: Update, context: BotContext) -> None:
    """/ask, the menu's button; `/ask <question>` answers the question at once (and, inside a
    flow, asks the step again: the question was asked on the way, not instead of it)."""
    _ = context.gettext
    typed = (update.effective_message.text or "") if update.effective_message else ""
    question = typed.split(maxsplit=1)[1].strip() if context.args else ""
    if update.callback_query is None and question:
        await answer_question(update, context, question)
        flow = await flows.current_flow(context)
        if flow is not None:
            await flow.reprompt(update, context)
        return
    await show(
        update,
        context,
        _(
            "Type your question in your own words, for example: <i>Who can apply?</i> or "
            "<i>Is there a deadline?</i>"
        ),
        [_navigation(context)],
    )


async def answer_question(update: Update, context: BotContext, text: str | None = None) -> None:
    """Free text outside any flow (or /ask's): small talk gets its reply; a question an answer,
    suggestions, or an honest "I don't know"."""
    _ = context.gettext
    text = typed_text(update) if text is None else clean_text(text)
    if len(text) > QUESTION_LIMIT:
        await send(
            update,
            context,
            _(
                "That is a long message. Please ask one question at a time, in at most {limit} "
                "characters.",
                limit=QUESTION_LIMIT,
            ),
        )
        return
    typed = " ".join(text.casefold().split()).strip(" .!?")
    if typed in _words(context, MENU_WORDS):
        await start.menu(update, context)
        return
    if typed in _words(context, HELP_WORDS):
        await start.help_(update, context)
        return
    kind = smalltalk_kind(text, context.services.content.smalltalk)
    if kind is not None:
        await smalltalk(update, context, kind, hint=True)
        return
    if not has_words(text):
        await not_words(update, context)
        return
    await answer_text(update, context, text)


async def not_words(update: Update, context: BotContext) -> None:
    """Only emoji, digits or punctuation: not a question, so not one to log as unanswered."""
    await send(
        update,
        context,
        context.gettext(
            "I read questions written in words. Type your question, or open the /menu."
        ),
        [_navigation(context)],
    )


async def question_in_flow(update: Update, context: BotContext, text: str) -> None:
    """A question typed while a step waits (`handlers.flows`): answered like any other; the
    flow asks its step again afterwards."""
    if not has_words(text):  # "??": nothing to look up, nothing to log
        await not_words(update, context)
        return
    if len(text) > QUESTION_LIMIT:
        await send(
            update,
            context,
            context.gettext(
                "That is a long message. Please ask one question at a time, in at most {limit} "
                "characters.",
                limit=QUESTION_LIMIT,
            ),
        )
        return
    await answer_text(update, context, text)


async def smalltalk(
    update: Update, context: BotContext, kind: SmallTalk, *, hint: bool = False
) -> None:
    """A short reply to a greeting, thanks and the like; outside a flow with the menu hint."""
    html = escape(kind.reply[context.lang])
    if not hint:
        await send(update, context, html)
        return
    more = context.gettext("Ask me a question in your own words, or open the /menu.")
    await send(update, context, f"{html}\n\n{more}", [_navigation(context)])


async def smalltalk_in_flow(update: Update, context: BotContext, kind: SmallTalk) -> None:
    await smalltalk(update, context, kind)


async def answer_text(update: Update, context: BotContext, text: str) -> None:
    """Match `text` against the FAQ, reply, and log the query."""
    match = context.services.matcher.match(text, context.lang)
    token = faq_log.new_token()
    # The query is logged while the reply goes out: the log is for coordinators, the reply is
    # what the user waits for. The user's next update waits for this one, so a button quoting
    # the token never arrives before the row.
    await reply_while_storing(
        _reply(update, context, match, (None, token)),
        faq_log.record(
            context.db,
            user_id=context.user.id if context.user else None,
            token=token,
            language=context.lang,
            matched_in=match.language,
            query=match.normalized,
            outcome=match.outcome,
            top=[(s.entry_id, s.score) for s in match.ranked],
        ),
        "an FAQ query was answered but not logged",
    )


async def _reply(update: Update, context: BotContext, match: Match, query: QueryRef) -> None:
    _ = context.gettext
    entries = context.services.content.entries
    if match.outcome == "answer" and match.best is not None:
        see_also = [s.entry_id for s in match.see_also]
        await send_entry(update, context, entries[match.best.entry_id], query, see_also)
    elif match.outcome == "suggest":
        buttons: list[list[tuple[str, str]]] = [
            [
                (
                    entries[s.entry_id].text[context.lang].short,
                    button_data(PREFIX, "e", s.entry_id, *faq_log.quote(query)),
                )
            ]
            for s in match.suggestions
        ]
        buttons.append([(_("None of these"), button_data(PREFIX, "n", *faq_log.quote(query)))])
        await send(update, context, _("Did you mean one of these?"), buttons)
    else:
        await send_none(update, context, [s.entry_id for s in match.closest], query)


async def send_entry(
    update: Update,
    context: BotContext,
    entry: Entry,
    query: QueryRef | None = None,
    see_also: list[str] | None = None,
) -> None:
    """An answer with 👍/👎, then the runners-up of the match ("see also": the user may have
    meant one of them, and picking one is logged like a suggestion), then related entries."""
    _ = context.gettext
    html = await _calls_answer(context, entry) or answer_html(entry, context.lang, _)
    q = faq_log.quote(query) if query else []
    buttons: list[list[tuple[str, str]]] = [
        [
            ("👍", button_data(PREFIX, "f", entry.id, "u", *q)),
            ("👎", button_data(PREFIX, "f", entry.id, "d", *q)),
        ]
    ]
    shown = {entry.id}
    for other_id in see_also or ():
        other = context.services.content.entries.get(other_id)
        if other is not None and other_id not in shown:
            shown.add(other_id)
            # A button label is plain text: the question goes in unescaped.
            label = _("Or: {question}").format(question=other.text[context.lang].short)
            buttons.append([(label, button_data(PREFIX, "e", other_id, *q))])
    for related_id in entry.related:
        if related_id in shown:
            continue
        related = context.services.content.entries.get(related_id)
        if related is not None:
            buttons.append(
                [
                    (
                        "↪ " + related.text[context.lang].short,
                        button_data(PREFIX, "e", related_id),
                    )
                ]
            )
    buttons.append(_navigation(context))
    await send(update, context, html, buttons)


async def _calls_answer(context: BotContext, entry: Entry) -> str | None:
    """ "When is the next call?" from the calls coordinators keep (bot/calls.py), if any."""
    if entry.id not in CALL_ENTRIES:
        return None
    now = datetime.now(UTC)
    names = {id_: s.short[context.lang] for id_, s in context.services.content.subthemes.items()}
    question = entry.text[context.lang].question
    return calls_answer(question, await calls.current(context.db, now), now, context.lang, names)


async def send_none(
    update: Update,
    context: BotContext,
    closest: list[str] | None = None,
    query: QueryRef | None = None,
) -> None:
    """An honest "I don't know", the contacts, and the FAQ's nearest questions if any came near
    (labelled as such, not as a guess; picking one is logged like a suggestion)."""
    _ = context.gettext
    entries = context.services.content.entries
    nearest = [entries[i] for i in closest or () if i in entries]
    html = render("faq_none.html", nearest=bool(nearest), _=_)
    q = faq_log.quote(query) if query else []
    buttons: Keyboard = [
        [(entry.text[context.lang].short, button_data(PREFIX, "e", entry.id, *q))]
        for entry in nearest
    ]
    buttons += [[(_("👥 Contact persons"), button_data(PREFIX, "c"))], _navigation(context)]
    await send(update, context, html, buttons)


async def contacts(update: Update, context: BotContext) -> None:
    html = render(
        "contacts.html",
        contacts=context.services.content.contacts,
        lang=context.lang,
        _=context.gettext,
    )
    await send(update, context, html, [_navigation(context)])


async def topics(update: Update, context: BotContext) -> None:
    _ = context.gettext
    content = context.services.content
    buttons: Keyboard = [
        [(topic.title[context.lang], button_data(PREFIX, "t", topic.id))]
        for topic in content.sorted_topics()
    ] + [[(_("⬅️ Menu"), button_data("menu", "main"))]]
    await show(update, context, _("Choose a topic:"), buttons)


async def topic(update: Update, context: BotContext, topic_id: str) -> None:
    _ = context.gettext
    content = context.services.content
    chosen = content.topics[topic_id]
    buttons: Keyboard = [
        [(entry.text[context.lang].short, button_data(PREFIX, "e", entry.id))]
        for entry in content.entries_in(topic_id)
    ] + [[(_("⬅️ Topics"), button_data(PREFIX, "t")), (_("⬅️ Menu"), button_data("menu", "main"))]]
    await show(update, context, f"<b>{escape(chosen.title[context.lang])}</b>", buttons)


async def button(update: Update, context: BotContext) -> None:
    """faq:t[:topic] · faq:e:entry[:token] · faq:n:token · faq:f:entry:u|d[:token]

    Buttons from earlier versions quote a query as id:token; they still work."""
    parts = button_data_parts(update)
    content = context.services.content
    action, args = (parts[1], parts[2:]) if len(parts) > 1 else ("", [])
    if action == "c" and not args:
        await contacts(update, context)
    elif action == "t" and not args:
        await topics(update, context)
    elif action == "t" and len(args) == 1 and args[0] in content.topics:
        await topic(update, context, args[0])
    elif action == "e" and args and args[0] in content.entries and _quotes(args[1:]):
        if (query := faq_log.quoted(args[1:])) is not None:
            await faq_log.set_chosen(context.db, query, args[0])
        await send_entry(update, context, content.entries[args[0]])
    elif action == "n" and (query := faq_log.quoted(args)) is not None:
        await faq_log.set_chosen(context.db, query, None)
        await send_none(update, context)
    elif (
        action == "f"
        and len(args) >= 2
        and args[0] in content.entries
        and args[1] in ("u", "d")
        and _quotes(args[2:])
    ):
        assert context.user is not None
        await faq_log.add_feedback(
            context.db,
            user_id=context.user.id,
            entry_id=args[0],
            language=context.lang,
            value=1 if args[1] == "u" else -1,
            query=faq_log.quoted(args[2:]),
        )
        await answer_button(update, context.gettext("Thank you for the feedback!"))
        await _drop_feedback_buttons(update)
    else:
        await answer_button(update, context.gettext("This button is no longer valid."), True)


def _quotes(quoted: list[str]) -> bool:
    """Nothing quoted, or a query quoted the way a button does."""
    return not quoted or faq_log.quoted(quoted) is not None


async def _drop_feedback_buttons(update: Update) -> None:
    """One vote per answer: the 👍/👎 row disappears once used."""
    message = update.callback_query.message if update.callback_query else None
    markup = getattr(message, "reply_markup", None)
    if message is None or markup is None:
        return
    rows = [row for row in markup.inline_keyboard if not row[0].callback_data.startswith("faq:f:")]
    try:
        await update.callback_query.edit_message_reply_markup(
            reply_markup=type(markup)(rows) if rows else None
        )
    except BadRequest as error:
        if "not modified" not in error.message:  # a second tap before the first one's edit
            raise


async def start_link(update: Update, context: BotContext) -> None:
    """/start faq_<entry id>: a link a coordinator can share that opens one answer."""
    entry_id = (context.args or [""])[0].removeprefix("faq_")
    entry = context.services.content.entries.get(entry_id)
    if entry is None:
        await start.start(update, context)
        return
    await send_entry(update, context, entry)


def deep_links() -> Handlers:
    """`/start faq_<entry>`, a t.me link to one answer; before the plain /start (handlers.start)."""
    return [CommandHandler("start", start_link, filters=PRIVATE & filters.Regex(r"^/start faq_"))]


def handlers() -> Handlers:
    return [
        CommandHandler("ask", ask, filters=PRIVATE),
        CommandHandler("topics", topics, filters=PRIVATE),
        CallbackQueryHandler(ask, pattern=r"^menu:ask$"),
        CallbackQueryHandler(topics, pattern=r"^menu:topics$"),
        CallbackQueryHandler(button, pattern=rf"^{PREFIX}:"),
    ]
