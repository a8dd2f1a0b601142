"""Cross-process wake-ups for the embedded store, without polling.

Each idle worker binds a Unix datagram socket in a directory named after the database file; a
process that stores new work sends one byte to every socket there. A socket left by a killed
worker refuses the datagram and is removed. Workers still re-check the queue on a timeout, so a
lost datagram delays work, never loses it.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import os
import socket
import tempfile
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path

log = logging.getLogger(__name__)


def channel_dir(db_path: str | os.PathLike[str]) -> Path:
    """The directory of listeners for one database file (short, so socket paths fit in 108 bytes)."""
    digest = hashlib.sha1(os.fsencode(os.path.realpath(db_path))).hexdigest()[:16]
    return Path(tempfile.gettempdir()) / f"jotty-wake-{os.getuid()}" / digest


class WakeChannel:
    """Post wake-ups to, and wait for them from, the workers of one database file."""

    def __init__(self, db_path: str | os.PathLike[str]) -> None:
        self.directory = channel_dir(db_path)
        self._sender: socket.socket | None = None
        self._listener: socket.socket | None = None
        self._address: str | None = None

    def post(self) -> None:
        """Wake every listening worker (cheap when nobody listens)."""
        try:
            entries = os.listdir(self.directory)
        except FileNotFoundError:
            return
        if not entries:
            return
        if self._sender is None:
            self._sender = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
            self._sender.setblocking(False)
        for name in entries:
            path = os.path.join(self.directory, name)
            try:
                self._sender.sendto(b"!", path)
            except (ConnectionRefusedError, FileNotFoundError):
                with contextlib.suppress(OSError):
                    os.unlink(path)  # its worker is gone
            except (BlockingIOError, OSError):
                pass  # a full buffer already holds a wake-up

    def _listen(self) -> socket.socket:
        if self._listener is None:
            self.directory.mkdir(parents=True, exist_ok=True)
            sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
            self._address = str(self.directory / f"{os.getpid()}-{uuid.uuid4().hex[:8]}")
            sock.bind(self._address)
            sock.setblocking(False)
            self._listener = sock
        return self._listener

    async def wait(self, timeout: float) -> bool:
        """Wait for a wake-up or ``timeout`` seconds; True if woken."""
        sock = self._listen()
        if self._drain(sock):
            return True
        loop = asyncio.get_running_loop()
        woken: asyncio.Future[None] = loop.create_future()

        def readable() -> None:
            if not woken.done():
                woken.set_result(None)

        loop.add_reader(sock.fileno(), readable)
        try:
            await asyncio.wait_for(woken, timeout)
        except TimeoutError:
            return False
        finally:
            loop.remove_reader(sock.fileno())
        self._drain(sock)
        return True

    @staticmethod
    def _drain(sock: socket.socket) -> bool:
        got = False
        while True:
            try:
                sock.recv(64)
            except (BlockingIOError, InterruptedError):
                return got
            got = True

    def close(self) -> None:
        """Stop listening and remove this process's socket."""
        for sock in (self._sender, self._listener):
            if sock is not None:
                sock.close()
        if self._address is not None:
            with contextlib.suppress(OSError):
                os.unlink(self._address)
        self._sender = self._listener = None
        self._address = None


Session = Callable[[Callable[[], None], Callable[[], None]], Awaitable[None]]
"""``session(wake, ready)``: connect and subscribe, call ``ready()``, then ``wake()`` for every
message until the connection drops (raise) or the subscription ends (return)."""


class ServerListener:
    """Keeps a server subscription (PostgreSQL LISTEN, Redis pub/sub) alive in one background task,
    reconnecting with backoff, and wakes idle workers on every message.

    A reconnect wakes the workers too: work may have arrived while nobody listened.
    """

    def __init__(self, session: Session, errors: tuple[type[BaseException], ...], what: str) -> None:
        self._session = session
        self._errors = errors
        self.what = what
        self.woken = asyncio.Event()
        self.closed = False
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        """Listen from now on (idempotent)."""
        if not self.closed and (self._task is None or self._task.done()):
            self._task = asyncio.create_task(self._run(), name=f"jotty-{self.what.lower()}-listen")

    async def _run(self) -> None:
        delay, first = 0.1, True

        def ready() -> None:
            nonlocal delay, first
            delay = 0.1
            if not first:
                self.woken.set()  # anything may have happened while not listening
            first = False

        while not self.closed:
            try:
                await self._session(self.woken.set, ready)
            except self._errors as exc:
                log.warning("%s wake-up listener lost its connection (%s); reconnecting", self.what, exc)
            if self.closed:
                return
            self.woken.set()
            await asyncio.sleep(delay)
            delay = min(delay * 2, 5.0)

    async def wait(self, timeout: float) -> bool:
        """Wait for a wake-up or ``timeout`` seconds; True if woken."""
        self.start()
        try:
            await asyncio.wait_for(self.woken.wait(), timeout)
        except TimeoutError:
            return False
        self.woken.clear()
        return True

    async def close(self) -> None:
        """Stop listening."""
        self.closed = True
        if self._task is not None:
            self._task.cancel()
            await asyncio.wait([self._task], timeout=5)
