"""Telegram HTML: Jinja2 rendering, escaping, splitting at 4,096, checking, and plain-text view.

Everything the bot sends goes out as parse_mode=HTML. Strings from catalogs and content are
trusted markup; anything a user typed passes through `escape` (or Jinja2's autoescape) first.
"""

from __future__ import annotations

import html
import re
from functools import cache

import jinja2
from markupsafe import Markup

MESSAGE_LIMIT = 4096
CAPTION_LIMIT = 1024
CALLBACK_DATA_LIMIT = 64
DOCUMENT_LIMIT = 50 * 1000 * 1000  # bytes of a file a bot sends (sendDocument)

# Tags the Bot API accepts in parse_mode=HTML.
ALLOWED_TAGS = frozenset(
    {
        "b", "strong", "i", "em", "u", "ins", "s", "strike", "del", "span", "tg-spoiler",
        "a", "code", "pre", "blockquote", "tg-emoji",
    }
)  # fmt: skip
_TOKEN = re.compile(r"<(/?)([a-zA-Z][a-zA-Z0-9-]*)((?:\s[^<>]*)?)>|[^<]+|<")
_ENTITY = re.compile(r"&(?:[a-zA-Z]+|#\d+|#x[0-9a-fA-F]+);")


def escape(text: str) -> str:
    """Escape user text for Telegram HTML (only <, > and & matter; quotes are harmless)."""
    return html.escape(text, quote=False)


def utf16_len(text: str) -> int:
    """Telegram measures lengths in UTF-16 code units: an emoji outside the BMP counts twice."""
    return len(text.encode("utf-16-le")) // 2


def _finalize(value: object) -> object:
    # Telegram needs only <, > and & escaped; escaping quotes as markupsafe does would put
    # "&#39;" into every apostrophe and count against the length limit for nothing.
    if isinstance(value, Markup) or value is None:
        return value
    return Markup(escape(str(value)))


@cache
def _environment() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.PackageLoader("content", "templates"),
        autoescape=True,
        finalize=_finalize,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=False,
    )


def render(template: str, **values: object) -> str:
    """Render a template from content/templates with autoescaping (Telegram HTML output)."""
    return _environment().get_template(template).render(**values).strip()


def _tokens(text: str) -> list[tuple[str, str, str]]:
    """(kind, raw, tag name): kind is "open", "close" or "text"."""
    out = []
    for match in _TOKEN.finditer(text):
        raw = match.group(0)
        if match.group(2) is not None:
            out.append(("close" if match.group(1) else "open", raw, match.group(2).lower()))
        else:
            out.append(("text", raw, ""))
    return out


def check_html(text: str, limit: int = MESSAGE_LIMIT) -> list[str]:
    """Problems Telegram would reject this text for; an empty list means it is acceptable."""
    problems = []
    stack: list[str] = []
    visible = []
    for kind, raw, name in _tokens(text):
        if kind == "text":
            if raw == "<" or ">" in raw:
                problems.append(f"unescaped angle bracket near {raw[:20]!r}")
            for amp in re.finditer("&", raw):
                if not _ENTITY.match(raw, amp.start()):
                    problems.append(f"unescaped & near {raw[amp.start() : amp.start() + 12]!r}")
            visible.append(html.unescape(raw))
        elif name not in ALLOWED_TAGS:
            problems.append(f"unsupported tag <{name}>")
        elif kind == "open":
            stack.append(name)
        elif not stack or stack[-1] != name:
            problems.append(f"mismatched closing tag </{name}>")
        else:
            stack.pop()
    if stack:
        problems.append(f"unclosed tags {stack}")
    shown = "".join(visible)
    if not shown.strip():
        problems.append("message text is empty")
    if utf16_len(shown) > limit:
        problems.append(f"text is {utf16_len(shown)} characters, over the limit of {limit}")
    return problems


def _fitting_prefix(text: str, units: int) -> int:
    """Longest prefix of `text` within `units` UTF-16 units that does not cut an entity."""
    if units <= 0:
        return 0
    total = 0
    end = 0
    for index, char in enumerate(text):
        total += 2 if ord(char) > 0xFFFF else 1
        if total > units:
            break
        end = index + 1
    amp = text.rfind("&", 0, end)
    if amp != -1 and text.find(";", amp, end) == -1:
        end = amp
    return end


def _break_point(text: str, end: int) -> int:
    """Where to cut text[:end]: a paragraph break, else a line break, else a space."""
    for separator, at_least in (("\n\n", 0.5), ("\n", 0.5), (" ", 0.3), ("\n", 0.0), (" ", 0.0)):
        index = text.rfind(separator, 0, end)
        if index > 0 and index >= end * at_least:
            return index
    return 0


def split_html(text: str, limit: int = MESSAGE_LIMIT) -> list[str]:
    """Split Telegram HTML into messages of at most `limit` UTF-16 units each (markup included).

    Cuts prefer paragraph, then line, then word boundaries, never fall inside a tag or an entity,
    and tags open at a cut are closed before it and reopened after it.
    """
    text = text.strip()
    if utf16_len(text) <= limit:
        return [text]
    chunks: list[str] = []
    stack: list[tuple[str, str]] = []  # (name, opening tag as written)
    current = ""

    def closing() -> str:
        return "".join(f"</{name}>" for name, _ in reversed(stack))

    def opening() -> str:
        return "".join(raw for _, raw in stack)

    def flush() -> None:
        nonlocal current
        body = current + closing()
        if body.strip() and body != opening() + closing():
            chunks.append(body.strip())
        current = opening()

    for kind, raw, name in _tokens(text):
        if kind == "open":
            if utf16_len(current + raw + closing()) + len(name) + 3 > limit:
                flush()
            current += raw
            stack.append((name, raw))
        elif kind == "close":
            current += raw
            if stack and stack[-1][0] == name:
                stack.pop()
        else:
            rest = raw
            while rest:
                room = limit - utf16_len(current) - utf16_len(closing())
                if utf16_len(rest) <= room:
                    current += rest
                    break
                end = _fitting_prefix(rest, room)
                cut = _break_point(rest, end)
                if cut == 0:
                    if current != opening():
                        flush()  # try again with a whole message of room
                        continue
                    cut = end or 1
                current += rest[:cut]
                rest = rest[cut:].lstrip("\n ")
                flush()
    flush()
    return chunks


_BLOCK_BREAKS = re.compile(r"<(?:br\s*/?|/?blockquote|/?pre)>", re.IGNORECASE)
_LINK = re.compile(r'<a\s+href="([^"]*)"\s*>(.*?)</a>', re.IGNORECASE | re.DOTALL)
_ANY_TAG = re.compile(r"<[^<>]+>")


def html_to_text(text: str) -> str:
    """A plain, readable rendering of Telegram HTML for the terminal."""

    def link(match: re.Match[str]) -> str:
        url, label = html.unescape(match.group(1)), match.group(2)
        return label if html.unescape(_ANY_TAG.sub("", label)) == url else f"{label} ({url})"

    text = _LINK.sub(link, text)
    text = _BLOCK_BREAKS.sub("\n", text)
    return html.unescape(_ANY_TAG.sub("", text))
