"""Property tests: arbitrary text into the FAQ, an outline step and the checklist.

Whatever arrives, every Bot API call the bot makes must be one Telegram accepts (the stand-in
records violations: length, HTML, callback data) and a stored answer must equal what the user
sent after the documented normalization (`bot.outline.clean_text`).
"""

from __future__ import annotations

import asyncio
import itertools

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from bot.config import Settings
from bot.content import load_valid
from bot.intent import Expect, in_step
from bot.outline import clean_text
from tests.conftest import Harness, assert_telegram_rules_kept

CONTENT = load_valid()
TITLE = Expect("text", CONTENT.outline[0].min_length)
HOSTILE = "<>&*_`[]()~|#\"'\\/\u202e\u200f\u200b\x00\x01\x1b\x7f😀🇫🇮 \n\täÅ;=+-@"
TEXTS = st.one_of(
    st.text(min_size=1, max_size=300),
    st.text(alphabet=HOSTILE, min_size=1, max_size=5000),
    st.sampled_from(
        [
            "<b>unclosed",
            "</i>",
            "&amp;&lt;&#x1F600;&",
            "*bold* _it_ `code` [link](http://x)",
            "\u202eevil rtl",
            "\x00" * 10,
            "😀" * 3000,
            "a" * 4096,
            "?" + "<script>" * 500,
        ]
    ),
)
SETTINGS = settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


class Session:
    """One Application for all examples of a test, on its own event loop."""

    def __init__(self, path) -> None:
        self.loop = asyncio.new_event_loop()
        self.harness = Harness(
            Settings(database=path, max_messages_per_second=0, flood_burst=100_000)
        )
        self.ids = itertools.count(50_000)
        self.run(self.harness.start())

    def run(self, coroutine):
        return self.loop.run_until_complete(coroutine)

    def new_user(self):
        return self.run(self.harness.user(user_id=next(self.ids), language_code="en"))

    def close(self) -> None:
        self.run(self.harness.stop())
        self.loop.close()


@pytest.fixture(scope="module")
def session(tmp_path_factory):
    session = Session(tmp_path_factory.mktemp("hostile") / "bot.sqlite3")
    yield session
    session.close()


def _no_violations(session: Session) -> None:
    assert_telegram_rules_kept(session.harness.telegram)


@given(text=TEXTS)
@SETTINGS
def test_any_question_gets_a_valid_reply(session, text):
    user = session.new_user()
    replies = session.run(user.send(text))
    assert replies, "every message gets an answer"
    _no_violations(session)


@given(text=TEXTS)
@example(text="\x1b?00")  # a question once its control character is gone
@SETTINGS
def test_any_text_at_an_outline_step_is_stored_as_sent_or_refused_cleanly(session, text):
    user = session.new_user()
    session.run(user.send("/outline"))
    replies = session.run(user.send(text))
    db = session.harness.db
    rows = session.run(
        db.fetchall(
            "SELECT a.value FROM draft_answers a JOIN drafts d ON d.id = a.draft_id "
            "WHERE d.user_id = ? AND a.section_id = 'title'",
            (user.user_id,),
        )
    )
    cleaned = clean_text(text)  # what the bot reads: control characters gone ("\x1b?00" is "?00")
    if cleaned.lstrip().startswith("?") and len(cleaned.strip()) > 1:
        assert rows == []  # a question, answered from the FAQ
    elif text.startswith("/"):
        assert rows == []  # a command (Telegram marks it so), not an answer
        assert "Step 1/" in replies[-1].text
    elif in_step(cleaned, TITLE, CONTENT, lambda _query: False).kind != "answer":
        assert rows == []  # small talk, or a question held until its button is pressed
        assert "Step 1/" in replies[-1].text
    elif 3 <= len(cleaned) <= 150:
        assert [r[0] for r in rows] == [cleaned]
    else:
        assert rows == []
        assert "Step 1/" in replies[-1].text  # asked again
    _no_violations(session)


@given(text=TEXTS)
@SETTINGS
def test_any_text_during_the_checklist_leaves_its_answers_alone(session, text):
    user = session.new_user()
    session.run(user.send("/checklist"))
    replies = session.run(user.send(text))
    assert "1/" in replies[-1].text  # the same question again
    rows = session.run(
        session.harness.db.fetchall(
            "SELECT a.answer FROM checklist_answers a JOIN checklist_runs r ON r.id = a.run_id "
            "WHERE r.user_id = ?",
            (user.user_id,),
        )
    )
    assert rows == []
    _no_violations(session)
