"""`AiohttpRequest` carries the Bot API calls: python-telegram-bot's documented extension point
for the network layer. Its CPU cost per call stays flat with the number of requests in flight,
where the default (httpx) grew with it; requests carry JSON, which the Bot API takes for everything
but uploads, rather than python-telegram-bot's form encoding. The measurements are in
docs/storage.md.
"""

from __future__ import annotations

import json
from typing import Any

import aiohttp
from telegram.error import NetworkError, TimedOut
from telegram.request import BaseRequest, RequestData

_JSON = {"Content-Type": "application/json"}


class AiohttpRequest(BaseRequest):
    """The Bot API over aiohttp, with python-telegram-bot's default timeouts.

    aiohttp has no write timeout of its own, so a whole request is bounded by the sum of the
    connect (pool wait included), write and read timeouts; reads are also bounded on their own.
    Errors never carry the URL, which holds the token.
    """

    def __init__(
        self,
        connection_pool_size: int = 256,
        read_timeout: float | None = 5.0,
        write_timeout: float | None = 5.0,
        connect_timeout: float | None = 5.0,
        pool_timeout: float | None = 1.0,
        media_write_timeout: float | None = 20.0,
    ) -> None:
        self._pool_size = connection_pool_size
        self._read_timeout = read_timeout
        self._write_timeout = write_timeout
        self._connect_timeout = connect_timeout
        self._pool_timeout = pool_timeout
        self._media_write_timeout = media_write_timeout
        self._session: aiohttp.ClientSession | None = None

    @property
    def read_timeout(self) -> float | None:
        return self._read_timeout

    async def initialize(self) -> None:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(limit=self._pool_size),
                headers={"User-Agent": self.USER_AGENT},
            )

    async def shutdown(self) -> None:
        if self._session is not None and not self._session.closed:
            await self._session.close()

    def _timeout(self, read: Any, write: Any, connect: Any, pool: Any, media: bool) -> Any:
        default = BaseRequest.DEFAULT_NONE
        read = self._read_timeout if read is default else read
        if write is default:
            write = self._media_write_timeout if media else self._write_timeout
        connect = self._connect_timeout if connect is default else connect
        pool = self._pool_timeout if pool is default else pool
        parts = (read, write, connect, pool)
        total = None if None in parts else sum(parts)
        waiting = None if connect is None or pool is None else connect + pool
        return aiohttp.ClientTimeout(total=total, connect=waiting, sock_read=read)

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
        if self._session is None or self._session.closed:
            raise RuntimeError("AiohttpRequest is not initialized")
        uploads = request_data is not None and request_data.contains_files
        body: Any = None
        headers: dict[str, str] | None = None
        if request_data is not None and uploads:
            form = aiohttp.FormData()
            for name, value in request_data.json_parameters.items():
                form.add_field(name, value)
            for name, (filename, content, mimetype) in request_data.multipart_data.items():
                form.add_field(name, content, filename=filename, content_type=mimetype)
            body = form
        elif request_data is not None:
            # JSON rather than a form: see the module docstring.
            params = request_data.parameters
            body = json.dumps(params, ensure_ascii=False, separators=(",", ":")).encode()
            headers = _JSON
        timeout = self._timeout(
            read_timeout, write_timeout, connect_timeout, pool_timeout, media=uploads
        )
        try:
            async with self._session.request(
                method, url, data=body, headers=headers, timeout=timeout
            ) as response:
                return response.status, await response.read()
        except TimeoutError as error:
            raise TimedOut(f"aiohttp: {error.__class__.__name__}") from None
        except aiohttp.ClientError as error:
            # Only the class name: aiohttp's messages may hold the URL, and the URL the token.
            raise NetworkError(f"aiohttp: {error.__class__.__name__}") from None
