"""The web chat over HTTP, without a browser: the protocol, the same flows as in Telegram, and
the refusals (origin, CSRF, size, rate) that keep it safe on the open internet."""

from __future__ import annotations

import asyncio
import io
import re
import signal
import socket
import sys

import docx
import pytest

from bot.app import deliver
from bot.channels.standin_transport import serve_http
from bot.channels.standin_user import TelegramUser
from bot.channels.telegram_standin import FakeTelegram
from bot.channels.web import RateLimit, html_tree
from bot.config import ConfigError, Settings
from storage.web_visitors import WEB_USER_ID_MIN
from tests.conftest import assert_telegram_rules_kept, replace_settings
from tests.test_cli import TOKEN, bot_env
from tests.web_harness import WebVisitor, running_web, text_of


@pytest.fixture
async def web(settings):
    async with running_web(settings) as harness:
        yield harness


async def _visitor_ids(web) -> list[int]:
    return [row[0] for row in await web.db.fetchall("SELECT id FROM web_visitors")]


async def test_page_has_lang_labelled_box_log_and_a_csp_without_inline_script(web):
    visitor = WebVisitor(web.base)
    web.visitors.append(visitor)
    async with visitor.session.get(f"{web.base}/?lang=sv") as response:
        page = await response.text()
        csp = response.headers["Content-Security-Policy"]
    assert '<html lang="sv">' in page
    assert 'role="log"' in page and '<label for="text"' in page
    assert "Skicka" in page  # the page's own words come from the catalogs
    assert "<script>" not in page and "onclick" not in page
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp
    assert "frame-ancestors 'none'" in csp
    # Nothing of the bot's identity or configuration reaches the page.
    assert "9001" not in page and "token" not in page.lower()


async def test_a_page_view_stores_nothing_and_the_cookie_is_httponly_and_strict(web):
    visitor = WebVisitor(web.base)
    web.visitors.append(visitor)
    async with visitor.session.get(f"{web.base}/api/state?lang=en") as response:
        cookie = response.headers["Set-Cookie"]
        body = await response.json()
    assert "HttpOnly" in cookie and "SameSite=Strict" in cookie
    assert "Secure" not in cookie  # plain http on 127.0.0.1; https gets Secure
    assert body["history"] == [] and body["lang"] == "en" and body["csrf"]
    assert await _visitor_ids(web) == []


async def test_the_greeting_and_a_typed_question_come_back_in_the_post(web):
    visitor = await web.visitor("en")
    assert visitor.last_text.startswith("Hello! I help you prepare")  # no name to greet
    assert visitor.last_text.endswith("What would you like to do?")
    [user_id] = [row[0] for row in await web.db.fetchall("SELECT id FROM users")]
    assert user_id >= WEB_USER_ID_MIN  # never a Telegram id
    answer = await visitor.send("who can apply?")
    assert visitor.mine == ["who can apply?"]
    reply = text_of(answer["events"][-1]["message"]["html"])
    assert "apply" in reply.lower() or "hak" in reply.lower()
    [logged] = await web.db.fetchall("SELECT user_id FROM faq_queries")
    assert logged[0] == user_id


async def test_a_checklist_answer_by_button_is_saved_and_the_chat_goes_on(web):
    visitor = await web.visitor("en")
    await visitor.send("/checklist")
    assert "1/14" in visitor.last_text
    await visitor.press("Yes")
    assert "2/14" in visitor.last_text
    [row] = await web.db.fetchall("SELECT answer FROM checklist_answers")
    assert row[0] == "yes"


async def test_an_edit_changes_the_message_in_place(web):
    visitor = await web.visitor("en")
    await visitor.send("/deletedata")
    question = visitor.last_with_buttons()
    answer = await visitor.press("↩️ No, keep it")
    edited = [e for e in answer["events"] if e["kind"] == "message"]
    assert edited and edited[0]["message"]["id"] == question["id"]
    assert visitor.messages[question["id"]]["buttons"] == []


async def test_outline_step_saved_and_a_reload_continues_the_draft(web):
    visitor = await web.visitor("en")
    await visitor.send("/outline")
    await visitor.send("Join In! – hobbies for every child")
    [row] = await web.db.fetchall("SELECT value FROM draft_answers WHERE section_id = 'title'")
    assert row[0] == "Join In! – hobbies for every child"
    assert "2/19" in visitor.last_text
    # The page is loaded again: the same visitor, the same history, the same step.
    state = await visitor.state()
    assert "2/19" in text_of(state["history"][-1]["message"]["html"])
    assert "/outline" in visitor.mine
    before = visitor.last_text
    await visitor.send("Helsingin kaupunki")
    assert visitor.last_text != before and "3/19" in visitor.last_text


async def test_a_docx_download_is_a_link_to_the_file(web):
    visitor = await web.visitor("en")
    await visitor.send("/outline")
    await visitor.send("Join In")
    await visitor.press("💾 Save and exit")
    await visitor.send("/mydrafts")
    await visitor.press(next(b["label"] for b in visitor.last_with_buttons()["buttons"][0]))
    await visitor.press("📄 Download (DOCX)")
    [sent] = [m for m in visitor.messages.values() if "file" in m]
    assert sent["file"]["name"].endswith(".docx")
    async with visitor.session.get(f"{web.base}{sent['file']['url']}") as response:
        assert response.status == 200
        assert "attachment" in response.headers["Content-Disposition"]
        data = await response.read()
    parsed = docx.Document(io.BytesIO(data))
    assert "Join In" in "\n".join(p.text for p in parsed.paragraphs)
    # Another browser cannot fetch it.
    stranger = await web.visitor("en")
    async with stranger.session.get(f"{web.base}{sent['file']['url']}") as response:
        assert response.status == 404


async def test_deletedata_erases_the_visitor_and_the_browser_starts_afresh(web):
    visitor = await web.visitor("en")
    await visitor.send("/outline")
    await visitor.send("Join In")
    await visitor.send("/deletedata")
    answer = await visitor.press("🗑 Yes, delete my data")
    assert answer["erased"] is True
    assert await web.db.fetchall("SELECT id FROM users") == []
    assert await web.db.fetchall("SELECT id FROM drafts") == []
    assert await _visitor_ids(web) == []
    assert await web.db.fetchall("SELECT * FROM web_sessions") == []
    # The old cookie leads nowhere; the next message makes a new visitor with a new id.
    state = await visitor.state()
    assert state["history"] == []
    await visitor.send("/start", echo=False)
    [user_id] = [row[0] for row in await web.db.fetchall("SELECT id FROM users")]
    assert user_id == WEB_USER_ID_MIN + 2  # ids are never given twice


async def test_language_choice_changes_the_page_language(web):
    visitor = await web.visitor("en")
    answer = await visitor.send("/language sv")
    assert answer["lang"] == "sv" and answer["ui"]["send"] == "Skicka"
    async with visitor.session.get(f"{web.base}/") as response:
        assert '<html lang="sv">' in await response.text()


async def test_privacy_and_mydata_work_as_in_telegram(web):
    visitor = await web.visitor("en")
    await visitor.send("/privacy")
    assert "/deletedata" in visitor.last_text
    assert "cookie" in visitor.last_text and "Telegram user id" not in visitor.last_text
    await visitor.send("/mydata")
    [sent] = [m for m in visitor.messages.values() if "file" in m]
    async with visitor.session.get(f"{web.base}{sent['file']['url']}") as response:
        data = await response.read()
    assert b'"language"' in data or b"language" in data


async def test_coordinator_commands_do_not_exist_for_a_web_visitor(settings):
    # Even an operator who lists a web id cannot make a web visitor a coordinator.
    with pytest.raises(ConfigError):
        Settings.from_env({"COORDINATOR_IDS": str(WEB_USER_ID_MIN + 1)}, need_token=False)
    async with running_web(settings) as web:
        visitor = await web.visitor("en")
        await visitor.send("/stats")
        assert "know" in visitor.last_text.lower() or "/help" in visitor.last_text
        await web.db.execute("UPDATE users SET role = 'coordinator'")
        await visitor.send("/export")
        assert not any("Format" in t or "format" in t for t in visitor.texts()[-1:])


async def test_a_press_later_answered_arrives_by_long_poll(web):
    visitor = await web.visitor("en")
    before = visitor.seq
    # Something the bot sends outside a request (e.g. after slow work) lands in the event list.
    web.api.chat(WEB_USER_ID_MIN + 1).add_event({"kind": "notice", "text": "hi", "alert": False})
    events = await visitor.poll()
    assert [e["seq"] for e in events] == [before + 1] and visitor.notices == ["hi"]


async def test_move_to_another_device_with_a_one_time_code(web):
    first = await web.visitor("en")
    await first.send("/outline")
    await first.send("Join In")
    status, answer = await first.post("/api/device-code", {})
    assert status == 200 and re.fullmatch(r"[A-Z2-9]{4}-[A-Z2-9]{4}", answer["code"])
    second = await web.visitor("en", start=False)
    status, claimed = await second.post("/api/device-claim", {"code": answer["code"].lower()})
    assert status == 200
    second.csrf = claimed["csrf"]
    state = await second.state()
    assert "2/19" in text_of(state["history"][-1]["message"]["html"])
    await second.send("Helsingin kaupunki")
    [row] = await web.db.fetchall(
        "SELECT value FROM draft_answers WHERE section_id = ?", ("organisation",)
    )
    assert row[0] == "Helsingin kaupunki"
    # The code works once.
    third = await web.visitor("en", start=False)
    status, refused = await third.post("/api/device-claim", {"code": answer["code"]})
    assert status == 400 and "not valid" in refused["message"]


async def test_one_application_serves_telegram_and_the_web_apart(web):
    telegram_user = TelegramUser(web.telegram, lambda u: deliver(web.app, u), user_id=4242)
    await telegram_user.send("/start")
    visitor = await web.visitor("en")
    await telegram_user.send("/outline")
    await visitor.send("/checklist")
    # Each reply went to its own channel: nothing of the visitor's reached Telegram.
    assert "1/19" in telegram_user.last.text and "1/14" in visitor.last_text
    chats = {int(c.params["chat_id"]) for c in web.telegram.calls if "chat_id" in c.params}
    assert chats == {4242}
    assert not any("1/19" in t for t in visitor.texts())


async def test_after_a_restart_a_known_visitor_is_welcomed_back_at_their_step(web):
    visitor = await web.visitor("en")
    await visitor.send("/outline")
    await visitor.send("Join In")
    web.api.forget(WEB_USER_ID_MIN + 1)  # what a restart does to the history in memory
    state = await visitor.state()
    assert state["known"] is True and state["history"] == []
    await visitor.send("Helsingin kaupunki")  # the step was kept: no /start was sent
    assert "3/19" in visitor.last_text


async def test_run_serves_the_web_chat_beside_telegram(tmp_path):
    telegram = FakeTelegram()
    server = await serve_http(telegram, "127.0.0.1", 0)
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        web_port = probe.getsockname()[1]
    env = bot_env(server.sockets[0].getsockname()[1], tmp_path / "bot.sqlite3")
    env["BOT_WEB_PORT"] = str(web_port)
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", "run", env=env, stderr=asyncio.subprocess.PIPE
    )
    visitor = WebVisitor(f"http://127.0.0.1:{web_port}")
    try:
        user = TelegramUser(telegram, telegram.enqueue, user_id=555, language_code="en")
        await user.send("/start")
        await telegram.wait_for_messages(555, 1)
        for _ in range(200):  # the web server starts with the bot
            try:
                await visitor.state("en")
                break
            except OSError:
                await asyncio.sleep(0.1)
        await visitor.send("/start", echo=False)
        assert visitor.last_text.startswith("Hello! I help you prepare")
        chats = {int(c.params["chat_id"]) for c in telegram.calls if "chat_id" in c.params}
        assert chats == {555}  # nothing for the visitor went to Telegram
    finally:
        await visitor.close()
        process.send_signal(signal.SIGTERM)
        _, stderr = await asyncio.wait_for(process.communicate(), 30)
        server.close()
        await server.wait_closed()
    assert process.returncode == 0
    assert TOKEN.split(":")[1] not in stderr.decode()
    assert_telegram_rules_kept(telegram)


# -- refusals --------------------------------------------------------------------------------


async def test_a_post_from_another_origin_or_without_csrf_changes_nothing(web):
    visitor = await web.visitor("en")
    count = len(visitor.messages)
    for headers in (
        {"Origin": "https://evil.example"},
        {"Origin": None},
        {"X-CSRF-Token": "0" * 64},
        {"X-CSRF-Token": None},
        {"Sec-Fetch-Site": "cross-site"},
    ):
        status, answer = await visitor.post(
            "/api/send", {"text": "who can apply?"}, headers=headers
        )
        assert status == 403, headers
        assert answer["error"] == "refused" and "Reload the page" in answer["message"]
    # A form post (no preflight) is refused for its content type.
    status, _ = await visitor.post(
        "/api/send", "text=hi", headers={"Content-Type": "application/x-www-form-urlencoded"}
    )
    assert status == 415
    assert len(visitor.messages) == count
    assert await web.db.fetchall("SELECT id FROM faq_queries") == []


async def test_oversized_requests_are_refused_with_a_clear_message(web):
    visitor = await web.visitor("fi")
    status, answer = await visitor.post("/api/send", {"text": "a" * 4097})
    assert status == 413 and "4096" in answer["message"] and "liian pitkä" in answer["message"]
    status, answer = await visitor.post("/api/send", b'{"text": "' + b"a" * 20_000 + b'"}')
    assert status == 413
    status, _ = await visitor.post("/api/send", b"[1, 2")
    assert status == 400


async def test_a_forged_button_is_refused_before_the_bot(web):
    visitor = await web.visitor("en")
    message = visitor.last_with_buttons()
    status, _ = await visitor.post("/api/press", {"message_id": message["id"], "data": "ol:x:1"})
    assert status == 400


async def test_rate_limits_per_visitor_and_per_address_say_so(settings):
    async with running_web(
        settings,
        visitor_limit=RateLimit(burst=3, per_minute=1),
        address_limit=RateLimit(burst=1000, per_minute=1),
    ) as web:
        visitor = await web.visitor("en")  # one request used
        await visitor.send("hello")
        await visitor.send("thanks")
        status, answer = await visitor.post("/api/send", {"text": "again"})
        assert status == 429 and "Wait a moment" in answer["message"]
        other = await web.visitor("en")  # another visitor is not held up
        assert "What would you like to do?" in other.last_text
    async with running_web(settings, address_limit=RateLimit(burst=4, per_minute=1)) as web:
        visitor = await web.visitor("en")  # two requests: the state and /start
        await visitor.send("hello")
        await visitor.send("thanks")
        status, answer = await visitor.post("/api/send", {"text": "again"})
        assert (status, answer["error"]) == (429, "too_many")


async def test_a_proxy_address_is_trusted_only_when_configured(settings):
    limits = {"address_limit": RateLimit(burst=3, per_minute=1)}
    trusting = replace_settings(settings, web_trusted_proxies=("127.0.0.1",))
    async with running_web(trusting, **limits) as web:
        for n in range(3):  # three people behind the proxy, one request each, and more
            visitor = WebVisitor(web.base)
            web.visitors.append(visitor)
            visitor.session.headers["X-Forwarded-For"] = f"198.51.100.{n}"
            await visitor.state()
            await visitor.send("/start", echo=False)
            await visitor.send("hello")


def test_html_tree_keeps_telegrams_tags_and_drops_everything_else():
    tree = html_tree(
        '<b>bold</b> <a href="https://x.fi/?a=1&amp;b=2">link</a> <a href="javascript:alert(1)">'
        "js</a> <script>alert(1)</script> <img src=x onerror=alert(1)> &lt;b&gt; "
        '<span class="tg-spoiler">s</span>'
    )
    assert tree[0] == {"t": "b", "c": ["bold"]}
    assert tree[2] == {"t": "a", "c": ["link"], "href": "https://x.fi/?a=1&b=2"}
    assert tree[4] == {"t": "span", "c": ["js"]}  # no href survives but http(s), mailto, tel
    assert "img" not in str(tree) and "onerror" not in str(tree)
    assert text_of(tree).endswith(" alert(1)  <b> s")  # text stays text
    assert tree[-1] == {"t": "spoiler", "c": ["s"]}
