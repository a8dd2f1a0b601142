"""``jotty dashboard``: serve the read-only web dashboard on the store."""

from __future__ import annotations

import contextlib
from typing import Annotated

import typer

from jotty.cli.console import SqlDbOption, err_console, fail, friendly_errors


def dashboard(
    db: SqlDbOption = None,
    host: Annotated[str, typer.Option(help="Address to listen on; any but loopback needs a token.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8321,
    token: Annotated[
        str | None,
        typer.Option(help="Require this token, 16+ characters (default: $JOTTY_DASHBOARD_TOKEN).", show_default=False),
    ] = None,
) -> None:
    """Serve the web dashboard: runs, each run's tree and timeline (live), insights, queue, learning, memory."""
    try:
        from jotty.dashboard.security import resolve_token
        from jotty.dashboard.server import run_blocking
    except ImportError as exc:
        fail(f"the dashboard needs starlette and uvicorn ({exc}): pip install 'jotty[dashboard]'")
    with friendly_errors():
        required = resolve_token(host, token)
        shown = f"[{host}]" if ":" in host else host
        err_console.print(f"Jotty dashboard on http://{shown}:{port}/", soft_wrap=True)
        if required is not None:
            err_console.print("Open it once with ?token=TOKEN (kept in a cookie), or send Authorization: Bearer TOKEN.")
        with contextlib.suppress(KeyboardInterrupt):
            run_blocking(db, host, port, required)
