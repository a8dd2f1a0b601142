"""The dashboard as a Starlette app: HTML pages, their JSON under ``/api/...``, the live stream of a
run, and the static script and stylesheet served from the package (nothing from a CDN)."""

from __future__ import annotations

import contextlib
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response, StreamingResponse
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from jotty.dashboard import params
from jotty.dashboard.insights import load_flow_runs, run_insights
from jotty.dashboard.learning_view import learning_page
from jotty.dashboard.live import live_events
from jotty.dashboard.memory_view import memory_page
from jotty.dashboard.pages import shell
from jotty.dashboard.queue_view import queue_page, task_history
from jotty.dashboard.reader import Reader, open_reader
from jotty.dashboard.run_view import run_events, run_value, run_view
from jotty.dashboard.runs_list import flows, runs_page
from jotty.dashboard.security import Guard
from jotty.errors import JottyError, NotFoundError, ValidationError

STATIC = Path(__file__).parent / "static"
Handler = Callable[[Request, Reader], Awaitable[Any]]


class _Json(JSONResponse):
    def render(self, content: Any) -> bytes:
        return json.dumps(content, default=str, ensure_ascii=False, separators=(",", ":")).encode()


def _reader(request: Request) -> Reader:
    reader: Reader = request.app.state.reader
    return reader


def api(handler: Handler) -> Callable[[Request], Awaitable[Response]]:
    """An API endpoint: the handler's value as JSON; a bad parameter is 400, a missing thing 404,
    a store problem 503, each with ``{"error": message}``."""

    async def endpoint(request: Request) -> Response:
        try:
            return _Json(await handler(request, _reader(request)))
        except ValidationError as exc:
            return _Json({"error": str(exc)}, status_code=400)
        except NotFoundError as exc:
            return _Json({"error": str(exc)}, status_code=404)
        except JottyError as exc:
            return _Json({"error": str(exc)}, status_code=503)

    return endpoint


def page(name: str, title: str, arg: str | None = None) -> Callable[[Request], Awaitable[Response]]:
    """An HTML page: the shell that draws page ``name`` from its JSON (``arg``: a path parameter)."""

    async def endpoint(request: Request) -> Response:
        value = request.path_params.get(arg, "") if arg else ""
        return HTMLResponse(shell(name, f"{title} {value}".strip(), value))

    return endpoint


async def _runs(request: Request, reader: Reader) -> Any:
    out = await runs_page(reader, request.query_params)
    out["flows"] = await flows(reader)
    return out


async def _run(request: Request, reader: Reader) -> Any:
    return await run_view(reader, request.path_params["run_id"])


async def _events(request: Request, reader: Reader) -> Any:
    after = params.integer(request.query_params, "after", 0, 0, 2**62)
    limit = params.integer(request.query_params, "limit", 1000, 1, 10_000)
    return {"events": await run_events(reader, request.path_params["run_id"], after, limit)}


async def _insights(request: Request, reader: Reader) -> Any:
    names = await flows(reader)
    flow = params.text(request.query_params, "flow") or (names[0] if names else None)
    count = params.integer(request.query_params, "runs", 200, 1, 5000)
    if flow is None:
        return {"flow": None, "flows": names, "runs": 0, "insights": []}
    data = await load_flow_runs(reader, flow, count)
    return {"flow": flow, "flows": names, "runs": len(data.runs), "insights": run_insights(data)}


async def _queue(request: Request, reader: Reader) -> Any:
    return await queue_page(reader, request.query_params)


async def _task(request: Request, reader: Reader) -> Any:
    return await task_history(reader, request.path_params["task_id"])


async def _learning(request: Request, reader: Reader) -> Any:
    return await learning_page(reader, request.query_params)


async def _memory(request: Request, reader: Reader) -> Any:
    return await memory_page(reader, request.query_params)


async def _value(request: Request) -> Response:
    """The full JSON text of a value (a run's input or output, a step's output), as plain text."""
    which = params.text(request.query_params, "which", limit=4000) or "output"
    try:
        text = await run_value(_reader(request), request.path_params["run_id"], which)
    except NotFoundError as exc:
        return Response(str(exc), status_code=404, media_type="text/plain; charset=utf-8")
    return Response(text, media_type="text/plain; charset=utf-8")


async def _live(request: Request) -> Response:
    try:
        after = params.integer(request.query_params, "after", 0, 0, 2**62)
        last = request.headers.get("last-event-id", "")
        after = int(last) if last.isdigit() else after
        since = params.moment(request.query_params, "since") or 0.0
    except ValidationError as exc:
        return _Json({"error": str(exc)}, status_code=400)
    stream = live_events(_reader(request), request.path_params["run_id"], after, since, request.is_disconnected)
    return StreamingResponse(stream, media_type="text/event-stream", headers={"x-accel-buffering": "no"})


def create_app(store: str | Path | None = None, *, token: str | None = None, reader: Reader | None = None) -> Starlette:
    """The dashboard app on ``store`` (a path or URL; ``None``: the default store), or on an open
    ``reader``. ``token``, when set, is required on every request (see ``security.Guard``)."""

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        opened = reader if reader is not None else await open_reader(store)
        app.state.reader = opened
        try:
            yield
        finally:
            if reader is None:
                await opened.close()

    routes = [
        Route("/", page("runs", "Runs")),
        Route("/runs/{run_id}", page("run", "Run", "run_id")),
        Route("/insights", page("insights", "Insights")),
        Route("/queue", page("queue", "Queue")),
        Route("/queue/{task_id}", page("task", "Task", "task_id")),
        Route("/learning", page("learning", "Learning")),
        Route("/memory", page("memory", "Memory")),
        Route("/api/runs", api(_runs)),
        Route("/api/runs/{run_id}/events", api(_events)),
        Route("/api/runs/{run_id}/value", _value),
        Route("/api/runs/{run_id}/live", _live),
        Route("/api/runs/{run_id}", api(_run)),
        Route("/api/insights", api(_insights)),
        Route("/api/queue", api(_queue)),
        Route("/api/queue/{task_id}", api(_task)),
        Route("/api/learning", api(_learning)),
        Route("/api/memory", api(_memory)),
        Mount("/static", StaticFiles(directory=STATIC), name="static"),
    ]
    app = Starlette(routes=routes, lifespan=lifespan)
    app.add_middleware(Guard, token=token)
    return app
