"""Webhook mode: Telegram POSTs updates to us, over aiohttp instead of the library's tornado.

Ours because the library's server reads a request's whole body before it looks at the secret
header: anyone who can reach the port could make the bot hold 100 MB per request. Here a request
without the right secret is refused from its headers alone, a body is read only up to what an
update can be, and a body that is not an update gets a 400 and one short log line.
"""

from __future__ import annotations

import asyncio
import hmac
import json
import logging
import secrets
import signal
from typing import Any
from urllib.parse import urlparse

from aiohttp import web
from telegram import Update

from bot.config import Settings

log = logging.getLogger(__name__)

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
# Telegram's updates are a few kilobytes; a message with a long text and entities stays far below.
MAX_BODY_BYTES = 1024 * 1024
ALLOWED_UPDATES = [Update.MESSAGE, Update.CALLBACK_QUERY]


def new_secret() -> str:
    """A secret for setWebhook when the operator gave none: 43 characters of Telegram's
    allowed alphabet (A-Z, a-z, 0-9, _ and -)."""
    return secrets.token_urlsafe(32)


def webhook_app(application: Any, path: str, secret: str) -> web.Application:
    """The aiohttp application that takes Telegram's POSTs at `path` into `application`."""
    expected = secret.encode()

    async def receive(request: web.Request) -> web.Response:
        given = request.headers.get(SECRET_HEADER, "").encode()
        if not hmac.compare_digest(given, expected):
            return web.Response(status=403)  # the body is never read
        if request.content_length is not None and request.content_length > MAX_BODY_BYTES:
            return web.Response(status=413)
        try:
            body = await request.read()
        except web.HTTPRequestEntityTooLarge:  # no Content-Length, chunks beyond the limit
            return web.Response(status=413)
        try:
            update = Update.de_json(json.loads(body), application.bot)
        except (ValueError, TypeError, KeyError, AttributeError) as error:
            # One line, no traceback and no body: the body may be anything anyone sent.
            log.warning(
                "webhook: refused a body of %d bytes that is not an update (%s)",
                len(body),
                type(error).__name__,
            )
            return web.Response(status=400)
        await application.update_queue.put(update)
        return web.Response()

    app = web.Application(
        client_max_size=MAX_BODY_BYTES,
        # Without lingering the connection of a refused request is closed instead of read to
        # its end: a 95 MB body with a wrong secret costs us nothing but the headers.
        handler_args={"lingering_time": 0},
    )
    app.router.add_post("/" + path.lstrip("/"), receive)
    return app


async def serve(application: Any, settings: Settings) -> None:
    """Run the bot in webhook mode until SIGINT or SIGTERM, then shut down cleanly."""
    assert settings.webhook_url is not None
    secret = settings.webhook_secret or new_secret()
    if settings.webhook_secret is None:
        log.info("BOT_WEBHOOK_SECRET is not set: generated a secret and registering it")
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)

    runner = web.AppRunner(
        webhook_app(application, urlparse(settings.webhook_url).path or "/", secret),
        access_log=None,  # an access log line per update would carry no more than our own
    )
    await application.initialize()
    try:
        if application.post_init:
            await application.post_init(application)
        await runner.setup()
        site = web.TCPSite(runner, settings.webhook_listen, settings.webhook_port)
        await site.start()
        await application.start()
        await application.bot.set_webhook(
            settings.webhook_url, secret_token=secret, allowed_updates=ALLOWED_UPDATES
        )
        log.info("webhook: listening on %s:%d", settings.webhook_listen, settings.webhook_port)
        await stop.wait()
    finally:
        await runner.cleanup()
        if application.running:
            await application.stop()
            if application.post_stop:
                await application.post_stop(application)
        await application.shutdown()
        if application.post_shutdown:
            await application.post_shutdown(application)
