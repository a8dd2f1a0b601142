"""Act 1: a durable flow that analyses a git repository.

``inventory`` (git ls-files) feeds a parallel fan-out: languages, history hotspots (git log), open
TODOs, and the code size from ``cloc`` with a fallback to counting lines when cloc is missing. A
last step writes a markdown report.
"""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path
from typing import Any

from jotty.agents import CommandAgent, FunctionAgent
from jotty.patterns import Chain, Fallback, Parallel, Retry, Step
from jotty.wording import plural

TODO = re.compile(r"\b(TODO|FIXME|XXX)\b")
TEXT_SUFFIXES = {".py", ".md", ".sh", ".sql", ".toml", ".yaml", ".yml", ".txt", ".cfg", ".json", ".js", ".ts", ""}


def files_of(listing: str) -> list[str]:
    """The paths of a ``git ls-files`` listing."""
    return [line for line in listing.splitlines() if line.strip()]


def read_text(repo: Path, name: str) -> str | None:
    path = repo / name
    if path.suffix not in TEXT_SUFFIXES or not path.is_file():
        return None
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return None


def languages(repo: Path, listing: str) -> dict[str, Any]:
    """Files and lines per file type."""
    files: Counter[str] = Counter()
    lines: Counter[str] = Counter()
    for name in files_of(listing):
        kind = Path(name).suffix or "(none)"
        files[kind] += 1
        text = read_text(repo, name)
        if text is not None:
            lines[kind] += text.count("\n")
    return {"files": len(files_of(listing)), "by_type": [[k, files[k], lines[k]] for k, _ in files.most_common(6)]}


def hotspots(log: str) -> dict[str, Any]:
    """Commits, authors and the most changed files from ``git log --numstat``."""
    churn: Counter[str] = Counter()
    authors: Counter[str] = Counter()
    commits = 0
    for line in log.splitlines():
        if line.startswith("@"):
            commits += 1
            authors[line[1:]] += 1
            continue
        parts = line.split("\t")
        if len(parts) == 3 and parts[0].isdigit() and parts[1].isdigit():
            churn[parts[2]] += int(parts[0]) + int(parts[1])
    return {"commits": commits, "authors": len(authors), "hot": churn.most_common(5)}


def todos(repo: Path, listing: str) -> dict[str, Any]:
    """Open TODO/FIXME/XXX markers per file."""
    found: Counter[str] = Counter()
    for name in files_of(listing):
        text = read_text(repo, name)
        if text is not None:
            count = len(TODO.findall(text))
            if count:
                found[name] = count
    return {"total": sum(found.values()), "top": found.most_common(5)}


def count_lines(repo: Path, listing: str) -> dict[str, Any]:
    """Code size without cloc: non-blank lines of the text files."""
    total = 0
    for name in files_of(listing):
        text = read_text(repo, name)
        if text is not None:
            total += sum(1 for line in text.splitlines() if line.strip())
    return {"tool": "line count (fallback)", "code_lines": total}


def normalise_size(report: dict[str, Any]) -> dict[str, Any]:
    """The size step's output in one shape, whether cloc or the fallback produced it."""
    if "tool" in report:
        return report
    return {"tool": "cloc", "code_lines": int(report.get("SUM", {}).get("code", 0))}


def write_report(repo: Path, target: Path, results: list[Any]) -> str:
    """Write the markdown report; returns its path."""
    langs, history, marks, size = results
    lines = [f"# Repository report: {repo.name}", ""]
    if langs:
        lines += [f"{plural(langs['files'], 'tracked file')}.", "", "| type | files | lines |", "|---|---:|---:|"]
        lines += [f"| {kind} | {n} | {lines_} |" for kind, n, lines_ in langs["by_type"]]
    if history:
        said = f"{plural(history['commits'], 'commit')} by {plural(history['authors'], 'author')}"
        lines += ["", f"{said}. Most changed:", ""]
        lines += [f"- `{name}`: {plural(n, 'line')} changed" for name, n in history["hot"]]
    if marks:
        lines += ["", f"{plural(marks['total'], 'open TODO/FIXME marker')}."]
    if size:
        lines += ["", f"Code size: {plural(size['code_lines'], 'line')} ({size['tool']})."]
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text("\n".join(lines) + "\n")
    return str(target)


def analysis_flow(repo: Path, report: Path) -> Chain:
    """The act-1 flow for ``repo``, writing ``report``."""
    log = CommandAgent(["git", "log", "--numstat", "--format=@%an", "-n", "500"], cwd=repo, name="git-log")
    cloc = CommandAgent(["cloc", "--json", "--quiet", "--vcs=git"], cwd=repo, output="json", name="cloc")
    size = Chain(
        [
            Step(
                cloc,
                name="cloc",
                on_error=Fallback(FunctionAgent(lambda listing: count_lines(repo, listing), name="count-lines")),
            ),
            Step(FunctionAgent(normalise_size, name="normalise"), name="normalise"),
        ],
        name="size",
    )
    fan_out = Parallel(
        [
            FunctionAgent(lambda listing: languages(repo, listing), name="languages"),
            Chain([Step(log, name="log"), Step(FunctionAgent(hotspots), name="hotspots")], name="history"),
            FunctionAgent(lambda listing: todos(repo, listing), name="todos"),
            size,
        ],
        max_concurrency=4,
        min_success=3,
        name="analyze",
    )
    return Chain(
        [
            Step(
                CommandAgent(["git", "ls-files"], cwd=repo, name="git-ls-files"),
                name="inventory",
                on_error=Retry(2, backoff=0.1),
            ),
            Step(fan_out, name="analyze"),
            Step(FunctionAgent(lambda results: write_report(repo, report, results), name="write"), name="report"),
        ],
        name="repo-analysis",
    )
