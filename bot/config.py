"""Settings from environment variables.

Every problem is reported as one line that names the variable; the token's value is never part of
an error message, a repr or a log line.
"""

from __future__ import annotations

import ipaddress
import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

LANGUAGES: tuple[str, ...] = ("fi", "sv", "en")
DEFAULT_API_BASE_URL = "https://api.telegram.org/bot"
DEFAULT_DATABASE = "./data/bot.sqlite3"

# BotFather tokens look like "123456789:AA...": digits, a colon, 30+ URL-safe characters.
_TOKEN_RE = re.compile(r"^\d{3,}:[A-Za-z0-9_-]{30,}$")
# Telegram's rule for the webhook secret_token.
_SECRET_RE = re.compile(r"^[A-Za-z0-9_-]{1,256}$")
_LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")


class ConfigError(Exception):
    """A configuration problem, described in one line that names the variable."""


@dataclass(frozen=True)
class Settings:
    token: str | None = field(default=None, repr=False)
    api_base_url: str = DEFAULT_API_BASE_URL
    database: Path = Path(DEFAULT_DATABASE)
    coordinator_ids: frozenset[int] = frozenset()
    default_language: str = "fi"
    log_level: str = "INFO"
    webhook_url: str | None = None
    # Loopback: the TLS proxy in front usually runs on the same host (containers set 0.0.0.0).
    webhook_listen: str = "127.0.0.1"
    webhook_port: int = 8443
    webhook_secret: str | None = field(default=None, repr=False)
    content_dir: Path | None = None
    controller_name: str = ""
    controller_contact: str = ""
    keep_submitted: bool = False
    retention_days: int | None = None
    reminder_days: int = 14  # 0: no reminders
    max_messages_per_second: int = 30
    db_synchronous: str = "full"
    poll_interval_ms: int = 1
    flood_burst: int = 30
    flood_rate: float = 1.0
    console_downloads: Path = Path("./downloads")
    broadcast_share: int = 50  # percent of max_messages_per_second an announcement may use
    deadline_reminder_days: tuple[int, ...] = (14, 3)
    # The web chat (bot/channels/web.py): served beside Telegram when web_port is set.
    web_port: int | None = None
    web_host: str = "127.0.0.1"
    web_origin: str = ""  # the public origin, e.g. https://chat.example.fi (behind a proxy)
    web_embed_origins: tuple[str, ...] = ()  # host sites allowed to show the widget
    web_trusted_proxies: tuple[str, ...] = ()  # whose X-Forwarded-For names the visitor

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None, *, need_token: bool) -> Settings:
        env = os.environ if env is None else env

        def get(name: str) -> str | None:
            value = env.get(name, "").strip()
            return value or None

        token = get("TELEGRAM_BOT_TOKEN")
        if need_token and token is None:
            raise ConfigError(
                "TELEGRAM_BOT_TOKEN is not set: create a bot with @BotFather and export its token "
                "(or run `python -m bot console` to try the bot offline)"
            )
        if token is not None and not _TOKEN_RE.match(token):
            raise ConfigError(
                "TELEGRAM_BOT_TOKEN is malformed: expected digits, a colon and the secret part "
                "exactly as @BotFather gives it"
            )

        api_base_url = get("TELEGRAM_API_BASE_URL") or DEFAULT_API_BASE_URL
        parsed = urlparse(api_base_url)
        if parsed.scheme not in ("http", "https") or not parsed.netloc:
            raise ConfigError(
                "TELEGRAM_API_BASE_URL must be an http(s) URL such as http://127.0.0.1:8081/bot"
            )

        coordinator_ids: set[int] = set()
        for part in (get("COORDINATOR_IDS") or "").split(","):
            part = part.strip()
            if not part:
                continue
            if not re.fullmatch(r"-?\d{1,20}", part):
                raise ConfigError(
                    "COORDINATOR_IDS must be comma-separated numeric Telegram user ids, "
                    f"got a non-numeric item ({len(part)} characters)"
                )
            if int(part) >= 2**53:  # storage.web_visitors: web chat visitors are never coordinators
                raise ConfigError(
                    "COORDINATOR_IDS holds an id of a web chat visitor (2**53 or more)"
                )
            coordinator_ids.add(int(part))

        default_language = (get("BOT_DEFAULT_LANGUAGE") or "fi").lower()
        if default_language not in LANGUAGES:
            raise ConfigError(
                f"BOT_DEFAULT_LANGUAGE must be one of {', '.join(LANGUAGES)}, "
                f"got {default_language[:10]!r}"
            )

        log_level = (get("LOG_LEVEL") or "INFO").upper()
        if log_level not in _LOG_LEVELS:
            raise ConfigError(f"LOG_LEVEL must be one of {', '.join(_LOG_LEVELS)}")

        webhook_url = get("BOT_WEBHOOK_URL")
        if webhook_url is not None:
            parsed = urlparse(webhook_url)
            if parsed.scheme != "https" or not parsed.netloc:
                raise ConfigError("BOT_WEBHOOK_URL must be an https:// URL reachable by Telegram")
        port_text = get("BOT_WEBHOOK_PORT") or "8443"
        if not port_text.isdigit() or not 0 < int(port_text) < 65536:
            raise ConfigError("BOT_WEBHOOK_PORT must be a port number between 1 and 65535")
        webhook_secret = get("BOT_WEBHOOK_SECRET")
        if webhook_secret is not None and not _SECRET_RE.match(webhook_secret):
            raise ConfigError(
                "BOT_WEBHOOK_SECRET may contain only A-Z, a-z, 0-9, _ and - (1-256 characters)"
            )

        keep_text = (get("BOT_KEEP_SUBMITTED") or "false").lower()
        if keep_text not in ("true", "false", "1", "0", "yes", "no"):
            raise ConfigError("BOT_KEEP_SUBMITTED must be true or false")
        retention_text = get("BOT_RETENTION_DAYS")
        if retention_text is not None and not (
            retention_text.isdigit() and 1 <= int(retention_text) <= 36500
        ):
            raise ConfigError("BOT_RETENTION_DAYS must be a whole number of days (1-36500)")

        reminder_text = get("BOT_REMINDER_DAYS") or "14"
        if not reminder_text.isdigit() or int(reminder_text) > 365:
            raise ConfigError("BOT_REMINDER_DAYS must be a whole number of days 0-365 (0: off)")

        rate_text = get("BOT_MAX_MESSAGES_PER_SECOND") or "30"
        if not rate_text.isdigit() or int(rate_text) > 1000:
            raise ConfigError("BOT_MAX_MESSAGES_PER_SECOND must be a whole number 0-1000")

        poll_text = get("BOT_POLL_INTERVAL_MS") or "1"
        if not poll_text.isdigit() or int(poll_text) > 10_000:
            raise ConfigError("BOT_POLL_INTERVAL_MS must be a whole number of milliseconds 0-10000")

        burst_text = get("BOT_FLOOD_BURST") or "30"
        if not burst_text.isdigit() or not 1 <= int(burst_text) <= 10_000:
            raise ConfigError("BOT_FLOOD_BURST must be a whole number 1-10000")
        rate_per_minute = get("BOT_FLOOD_PER_MINUTE") or "60"
        if not rate_per_minute.isdigit() or not 1 <= int(rate_per_minute) <= 100_000:
            raise ConfigError("BOT_FLOOD_PER_MINUTE must be a whole number 1-100000")

        synchronous = (get("BOT_DB_SYNCHRONOUS") or "full").lower()
        if synchronous not in ("full", "normal"):
            raise ConfigError("BOT_DB_SYNCHRONOUS must be full or normal")

        share_text = get("BOT_BROADCAST_SHARE") or "50"
        if not share_text.isdigit() or not 1 <= int(share_text) <= 100:
            raise ConfigError("BOT_BROADCAST_SHARE must be a whole percentage 1-100")
        deadline_text = get("BOT_DEADLINE_REMINDER_DAYS")
        reminder_parts = (deadline_text or "14,3").replace(" ", "").split(",")
        if deadline_text in ("0", "off"):
            reminder_parts = []
        if not all(p.isdigit() and 1 <= int(p) <= 365 for p in reminder_parts):
            raise ConfigError(
                "BOT_DEADLINE_REMINDER_DAYS must be days before a call closes, comma-separated "
                "(e.g. 14,3), or off"
            )
        web = _web_settings(get)

        return cls(
            token=token,
            api_base_url=api_base_url,
            database=Path(get("BOT_DATABASE") or DEFAULT_DATABASE),
            coordinator_ids=frozenset(coordinator_ids),
            default_language=default_language,
            log_level=log_level,
            webhook_url=webhook_url,
            webhook_listen=get("BOT_WEBHOOK_LISTEN") or "127.0.0.1",
            webhook_port=int(port_text),
            webhook_secret=webhook_secret,
            content_dir=Path(content_dir) if (content_dir := get("BOT_CONTENT_DIR")) else None,
            controller_name=get("BOT_CONTROLLER_NAME") or "",
            controller_contact=get("BOT_CONTROLLER_CONTACT") or "",
            keep_submitted=keep_text in ("true", "1", "yes"),
            retention_days=int(retention_text) if retention_text else None,
            reminder_days=int(reminder_text),
            max_messages_per_second=int(rate_text),
            db_synchronous=synchronous,
            poll_interval_ms=int(poll_text),
            flood_burst=int(burst_text),
            flood_rate=int(rate_per_minute) / 60,
            console_downloads=Path(get("BOT_CONSOLE_DOWNLOADS") or "./downloads"),
            broadcast_share=int(share_text),
            deadline_reminder_days=tuple(sorted({int(p) for p in reminder_parts}, reverse=True)),
            **web,
        )


def _web_settings(get: Callable[[str], str | None]) -> dict[str, Any]:
    """BOT_WEB_*: the web chat's port, address, public origin, embedding sites and proxies."""
    port_text = get("BOT_WEB_PORT")
    if port_text is not None and not (port_text.isdigit() and 0 < int(port_text) < 65536):
        raise ConfigError("BOT_WEB_PORT must be a port number between 1 and 65535")
    origin = (get("BOT_WEB_ORIGIN") or "").rstrip("/")
    embed = tuple(o.rstrip("/") for o in (get("BOT_WEB_EMBED_ORIGINS") or "").split())
    for value in (origin, *embed) if origin else embed:
        parsed = urlparse(value)
        if parsed.scheme not in ("http", "https") or not parsed.netloc or parsed.path:
            raise ConfigError(
                "BOT_WEB_ORIGIN and BOT_WEB_EMBED_ORIGINS take origins such as "
                f"https://www.example.fi (scheme and host, no path), got {value[:60]!r}"
            )
    proxies = tuple((get("BOT_WEB_TRUSTED_PROXIES") or "").replace(",", " ").split())
    for proxy in proxies:
        try:
            ipaddress.ip_address(proxy)
        except ValueError as error:
            raise ConfigError(
                f"BOT_WEB_TRUSTED_PROXIES takes IP addresses, got {proxy[:40]!r}"
            ) from error
    return {
        "web_port": int(port_text) if port_text else None,
        "web_host": get("BOT_WEB_HOST") or "127.0.0.1",
        "web_origin": origin,
        "web_embed_origins": embed,
        "web_trusted_proxies": proxies,
    }
