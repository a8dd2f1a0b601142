"""Dashboard tests run on SQLite and PostgreSQL stores (``backend``) written by real runs; ``client``
is the app behind Starlette's test client (the lifespan opens the read-only reader)."""

from __future__ import annotations

import asyncio
import contextlib
import socket
import subprocess
import sys
import time
from collections.abc import Coroutine, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

import httpx
import pytest
from starlette.testclient import TestClient

from jotty.dashboard import create_app
from jotty.runs import open_run_store
from tests.runs.conftest import backend, store

T = TypeVar("T")
__all__ = ["backend", "store"]  # the run tests' fixtures: every store test runs on SQLite and PostgreSQL


def client_for(store: str, token: str | None = None, base_url: str = "http://127.0.0.1") -> TestClient:
    """A test client of the dashboard on ``store`` (use it as a context manager)."""
    return TestClient(create_app(store, token=token), base_url=base_url)


def run_async(coro: Coroutine[Any, Any, T]) -> T:
    """Run ``coro`` to its end on a fresh loop in a helper thread (a browser test's thread runs
    Playwright's loop already)."""
    with ThreadPoolExecutor(1) as helper:
        return helper.submit(asyncio.run, coro).result()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@contextlib.contextmanager
def serve(store: str, *extra: str, host: str = "127.0.0.1") -> Iterator[str]:
    """``jotty dashboard`` in its own process on a free port; yields its base URL (on 127.0.0.1)."""
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "jotty", "dashboard", "--db", store, "--host", host, "--port", str(port), *extra],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            if proc.poll() is not None:
                raise AssertionError(f"jotty dashboard exited: {proc.stdout.read() if proc.stdout else ''}")
            try:
                httpx.get(base + "/static/charts.js", timeout=1)
                break
            except httpx.TransportError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)
        yield base
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@pytest.fixture
def served(store: str) -> Iterator[str]:
    """The base URL of ``jotty dashboard`` serving ``store`` (created empty first)."""
    run_async(open_run_store(store).close())
    with serve(store) as base:
        yield base
