"""The web chat in a real browser: headless Chromium driven by Selenium, against
`python -m bot web` running as its own process, checked with axe-core for accessibility.

Skipped with the reason when Chromium, its driver or axe-core is missing; `.ci/run` installs
them (docs/web.md). One browser serves the whole module; each test begins as a new visitor.
"""

from __future__ import annotations

import contextlib
import http.server
import os
import re
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
AXE = Path(os.environ.get("AXE_CORE_JS", ROOT / ".cache" / "axe-core" / "axe.min.js"))
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
DRIVER = shutil.which("chromedriver")

try:
    from selenium import webdriver
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys
    from selenium.webdriver.support.ui import WebDriverWait
except ImportError:  # the test extra is not installed
    webdriver = None  # type: ignore[assignment]

pytestmark = [
    pytest.mark.skipif(webdriver is None, reason="selenium is not installed (pip install .[test])"),
    pytest.mark.skipif(
        CHROMIUM is None or DRIVER is None,
        reason="chromium and chromium-driver are not installed (apt-get install chromium "
        "chromium-driver; .ci/run does it where apt-get works)",
    ),
    pytest.mark.skipif(
        not AXE.is_file(), reason=f"axe-core is missing at {AXE} (.ci/run fetches it with npm)"
    ),
]

WAIT = 20  # seconds: an upper bound for a slow machine, not a measurement


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path, int]]:
    """`python -m bot web` on a free port; its address, database file and the host page's port."""
    folder = tmp_path_factory.mktemp("web")
    host_port = _serve_host_page(folder)
    env = {
        **os.environ,
        "BOT_DATABASE": str(folder / "bot.sqlite3"),
        "BOT_WEB_EMBED_ORIGINS": f"http://127.0.0.1:{host_port}",
    }
    env.pop("TELEGRAM_BOT_TOKEN", None)
    process = subprocess.Popen(
        [sys.executable, "-m", "bot", "web", "--port", "0"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    assert process.stdout is not None
    line = process.stdout.readline()
    match = re.search(r"http://127\.0\.0\.1:\d+", line)
    assert match, line
    # Keep reading what it logs, or a full pipe would stop it.
    threading.Thread(target=lambda: [None for _ in process.stdout], daemon=True).start()
    try:
        yield match.group(0), folder / "bot.sqlite3", host_port
    finally:
        process.terminate()
        process.wait(10)


def _serve_host_page(folder: Path) -> int:
    """A host site of another origin, to embed the widget from."""
    site = folder / "site"
    site.mkdir()
    handler = lambda *a, **k: http.server.SimpleHTTPRequestHandler(*a, directory=site, **k)  # noqa: E731
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    httpd.RequestHandlerClass.log_message = lambda *a: None  # type: ignore[method-assign]
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    return httpd.server_address[1]


@pytest.fixture(scope="module")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[webdriver.Chrome]:
    downloads = tmp_path_factory.mktemp("downloads")
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in (
        "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
        "--disable-background-networking", "--disable-component-update", "--disable-sync",
        "--no-first-run", "--window-size=1024,900",
        f"--user-data-dir={tempfile.mkdtemp(prefix='chromium-')}",
    ):  # fmt: skip
        options.add_argument(flag)
    options.add_experimental_option(
        "prefs",
        {"download.default_directory": str(downloads), "download.prompt_for_download": False},
    )
    driver = webdriver.Chrome(options=options, service=webdriver.ChromeService(DRIVER))
    driver.downloads = downloads  # type: ignore[attr-defined]
    try:
        yield driver
    finally:
        driver.quit()


def _new_visitor(browser, url: str) -> None:
    browser.get(url + "/static/chat.css")  # on the origin, so that its cookies can go
    browser.delete_all_cookies()
    browser.get(url + "/?lang=en")
    _wait_text(browser, "What would you like to do?")


def _messages(browser) -> list[str]:
    return [el.text for el in browser.find_elements(By.CSS_SELECTOR, "#log .msg.bot")]


def _wait_text(browser, text: str, count: int = 1) -> None:
    WebDriverWait(browser, WAIT).until(
        lambda b: sum(text in m for m in _messages(b)) >= count,
        message=f"no message with {text!r}",
    )


def _type(browser, text: str) -> None:
    box = browser.find_element(By.ID, "text")
    box.send_keys(text)
    box.send_keys(Keys.ENTER)


def _focused_press(browser, label: str) -> None:
    """Press a button with the keyboard: Shift+Tab back to it from the text box (the newest
    message is the one just before it), then Enter."""
    for _ in range(60):
        active = browser.switch_to.active_element
        if active.tag_name == "button" and active.text.strip() == label:
            active.send_keys(Keys.ENTER)
            return
        active.send_keys(Keys.SHIFT, Keys.TAB)
    raise AssertionError(f"no button {label!r} reachable with Tab")


def _click(browser, text: str) -> None:
    """Click the newest button in the chat whose label holds `text`, once there is one."""
    WebDriverWait(browser, WAIT).until(
        lambda b: b.execute_script(
            "const all = [...document.querySelectorAll('#log .buttons button')].reverse();"
            "const b = all.find((x) => x.textContent.includes(arguments[0]));"
            "if (b) b.click(); return Boolean(b);",
            text,
        ),
        message=f"no button with {text!r}",
    )


def _axe_problems(browser) -> list[str]:
    browser.execute_script(AXE.read_text(encoding="utf-8"))
    result = browser.execute_async_script(
        "const done = arguments[arguments.length - 1];"
        "axe.run(document, {runOnly: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', "
        "'best-practice']}).then(done, (e) => done({error: String(e)}));"
    )
    assert "error" not in result, result
    return [
        f"{v['id']} ({v['impact']}): {v['help']} at {[n['target'] for n in v['nodes']]}"
        for v in result["violations"]
        if v["impact"] in ("serious", "critical")
    ]


def _rows(database: Path, sql: str, params: tuple = ()) -> list[tuple]:
    with contextlib.closing(sqlite3.connect(f"file:{database}?mode=ro", uri=True)) as conn:
        return conn.execute(sql, params).fetchall()


def test_greets_answers_a_typed_question_and_passes_axe(browser, server):
    url, _db, _port = server
    _new_visitor(browser, url)
    assert browser.find_element(By.TAG_NAME, "html").get_attribute("lang") == "en"
    assert browser.find_element(By.ID, "log").get_attribute("role") == "log"
    assert _axe_problems(browser) == []
    _type(browser, "who can apply?")
    WebDriverWait(browser, WAIT).until(lambda b: len(_messages(b)) >= 2)
    assert "apply" in _messages(browser)[-1].lower()
    assert browser.switch_to.active_element.get_attribute("id") == "text"  # ready for more
    # The page follows the language chosen in the chat.
    _type(browser, "/language sv")
    WebDriverWait(browser, WAIT).until(
        lambda b: b.find_element(By.TAG_NAME, "html").get_attribute("lang") == "sv"
    )
    assert browser.find_element(By.ID, "send").text == "Skicka"
    assert _axe_problems(browser) == []


def test_checklist_with_buttons_from_the_keyboard(browser, server):
    url, database, _port = server
    _new_visitor(browser, url)
    _type(browser, "/checklist")
    _wait_text(browser, "1/14")
    # Focus went to the question's first button: Enter answers it.
    _focused_press(browser, "Yes")
    _wait_text(browser, "2/14")
    assert _rows(database, "SELECT answer FROM checklist_answers") == [("yes",)]
    assert _axe_problems(browser) == []


def test_outline_saved_reload_continues_and_docx_downloads(browser, server):
    url, database, _port = server
    _new_visitor(browser, url)
    _type(browser, "/outline")
    _wait_text(browser, "1/19")
    _type(browser, "Join In – hobbies for every child")
    _wait_text(browser, "2/19")
    assert ("Join In – hobbies for every child",) in _rows(
        database, "SELECT value FROM draft_answers WHERE section_id = 'title'"
    )
    browser.refresh()
    _wait_text(browser, "2/19")  # the history is there, and so is the step
    _type(browser, "Helsingin kaupunki")
    _wait_text(browser, "3/19")
    assert ("Helsingin kaupunki",) in _rows(
        database, "SELECT value FROM draft_answers WHERE section_id = 'organisation'"
    )
    _focused_press(browser, "💾 Save and exit")
    _type(browser, "/mydrafts")
    _wait_text(browser, "Join In", 2)
    _click(browser, "Join In")  # the draft's button in the list
    _click(browser, "Download (DOCX)")
    link = WebDriverWait(browser, WAIT).until(lambda b: b.find_element(By.CSS_SELECTOR, "a.file"))
    name = link.get_attribute("download")
    assert name.endswith(".docx")
    link.click()
    target = browser.downloads / name
    WebDriverWait(browser, WAIT).until(lambda b: target.is_file() and target.stat().st_size > 0)
    assert target.read_bytes()[:2] == b"PK"  # a DOCX is a zip
    assert _axe_problems(browser) == []


def test_deletedata_removes_the_visitors_data(browser, server):
    url, database, _port = server
    _new_visitor(browser, url)
    _type(browser, "/outline")
    _wait_text(browser, "1/19")
    _type(browser, "A draft to delete")
    _wait_text(browser, "2/19")
    [(user_id,)] = _rows(
        database,
        "SELECT user_id FROM drafts d JOIN draft_answers a ON a.draft_id = d.id "
        "WHERE a.value = 'A draft to delete'",
    )
    _type(browser, "/deletedata")
    _wait_text(browser, "cannot be undone")
    _focused_press(browser, "🗑 Yes, delete my data")
    WebDriverWait(browser, WAIT).until(
        lambda b: not _rows(database, "SELECT 1 FROM users WHERE id = ?", (user_id,))
    )
    assert _rows(database, "SELECT 1 FROM drafts WHERE user_id = ?", (user_id,)) == []
    assert _rows(database, "SELECT 1 FROM web_visitors WHERE id = ?", (user_id - 2**53,)) == []


def test_narrow_screen_and_the_widget_on_a_host_page(browser, server):
    url, _db, host_port = server
    _new_visitor(browser, url)
    try:
        # 360 CSS pixels: a phone, or a 720-pixel window at 200 % zoom. Nothing scrolls sideways.
        browser.set_window_size(360, 800)
        width = browser.execute_script("return document.documentElement.scrollWidth")
        inner = browser.execute_script("return document.documentElement.clientWidth")
        assert width <= inner
        assert browser.find_element(By.ID, "send").is_displayed()
        assert _axe_problems(browser) == []
    finally:
        browser.set_window_size(1024, 900)
    # A host site embeds the chat with one line.
    host = f"http://127.0.0.1:{host_port}"
    page = (
        "<!doctype html><html lang='fi'><head><title>Host</title></head><body><main>"
        f"<h1>Host</h1><script src='{url}/widget.js' data-lang='fi' defer></script>"
        "</main></body></html>"
    )
    root = Path(server[1]).parent / "site"
    (root / "index.html").write_text(page, encoding="utf-8")
    browser.get(host + "/")
    browser.delete_all_cookies()  # a new visitor, who meets the chat on the host site
    browser.refresh()
    launcher = WebDriverWait(browser, WAIT).until(
        lambda b: b.find_element(By.XPATH, "//button[contains(., 'ET 4.1.7')]")
    )
    assert launcher.get_attribute("aria-expanded") == "false"
    launcher.send_keys(Keys.ENTER)
    frame = WebDriverWait(browser, WAIT).until(lambda b: b.find_element(By.TAG_NAME, "iframe"))
    assert launcher.get_attribute("aria-expanded") == "true"
    browser.switch_to.frame(frame)
    try:
        _wait_text(browser, "Mitä haluat tehdä?")
        assert browser.find_element(By.TAG_NAME, "html").get_attribute("lang") == "fi"
    finally:
        browser.switch_to.default_content()
