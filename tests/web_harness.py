"""The web chat over real HTTP on 127.0.0.1, in front of the real Application: for the HTTP-level
tests (tests/test_web.py) and the browser tests (tests/test_web_browser.py).

`WebVisitor` is a browser without a page: its own cookie jar, the page's JSON calls, and the
chat as the page would show it (every event applied in order).
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import aiohttp
from aiohttp.test_utils import TestServer

from bot.app import build_application, running
from bot.channels.standin_transport import InProcessRequest
from bot.channels.telegram_standin import FakeTelegram
from bot.channels.web import WebBotApi, WebChannel, WebRouting
from bot.config import Settings


def text_of(nodes: list[Any]) -> str:
    """The plain text of a message's tree, as a screen reader would read it."""
    return "".join(n if isinstance(n, str) else text_of(n["c"]) for n in nodes)


class WebVisitor:
    def __init__(self, base: str, origin: str | None = None) -> None:
        self.base = base
        self.origin = origin or base
        self.session = aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True))
        self.csrf = ""
        self.seq = 0
        self.lang = ""
        self.messages: dict[int, dict[str, Any]] = {}  # the bot's messages as shown now
        self.mine: list[str] = []
        self.notices: list[str] = []
        self.last_status = 0

    async def close(self) -> None:
        await self.session.close()

    async def state(self, lang: str | None = None) -> dict[str, Any]:
        query = f"?lang={lang}" if lang else ""
        async with self.session.get(f"{self.base}/api/state{query}") as response:
            body = await response.json()
        self.csrf, self.lang = body["csrf"], body["lang"]
        self.session.headers["Accept-Language"] = self.lang  # as the page does
        self.messages.clear()
        self.mine.clear()
        self.seq = 0
        self._apply(body["history"])
        self.seq = body["seq"]
        return body

    async def post(
        self, path: str, body: Any, *, headers: dict[str, str] | None = None
    ) -> tuple[int, dict[str, Any]]:
        sent = {
            "Origin": self.origin,
            "X-CSRF-Token": self.csrf,
            "Content-Type": "application/json",
            **(headers or {}),
        }
        sent = {k: v for k, v in sent.items() if v is not None}
        data = body if isinstance(body, bytes | str) else json.dumps(body)
        async with self.session.post(f"{self.base}{path}", data=data, headers=sent) as response:
            self.last_status = response.status
            try:
                answer = await response.json(content_type=None)
            except ValueError:
                answer = {}
        if response.status == 200:
            self._apply(answer.get("events", []))
            self.lang = answer.get("lang") or self.lang
            self.session.headers["Accept-Language"] = self.lang
            if answer.get("erased"):
                self.csrf, self.seq = answer["csrf"], 0
        return response.status, answer

    async def send(self, text: str, **extra: Any) -> dict[str, Any]:
        status, answer = await self.post("/api/send", {"text": text, **extra})
        assert status == 200, (status, answer)
        return answer

    async def press(self, label: str) -> dict[str, Any]:
        message = self.last_with_buttons()
        for row in message["buttons"]:
            for button in row:
                if label in (button["label"], button.get("data")):
                    status, answer = await self.post(
                        "/api/press", {"message_id": message["id"], "data": button["data"]}
                    )
                    assert status == 200, (status, answer)
                    return answer
        raise LookupError(f"no button {label!r} in {message['buttons']}")

    async def poll(self) -> list[dict[str, Any]]:
        async with self.session.get(f"{self.base}/api/events?after={self.seq}") as response:
            body = await response.json()
        self._apply(body["events"])
        return body["events"]

    def _apply(self, events: list[dict[str, Any]]) -> None:
        for event in events:
            if "seq" in event:
                if event["seq"] <= self.seq:
                    continue
                self.seq = event["seq"]
            if event["kind"] == "message":
                self.messages[event["message"]["id"]] = event["message"]
            elif event["kind"] == "mine":
                self.mine.append(event["text"])
            elif event["kind"] == "delete":
                self.messages.pop(event["id"], None)
            elif event["kind"] == "notice":
                self.notices.append(event["text"])

    def texts(self) -> list[str]:
        return [text_of(m["html"]) for _, m in sorted(self.messages.items())]

    @property
    def last_text(self) -> str:
        return self.texts()[-1]

    def last_with_buttons(self) -> dict[str, Any]:
        for _, message in sorted(self.messages.items(), reverse=True):
            if message["buttons"]:
                return message
        raise LookupError("no message with buttons")


class WebHarness:
    def __init__(self, settings: Settings, channel: WebChannel, server: TestServer) -> None:
        self.settings = settings
        self.channel = channel
        self.server = server
        self.base = str(server.make_url("")).rstrip("/")
        self.visitors: list[WebVisitor] = []
        self.telegram: FakeTelegram | None = None  # the Telegram side of the same Application
        self.app: Any = None

    @property
    def api(self) -> WebBotApi:
        return self.channel.api

    @property
    def db(self) -> Any:
        return self.channel.db

    async def visitor(self, lang: str | None = "en", *, start: bool = True) -> WebVisitor:
        visitor = WebVisitor(self.base)
        self.visitors.append(visitor)
        await visitor.state(lang)
        if start:
            await visitor.send("/start", lang=lang, echo=False)
        return visitor


@asynccontextmanager
async def running_web(settings: Settings, **limits: Any) -> AsyncIterator[WebHarness]:
    """The real Application with the web chat on a free port of 127.0.0.1; afterwards, checks
    that nothing the bot sent to a web chat broke Telegram's rules and every press was answered.
    The Telegram side (getMe, the command menu) is the stand-in, as for `python -m bot web`."""
    api = WebBotApi()
    telegram = FakeTelegram()
    app = build_application(settings, WebRouting(api, InProcessRequest(telegram)))
    async with running(app):
        channel = WebChannel(app, api, settings, **limits)
        server = TestServer(channel.web_app(), host="127.0.0.1")
        await server.start_server()
        harness = WebHarness(settings, channel, server)
        harness.telegram, harness.app = telegram, app
        try:
            yield harness
        finally:
            for visitor in harness.visitors:
                await visitor.close()
            await server.close()
    assert api.refused == [], "the bot sent a web chat what Telegram would refuse"
    assert api.unanswered_presses() == [], "a button press in the web chat was never answered"
    assert telegram.violations == []
