"""Act 2: questions about the repository's directories, queued and answered by concurrent workers.

Three kinds of question (``want``): the API of a code directory, the tests of a test directory,
what is in a directory without code. Three agents, each able to answer one kind: an outline from
Python's ``ast``, a census of test functions by ``git grep`` (a command), and a file census. The
Conductor starts knowing nothing; over three rounds it learns which agent answers which kind.
"""

from __future__ import annotations

import ast
import subprocess
from collections import Counter
from pathlib import Path
from typing import Any

from jotty.agents import CommandAgent, FunctionAgent, RunContext
from jotty.orchestration import AgentConfig

QUESTIONS = {
    "code": "outline the API of {path}",
    "tests": "count the tests in {path}",
    "files": "list what is in {path}",
}


def tracked(repo: Path, path: str) -> list[str]:
    """Files git tracks under ``path``."""
    done = subprocess.run(["git", "ls-files", "--", path], cwd=repo, check=True, capture_output=True, text=True)
    return [line for line in done.stdout.splitlines() if line]


def directories(repo: Path) -> dict[str, list[str]]:
    """Directories by the kind of question that fits them (at most three of each)."""
    by_dir: dict[str, list[str]] = {}
    for name in tracked(repo, "."):
        if "/" in name:
            by_dir.setdefault(str(Path(name).parent), []).append(Path(name).name)
    found: dict[str, list[str]] = {kind: [] for kind in QUESTIONS}
    for directory, names in sorted(by_dir.items()):
        python = [n for n in names if n.endswith(".py") and n != "__init__.py"]
        tests = [n for n in python if n.startswith("test_")]
        kind = "tests" if tests else "code" if python else "files"
        if len(found[kind]) < 3:
            found[kind].append(directory)
    return found


def questions(repo: Path) -> list[tuple[str, dict[str, Any]]]:
    """One round of questions: (goal, context) pairs."""
    out = []
    for kind, paths in directories(repo).items():
        for path in paths:
            context = {"category": kind, "want": kind, "path": path, "repo": str(repo)}
            out.append((QUESTIONS[kind].format(path=path), context))
    return out


def _check_kind(ctx: RunContext | None, kind: str) -> Path:
    data = ctx.data if ctx is not None else {}
    if data.get("want") != kind:
        raise ValueError(f"this agent answers '{kind}' questions, not '{data.get('want')}'")
    return Path(str(data["repo"]))


def outline(goal: str, ctx: RunContext) -> dict[str, Any]:
    """Classes and functions of the non-test Python modules of ``ctx.data['path']``."""
    repo = _check_kind(ctx, "code")
    definitions = []
    for name in tracked(repo, str(ctx.data["path"])):
        if name.endswith(".py") and not Path(name).name.startswith("test_"):
            tree = ast.parse((repo / name).read_text(encoding="utf-8"))
            definitions += [
                f"{Path(name).stem}.{node.name}"
                for node in tree.body
                if isinstance(node, ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef)
                and not node.name.startswith("_")
            ]
    if not definitions:
        raise ValueError(f"no public definitions in {ctx.data['path']}")
    return {"kind": "code", "definitions": len(definitions), "sample": definitions[:5]}


def file_census(goal: str, ctx: RunContext) -> dict[str, Any]:
    """Files by type under ``ctx.data['path']``."""
    repo = _check_kind(ctx, "files")
    kinds = Counter(Path(name).suffix or "(none)" for name in tracked(repo, str(ctx.data["path"])))
    return {"kind": "files", "files": sum(kinds.values()), "by_type": dict(kinds.most_common())}


def actors(repo: Path) -> list[AgentConfig]:
    """The three agents, each with a validator that accepts only a real answer."""
    grep = CommandAgent(
        ["git", "grep", "-c", "-E", r"^\s*(async )?def test_", "--", "{path}"], cwd=repo, name="test-census"
    )
    return [
        AgentConfig(
            "outline",
            FunctionAgent(outline, name="outline", thread=False),
            "lists the public API of Python modules (ast)",
            validator=lambda out: isinstance(out, dict) and out.get("kind") == "code",
        ),
        AgentConfig(
            "test-census",
            grep,
            "counts test functions per file (git grep)",
            validator=lambda out: (isinstance(out, str) and ":" in out, "no test functions were found"),
        ),
        AgentConfig(
            "file-census",
            FunctionAgent(file_census, name="file-census", thread=False),
            "counts files by type",
            validator=lambda out: isinstance(out, dict) and out.get("kind") == "files",
        ),
    ]
