"""Splitting long HTML and checking what Telegram would accept."""

from __future__ import annotations

import random

from bot.rendering import check_html, escape, html_to_text, split_html, utf16_len


def test_short_text_is_one_message():
    assert split_html("<b>hi</b>") == ["<b>hi</b>"]


def test_long_text_splits_at_paragraphs_and_keeps_every_character():
    paragraphs = [f"<b>Kohta {n}</b>\n" + escape("<sana> & " * 60) for n in range(40)]
    text = "\n\n".join(paragraphs)
    parts = split_html(text)
    assert len(parts) > 1
    for part in parts:
        assert utf16_len(part) <= 4096
        assert check_html(part) == []
    assert "".join(html_to_text(p) for p in parts).replace("\n", "").replace(" ", "") == (
        html_to_text(text).replace("\n", "").replace(" ", "")
    )


def test_an_open_tag_is_closed_and_reopened_across_a_cut():
    text = "<i>" + "sana " * 2000 + "</i>"
    parts = split_html(text)
    assert len(parts) == 3
    assert all(p.startswith("<i>") and p.endswith("</i>") for p in parts)


def test_emoji_count_twice_and_entities_are_never_cut():
    rng = random.Random(7)
    pieces = ["😀", "&amp;", "ä", "x", " ", "\n", "&lt;"]
    text = "".join(rng.choice(pieces) for _ in range(12000))
    for part in split_html(text):
        assert utf16_len(part) <= 4096
        assert check_html(part) == []


def test_check_html_finds_what_telegram_refuses():
    assert check_html("a < b") != []
    assert check_html("fish & chips") != []
    assert check_html("<b>open") != []
    assert check_html("<div>x</div>") != []
    assert check_html("x" * 4097) != []
    assert check_html('<a href="https://x.fi">x</a> &amp; <i>y</i>') == []


def test_plain_text_view_for_the_console():
    assert (
        html_to_text('<b>Hi</b> &amp; <a href="https://e.fi">site</a>')
        == "Hi & site (https://e.fi)"
    )
