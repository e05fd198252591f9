"""The layout the README promises: the domain in `bot/` and `storage/` knows nothing about Telegram.

Only `bot/channels/` (how the bot talks to Telegram), `handlers/` (Telegram updates to domain calls)
and the wiring (`bot/app.py`, `bot/cli.py`, `bot/__main__.py`) may import python-telegram-bot. A
domain module that needs Telegram belongs in one of those, or takes what it needs as arguments.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
WIRING = {"bot/app.py", "bot/cli.py", "bot/__main__.py"}
# What the domain must not import: Telegram itself, and our modules that speak it.
FORBIDDEN = ("telegram", "bot.channels", "bot.app", "bot.cli", "handlers")


def domain_modules() -> list[Path]:
    files = (
        sorted((ROOT / "bot").glob("*.py"))
        + sorted((ROOT / "bot" / "faq").glob("*.py"))
        + sorted((ROOT / "storage").glob("*.py"))
    )
    return [path for path in files if path.relative_to(ROOT).as_posix() not in WIRING]


def imported_names(source: str) -> set[str]:
    """Every module the source imports, at the top or inside a function (the lazy imports count)."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module is not None:
            names.add(node.module)
            # `from bot import channels` names the package in the alias, not in the module.
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
    return names


def forbidden(name: str) -> bool:
    return any(name == prefix or name.startswith(prefix + ".") for prefix in FORBIDDEN)


def test_the_domain_modules_are_the_ones_the_readme_names() -> None:
    """Guards the test below against passing over an empty or misplaced list."""
    names = {path.relative_to(ROOT).as_posix() for path in domain_modules()}
    for expected in ("bot/faq/matcher.py", "bot/content.py", "bot/outline.py", "storage/db.py"):
        assert expected in names
    assert not names & WIRING
    assert not any(name.startswith("bot/channels/") for name in names)


@pytest.mark.parametrize(
    "path", domain_modules(), ids=lambda path: path.relative_to(ROOT).as_posix()
)
def test_a_domain_module_imports_nothing_from_telegram(path: Path) -> None:
    names = imported_names(path.read_text(encoding="utf-8"))
    assert sorted(name for name in names if forbidden(name)) == []


def test_the_check_sees_telegram_imports_wherever_they_are() -> None:
    """A lazy import inside a function, and a package named in `from x import y`, are found."""
    source = "import json\n\ndef send():\n    from bot import channels\n    import telegram.ext\n"
    assert sorted(filter(forbidden, imported_names(source))) == ["bot.channels", "telegram.ext"]
    assert not forbidden("telegraph") and not forbidden("bot.channelsx")


def test_every_package_is_installed_by_pip():
    """`pip install .` installs only the packages pyproject.toml names: a new subpackage left out
    works from the source tree and fails once installed (the CI smoke test found bot.faq)."""
    import tomllib

    named = set(
        tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"]
    )
    found = {
        init.parent.relative_to(ROOT).as_posix().replace("/", ".")
        for top in ("bot", "handlers", "storage", "content", "locales")
        for init in (ROOT / top).rglob("__init__.py")
    }
    assert found <= named, sorted(found - named)
