from __future__ import annotations

import asyncio
import os
import sys
import textwrap
import time
from pathlib import Path
from typing import Any

import pytest

from jotty.agents import CommandAgent, RunContext
from jotty.errors import AgentError, ValidationError

PY = sys.executable


def script(code: str, *args: str) -> list[str]:
    """argv running ``code`` with the test's Python interpreter (its braces escaped as ``{{``/``}}``)."""
    return [PY, "-c", textwrap.dedent(code).replace("{", "{{").replace("}", "}}"), *args]


def alive(pid: int) -> bool:
    """Whether ``pid`` is a running process (a zombie is dead)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return True
    return stat[stat.rfind(")") + 2] != "Z"


def wait_until_dead(*pids: int, within: float = 5.0) -> list[int]:
    """Poll until every pid is gone or ``within`` seconds pass; return those still alive."""
    deadline = time.monotonic() + within
    while True:
        living = [pid for pid in pids if alive(pid)]
        if not living or time.monotonic() > deadline:
            return living
        time.sleep(0.01)


async def read_pid_file(path: Path, within: float = 5.0) -> int:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        text = path.read_text() if path.exists() else ""
        if text.strip():
            return int(text)
        await asyncio.sleep(0.01)
    raise AssertionError(f"{path} was never written")


async def test_output_is_stripped_stdout(tmp_path: Path) -> None:
    agent = CommandAgent(script("import sys; print('  ' + sys.argv[1].upper() + '  ')", "{input}"), log_dir=tmp_path)
    result = await agent.run("hello world")
    assert result.ok, result.error
    assert result.output == "HELLO WORLD"
    assert result.artifacts["exit_code"] == 0
    assert result.duration > 0


async def test_placeholders_come_from_input_and_context(tmp_path: Path) -> None:
    agent = CommandAgent(
        script("import sys, json; print(json.dumps(sys.argv[1:]))", "{input}", "--task={task_id}", "{{literal}}"),
        log_dir=tmp_path,
        output="json",
    )
    result = await agent.run({"a": 1}, RunContext(data={"task_id": "TASK-7"}))
    assert result.output == ['{"a": 1}', "--task=TASK-7", "{literal}"]


async def test_json_output_and_bad_json(tmp_path: Path) -> None:
    good = CommandAgent(script("import json; print(json.dumps({'n': 3, 'ok': True}))"), output="json", log_dir=tmp_path)
    assert (await good.run(None)).output == {"n": 3, "ok": True}
    bad = CommandAgent(script("print('not json')"), output="json", log_dir=tmp_path)
    result = await bad.run(None)
    assert not result.ok and "not valid JSON" in (result.error or "") and result.output == "not json"


async def test_non_zero_exit_is_a_failure_with_code_and_stderr_tail(tmp_path: Path) -> None:
    code = """
        import sys
        for i in range(100):
            print(f'noise {i}', file=sys.stderr)
        print('the real problem', file=sys.stderr)
        print('partial output')
        sys.exit(3)
    """
    result = await CommandAgent(script(code), log_dir=tmp_path).run(None)
    assert not result.ok
    assert result.artifacts["exit_code"] == 3
    assert "exited with code 3" in (result.error or "")
    assert (result.error or "").endswith("the real problem")
    assert "noise 0\n" not in (result.error or "")  # only the tail
    assert result.output == "partial output"


async def test_stdin_receives_the_input(tmp_path: Path) -> None:
    agent = CommandAgent(script("import sys; print(sys.stdin.read()[::-1])"), stdin=True, log_dir=tmp_path)
    assert (await agent.run("abc\ndef")).output == "fed\ncba"


async def test_without_stdin_the_program_reads_nothing(tmp_path: Path) -> None:
    agent = CommandAgent(script("import sys; print(repr(sys.stdin.read()))"), log_dir=tmp_path, timeout=10)
    assert (await agent.run("ignored")).output == "''"


async def test_env_is_merged_over_the_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("JOTTY_TEST_INHERITED", "from-parent")
    agent = CommandAgent(
        script("import os; print(os.environ['JOTTY_TEST_VAR'], os.environ['JOTTY_TEST_INHERITED'])"),
        env={"JOTTY_TEST_VAR": "given"},
        log_dir=tmp_path,
    )
    assert (await agent.run(None)).output == "given from-parent"


async def test_cwd_and_templated_cwd(tmp_path: Path) -> None:
    work = tmp_path / "work"
    work.mkdir()
    agent = CommandAgent(script("import os; print(os.getcwd())"), cwd="{workdir}", log_dir=tmp_path)
    result = await agent.run(None, RunContext(data={"workdir": str(work)}))
    assert Path(result.output).resolve() == work.resolve()
    assert result.artifacts["cwd"] == str(work)
    with pytest.raises(AgentError, match="does not exist"):
        await CommandAgent(["true"], cwd=tmp_path / "missing", log_dir=tmp_path).run(None)


async def test_log_file_events_and_pid(tmp_path: Path, events: Any) -> None:
    code = """
        import os, sys
        print('out one', flush=True)
        print('err one', file=sys.stderr, flush=True)
        sys.stdout.write('pid ' + str(os.getpid()) + '\\n' + 'no newline at end')
    """
    started: list[int] = []
    log = tmp_path / "logs" / "run.log"
    agent = CommandAgent(script(code), log_file=log, on_start=started.append)
    result = await agent.run(None, events.ctx())
    assert result.ok, result.error
    pid = result.artifacts["pid"]
    assert result.output == f"out one\npid {pid}\nno newline at end"
    assert started == [pid]
    [start] = events.of("process_started")
    assert start.data == {"pid": pid, "argv": agent.argv, "log_file": str(log), "cwd": None}
    lines = [(e.data["stream"], e.data["line"]) for e in events.of("process_output")]
    assert ("stdout", "out one") in lines and ("stderr", "err one") in lines
    assert ("stdout", f"pid {pid}") in lines and ("stdout", "no newline at end") in lines
    assert all(e.data["pid"] == pid for e in events.of("process_output"))
    text = log.read_text()
    # the two streams interleave in the log in arrival order
    assert "out one\n" in text and "err one\n" in text and "no newline at end" in text
    assert result.artifacts["log_file"] == str(log)


async def test_async_on_start_and_auto_log_file(tmp_path: Path) -> None:
    seen: list[int] = []

    async def record(pid: int) -> None:
        seen.append(pid)

    agent = CommandAgent(script("print('hi')"), name="my agent", on_start=record, log_dir=tmp_path / "logs")
    result = await agent.run(None)
    log = Path(result.artifacts["log_file"])
    assert seen == [result.artifacts["pid"]]
    assert log.parent == tmp_path / "logs" and log.name.startswith("my_agent-") and log.read_text() == "hi\n"


async def test_a_log_file_is_appended_across_runs(tmp_path: Path) -> None:
    log = tmp_path / "task.log"
    agent = CommandAgent(script("import sys; print(sys.argv[1])", "{input}"), log_file=log)
    await agent.run("first")
    await agent.run("second")
    assert log.read_text() == "first\nsecond\n"


GRANDCHILD = """
    import os, subprocess, sys, time
    pid_file, mode = sys.argv[1], sys.argv[2]
    child = (
        "import os, signal, sys, time\\n"
        "if sys.argv[2] == 'stubborn': signal.signal(signal.SIGTERM, signal.SIG_IGN)\\n"
        "open(sys.argv[1], 'w').write(str(os.getpid()))\\n"
        "time.sleep(60)\\n"
    )
    subprocess.Popen([sys.executable, '-c', child, pid_file, mode])
    while not (os.path.exists(pid_file) and open(pid_file).read()):
        time.sleep(0.01)
    print('ready', flush=True)
    time.sleep(60)
"""


async def test_timeout_kills_the_whole_process_group(tmp_path: Path) -> None:
    pid_file = tmp_path / "grandchild.pid"
    agent = CommandAgent(script(GRANDCHILD, str(pid_file), "stubborn"), timeout=1.5, grace_period=0.2, log_dir=tmp_path)
    start = time.monotonic()
    result = await agent.run(None)
    assert time.monotonic() - start < 10
    assert not result.ok and "timed out after 1.5s" in (result.error or "")
    assert result.output == "ready", "the grandchild did not start before the timeout"
    grandchild = int(pid_file.read_text())
    parent = result.artifacts["pid"]
    assert wait_until_dead(parent, grandchild) == []
    assert result.artifacts["exit_code"] is not None


async def test_cancellation_kills_the_whole_process_group(tmp_path: Path) -> None:
    pid_file = tmp_path / "grandchild.pid"
    ready = asyncio.Event()
    pids: list[int] = []

    async def sink(event: Any) -> None:
        if event.type == "process_started":
            pids.append(event.data["pid"])
        if event.type == "process_output" and event.data["line"] == "ready":
            ready.set()

    agent = CommandAgent(script(GRANDCHILD, str(pid_file), "polite"), log_dir=tmp_path)
    task = asyncio.create_task(agent.run(None, RunContext(sink=sink)))
    await asyncio.wait_for(ready.wait(), timeout=10)
    grandchild = await read_pid_file(pid_file)
    assert alive(pids[0]) and alive(grandchild)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert wait_until_dead(pids[0], grandchild) == []


async def test_what_the_program_leaves_running_is_stopped_when_it_exits(tmp_path: Path) -> None:
    pid_file = tmp_path / "background.pid"
    code = """
        import os, subprocess, sys, time
        subprocess.Popen([sys.executable, '-c',
            'import os, sys, time; open(sys.argv[1], "w").write(str(os.getpid())); time.sleep(60)', sys.argv[1]])
        while not (os.path.exists(sys.argv[1]) and open(sys.argv[1]).read()):
            time.sleep(0.01)
        print('launched')
    """
    agent = CommandAgent(script(code, str(pid_file)), log_dir=tmp_path, grace_period=1.0)
    start = time.monotonic()
    result = await agent.run(None)
    assert result.ok and result.output == "launched"
    assert time.monotonic() - start < 10  # not stuck on the pipe the background process inherited
    assert wait_until_dead(int(pid_file.read_text())) == []


async def test_on_start_failure_stops_the_process_and_propagates(tmp_path: Path) -> None:
    pids: list[int] = []

    def broken(pid: int) -> None:
        pids.append(pid)
        raise RuntimeError("could not record the pid")

    agent = CommandAgent(script("import time; time.sleep(60)"), on_start=broken, log_dir=tmp_path, grace_period=0.5)
    with pytest.raises(RuntimeError, match="could not record"):
        await agent.run(None)
    assert wait_until_dead(*pids) == []


async def test_missing_program_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(AgentError, match=r"program 'no-such-jotty-program' not found on PATH: install it or give"):
        await CommandAgent(["no-such-jotty-program", "{input}"], log_dir=tmp_path).run("x")
    with pytest.raises(AgentError, match="not found or not executable"):
        await CommandAgent([str(tmp_path / "nope.sh")], log_dir=tmp_path).run("x")


async def test_program_found_on_the_given_path(tmp_path: Path) -> None:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    tool = bin_dir / "jotty-test-tool"
    tool.write_text(f"#!{PY}\nprint('tool ran')\n")
    tool.chmod(0o755)
    agent = CommandAgent(["jotty-test-tool"], env={"PATH": str(bin_dir)}, log_dir=tmp_path)
    assert (await agent.run(None)).output == "tool ran"


async def test_missing_context_key_names_it(tmp_path: Path) -> None:
    agent = CommandAgent(["echo", "{task_id}"], log_dir=tmp_path)
    with pytest.raises(AgentError, match=r"needs \{task_id\}.*known: input"):
        await agent.run("x")


async def test_killed_by_a_signal_is_reported(tmp_path: Path) -> None:
    agent = CommandAgent(script("import os, signal; os.kill(os.getpid(), signal.SIGKILL)"), log_dir=tmp_path)
    result = await agent.run(None)
    assert not result.ok and "killed by signal 9" in (result.error or "")


async def test_a_failing_event_sink_does_not_hang_the_program(tmp_path: Path) -> None:
    async def broken_sink(event: Any) -> None:
        if event.type == "process_output":
            raise OSError("sink is down")

    agent = CommandAgent(script("for i in range(20000): print('line', i)"), log_dir=tmp_path, timeout=30)
    with pytest.raises(OSError, match="sink is down"):
        await agent.run(None, RunContext(sink=broken_sink))


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"argv": "echo hi"}, "non-empty list of strings"),
        ({"argv": []}, "non-empty list of strings"),
        ({"argv": [""]}, "argv\\[0\\] is empty"),
        ({"argv": ["echo", "{in put}"]}, "bad placeholder '\\{in put\\}'"),
        ({"argv": ["echo", "{input"]}, "bad placeholder"),
        ({"argv": ["echo", "{0}"]}, "bad placeholder"),
        ({"argv": ["echo", "{input.__class__}"]}, "bad placeholder"),
        ({"argv": ["echo", 3]}, "must be a string"),
        ({"argv": ["echo"], "timeout": 0}, "timeout must be > 0"),
        ({"argv": ["echo"], "timeout": -1}, "timeout must be > 0"),
        ({"argv": ["echo"], "output": "xml"}, "output must be 'text' or 'json'"),
        ({"argv": ["echo"], "grace_period": -1}, "grace_period must be >= 0"),
        ({"argv": ["echo"], "env": {"A": 1}}, "env keys and values must be strings"),
        ({"argv": ["echo"], "on_start": "nope"}, "on_start must be callable"),
    ],
)
def test_bad_configuration_is_rejected(kwargs: dict[str, Any], message: str) -> None:
    argv = kwargs.pop("argv")
    with pytest.raises(ValidationError, match=message):
        CommandAgent(argv, **kwargs)


def test_argv_template_round_trip() -> None:
    agent = CommandAgent(["claude", "-p", "{input}"])
    assert agent.argv == ["claude", "-p", "{input}"] and agent.name == "claude"


async def test_default_log_dir_is_under_jotty_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("JOTTY_HOME", str(tmp_path / "home"))
    result = await CommandAgent(script("print('x')")).run(None)
    log = Path(result.artifacts["log_file"])
    assert log.parent == tmp_path / "home" / "logs" and log.read_text() == "x\n"
