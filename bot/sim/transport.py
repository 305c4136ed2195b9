"""The two ways a bot reaches the simulator, both ending in FakeTelegram.handle: SimRequest (a PTB request
object, in-process) and a stdlib HTTP server on 127.0.0.1 that speaks the Bot API's wire formats."""
from __future__ import annotations

import asyncio
import email.parser
import email.utils
import email.policy
import json
import re
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from collections.abc import Callable
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, unquote, urlsplit

from telegram.error import NetworkError, TimedOut
from telegram.request import BaseRequest, RequestData

from .errors import TransportFault
from .spec import UploadedFile

if TYPE_CHECKING:
    from .core import FakeTelegram

LONG_POLL_MAX_TIMEOUT = 50
NOT_FOUND = json.dumps({"ok": False, "error_code": 404, "description": "Not Found"}).encode()


_FILE_URL = re.compile(r"/file/bot(?P<token>[^/]+)/(?P<path>.+)$")


def _split_bot_url(path: str) -> tuple[str, str] | None:
    """(token, method) from a path ending in /bot<token>/<method>, as PTB builds it from base_url."""
    head, _, method = path.rstrip("/").rpartition("/")
    segment = head.rpartition("/")[2]
    if not segment.startswith("bot") or not method:
        return None
    return segment[len("bot"):], method


def _timeout_of(params: dict[str, str]) -> int:
    try:
        return min(max(int(params.get("timeout") or 0), 0), LONG_POLL_MAX_TIMEOUT)
    except ValueError:
        return 0


class SimRequest(BaseRequest):
    """A python-telegram-bot request backend that answers from a FakeTelegram, without sockets.

    Long polling awaits in small steps instead of blocking, so the bot's event loop keeps running.
    """

    __slots__ = ("_sim", "_poll_interval", "_on_answer")

    def __init__(self, sim: FakeTelegram, poll_interval: float = 0.02,
                 on_answer: Callable[[int], None] | None = None) -> None:
        self._sim = sim
        self._poll_interval = poll_interval
        self._on_answer = on_answer  # hears each answer's Date (a Unix time), as an httpx event hook would

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
        read_timeout: Any = BaseRequest.DEFAULT_NONE,
        write_timeout: Any = BaseRequest.DEFAULT_NONE,
        connect_timeout: Any = BaseRequest.DEFAULT_NONE,
        pool_timeout: Any = BaseRequest.DEFAULT_NONE,
    ) -> tuple[int, bytes]:
        path = urlsplit(url).path
        download = _FILE_URL.search(unquote(path))  # PTB quotes the token's ':' in a file URL
        if download is not None:  # https://api.telegram.org/file/bot<token>/<file_path>
            return self._sim.download_file(download["token"], download["path"])
        parsed = _split_bot_url(path)
        if parsed is None:
            return 404, NOT_FOUND
        token, api_method = parsed
        params = dict(request_data.json_parameters) if request_data else {}
        files: dict[str, UploadedFile] = {}
        if request_data is not None and request_data.contains_files:
            for name, (filename, content, mime_type) in request_data.multipart_data.items():
                data = content if isinstance(content, bytes) else content.read()
                files[name] = UploadedFile(filename=filename or name, content=data, mime_type=mime_type)

        timeout = _timeout_of(params) if api_method.lower() == "getupdates" else 0
        if timeout > 0:
            generation = self._sim.start_long_poll()
            loop = asyncio.get_running_loop()
            deadline = loop.time() + timeout
            while True:
                state = self._sim._long_poll_state(token, params, generation)
                if state != "wait" or loop.time() >= deadline:
                    break
                await asyncio.sleep(self._poll_interval)
            if state == "superseded":
                return self._sim._conflict(token, api_method, params)
        try:
            answer = self._sim.handle(token, api_method, params, files, block=False)
        except TransportFault as fault:  # what PTB's HTTPXRequest raises for the same trouble
            if fault.kind == "timeout":
                raise TimedOut() from None
            raise NetworkError("httpx.ConnectError: All connection attempts failed") from None
        if self._on_answer is not None:  # as an httpx response hook hears the Date header: Telegram's time, to the second
            self._on_answer(int(self._sim.clock.now().timestamp()))
        return answer


class _Handler(BaseHTTPRequestHandler):
    sim: FakeTelegram  # set on the per-server subclass

    def do_GET(self) -> None:
        self._serve()

    def do_POST(self) -> None:
        self._serve()

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - keep test output quiet
        return None

    def date_time_string(self, timestamp: float | None = None) -> str:
        """The Date header of every answer: the simulated Telegram's clock, as the real one sends its own."""
        return email.utils.formatdate(self.sim.clock.now().timestamp() if timestamp is None else timestamp, usegmt=True)

    def _serve(self) -> None:
        parts = urlsplit(self.path)
        download = _FILE_URL.fullmatch(unquote(parts.path))  # httpx sends the token's ':' as %3A
        if download is not None:
            status, content = self.sim.download_file(download["token"], download["path"])
            self.send_response(status)
            self.send_header("Content-Length", str(len(content)))
            self.end_headers()
            self.wfile.write(content)
            return
        parsed = _split_bot_url(parts.path)
        if parsed is None or parts.path.count("/") != 2:
            self._reply(404, NOT_FOUND)
            return
        token, method = parsed
        params: dict[str, str] = dict(parse_qsl(parts.query, keep_blank_values=True))
        files: dict[str, UploadedFile] = {}
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        if len(body) < length:
            # The client went away mid-request (a process killed, or a call cancelled, between writing its headers
            # and its body): a server never sees the whole request and so carries out nothing.
            self.close_connection = True
            return
        content_type = self.headers.get("Content-Type", "")
        try:
            if body:
                self._read_body(content_type, body, params, files)
        except ValueError as exc:
            payload = {"ok": False, "error_code": 400, "description": f"Bad Request: {exc}"}
            self._reply(400, json.dumps(payload).encode())
            return
        try:
            status, answer = self.sim.handle(token, method, params, files)
        except TransportFault as fault:
            if fault.kind == "timeout":  # done; the answer never comes: hold the line past the client's patience
                time.sleep(self.sim.lost_answer_hold)
            self.close_connection = True  # no answer at all: the client sees the connection drop
            return
        self._reply(status, answer)

    @staticmethod
    def _read_body(content_type: str, body: bytes, params: dict[str, str], files: dict[str, UploadedFile]) -> None:
        kind = content_type.split(";")[0].strip().lower()
        if kind == "application/json":
            try:
                data = json.loads(body)
            except ValueError:
                raise ValueError("can't parse JSON request body") from None
            if not isinstance(data, dict):
                raise ValueError("JSON request body must be an object")
            # The same shape a form has: strings as they are, anything else as its JSON text.
            for key, value in data.items():
                if value is not None:
                    params[key] = value if isinstance(value, str) else json.dumps(value)
        elif kind == "multipart/form-data":
            header = f"Content-Type: {content_type}\r\n\r\n".encode()
            message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(header + body)
            for part in message.iter_parts():
                name = part.get_param("name", header="content-disposition")
                if not name:
                    continue
                payload = part.get_payload(decode=True) or b""
                filename = part.get_filename()
                if filename is not None:
                    files[name] = UploadedFile(filename=filename, content=payload,
                                               mime_type=part.get_content_type())
                else:
                    params[name] = payload.decode(part.get_content_charset() or "utf-8")
        else:  # application/x-www-form-urlencoded, and what clients send without a type
            params.update(parse_qsl(body.decode("utf-8"), keep_blank_values=True))

    def _reply(self, status: int, body: bytes) -> None:
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


class _QuietServer(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        # A client that gave up on a long poll (PTB cancelling on shutdown) is not an error worth a traceback.
        import sys

        if isinstance(sys.exc_info()[1], (ConnectionError, TimeoutError)):
            return
        super().handle_error(request, client_address)


class SimServer:
    """The simulator on a local port: `url` is what a bot uses as base_url + "/bot"."""

    def __init__(self, sim: FakeTelegram, host: str = "127.0.0.1", port: int = 0) -> None:
        if host not in ("127.0.0.1", "localhost"):
            raise ValueError("the simulator only listens on 127.0.0.1")
        self._sim = sim
        handler = type("SimHandler", (_Handler,), {"sim": sim})
        self._server = _QuietServer(("127.0.0.1", port), handler)
        self._thread = threading.Thread(target=self._server.serve_forever, name="sim-http", daemon=True)
        self._thread.start()

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def close(self) -> None:
        self._sim.wake_long_polls()  # don't leave handlers blocked in a long poll
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    def __enter__(self) -> SimServer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
