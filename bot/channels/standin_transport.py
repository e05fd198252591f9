"""How a bot reaches the Bot API stand-in: in process, or over real HTTP on 127.0.0.1.

`InProcessRequest` is a python-telegram-bot `BaseRequest` that calls `FakeTelegram` directly (the
console, the tests); `serve_http` serves it at http://127.0.0.1:<port>/bot<token>/<method> for a
bot started with `TELEGRAM_API_BASE_URL`, which long-polls getUpdates as it would Telegram.
"""

from __future__ import annotations

import asyncio
import json
import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs

from telegram.request import BaseRequest, RequestData

from bot.channels.telegram_standin import ApiError, FakeTelegram

# Parameters that travel JSON-encoded in form posts (python-telegram-bot's json_parameters).
_JSON_FIELDS = frozenset(
    {
        "reply_markup", "commands", "scope", "allowed_updates", "link_preview_options",
        "reply_parameters", "entities", "caption_entities",
    }
)  # fmt: skip


class InProcessRequest(BaseRequest):
    """python-telegram-bot's network layer, replaced by a direct call into FakeTelegram."""

    def __init__(self, telegram: FakeTelegram) -> None:
        self.telegram = telegram

    @property
    def read_timeout(self) -> float | None:
        return None

    async def initialize(self) -> None:
        return None

    async def shutdown(self) -> None:
        return None

    async def do_request(
        self,
        url: str,
        method: str,
        request_data: RequestData | None = None,
        read_timeout: Any = None,
        write_timeout: Any = None,
        connect_timeout: Any = None,
        pool_timeout: Any = None,
    ) -> tuple[int, bytes]:
        api_method = url.rsplit("/", 1)[-1]
        params: dict[str, Any] = dict(request_data.parameters) if request_data else {}
        if request_data is not None and request_data.contains_files:
            for parameter in request_data._parameters:  # the files themselves, not their ids
                if parameter.input_files:
                    params[parameter.name] = parameter.input_files[0]
        return _encode(await _answer(self.telegram, api_method, params))


async def _answer(telegram: FakeTelegram, method: str, params: dict[str, Any]) -> dict[str, Any]:
    try:
        return {"ok": True, "result": await telegram.call(method, params)}
    except ApiError as error:
        answer: dict[str, Any] = {
            "ok": False,
            "error_code": error.code,
            "description": error.description,
        }
        if error.retry_after is not None:
            answer["parameters"] = {"retry_after": error.retry_after}
        return answer


def _encode(answer: dict[str, Any]) -> tuple[int, bytes]:
    status = 200 if answer["ok"] else int(answer["error_code"])
    return status, json.dumps(answer).encode("utf-8")


# -- over real HTTP --------------------------------------------------------------------------


def _decode_form(body: bytes, content_type: str) -> dict[str, Any]:
    if content_type.startswith("application/json"):
        return json.loads(body or b"{}")
    if content_type.startswith("multipart/form-data"):
        return _decode_multipart(body, content_type)
    params: dict[str, Any] = {}
    for key, values in parse_qs(body.decode("utf-8"), keep_blank_values=True).items():
        params[key] = _decode_value(key, values[-1])
    return params


def _decode_value(key: str, value: str) -> Any:
    if key in _JSON_FIELDS:
        return json.loads(value)
    if re.fullmatch(r"-?\d+", value) and key != "text":
        return int(value)
    return value


@dataclass
class _Upload:
    filename: str
    content: bytes


def _decode_multipart(body: bytes, content_type: str) -> dict[str, Any]:
    boundary = content_type.split("boundary=", 1)[1].strip('"').encode()
    params: dict[str, Any] = {}
    for part in body.split(b"--" + boundary):
        if b"\r\n\r\n" not in part:
            continue
        head, _, value = part.partition(b"\r\n\r\n")
        value = value.removesuffix(b"\r\n")
        name = re.search(rb'name="([^"]+)"', head)
        filename = re.search(rb'filename="([^"]*)"', head)
        if not name:
            continue
        key = name.group(1).decode()
        if filename:
            params[key] = _Upload(filename.group(1).decode(), value)
        else:
            params[key] = _decode_value(key, value.decode("utf-8"))
    # python-telegram-bot sends the file as an attach:// reference plus the part itself.
    for key, value in list(params.items()):
        if isinstance(value, str) and value.startswith("attach://"):
            params[key] = params.pop(value.removeprefix("attach://"), value)
    return params


async def serve_http(
    telegram: FakeTelegram, host: str = "127.0.0.1", port: int = 0
) -> asyncio.Server:
    """Serve the Bot API over HTTP/1.1 at http://host:port/bot<token>/<method>."""

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                request_line = await reader.readline()
                if not request_line:
                    break
                headers: dict[str, str] = {}
                while (line := await reader.readline()) not in (b"\r\n", b"\n", b""):
                    name, _, value = line.decode("latin-1").partition(":")
                    headers[name.strip().lower()] = value.strip()
                body = await reader.readexactly(int(headers.get("content-length", "0")))
                path = request_line.decode("latin-1").split()[1]
                method = path.rstrip("/").rsplit("/", 1)[-1]
                params = _decode_form(body, headers.get("content-type", ""))
                status, payload = _encode(await _answer(telegram, method, params))
                writer.write(
                    f"HTTP/1.1 {status} {'OK' if status == 200 else 'Error'}\r\n"
                    f"Content-Type: application/json\r\nContent-Length: {len(payload)}\r\n"
                    "Connection: keep-alive\r\n\r\n".encode("latin-1")
                    + payload
                )
                await writer.drain()
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        except asyncio.CancelledError:
            pass  # the server is shutting down; the bot gets a closed connection, as it should
        finally:
            writer.close()

    return await asyncio.start_server(handle, host, port)
