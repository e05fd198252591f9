"""The assistant on a web page: the same Application, met at the Bot API edge.

A browser's message becomes a Telegram update from a web visitor (a user id of its own range,
`storage.web_visitors`) and goes through the same update processor, handlers and database as an
update from Telegram. What the bot then asks of the Bot API for that visitor's chat
(sendMessage, editMessageText, sendDocument, answerCallbackQuery...) never leaves the process:
`WebRouting`, the Application's network layer, answers it from `WebBotApi`, which keeps the
visitor's chat in memory, and passes everything else on to Telegram. There is no second copy of
any flow: the page shows what the bot sent, as the bot sent it.

Delivery to the browser: a POST returns the bot's replies produced while handling it (the events
of the visitor's chat since the request came); what comes later (an edit after slow work, a
message a coordinator's action causes) arrives through a long poll on `/api/events`. Both read
one numbered event list per chat, so the page applies each event once. docs/web.md says why this
and not WebSockets or server-sent events.

The page gets the bot's Telegram HTML as a tree of allowed tags (`html_tree`) and builds it with
DOM calls: no markup from the server is ever parsed as HTML in the browser.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import ipaddress
import itertools
import json
import logging
import re
import secrets
import signal
import time
from collections import OrderedDict, deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from html.parser import HTMLParser
from importlib import resources
from typing import Any
from urllib.parse import quote

import jinja2
from aiohttp import web
from telegram.request import BaseRequest, RequestData

from bot import i18n
from bot.config import LANGUAGES, Settings
from bot.rendering import CALLBACK_DATA_LIMIT, CAPTION_LIMIT, MESSAGE_LIMIT, check_html
from storage import web_visitors as visitors
from storage.web_visitors import is_web_user

log = logging.getLogger(__name__)

COOKIE = "et417_visitor"
CSRF_HEADER = "X-CSRF-Token"
MAX_BODY_BYTES = 16 * 1024  # a message of 4,096 characters in JSON, with room to spare
LONG_POLL_SECONDS = 25.0
MESSAGES_KEPT = 200  # per chat, in memory: the history a reloaded page shows
FILES_KEPT = 5  # per chat: documents the bot sent, downloadable until pushed out or a restart
CHATS_KEPT = 5000  # chats in memory, least recently used dropped (their history only)
CODE_MINUTES = 10
_CODE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O or 1/I: read aloud or retyped
_TOKEN_SHAPE = re.compile(r"^[A-Za-z0-9_-]{43}$")


# -- the bot's Telegram HTML, as a tree the page can build safely -------------------------------

# Telegram's tags, each mapped to the one element the page makes for it; anything else keeps
# only its text.
_TAGS = {
    "b": "b", "strong": "b", "i": "i", "em": "i", "u": "u", "ins": "u", "s": "s",
    "strike": "s", "del": "s", "code": "code", "pre": "pre", "blockquote": "blockquote",
    "tg-spoiler": "spoiler", "a": "a",
}  # fmt: skip
_LINK_SCHEMES = ("http://", "https://", "mailto:", "tel:")

Node = str | dict[str, Any]


class _TreeBuilder(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.root: list[Node] = []
        self._stack: list[tuple[str, list[Node]]] = [("", self.root)]

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        name = _TAGS.get(tag)
        if tag == "span" and values.get("class") == "tg-spoiler":
            name = "spoiler"
        if name is None:
            self._stack.append((tag, self._stack[-1][1]))  # children go to the parent
            return
        node: dict[str, Any] = {"t": name, "c": []}
        if name == "a":
            href = (values.get("href") or "").strip()
            if href.lower().startswith(_LINK_SCHEMES):
                node["href"] = href
            else:  # tg://user?id=..., javascript:, anything else: text only
                node["t"] = "span"
        self._stack[-1][1].append(node)
        self._stack.append((tag, node["c"]))

    def handle_endtag(self, tag: str) -> None:
        for depth in range(len(self._stack) - 1, 0, -1):
            if self._stack[depth][0] == tag:
                del self._stack[depth:]
                return

    def handle_data(self, data: str) -> None:
        children = self._stack[-1][1]
        if children and isinstance(children[-1], str):
            children[-1] += data
        else:
            children.append(data)


def html_tree(text: str) -> list[Node]:
    """Telegram HTML as nested {"t": tag, "c": children, "href"?} nodes and strings."""
    builder = _TreeBuilder()
    builder.feed(text)
    builder.close()
    return builder.root


# -- the visitor's chat, kept in memory ------------------------------------------------------


@dataclass
class WebMessage:
    id: int
    text: str
    reply_markup: dict[str, Any] | None = None
    file_name: str | None = None
    file_size: int = 0
    order: int = 0  # the chat's event number when it was first sent: the history's order

    @property
    def buttons(self) -> list[tuple[str, str]]:
        rows = (self.reply_markup or {}).get("inline_keyboard", [])
        return [(b["text"], b.get("callback_data") or b.get("url", "")) for r in rows for b in r]

    def for_page(self) -> dict[str, Any]:
        rows = (self.reply_markup or {}).get("inline_keyboard", [])
        page: dict[str, Any] = {
            "id": self.id,
            "html": html_tree(self.text),
            "buttons": [
                [
                    {"label": b["text"], "data": b["callback_data"]}
                    if "callback_data" in b
                    else {"label": b["text"], "url": b.get("url", "")}
                    for b in row
                ]
                for row in rows
            ],
        }
        if self.file_name is not None:
            page["file"] = {
                "name": self.file_name,
                "size": self.file_size,
                "url": f"/api/file/{self.id}/{quote(self.file_name)}",
            }
        return page

    def as_telegram(self, chat_id: int, bot: dict[str, Any]) -> dict[str, Any]:
        message: dict[str, Any] = {
            "message_id": self.id,
            "date": int(time.time()),
            "chat": {"id": chat_id, "type": "private"},
            "from": bot,
        }
        if self.file_name is not None:
            message["document"] = {
                "file_id": f"web{self.id}",
                "file_unique_id": f"web{self.id}",
                "file_name": self.file_name,
                "file_size": self.file_size,
            }
            if self.text:
                message["caption"] = self.text
        else:
            message["text"] = self.text
        if self.reply_markup:
            message["reply_markup"] = self.reply_markup
        return message


@dataclass
class WebChat:
    user_id: int
    language_code: str | None = None
    seq: int = 0
    events: deque[dict[str, Any]] = field(default_factory=lambda: deque(maxlen=MESSAGES_KEPT))
    messages: OrderedDict[int, WebMessage] = field(default_factory=OrderedDict)
    own: OrderedDict[str, dict[str, Any]] = field(default_factory=OrderedDict)  # what they typed
    files: OrderedDict[int, bytes] = field(default_factory=OrderedDict)
    changed: asyncio.Event = field(default_factory=asyncio.Event)

    def add_event(self, event: dict[str, Any]) -> dict[str, Any]:
        self.seq += 1
        numbered = {"seq": self.seq, **event}
        self.events.append(numbered)
        self.changed.set()
        self.changed = asyncio.Event()  # waiters hold the old one, which stays set
        return numbered

    def since(self, seq: int) -> list[dict[str, Any]]:
        return [event for event in self.events if event["seq"] > seq]

    def keep(self, message: WebMessage) -> None:
        self.messages[message.id] = message
        self._trim()

    def keep_own(self, event: dict[str, Any]) -> None:
        self.own[event["id"]] = event
        self._trim()

    def _trim(self) -> None:
        while len(self.messages) > MESSAGES_KEPT:
            self.messages.popitem(last=False)
        while len(self.own) > MESSAGES_KEPT:
            self.own.popitem(last=False)

    def history(self) -> list[dict[str, Any]]:
        """What a reloaded page shows: the messages as they are now, and the visitor's own."""
        shown = [
            (m.order, {"kind": "message", "message": m.for_page()}) for m in self.messages.values()
        ]
        shown += [(e["seq"], e) for e in self.own.values()]
        return [event for _order, event in sorted(shown, key=lambda pair: pair[0])]


class ApiError(Exception):
    def __init__(self, code: int, description: str) -> None:
        super().__init__(description)
        self.code, self.description = code, description


def _markup_problems(markup: Any) -> list[str]:
    problems = []
    for row in (markup or {}).get("inline_keyboard", []):
        for button in row:
            if not str(button.get("text", "")).strip():
                problems.append("button with empty text")
            data = button.get("callback_data")
            if data is not None and not 1 <= len(data.encode("utf-8")) <= CALLBACK_DATA_LIMIT:
                problems.append("callback data over 64 bytes")
    return problems


class WebBotApi:
    """The Bot API methods the bot calls for web chats, answered as Telegram would (the same
    refusals: too long, malformed HTML, "message is not modified"), so the bot's own handling
    of those answers works here too."""

    def __init__(self) -> None:
        self.chats: OrderedDict[int, WebChat] = OrderedDict()
        self._message_ids = itertools.count(1)
        self._queries: dict[str, int] = {}  # callback query id: the visitor's user id
        self.refused: list[str] = []  # what Telegram would have refused too (for the tests)

    def unanswered_presses(self) -> list[str]:
        """Button presses the bot never answered (the page would wait on them)."""
        return list(self._queries)

    def chat(self, user_id: int) -> WebChat:
        chat = self.chats.get(user_id)
        if chat is None:
            chat = self.chats[user_id] = WebChat(user_id)
            while len(self.chats) > CHATS_KEPT:
                self.chats.popitem(last=False)
        self.chats.move_to_end(user_id)
        return chat

    def forget(self, user_id: int) -> None:
        self.chats.pop(user_id, None)

    def new_query(self, user_id: int) -> str:
        query = f"web-{secrets.token_hex(8)}"
        self._queries[query] = user_id
        return query

    def next_message_id(self) -> int:
        return next(self._message_ids)

    def owns(self, method: str, params: dict[str, Any]) -> bool:
        if method == "answerCallbackQuery":
            return str(params.get("callback_query_id", "")).startswith("web-")
        chat_id = params.get("chat_id")
        try:
            return is_web_user(int(chat_id)) if chat_id is not None else False
        except (TypeError, ValueError):
            return False

    async def call(self, method: str, params: dict[str, Any], files: dict[str, Any]) -> Any:
        if method == "answerCallbackQuery":
            user_id = self._queries.pop(str(params.get("callback_query_id")), None)
            if user_id is None:
                raise ApiError(400, "Bad Request: query is too old or query id is invalid")
            text = str(params.get("text") or "")
            if len(text) > 200:
                raise ApiError(400, "Bad Request: callback answer too long")
            if text:
                alert = bool(params.get("show_alert"))
                self.chat(user_id).add_event({"kind": "notice", "text": text, "alert": alert})
            return True
        chat = self.chat(int(params["chat_id"]))
        if method == "sendMessage":
            text = str(params.get("text", ""))
            self._check(text, params, MESSAGE_LIMIT)
            message = WebMessage(self.next_message_id(), text, params.get("reply_markup"))
            return self._store(chat, message)
        if method == "sendDocument":
            caption = str(params.get("caption") or "")
            if caption:
                self._check(caption, params, CAPTION_LIMIT)
            name, content = files.get("document", ("document", b""))
            message = WebMessage(
                self.next_message_id(), caption, params.get("reply_markup"), name, len(content)
            )
            chat.files[message.id] = content
            while len(chat.files) > FILES_KEPT:
                chat.files.popitem(last=False)
            return self._store(chat, message)
        if method in ("editMessageText", "editMessageReplyMarkup", "editMessageCaption"):
            message = chat.messages.get(int(params.get("message_id", 0)))
            if message is None:
                raise ApiError(400, "Bad Request: message to edit not found")
            text = message.text
            if method != "editMessageReplyMarkup":
                text = str(params.get("text" if method == "editMessageText" else "caption", ""))
                self._check(text, params, MESSAGE_LIMIT)
            markup = params.get("reply_markup")
            problems = _markup_problems(markup)
            if problems:
                self.refused.extend(problems)
                raise ApiError(400, f"Bad Request: {'; '.join(problems)}")
            if text == message.text and markup == message.reply_markup:
                raise ApiError(400, "Bad Request: message is not modified")
            message.text, message.reply_markup = text, markup
            return self._store(chat, message)
        if method == "deleteMessage":
            if chat.messages.pop(int(params.get("message_id", 0)), None) is None:
                raise ApiError(400, "Bad Request: message to delete not found")
            chat.add_event({"kind": "delete", "id": int(params["message_id"])})
            return True
        if method == "sendChatAction":
            return True
        # Nothing the bot does today; refused as a chat that cannot take it would be.
        raise ApiError(400, f"Bad Request: {method} is not available in the web chat")

    def _check(self, text: str, params: dict[str, Any], limit: int) -> None:
        problems = check_html(text, limit) if params.get("parse_mode") == "HTML" else []
        if not text.strip() and params.get("parse_mode") != "HTML":
            problems.append("message text is empty")
        problems += _markup_problems(params.get("reply_markup"))
        if problems:
            log.warning("web: refused %s", "; ".join(problems))
            self.refused.extend(problems)
            raise ApiError(400, f"Bad Request: {'; '.join(problems)}")

    def _store(self, chat: WebChat, message: WebMessage) -> dict[str, Any]:
        chat.keep(message)
        event = chat.add_event({"kind": "message", "message": message.for_page()})
        message.order = message.order or event["seq"]
        return message.as_telegram(chat.user_id, {"id": 1, "is_bot": True, "first_name": "Bot"})


class WebRouting(BaseRequest):
    """The Application's network layer: web chats are answered by `WebBotApi` in the process,
    everything else goes to `inner` (Telegram, or the stand-in for `python -m bot web`)."""

    def __init__(self, api: WebBotApi, inner: BaseRequest) -> None:
        self.api = api
        self.inner = inner

    @property
    def read_timeout(self) -> float | None:
        return self.inner.read_timeout

    async def initialize(self) -> None:
        await self.inner.initialize()

    async def shutdown(self) -> None:
        await self.inner.shutdown()

    async def do_request(
        self,
        url: str,
        method: str,
        request_data: RequestData | None = None,
        read_timeout: Any = BaseRequest.DEFAULT_NONE,
        write_timeout: Any = BaseRequest.DEFAULT_NONE,
        connect_timeout: Any = BaseRequest.DEFAULT_NONE,
        pool_timeout: Any = BaseRequest.DEFAULT_NONE,
    ) -> tuple[int, bytes]:
        api_method = url.rsplit("/", 1)[-1]
        params: dict[str, Any] = dict(request_data.parameters) if request_data else {}
        if not self.api.owns(api_method, params):
            return await self.inner.do_request(
                url,
                method,
                request_data,
                read_timeout=read_timeout,
                write_timeout=write_timeout,
                connect_timeout=connect_timeout,
                pool_timeout=pool_timeout,
            )
        files: dict[str, tuple[str, bytes]] = {}
        if request_data is not None and request_data.contains_files:
            parts = request_data.multipart_data
            # A file travels as its own part, named after the parameter or attach://-referenced.
            named = {value.removeprefix("attach://"): name for name, value in params.items()
                     if isinstance(value, str) and value.startswith("attach://")}  # fmt: skip
            for part_name, part in parts.items():
                content = part[1] if isinstance(part[1], bytes) else part[1].read()
                files[named.get(part_name, part_name)] = (str(part[0]), content)
        try:
            result = {"ok": True, "result": await self.api.call(api_method, params, files)}
            return 200, json.dumps(result).encode()
        except ApiError as error:
            answer = {"ok": False, "error_code": error.code, "description": error.description}
            return error.code, json.dumps(answer).encode()


# -- rate limits ------------------------------------------------------------------------------


class RateLimit:
    """Token buckets per key: `burst` requests at once, refilled at `per_minute`."""

    def __init__(self, burst: float, per_minute: float) -> None:
        self.burst, self.rate = burst, per_minute / 60
        self._buckets: dict[str, tuple[float, float]] = {}

    def admits(self, key: str) -> bool:
        now = time.monotonic()
        tokens, at = self._buckets.get(key, (self.burst, now))
        tokens = min(self.burst, tokens + (now - at) * self.rate)
        if tokens < 1:
            self._buckets[key] = (tokens, now)
            return False
        self._buckets[key] = (tokens - 1, now)
        if len(self._buckets) > 10_000:  # now and then: forget the full ones
            self._buckets = {
                k: (t, a)
                for k, (t, a) in self._buckets.items()
                if t + (now - a) * self.rate < self.burst
            }
        return True


# -- the page's strings ------------------------------------------------------------------------


def ui_strings(lang: str) -> dict[str, str]:
    """Everything the page itself says (the chat's words come from the bot)."""

    def _(message: str) -> str:
        return i18n.gettext(lang, message)

    return {
        "title": _("ET 4.1.7 assistant"),
        "conversation": _("Conversation with the assistant"),
        "message_label": _("Your message or question"),
        "send": _("Send"),
        "you": _("You"),
        "assistant": _("Assistant"),
        "download": _("Download {name}"),
        "another_device": _("Continue on another device"),
        "code_shown": _(
            "Your one-time code is {code}. Open this page on the other device, choose "
            '"I have a code" and type it within {minutes} minutes.'
        ),
        "have_code": _("I have a code"),
        "code_label": _("One-time code from your other device"),
        "use_code": _("Use the code"),
        "code_taken": _("Done: this browser now continues your conversation."),
        "code_invalid": _("That code is not valid or has expired. Ask for a new one."),
        "too_many": _("Too many requests. Wait a moment and try again."),
        "too_long": _("The message is too long: at most {limit} characters."),
        "offline": _("The assistant cannot be reached. Check your connection and try again."),
        "refused": _("The page could not be verified. Reload the page and try again."),
        "file_gone": _("This file is no longer available. Ask for it again in the chat."),
        "open_chat": _("Chat with the ET 4.1.7 assistant"),
        "close": _("Close the chat"),
        "working": _("The assistant is answering…"),
        "welcome_back": _(
            "Welcome back! Everything you saved is kept: type to continue where you left off, "
            "or open /mydrafts or /menu."
        ),
    }


# -- the HTTP side -----------------------------------------------------------------------------


class Refused(Exception):
    def __init__(self, status: int, key: str, **values: Any) -> None:
        super().__init__(key)
        self.status, self.key, self.values = status, key, values


def _static(name: str) -> str:
    return resources.files("bot.channels").joinpath("web_static", name).read_text("utf-8")


class WebChannel:
    """The aiohttp application serving the chat page, its API and widget.js."""

    def __init__(
        self,
        app: Any,
        api: WebBotApi,
        settings: Settings,
        *,
        visitor_limit: RateLimit | None = None,
        address_limit: RateLimit | None = None,
    ) -> None:
        self.app = app
        self.api = api
        self.settings = settings
        # A person types or taps at most every second or two; 20 at once covers a page reload
        # and a few quick presses. An address may be a whole office behind one NAT.
        self.visitor_limit = visitor_limit or RateLimit(burst=20, per_minute=40)
        self.address_limit = address_limit or RateLimit(burst=200, per_minute=600)
        self.new_visitor_limit = RateLimit(burst=30, per_minute=10)
        self.code_limit = RateLimit(burst=5, per_minute=1)
        self.closing = asyncio.Event()
        self._polls: dict[int, int] = {}  # long polls open per visitor
        self._update_id = 0
        self._user_message_ids = itertools.count(1)
        self._page = jinja2.Environment(autoescape=True).from_string(_static("index.html"))
        self._widget = jinja2.Environment(autoescape=False).from_string(_static("widget.js"))
        self._chat_js = _static("chat.js")
        self._css = _static("chat.css")
        self._trusted = {ipaddress.ip_address(a) for a in settings.web_trusted_proxies if a}

    @property
    def db(self) -> Any:
        return self.app.bot_data["services"].db

    def web_app(self) -> web.Application:
        application = web.Application(
            client_max_size=MAX_BODY_BYTES, middlewares=[self._headers_and_refusals]
        )
        application.router.add_get("/", self.page)
        application.router.add_get("/static/chat.js", self.chat_js)
        application.router.add_get("/static/chat.css", self.css)
        application.router.add_get("/widget.js", self.widget)
        application.router.add_get("/api/state", self.state)
        application.router.add_get("/api/events", self.events)
        application.router.add_get("/api/file/{message_id:\\d+}/{name}", self.file)
        application.router.add_post("/api/send", self.send)
        application.router.add_post("/api/press", self.press)
        application.router.add_post("/api/device-code", self.device_code)
        application.router.add_post("/api/device-claim", self.device_claim)
        application.on_shutdown.append(self._closing)
        return application

    async def _closing(self, _application: web.Application) -> None:
        self.closing.set()  # long polls end now instead of holding the shutdown up

    # -- safety, for every request --------------------------------------------------------

    @web.middleware
    async def _headers_and_refusals(
        self, request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
    ) -> web.StreamResponse:
        lang = self._page_language(request)
        try:
            if not self.address_limit.admits(self._address(request)):
                raise Refused(429, "too_many")
            response = await handler(request)
        except Refused as refusal:
            text = ui_strings(lang)[refusal.key].format(**refusal.values)
            response = web.json_response(
                {"error": refusal.key, "message": text}, status=refusal.status
            )
            if refusal.status == 429:
                response.headers["Retry-After"] = "10"
        except web.HTTPRequestEntityTooLarge:
            text = ui_strings(lang)["too_long"].format(limit=MESSAGE_LIMIT)
            response = web.json_response({"error": "too_long", "message": text}, status=413)
        frames = " ".join(self.settings.web_embed_origins) or "'none'"
        response.headers["Content-Security-Policy"] = (
            "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
            f"connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors {frames}"
        )
        response.headers["X-Content-Type-Options"] = "nosniff"
        response.headers["Referrer-Policy"] = "no-referrer"
        if request.path.startswith("/api/"):
            response.headers["Cache-Control"] = "no-store"
        return response

    def _address(self, request: web.Request) -> str:
        peer = request.remote or ""
        try:
            trusted = ipaddress.ip_address(peer) in self._trusted
        except ValueError:
            trusted = False
        if trusted:  # a proxy of ours: the visitor's address is the last one it added
            forwarded = request.headers.get("X-Forwarded-For", "")
            last = forwarded.rsplit(",", 1)[-1].strip()
            if last:
                return last
        return peer

    def _secure(self, request: web.Request) -> bool:
        if self.settings.web_origin:
            return self.settings.web_origin.startswith("https://")
        return request.scheme == "https"

    def _origin(self, request: web.Request) -> str:
        if self.settings.web_origin:
            return self.settings.web_origin
        return f"{'https' if self._secure(request) else 'http'}://{request.host}"

    def _token(self, request: web.Request) -> str | None:
        token = request.cookies.get(COOKIE, "")
        return token if _TOKEN_SHAPE.match(token) else None

    @staticmethod
    def csrf_for(token: str) -> str:
        """The CSRF token of a cookie: only a page that can read our answers learns it, and it
        needs no storage (it cannot be derived without the cookie, which scripts cannot read)."""
        return hmac.new(token.encode(), b"csrf", hashlib.sha256).hexdigest()

    async def _checked_post(self, request: web.Request) -> tuple[str, dict[str, Any]]:
        """Origin, CSRF token and body of a state-changing request; the cookie it carries."""
        origin = request.headers.get("Origin", "")
        if origin.rstrip("/") != self._origin(request):
            log.info("web: refused a POST from origin %r", origin[:100])
            raise Refused(403, "refused")
        if request.headers.get("Sec-Fetch-Site", "same-origin") != "same-origin":
            raise Refused(403, "refused")
        token = self._token(request)
        given = request.headers.get(CSRF_HEADER, "")
        if token is None or not hmac.compare_digest(given, self.csrf_for(token)):
            raise Refused(403, "refused")
        if request.content_type != "application/json":
            raise Refused(415, "refused")
        try:
            body = await request.json()
        except ValueError as error:
            raise Refused(400, "refused") from error
        if not isinstance(body, dict):
            raise Refused(400, "refused")
        return token, body

    async def _visitor(
        self, request: web.Request, token: str, *, create: bool, counted: bool = True
    ) -> int | None:
        user_id = await visitors.visitor_of(self.db, token)
        if user_id is None and create:
            if not self.new_visitor_limit.admits(self._address(request)):
                raise Refused(429, "too_many")
            user_id = await visitors.new_visitor(self.db, token)
        if user_id is not None and counted and not self.visitor_limit.admits(str(user_id)):
            raise Refused(429, "too_many")
        return user_id

    def _set_cookie(self, request: web.Request, response: web.StreamResponse, token: str) -> None:
        embedded = bool(self.settings.web_embed_origins) and self._secure(request)
        response.set_cookie(
            COOKIE,
            token,
            max_age=400 * 24 * 3600,  # the longest browsers keep a cookie
            path="/",
            httponly=True,
            secure=self._secure(request),
            # In a host site's widget the page is a third-party frame: only SameSite=None
            # (with Secure) reaches it there. Without embedding, Strict.
            samesite="None" if embedded else "Strict",
            # CHIPS: in a frame, the cookie is kept per host site, as browsers now require.
            partitioned=embedded or None,
        )

    # -- language --------------------------------------------------------------------------

    def _page_language(self, request: web.Request) -> str:
        asked = request.query.get("lang", "")
        if asked in LANGUAGES:
            return asked
        header = request.headers.get("Accept-Language", "")
        code = header.split(",", 1)[0].split(";", 1)[0].strip() or None
        return i18n.negotiate(code, self.settings.default_language)

    def _language(self, chosen: str | None, reported: str | None, asked: str | None) -> str:
        """The language chosen in the chat (/language), else the one the page asks for (the
        widget's data-lang, the browser's), else the one the bot settled on earlier."""
        return chosen or asked or i18n.negotiate(reported, self.settings.default_language)

    # -- pages and files -------------------------------------------------------------------

    async def page(self, request: web.Request) -> web.Response:
        lang = self._page_language(request)
        token = self._token(request)
        known = await visitors.visitor_and_language(self.db, token) if token else None
        if known is not None:
            lang = self._language(known[1], known[2], lang)
        html = self._page.render(lang=lang, ui=ui_strings(lang), limit=MESSAGE_LIMIT)
        return web.Response(text=html, content_type="text/html", charset="utf-8")

    async def chat_js(self, request: web.Request) -> web.Response:
        return web.Response(text=self._chat_js, content_type="application/javascript")

    async def css(self, request: web.Request) -> web.Response:
        return web.Response(text=self._css, content_type="text/css")

    async def widget(self, request: web.Request) -> web.Response:
        labels = {lang: ui_strings(lang) for lang in LANGUAGES}
        keep = ("open_chat", "close", "title")
        text = self._widget.render(
            labels=json.dumps({k: {n: v[n] for n in keep} for k, v in labels.items()})
            .replace("<", "\\u003c")
            .replace(">", "\\u003e"),
            default=json.dumps(self.settings.default_language),
        )
        response = web.Response(text=text, content_type="application/javascript")
        response.headers["Cross-Origin-Resource-Policy"] = "cross-origin"
        return response

    async def file(self, request: web.Request) -> web.Response:
        token = self._token(request)
        user_id = await self._visitor(request, token, create=False) if token else None
        chat = self.api.chats.get(user_id) if user_id is not None else None
        content = chat.files.get(int(request.match_info["message_id"])) if chat else None
        message = chat.messages.get(int(request.match_info["message_id"])) if chat else None
        if content is None or message is None or message.file_name is None:
            raise Refused(404, "file_gone")
        name = message.file_name
        ascii_name = re.sub(r"[^A-Za-z0-9._-]", "_", name) or "download"
        return web.Response(
            body=content,
            content_type="application/octet-stream",
            headers={
                "Content-Disposition": (
                    f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(name)}"
                )
            },
        )

    # -- the API ---------------------------------------------------------------------------

    async def state(self, request: web.Request) -> web.Response:
        """The page's start: its CSRF token (a cookie first if it has none), the language, the
        history kept for this visitor and the event number to long-poll from."""
        lang = self._page_language(request)
        token = self._token(request)
        known = await visitors.visitor_and_language(self.db, token) if token else None
        user_id = known[0] if known else None
        fresh = token is None or user_id is None
        if fresh:
            # A new or forgotten browser gets a new random cookie; the visitor is stored
            # when it first says something, so a page view alone writes nothing.
            token = secrets.token_urlsafe(32)
        assert token is not None
        chat = self.api.chat(user_id) if user_id is not None else None
        if known is not None and chat is not None:
            lang = self._language(known[1], known[2], lang)
            chat.language_code = self._page_language(request)
        body = {
            "csrf": self.csrf_for(token),
            # Known but with no history here (this process started since): the page does not
            # send /start, which would leave the step they were at.
            "known": user_id is not None,
            "lang": lang,
            "ui": ui_strings(lang),
            "history": chat.history() if chat else [],
            "seq": chat.seq if chat else 0,
            "limit": MESSAGE_LIMIT,
        }
        response = web.json_response(body)
        if fresh:
            self._set_cookie(request, response, token)
        return response

    async def events(self, request: web.Request) -> web.Response:
        token = self._token(request)
        # Not counted per visitor: every reply also ends the page's long poll, so the polls
        # number as many as the messages. The address's limit still counts them, and a visitor
        # holds at most a few at once.
        user_id = (
            await self._visitor(request, token, create=False, counted=False) if token else None
        )
        if user_id is None:
            raise Refused(403, "refused")
        if self._polls.get(user_id, 0) >= 3:
            raise Refused(429, "too_many")
        try:
            after = int(request.query.get("after", "0"))
        except ValueError as error:
            raise Refused(400, "refused") from error
        chat = self.api.chat(user_id)
        self._polls[user_id] = self._polls.get(user_id, 0) + 1
        try:
            return await self._poll(chat, after)
        finally:
            self._polls[user_id] -= 1
            if not self._polls[user_id]:
                del self._polls[user_id]

    async def _poll(self, chat: WebChat, after: int) -> web.Response:
        if chat.seq <= after and not self.closing.is_set():
            waits = [
                asyncio.ensure_future(chat.changed.wait()),
                asyncio.ensure_future(self.closing.wait()),
            ]
            try:
                await asyncio.wait(
                    waits, timeout=LONG_POLL_SECONDS, return_when=asyncio.FIRST_COMPLETED
                )
            finally:
                for waiting in waits:
                    waiting.cancel()
        return web.json_response({"events": chat.since(after), "seq": chat.seq})

    async def send(self, request: web.Request) -> web.Response:
        token, body = await self._checked_post(request)
        text = body.get("text")
        if not isinstance(text, str) or not text.strip():
            raise Refused(400, "refused")
        if len(text) > MESSAGE_LIMIT:
            raise Refused(413, "too_long", limit=MESSAGE_LIMIT)
        user_id = await self._visitor(request, token, create=True)
        assert user_id is not None
        chat = self.api.chat(user_id)
        # What Telegram reports as language_code: the page's language (?lang=, data-lang, or
        # the browser's, which the page sends as Accept-Language).
        lang = body.get("lang")
        chat.language_code = lang if lang in LANGUAGES else self._page_language(request)
        before = chat.seq
        if body.get("echo", True) is not False:  # the page's own /start on opening is not shown
            own = {"kind": "mine", "id": f"m{next(self._user_message_ids)}", "text": text}
            chat.keep_own(chat.add_event(own))
        content: dict[str, Any] = {"text": text}
        if text.startswith("/"):
            length = len(text.split(maxsplit=1)[0])
            content["entities"] = [{"type": "bot_command", "offset": 0, "length": length}]
        await self._deliver(chat, {"message": self._message(chat, content)})
        # Only a command or a press changes the language or erases the visitor: typed text
        # spares the read that would look (under load, a wait for the next group commit).
        return await self._answer(request, token, chat, before, look=text.startswith("/"))

    async def press(self, request: web.Request) -> web.Response:
        token, body = await self._checked_post(request)
        data, message_id = body.get("data"), body.get("message_id")
        if not isinstance(data, str) or not isinstance(message_id, int):
            raise Refused(400, "refused")
        user_id = await self._visitor(request, token, create=True)
        assert user_id is not None
        chat = self.api.chat(user_id)
        before = chat.seq
        message = chat.messages.get(message_id)
        if isinstance(message, WebMessage):
            if data not in [d for _label, d in message.buttons]:
                raise Refused(400, "refused")
            shown = message
        else:
            # A page older than this process: the bot answers a stale button as in Telegram.
            shown = WebMessage(message_id, ".")
        bot = {"id": self.app.bot.id, "is_bot": True, "first_name": self.app.bot.first_name}
        update = {
            "callback_query": {
                "id": self.api.new_query(user_id),
                "from": self._person(chat),
                "chat_instance": str(user_id),
                "data": data,
                "message": shown.as_telegram(user_id, bot),
            }
        }
        await self._deliver(chat, update)
        return await self._answer(request, token, chat, before, look=True)

    async def device_code(self, request: web.Request) -> web.Response:
        token, _body = await self._checked_post(request)
        user_id = await self._visitor(request, token, create=True)
        assert user_id is not None
        code = "".join(secrets.choice(_CODE_ALPHABET) for _ in range(8))
        await visitors.new_device_code(self.db, user_id, code, CODE_MINUTES)
        return web.json_response({"code": f"{code[:4]}-{code[4:]}", "minutes": CODE_MINUTES})

    async def device_claim(self, request: web.Request) -> web.Response:
        token, body = await self._checked_post(request)
        if not self.code_limit.admits(self._address(request)):
            raise Refused(429, "too_many")
        code = re.sub(r"[\s-]", "", str(body.get("code", ""))).upper()
        if not re.fullmatch(f"[{_CODE_ALPHABET}]{{8}}", code):
            raise Refused(400, "code_invalid")
        fresh = secrets.token_urlsafe(32)  # this browser's new cookie, for the other visitor
        user_id = await visitors.claim_device_code(self.db, code, fresh)
        if user_id is None:
            raise Refused(400, "code_invalid")
        await visitors.forget_session(self.db, token)
        response = web.json_response({"ok": True, "csrf": self.csrf_for(fresh)})
        self._set_cookie(request, response, fresh)
        return response

    # -- from the page into the Application ---------------------------------------------------

    def _person(self, chat: WebChat) -> dict[str, Any]:
        person: dict[str, Any] = {"id": chat.user_id, "is_bot": False, "first_name": ""}
        if chat.language_code:
            person["language_code"] = chat.language_code
        return person

    def _message(self, chat: WebChat, content: dict[str, Any]) -> dict[str, Any]:
        return {
            "message_id": next(self._user_message_ids),
            "date": int(time.time()),
            "chat": {"id": chat.user_id, "type": "private", "first_name": ""},
            "from": self._person(chat),
            **content,
        }

    def _next_update_id(self) -> int:
        # Unique across restarts: the bot remembers which (user, update) it handled.
        self._update_id = max(self._update_id + 1, time.time_ns() // 1000)
        return self._update_id

    async def _deliver(self, chat: WebChat, update: dict[str, Any]) -> None:
        from bot.app import deliver

        await deliver(self.app, {"update_id": self._next_update_id(), **update})

    async def _answer(
        self, request: web.Request, token: str, chat: WebChat, before: int, *, look: bool
    ) -> web.Response:
        events = chat.since(before)
        if not look:
            return web.json_response({"events": events, "seq": chat.seq})
        known = await visitors.visitor_and_language(self.db, token)
        if known is None:
            # The visitor erased their data (/deletedata): the page shows the last replies and
            # this browser starts afresh with a new cookie.
            self.api.forget(chat.user_id)
            fresh = secrets.token_urlsafe(32)
            lang = chat.language_code or self.settings.default_language
            body = {"events": events, "seq": 0, "lang": lang, "ui": ui_strings(lang)}
            response = web.json_response({**body, "erased": True, "csrf": self.csrf_for(fresh)})
            self._set_cookie(request, response, fresh)
            return response
        lang = self._language(known[1], known[2], chat.language_code)
        return web.json_response(
            {"events": events, "seq": chat.seq, "lang": lang, "ui": ui_strings(lang)}
        )


# -- running it -------------------------------------------------------------------------------


def attach(app: Any, api: WebBotApi, settings: Settings) -> None:
    """Serve the web chat beside the Application while it runs (`python -m bot run` with
    BOT_WEB_PORT): started after the bot's own start-up, stopped before its shutdown."""
    channel = WebChannel(app, api, settings)
    runner = web.AppRunner(channel.web_app(), access_log=None, shutdown_timeout=5)
    started, stopping = app.post_init, app.post_shutdown

    async def start(application: Any) -> None:
        if started is not None:
            await started(application)
        await runner.setup()
        await web.TCPSite(runner, settings.web_host, settings.web_port).start()
        log.info("web chat: listening on %s:%d", settings.web_host, settings.web_port)

    async def stop(application: Any) -> None:
        await runner.cleanup()
        if stopping is not None:
            await stopping(application)

    app.post_init, app.post_shutdown = start, stop


async def serve_alone(settings: Settings, host: str, port: int) -> int:
    """`python -m bot web`: the web chat only, with no Telegram token and no network beyond
    the page: the bot's few calls that are not for a chat are answered by the stand-in."""
    from bot.app import build_application, running
    from bot.channels.standin_transport import InProcessRequest
    from bot.channels.telegram_standin import FakeTelegram

    api = WebBotApi()
    app = build_application(settings, WebRouting(api, InProcessRequest(FakeTelegram())))
    channel = WebChannel(app, api, settings)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    async with running(app):
        runner = web.AppRunner(channel.web_app(), access_log=None, shutdown_timeout=5)
        await runner.setup()
        try:
            site = web.TCPSite(runner, host, port)
            await site.start()
            # One line a script can wait for (the tests start it on port 0).
            bound = runner.addresses[0][1] if runner.addresses else port
            print(f"web chat: http://{host}:{bound}/", flush=True)
            await stop.wait()
        finally:
            await runner.cleanup()
    return 0
