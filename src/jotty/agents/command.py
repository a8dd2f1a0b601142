"""``CommandAgent``: a CLI program (a coding agent, a script) as an agent.

The program runs without a shell, in its own process group, with its output written to a log file
and streamed as ``process_output`` events. A timeout or a cancelled task stops the whole group
(the program and everything it spawned); when the program exits, whatever it left running in its
group is stopped too, so a run never leaves orphans behind.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import json
import logging
import os
import shutil
import uuid
from collections import deque
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from time import perf_counter
from typing import IO, Any, Literal

from jotty.agents.base import Agent, AgentResult, RunContext
from jotty.agents.process import spawn, stop_group
from jotty.agents.template import Template, as_text
from jotty.db.location import jotty_home
from jotty.errors import AgentError, ValidationError
from jotty.events import EventType

logger = logging.getLogger(__name__)

OutputMode = Literal["text", "json"]
StartCallback = Callable[[int], Awaitable[None] | None]

_READ_SIZE = 65536
_STDERR_TAIL_LINES = 20
_STDERR_TAIL_CHARS = 2000


class CommandAgent(Agent):
    """Run a program once per input.

    ``argv`` is a list of templates, one argument each (no shell): ``{input}`` is the run's input,
    ``{key}`` a key of the context data, ``{{``/``}}`` literal braces; ``None`` becomes an empty
    string and other non-strings JSON. ``cwd`` and ``log_file`` are templates too. ``env`` is
    merged over ``os.environ``. With ``stdin=True`` the input is written to the program's stdin,
    otherwise stdin is empty. The output is stdout stripped (``output="text"``) or parsed
    (``output="json"``); a non-zero exit is a failure carrying the tail of stderr.

    The log file (``log_file``, else a new file in ``log_dir``, default ``$JOTTY_HOME/logs``)
    receives stdout and stderr as they arrive, appended. Each run emits ``process_started``
    (pid, argv, log_file, cwd) and one ``process_output`` event per line (stream, line, pid),
    calls ``on_start(pid)`` if given (sync or async), and reports pid, argv, exit code, log
    file and cwd in ``AgentResult.artifacts``. Timeout and cancellation stop the whole process
    group: SIGTERM, ``grace_period`` seconds, then SIGKILL.
    """

    def __init__(
        self,
        argv: Sequence[str],
        *,
        name: str | None = None,
        cwd: str | os.PathLike[str] | None = None,
        env: Mapping[str, str] | None = None,
        stdin: bool = False,
        timeout: float | None = None,
        output: OutputMode = "text",
        log_file: str | os.PathLike[str] | None = None,
        log_dir: str | os.PathLike[str] | None = None,
        on_start: StartCallback | None = None,
        grace_period: float = 5.0,
    ) -> None:
        if isinstance(argv, str) or not isinstance(argv, Sequence) or not argv:
            raise ValidationError(
                f"CommandAgent argv must be a non-empty list of strings such as ['claude', '-p', '{{input}}'], "
                f"got {argv!r}"
            )
        self._argv = tuple(Template.parse(arg, "argv item") for arg in argv)
        if not self._argv[0].source:
            raise ValidationError("CommandAgent argv[0] is empty: give the program to run")
        if timeout is not None and not timeout > 0:
            raise ValidationError(f"CommandAgent timeout must be > 0 seconds or None, got {timeout!r}")
        if not grace_period >= 0:
            raise ValidationError(f"CommandAgent grace_period must be >= 0 seconds, got {grace_period!r}")
        if output not in ("text", "json"):
            raise ValidationError(f"CommandAgent output must be 'text' or 'json', got {output!r}")
        if on_start is not None and not callable(on_start):
            raise ValidationError(f"CommandAgent on_start must be callable, got {on_start!r}")
        bad_env = {k: v for k, v in (env or {}).items() if not isinstance(k, str) or not isinstance(v, str)}
        if bad_env:
            raise ValidationError(f"CommandAgent env keys and values must be strings, got {bad_env!r}")
        self.name = name or Path(self._argv[0].source).name
        self.cwd = None if cwd is None else Template.parse(os.fspath(cwd), "cwd")
        self.env = dict(env or {})
        self.stdin = stdin
        self.timeout = timeout
        self.output: OutputMode = output
        self.log_file = None if log_file is None else Template.parse(os.fspath(log_file), "log_file")
        self.log_dir = Path(log_dir) if log_dir is not None else None
        self.on_start = on_start
        self.grace_period = grace_period

    @property
    def argv(self) -> list[str]:
        """The argv templates as given."""
        return [t.source for t in self._argv]

    def __repr__(self) -> str:
        return f"CommandAgent({self.argv!r})"

    async def run(self, input: Any, ctx: RunContext | None = None) -> AgentResult:
        """Run the program once on ``input``; see the class docstring."""
        ctx = ctx if ctx is not None else RunContext()
        values = {**ctx.data, "input": input}
        argv = [t.render(values, "argv item") for t in self._argv]
        cwd = Path(self.cwd.render(values, "cwd")) if self.cwd is not None else None
        if cwd is not None and not cwd.is_dir():
            raise AgentError(f"CommandAgent {self.name!r}: working directory '{cwd}' does not exist")
        env = {**os.environ, **self.env}
        program = _find_program(argv[0], env.get("PATH"), cwd)
        log_path = self._log_path(values)
        log_path.parent.mkdir(parents=True, exist_ok=True)
        start = perf_counter()
        with log_path.open("ab", buffering=0) as log:
            try:
                process, exited = await spawn(
                    program,
                    *argv[1:],
                    stdin=asyncio.subprocess.PIPE if self.stdin else asyncio.subprocess.DEVNULL,
                    stdout=asyncio.subprocess.PIPE,
                    stderr=asyncio.subprocess.PIPE,
                    cwd=cwd,
                    env=env,
                    start_new_session=True,
                )
            except OSError as exc:
                raise AgentError(f"CommandAgent {self.name!r}: cannot start {argv[0]!r}: {exc}") from exc
            run = _Run(process, exited, argv, cwd, log_path, log, ctx)
            logger.debug("started %s as pid %d (log %s)", argv, process.pid, log_path)
            await run.supervise(self, as_text(input).encode() if self.stdin else None)
        return self._result(run, perf_counter() - start)

    def _log_path(self, values: Mapping[str, Any]) -> Path:
        if self.log_file is not None:
            return Path(self.log_file.render(values, "log_file"))
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S")
        safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in self.name) or "command"
        directory = self.log_dir if self.log_dir is not None else jotty_home() / "logs"
        return directory / f"{safe}-{stamp}-{uuid.uuid4().hex[:8]}.log"

    def _result(self, run: _Run, duration: float) -> AgentResult:
        code = run.process.returncode
        artifacts = {
            "pid": run.process.pid,
            "argv": run.argv,
            "exit_code": code,
            "log_file": str(run.log_path),
            "cwd": str(run.cwd) if run.cwd is not None else None,
        }
        stdout = "\n".join(run.stdout).strip()
        program = run.argv[0]
        if run.timed_out:
            error = (
                f"{program!r} timed out after {self.timeout}s and was stopped with its process group "
                f"(log: {run.log_path})"
            )
            return AgentResult.failure(error, output=stdout, duration=duration, artifacts=artifacts)
        if code != 0:
            how = f"was killed by signal {-code}" if code is not None and code < 0 else f"exited with code {code}"
            tail = "\n".join(run.stderr_tail)[-_STDERR_TAIL_CHARS:]
            error = f"{program!r} {how}" + (f": {tail}" if tail else f" (no stderr; log: {run.log_path})")
            return AgentResult.failure(error, output=stdout, duration=duration, artifacts=artifacts)
        if self.output == "json":
            try:
                return AgentResult(output=json.loads(stdout), duration=duration, artifacts=artifacts)
            except json.JSONDecodeError as exc:
                error = f"{program!r} printed output that is not valid JSON ({exc}): {stdout[:200]!r}"
                return AgentResult.failure(error, output=stdout, duration=duration, artifacts=artifacts)
        return AgentResult(output=stdout, duration=duration, artifacts=artifacts)


def _find_program(program: str, path: str | None, cwd: Path | None) -> str:
    """The executable for ``program``: looked up on ``PATH`` unless it contains a slash."""
    if os.sep in program or (os.altsep and os.altsep in program):
        candidate = Path(program) if cwd is None or Path(program).is_absolute() else cwd / program
        if candidate.is_file() and os.access(candidate, os.X_OK):
            return str(candidate.resolve())
        raise AgentError(f"program '{program}' not found or not executable: check the path")
    found = shutil.which(program, path=path)
    if found is None:
        raise AgentError(f"program '{program}' not found on PATH: install it or give the full path")
    return found


@dataclass
class _Run:
    """One running process: its pumps, what it printed and how it ended."""

    process: asyncio.subprocess.Process
    exited: asyncio.Future[None]
    argv: list[str]
    cwd: Path | None
    log_path: Path
    log: IO[bytes]
    ctx: RunContext
    stdout: list[str] = field(default_factory=list)
    stderr_tail: deque[str] = field(default_factory=lambda: deque(maxlen=_STDERR_TAIL_LINES))
    timed_out: bool = False
    sink_error: BaseException | None = None

    async def supervise(self, agent: CommandAgent, stdin: bytes | None) -> None:
        """Report the start, wait for the exit (or timeout), then stop the group and drain output."""
        pid = self.process.pid
        pumps = [
            asyncio.create_task(self._pump(self.process.stdout, "stdout")),
            asyncio.create_task(self._pump(self.process.stderr, "stderr")),
        ]
        try:
            await self.ctx.emit(
                EventType.PROCESS_STARTED,
                pid=pid,
                argv=self.argv,
                log_file=str(self.log_path),
                cwd=str(self.cwd) if self.cwd is not None else None,
            )
            if agent.on_start is not None:
                started = agent.on_start(pid)
                if inspect.isawaitable(started):
                    await started
            try:
                async with asyncio.timeout(agent.timeout):
                    if stdin is not None:
                        await self._feed(stdin)
                    await asyncio.shield(self.exited)
            except TimeoutError:
                self.timed_out = True
                logger.info("pid %d timed out after %ss: stopping its process group", pid, agent.timeout)
        except BaseException:
            await asyncio.shield(self._finish(pumps, agent.grace_period))
            raise
        await self._finish(pumps, agent.grace_period)
        if self.sink_error is not None:
            raise self.sink_error

    async def _finish(self, pumps: list[asyncio.Task[None]], grace: float) -> None:
        """Stop the group (the program, or what it left behind) and wait for the pipes to close."""
        await stop_group(self.process, grace)
        _, pending = await asyncio.wait(pumps, timeout=max(grace, 1.0))
        if not pending:
            await self.process.wait()  # pipes closed and the program reaped: the transport is done
            return
        logger.warning("pid %d: a process that left the group still holds the output pipes", self.process.pid)
        for task in pending:
            task.cancel()
        await asyncio.wait(pending)

    async def _feed(self, data: bytes) -> None:
        stdin = self.process.stdin
        assert stdin is not None
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            stdin.write(data)
            await stdin.drain()
        stdin.close()

    async def _pump(self, stream: asyncio.StreamReader | None, name: str) -> None:
        """Copy ``stream`` to the log file, collect its lines and emit one event per line."""
        assert stream is not None
        sink: Callable[[str], None] = self.stdout.append if name == "stdout" else self.stderr_tail.append
        pending = b""
        while True:
            chunk = await stream.read(_READ_SIZE)
            if chunk:
                self.log.write(chunk)
                *lines, pending = (pending + chunk).split(b"\n")
            else:
                lines, pending = ([pending] if pending else []), b""
            for raw in lines:
                line = raw.decode(errors="replace").removesuffix("\r")
                sink(line)
                await self._emit_line(name, line)
            if not chunk:
                return

    async def _emit_line(self, stream: str, line: str) -> None:
        if self.sink_error is not None:
            return
        try:
            await self.ctx.emit(EventType.PROCESS_OUTPUT, stream=stream, line=line, pid=self.process.pid)
        except Exception as exc:  # keep draining the pipe so the program never blocks on it
            logger.exception("the event sink failed on process output; no more output events")
            self.sink_error = exc
