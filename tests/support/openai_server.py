"""A real, scriptable OpenAI-compatible chat-completions server for tests.

It listens on 127.0.0.1 (a free port) in a background thread and speaks enough of the protocol for
the ``openai`` SDK: ``POST /v1/chat/completions`` as JSON or, when the request says
``"stream": true``, as server-sent events (``data: {...}`` chunks and ``data: [DONE]``), with tool
calls (streamed as argument fragments) and usage (when ``stream_options.include_usage`` is set).
``GET /v1/models`` lists one model.

What it answers is scripted per test:

- ``server.script(r1, r2, ...)`` queues responses, used one per request in order;
- when the queue is empty, ``server.rule(request)`` decides (default: ``echo``, which answers
  ``"echo: <last user message>"``).

A response is a ``Reply`` (text and/or ``FunctionCall`` tool calls, optional usage, delay and
mid-stream disconnect) or an ``ErrorReply`` (a status such as 429 with ``Retry-After``, or 500).
Every request is recorded in ``server.requests`` (``RecordedRequest``: body, headers, arrival time)
so tests can assert on what the client sent: the system prompt, the tool message, the retries.

Use the ``openai_server`` fixture (import it into a ``conftest.py``) or the class directly::

    with OpenAIServer() as server:
        server.script(Reply("hi"), ErrorReply(429, retry_after=0))
        client = AsyncOpenAI(base_url=server.base_url, api_key="test")
"""

from __future__ import annotations

import hashlib
import itertools
import json
import re
import socket
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

__all__ = [
    "ErrorReply",
    "FunctionCall",
    "OpenAIServer",
    "RecordedRequest",
    "Reply",
    "Response",
    "Rule",
    "openai_server",
    "prompt_words",
]

MODEL = "test-model"


@dataclass
class FunctionCall:
    """A tool call the scripted model makes: ``arguments`` is a dict (sent as JSON) or raw text."""

    name: str
    arguments: Mapping[str, Any] | str = field(default_factory=dict)
    id: str | None = None

    def arguments_text(self) -> str:
        if isinstance(self.arguments, str):
            return self.arguments
        return json.dumps(dict(self.arguments))


@dataclass
class Reply:
    """A successful completion: text, tool calls, or both.

    ``usage`` is ``(prompt_tokens, completion_tokens)``; by default both are word counts (of all
    request messages and of the reply). ``chunks`` sets how the text is streamed (default: word
    by word). ``delay`` waits before answering; ``chunk_delay`` between streamed chunks;
    ``disconnect_after`` drops the connection after that many streamed chunks.
    """

    content: str | None = ""
    tool_calls: Sequence[FunctionCall] = ()
    usage: tuple[int, int] | None = None
    finish_reason: str | None = None
    chunks: Sequence[str] | None = None
    delay: float = 0.0
    chunk_delay: float = 0.0
    disconnect_after: int | None = None


@dataclass
class ErrorReply:
    """An error response: ``status`` with an OpenAI-style error body and optional ``Retry-After``."""

    status: int = 500
    message: str = "scripted server error"
    retry_after: float | str | None = None
    headers: Mapping[str, str] = field(default_factory=dict)
    delay: float = 0.0
    code: str | None = None
    """The error body's ``code`` (``"context_length_exceeded"``, ...)."""


Response = Reply | ErrorReply


@dataclass
class RecordedRequest:
    """One request the server received."""

    method: str
    path: str
    headers: dict[str, str]
    body: Any
    at: float
    """``time.monotonic()`` when the request arrived."""

    @property
    def messages(self) -> list[dict[str, Any]]:
        return list(self.body.get("messages", [])) if isinstance(self.body, dict) else []

    @property
    def last_message(self) -> dict[str, Any]:
        return self.messages[-1] if self.messages else {}

    @property
    def stream(self) -> bool:
        return isinstance(self.body, dict) and bool(self.body.get("stream"))

    @property
    def model(self) -> str | None:
        return self.body.get("model") if isinstance(self.body, dict) else None

    @property
    def tools(self) -> list[dict[str, Any]]:
        return list(self.body.get("tools", [])) if isinstance(self.body, dict) else []


Rule = Callable[[RecordedRequest], Response]


def echo(request: RecordedRequest) -> Reply:
    """The default rule: answer ``"echo: "`` plus the content of the last user message."""
    users = [m for m in request.messages if m.get("role") == "user"]
    content = users[-1].get("content") if users else ""
    return Reply(f"echo: {content if isinstance(content, str) else json.dumps(content)}")


class OpenAIServer:
    """A chat-completions server on ``127.0.0.1``; see the module docstring."""

    def __init__(self, rule: Rule = echo, *, context_limit: int | None = None) -> None:
        self.rule: Rule = rule
        self.context_limit = context_limit
        """When set, a request whose prompt (words of all its messages) is longer is refused the way
        OpenAI refuses one: HTTP 400 with code ``context_length_exceeded``."""
        self.requests: list[RecordedRequest] = []
        self._queue: deque[Response] = deque()
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._ids = itertools.count(1)
        self._httpd: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def base_url(self) -> str:
        """The URL to give the SDK (``.../v1``)."""
        if self._httpd is None:
            raise RuntimeError("the server is not started: call start() or use it as a context manager")
        host, port = self._httpd.server_address[:2]
        return f"http://{host!s}:{port}/v1"

    def script(self, *responses: Response) -> None:
        """Queue responses; each request takes the next one, then the rule answers."""
        with self._lock:
            self._queue.extend(responses)

    @property
    def pending(self) -> int:
        """How many scripted responses are still queued."""
        with self._lock:
            return len(self._queue)

    @property
    def completions(self) -> list[RecordedRequest]:
        """The chat-completions requests received so far."""
        with self._lock:
            return [r for r in self.requests if r.path.endswith("/chat/completions")]

    def start(self) -> OpenAIServer:
        """Listen on a free port and serve in a daemon thread."""
        server = self

        class Handler(_Handler):
            owner = server

        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, args=(0.02,), name="openai-server", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving; delayed responses in flight are cut short."""
        self._stopping.set()
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def __enter__(self) -> OpenAIServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _append(self, request: RecordedRequest) -> None:
        with self._lock:
            self.requests.append(request)

    def _record(self, request: RecordedRequest) -> Response:
        with self._lock:
            self.requests.append(request)
            limit = self.context_limit
            prompt = prompt_words(request)
            if limit is not None and prompt > limit:
                return ErrorReply(
                    400,
                    f"This model's maximum context length is {limit} tokens. However, your messages "
                    f"resulted in {prompt} tokens. Please reduce the length of the messages.",
                    code="context_length_exceeded",
                )
            scripted = self._queue.popleft() if self._queue else None
        return scripted if scripted is not None else self.rule(request)

    def _wait(self, seconds: float) -> bool:
        """Sleep ``seconds`` unless the server stops first; ``True`` if it is still running."""
        return not self._stopping.wait(seconds) if seconds > 0 else not self._stopping.is_set()

    def _next_id(self) -> int:
        with self._lock:
            return next(self._ids)


class _Handler(BaseHTTPRequestHandler):
    owner: OpenAIServer
    server_version = "jotty-test-openai/1.0"

    def log_message(self, format: str, *args: Any) -> None:
        """Stay quiet: tests read ``server.requests`` instead of a log."""

    def do_GET(self) -> None:
        self.owner._append(self._recorded(None))
        if self.path.rstrip("/").endswith("/models"):
            self._send_json(200, {"object": "list", "data": [{"id": MODEL, "object": "model", "owned_by": "test"}]})
        else:
            self._send_json(404, _error_body(404, f"no route {self.path}"))

    def do_POST(self) -> None:
        length = int(self.headers.get("content-length") or 0)
        raw = self.rfile.read(length) if length else b""
        try:
            body = json.loads(raw) if raw else {}
        except json.JSONDecodeError:
            self._send_json(400, _error_body(400, "the body is not JSON"))
            return
        if self.path.rstrip("/").endswith("/embeddings"):
            self.owner._append(self._recorded(body))
            self._send_json(200, _embeddings(body))
            return
        if not self.path.rstrip("/").endswith("/chat/completions"):
            self.owner._append(self._recorded(body))
            self._send_json(404, _error_body(404, f"no route {self.path}"))
            return
        request = self._recorded(body)
        response = self.owner._record(request)
        if not self.owner._wait(response.delay):
            return
        try:
            if isinstance(response, ErrorReply):
                self._send_error(response)
            elif request.stream:
                self._send_stream(request, response)
            else:
                self._send_json(200, self._completion(request, response))
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up (a timeout test): nothing to answer

    def _recorded(self, body: Any) -> RecordedRequest:
        headers = {k.lower(): v for k, v in self.headers.items()}
        return RecordedRequest(self.command, self.path, headers, body, time.monotonic())

    def _send_json(self, status: int, payload: Any, headers: Mapping[str, str] | None = None) -> None:
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.end_headers()
        self.wfile.write(data)

    def _send_error(self, response: ErrorReply) -> None:
        headers = dict(response.headers)
        if response.retry_after is not None:
            headers["Retry-After"] = str(response.retry_after)
        self._send_json(response.status, _error_body(response.status, response.message, response.code), headers)

    def _completion(self, request: RecordedRequest, reply: Reply) -> dict[str, Any]:
        calls = _numbered_calls(reply.tool_calls)
        message: dict[str, Any] = {"role": "assistant", "content": reply.content if reply.content else None}
        if calls:
            message["tool_calls"] = [
                {"id": cid, "type": "function", "function": {"name": c.name, "arguments": c.arguments_text()}}
                for cid, c in calls
            ]
        return {
            "id": f"chatcmpl-{self.owner._next_id()}",
            "object": "chat.completion",
            "created": int(time.time()),
            "model": request.model or MODEL,
            "choices": [{"index": 0, "message": message, "finish_reason": _finish(reply)}],
            "usage": _usage(request, reply),
        }

    def _send_stream(self, request: RecordedRequest, reply: Reply) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Cache-Control", "no-cache")
        self.send_header("Connection", "close")
        self.end_headers()
        base = {
            "id": f"chatcmpl-{self.owner._next_id()}",
            "object": "chat.completion.chunk",
            "created": int(time.time()),
            "model": request.model or MODEL,
        }
        for sent, event in enumerate(self._stream_events(request, reply)):
            if reply.disconnect_after is not None and sent >= reply.disconnect_after:
                self.close_connection = True
                self.wfile.flush()
                self.connection.shutdown(socket.SHUT_RDWR)  # an abrupt end, no [DONE]
                return
            if sent and not self.owner._wait(reply.chunk_delay):
                return
            payload = "[DONE]" if event is None else json.dumps({**base, **event})
            self.wfile.write(f"data: {payload}\n\n".encode())
            self.wfile.flush()
        self.close_connection = True

    def _stream_events(self, request: RecordedRequest, reply: Reply) -> Iterator[dict[str, Any] | None]:
        def chunk(delta: dict[str, Any], finish: str | None = None) -> dict[str, Any]:
            return {"choices": [{"index": 0, "delta": delta, "finish_reason": finish}]}

        yield chunk({"role": "assistant", "content": ""})
        text = reply.content or ""
        for piece in reply.chunks if reply.chunks is not None else re.findall(r"\s*\S+\s*", text):
            yield chunk({"content": piece})
        for index, (cid, call) in enumerate(_numbered_calls(reply.tool_calls)):
            head = {"index": index, "id": cid, "type": "function", "function": {"name": call.name, "arguments": ""}}
            yield chunk({"tool_calls": [head]})
            args = call.arguments_text()
            middle = max(1, len(args) // 2)
            for fragment in (args[:middle], args[middle:]):
                if fragment:
                    yield chunk({"tool_calls": [{"index": index, "function": {"arguments": fragment}}]})
        yield chunk({}, _finish(reply))
        options = request.body.get("stream_options") or {}
        if options.get("include_usage"):
            yield {"choices": [], "usage": _usage(request, reply)}
        yield None


def _numbered_calls(calls: Sequence[FunctionCall]) -> list[tuple[str, FunctionCall]]:
    return [(c.id or f"call_{i + 1}", c) for i, c in enumerate(calls)]


def _finish(reply: Reply) -> str:
    return reply.finish_reason or ("tool_calls" if reply.tool_calls else "stop")


def _words(value: Any) -> int:
    return len(value.split()) if isinstance(value, str) else 0


def prompt_words(request: RecordedRequest) -> int:
    """The prompt's size as this server counts it: the words of every message's content."""
    return sum(_words(m.get("content")) for m in request.messages)


def _usage(request: RecordedRequest, reply: Reply) -> dict[str, int]:
    if reply.usage is not None:
        prompt, completion = reply.usage
    else:
        prompt = prompt_words(request)
        completion = _words(reply.content)
    return {"prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": prompt + completion}


def _error_body(status: int, message: str, code: str | None = None) -> dict[str, Any]:
    kinds = {400: "invalid_request_error", 401: "authentication_error", 404: "not_found_error"}
    kind = "rate_limit_error" if status == 429 else kinds.get(status, "server_error")
    return {"error": {"message": message, "type": kind, "param": None, "code": code}}


@pytest.fixture
def openai_server() -> Iterator[OpenAIServer]:
    """A started ``OpenAIServer`` for one test, stopped afterwards."""
    with OpenAIServer() as server:
        yield server


EMBEDDING_DIMENSION = 32
"""The length of the vectors ``/v1/embeddings`` returns (unless the request asks for ``dimensions``)."""


def _embeddings(body: Any) -> dict[str, Any]:
    """``/v1/embeddings``: a deterministic bag-of-words vector per input (each word adds 1 at a slot
    given by its hash), so texts sharing words are close."""
    texts = body.get("input") if isinstance(body, dict) else None
    texts = [texts] if isinstance(texts, str) else list(texts or [])
    size = int(body.get("dimensions") or EMBEDDING_DIMENSION) if isinstance(body, dict) else EMBEDDING_DIMENSION
    data = []
    for index, text in enumerate(texts):
        vector = [0.0] * size
        for word in str(text).lower().split():
            slot = int.from_bytes(hashlib.blake2b(word.strip(".,?!").encode(), digest_size=4).digest(), "big")
            vector[slot % size] += 1.0
        data.append({"object": "embedding", "index": index, "embedding": vector})
    model = body.get("model") if isinstance(body, dict) else None
    return {"object": "list", "data": data, "model": model or MODEL, "usage": {"prompt_tokens": 0, "total_tokens": 0}}
