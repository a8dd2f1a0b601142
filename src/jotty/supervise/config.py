"""The supervisor's configuration: agent types, the repository, branches, logs and success checks.

Loaded from YAML (``load_config``) or built in Python (``SupervisorConfig(...)``). Every problem is
a ``ValidationError`` naming the key and what to write instead; templates are checked here, so an
argv naming an unknown field stops the supervisor before any task is touched.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Annotated, Any, Literal

import pydantic
import yaml

from jotty.agents.template import Template
from jotty.errors import ValidationError
from jotty.supervise.fields import RUN_FIELDS, TEMPLATE_FIELDS

_SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([kKmMgG]?)i?[bB]?\s*$")
_UNITS = {"": 1, "k": 1024, "m": 1024**2, "g": 1024**3}


def parse_size(value: Any) -> int:
    """Bytes from an int or text such as ``10MB``, ``512k``, ``1G``."""
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    match = _SIZE.match(str(value))
    if match is None:
        raise ValueError(f"{value!r} is not a size: write bytes (1048576) or 512KB, 10MB, 1GB")
    return int(float(match[1]) * _UNITS[match[2].lower()])


class _Model(pydantic.BaseModel):
    model_config = pydantic.ConfigDict(extra="forbid", frozen=True)


class SuccessCheck(_Model):
    """What makes an agent's run a success: every check given must pass.

    ``exit_codes``: the agent's accepted exit codes. ``command``: an argv run in the worktree
    afterwards (the tests, a linter); it passes with exit code 0 within ``command_timeout``.
    ``json_field``: a dotted path looked up in the last JSON object the agent printed; it passes
    when the value equals ``json_equals`` (or, without it, is true). ``require_commits``: the
    branch must have gained at least one commit.
    """

    exit_codes: list[int] = [0]
    command: list[str] | None = None
    command_timeout: Annotated[float, pydantic.Field(gt=0)] = 600.0
    json_field: str | None = None
    json_equals: Any = None
    require_commits: bool = False

    @pydantic.field_validator("command")
    @classmethod
    def _command(cls, value: list[str] | None) -> list[str] | None:
        if value is not None and not value:
            raise ValueError("an empty command: give an argv such as ['pytest', '-q'], or leave it out")
        return value


class AgentType(_Model):
    """One kind of coding agent: how to run it and how many may run at once.

    ``argv`` templates may name ``{prompt}``, ``{prompt_file}``, ``{task_id}``, ``{worktree}``,
    ``{branch}``, ``{log_file}`` and any task field (``{title}``, ``{category}`` ...). ``env`` is
    added to the supervisor's environment (values are templates too). ``timeout`` (seconds, None
    for none) stops the agent's whole process group.
    """

    argv: list[str]
    env: dict[str, str] = {}
    timeout: Annotated[float | None, pydantic.Field(gt=0)] = 3600.0
    concurrency: Annotated[int, pydantic.Field(ge=1)] = 1
    success: SuccessCheck = SuccessCheck()

    @pydantic.field_validator("argv")
    @classmethod
    def _argv(cls, value: list[str]) -> list[str]:
        if not value:
            raise ValueError("argv is empty: give the program and its arguments, e.g. ['claude', '-p', '{prompt}']")
        return value


class SupervisorConfig(_Model):
    """The whole configuration (see the README section "Supervising coding agents").

    ``repo`` is the git repository the agents work on; ``base`` the commit new branches start from;
    ``branch`` the branch name template; ``worktrees`` where worktrees go (default
    ``<repo>.worktrees``); ``keep_worktrees``: ``false`` removes a finished task's worktree,
    ``true`` keeps all, ``failed`` keeps those of failed attempts (branches always stay).
    ``logs`` is the log directory (default: the store's ``logs``); each log is capped at
    ``log_max_bytes`` with ``log_keep`` rotated files. ``auto_agent_type``: tasks with this
    agent type are routed by the learning router. ``grace_period``: seconds agents get on SIGTERM.
    """

    repo: Path
    agents: dict[str, AgentType]
    base: str = "HEAD"
    branch: str = "jotty/{task_id}"
    worktrees: Path | None = None
    keep_worktrees: bool | Literal["failed"] = False
    logs: Path | None = None
    log_max_bytes: int = 10 * 1024**2
    log_keep: Annotated[int, pydantic.Field(ge=0)] = 2
    log_tail_lines: Annotated[int, pydantic.Field(ge=0)] = 20
    auto_agent_type: str = "auto"
    routing: bool = True
    grace_period: Annotated[float, pydantic.Field(ge=0)] = 30.0
    lease_seconds: Annotated[float, pydantic.Field(gt=0)] = 60.0
    retry_backoff: Annotated[float, pydantic.Field(ge=0)] = 5.0
    filters: dict[str, Any] = {}

    @pydantic.field_validator("log_max_bytes", mode="before")
    @classmethod
    def _size(cls, value: Any) -> int:
        size = parse_size(value)
        if size < 1024:
            raise ValueError(f"log_max_bytes {value!r} is under 1KB: give at least 1KB (e.g. 10MB)")
        return size

    @pydantic.field_validator("agents")
    @classmethod
    def _agents(cls, value: dict[str, AgentType]) -> dict[str, AgentType]:
        if not value:
            raise ValueError(
                "no agent types: add at least one under agents:, e.g. claude: {argv: [claude, -p, '{prompt}']}"
            )
        return value

    @pydantic.model_validator(mode="after")
    def _templates(self) -> SupervisorConfig:
        if self.auto_agent_type in self.agents:
            raise ValueError(f"auto_agent_type {self.auto_agent_type!r} is also an agent type: rename one of them")
        _check_template("branch", self.branch, TEMPLATE_FIELDS)
        for name, agent in self.agents.items():
            for i, arg in enumerate(agent.argv):
                _check_template(f"agents.{name}.argv[{i}]", arg, TEMPLATE_FIELDS | RUN_FIELDS)
            for key, arg in agent.env.items():
                _check_template(f"agents.{name}.env.{key}", arg, TEMPLATE_FIELDS | RUN_FIELDS)
        return self

    def worktree_root(self) -> Path:
        """The directory that holds the task worktrees."""
        return self.worktrees or self.repo.parent / f"{self.repo.name}.worktrees"


def _check_template(where: str, source: str, known: frozenset[str]) -> None:
    template = Template.parse(source, where)
    unknown = [n for n in template.names if n not in known]
    if unknown:
        raise ValueError(
            f"{where} {source!r} names unknown field {{{unknown[0]}}}: use one of "
            + ", ".join("{" + n + "}" for n in sorted(known))
        )


def load_config(path: str | os.PathLike[str]) -> SupervisorConfig:
    """Read a YAML (or JSON) config file; relative paths in it are relative to the file."""
    file = Path(path)
    try:
        data = yaml.safe_load(file.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ValidationError(f"{file}: no such config file: check the path given to --config") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ValidationError(f"{file}: cannot read the config ({exc})") from None
    except yaml.YAMLError as exc:
        raise ValidationError(f"{file}: not valid YAML: {exc}") from None
    if not isinstance(data, dict):
        raise ValidationError(f"{file}: the config must be a mapping with repo: and agents: keys")
    base = file.resolve().parent
    for key in ("repo", "worktrees", "logs"):
        if isinstance(data.get(key), str):
            data[key] = str(base / os.path.expanduser(data[key]))
    return make_config(data, str(file))


def make_config(data: dict[str, Any] | SupervisorConfig, source: str = "config") -> SupervisorConfig:
    """A ``SupervisorConfig`` from a dict, with pydantic's errors turned into one clear message."""
    if isinstance(data, SupervisorConfig):
        return data
    try:
        return SupervisorConfig.model_validate(data)
    except pydantic.ValidationError as exc:
        first = exc.errors()[0]
        where = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in first["loc"]).lstrip(".")
        message = str(first["msg"]).removeprefix("Value error, ")
        if first["type"] == "extra_forbidden":
            message = "unknown key: check its spelling (see the README section on jotty supervise)"
        elif first["type"] == "missing":
            message = "missing: this key is required"
        more = f" (and {exc.error_count() - 1} more)" if exc.error_count() > 1 else ""
        raise ValidationError(f"{source}: {where + ': ' if where else ''}{message}{more}") from None
