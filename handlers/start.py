"""Start, main menu, help, language and cancel: how a user finds their way around."""

from __future__ import annotations

from datetime import UTC, datetime

from markupsafe import Markup
from telegram import Update
from telegram.ext import CallbackQueryHandler, CommandHandler

from bot import i18n
from bot.calls import call_line, open_and_next
from bot.channels.context import BotContext
from bot.config import LANGUAGES
from handlers import flows, privacy
from handlers.common import PRIVATE, Handlers, answer_button, button_data, button_data_parts, show
from storage import calls, conversations, users

MENU_PREFIX = "menu"  # callback data of this module's buttons
LANGUAGE_PREFIX = "lang"  # callback data of this module's buttons


def menu_buttons(context: BotContext) -> list[list[tuple[str, str]]]:
    _ = context.gettext
    return [
        [(_("✅ Check requirements"), button_data(MENU_PREFIX, "checklist"))],
        [(_("❓ Ask a question"), button_data(MENU_PREFIX, "ask"))],
        [(_("📝 Draft a project outline"), button_data(MENU_PREFIX, "outline"))],
        [(_("📂 My drafts"), button_data(MENU_PREFIX, "drafts"))],
        [(_("📚 Browse topics"), button_data(MENU_PREFIX, "topics"))],
        [
            (_("🌐 Language"), button_data(MENU_PREFIX, "lang")),
            (_("ℹ️ Help"), button_data(MENU_PREFIX, "help")),
        ],
        [(_("🔔 Call news"), button_data(MENU_PREFIX, "news"))],  # handlers.announcements
    ]


async def send_menu(update: Update, context: BotContext, intro: str | None = None) -> None:
    _ = context.gettext
    text = _("What would you like to do?")
    now = datetime.now(UTC)
    open_call, _next = open_and_next(await calls.current(context.db, now), now)
    if open_call is not None:  # one line: which call, how many days until it closes
        text = f"{call_line(open_call, now, context.lang)}\n\n{text}"
    await show(update, context, f"{intro}\n\n{text}" if intro else text, menu_buttons(context))


async def _leave_flow(context: BotContext) -> None:
    """The menu is a way out: typed text afterwards must not land in a step left behind.
    Nothing is lost; drafts and checklist runs are continued from the menu."""
    if context.user is not None and await flows.state(context):
        await conversations.set_state(context.db, context.user.id, None)


async def start(update: Update, context: BotContext) -> None:
    _ = context.gettext
    await _leave_flow(context)
    name = update.effective_user.first_name if update.effective_user else ""
    greeting = _(
        "Hello {name}! I help you prepare an ESF+ project application under the national theme "
        "<b>ET 4.1.7 – Equality of the children, young people and families</b>.\n\n"
        "I answer questions from the theme card and other ESF+ background sources (such as "
        "rakennerahastot.fi), and I never make up answers: when I don't know, I tell you whom "
        "to contact.",
        name=name,
    )
    if not name:  # a web chat visitor has no name to greet
        greeting = _(
            "Hello! I help you prepare an ESF+ project application under the national theme "
            "<b>ET 4.1.7 – Equality of the children, young people and families</b>.\n\n"
            "I answer questions from the theme card and other ESF+ background sources (such as "
            "rakennerahastot.fi), and I never make up answers: when I don't know, I tell you "
            "whom to contact."
        )
    if context.user is not None and context.user.language is None:
        greeting += "\n\n" + _("You can change the language with /language.")
    if context.user is not None and context.user.privacy_seen_at is None:
        greeting += "\n\n" + privacy.short_notice(context)
        await privacy.noting_seen(context, send_menu(update, context, greeting))
    else:
        await send_menu(update, context, greeting)


async def menu(update: Update, context: BotContext) -> None:
    await _leave_flow(context)
    await send_menu(update, context)


async def help_(update: Update, context: BotContext) -> None:
    _ = context.gettext
    text = _(
        "<b>How I can help</b>\n\n"
        "Type a question in your own words, for example “Who can apply?” or "
        "“How much funding is there?”. I answer from the ET 4.1.7 theme card and other ESF+ "
        "background sources, and tell you whom to contact when I don't know. You can ask "
        "questions at any time, also in the middle of the checklist or an outline: I answer, "
        "then ask the step again.\n\n"
        "<b>Commands</b>\n"
        "/menu – main menu\n"
        "/checklist – check your idea against the theme's requirements\n"
        "/outline – draft a project outline step by step\n"
        "/mydrafts – your drafts: continue, review, download, submit\n"
        "/ask – ask a question, e.g. /ask who can apply?\n"
        "/topics – browse questions by topic\n"
        "/language – change the language, e.g. /language sv\n"
        "/cancel – stop what you are doing and return to the menu\n"
        "/privacy – privacy notice; /mydata and /deletedata – your data\n"
        "/help – this help"
    )
    text += "\n" + _("/subscribe – call news and deadline reminders; /unsubscribe ends them")
    await show(update, context, text, [[(_("⬅️ Menu"), button_data(MENU_PREFIX, "main"))]])


async def choose_language(update: Update, context: BotContext) -> None:
    """/language, the menu's button; `/language sv` (or svenska, ruotsi, Swedish) switches at
    once, and an argument that names no language gets the usage and the choice."""
    _ = context.gettext
    intro = ""
    if update.callback_query is None and context.args:
        chosen = i18n.language_from_name(" ".join(context.args))
        if chosen is not None:
            await _switch_language(update, context, chosen)
            return
        intro = _("Usage: /language fi, /language sv or /language en.") + "\n\n"
    buttons = [
        [
            (
                ("✓ " if code == context.lang else "") + i18n.language_name(code),
                button_data(LANGUAGE_PREFIX, code),
            )
            for code in LANGUAGES
        ]
    ]
    await show(update, context, intro + _("Choose your language:"), buttons)


async def set_language(update: Update, context: BotContext) -> None:
    parts = button_data_parts(update)
    if len(parts) != 2 or parts[1] not in LANGUAGES or context.user is None:
        await answer_button(update, context.gettext("This button is no longer valid."))
        return
    await _switch_language(update, context, parts[1])


async def _switch_language(update: Update, context: BotContext, code: str) -> None:
    assert context.user is not None
    await users.set_language(context.db, context.user.id, code)
    context.lang = code
    _ = context.gettext
    language = Markup("<b>{}</b>").format(i18n.language_name(code))
    await send_menu(update, context, _("Language set: {language}.", language=language))


async def cancel(update: Update, context: BotContext) -> None:
    _ = context.gettext
    assert context.user is not None
    state = await flows.state(context)
    if state is not None and state.flow == "outline":
        from handlers import outline  # here: handlers.outline imports this module

        # Say where the draft is and how to go on, not only "Cancelled".
        await send_menu(update, context, await outline.leave(context, state))
        return
    await conversations.set_state(context.db, context.user.id, None)
    await send_menu(update, context, _("Cancelled.") if state else _("Nothing to cancel."))


async def menu_button(update: Update, context: BotContext) -> None:
    """Main-menu buttons that belong to this module."""
    action = button_data_parts(update)[1:2]
    if action == ["lang"]:
        await choose_language(update, context)
    elif action == ["help"]:
        await help_(update, context)
    else:
        await menu(update, context)


def handlers() -> Handlers:
    return [
        CommandHandler("start", start, filters=PRIVATE),
        CommandHandler("menu", menu, filters=PRIVATE),
        CommandHandler("help", help_, filters=PRIVATE),
        CommandHandler(["language", "settings"], choose_language, filters=PRIVATE),
        CommandHandler("cancel", cancel, filters=PRIVATE),
        CallbackQueryHandler(menu_button, pattern=rf"^{MENU_PREFIX}:(main|lang|help)$"),
        CallbackQueryHandler(set_language, pattern=rf"^{LANGUAGE_PREFIX}:"),
    ]
