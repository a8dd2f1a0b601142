"""The ``jotty`` command: one typer app; each area registers its commands in its own module."""

from __future__ import annotations

import typer

from jotty.cli import data as data_cli
from jotty.cli.chat import chat
from jotty.cli.compare import compare
from jotty.cli.dashboard import dashboard
from jotty.cli.demo import demo
from jotty.cli.learning import learning_app
from jotty.cli.memory import memory_app
from jotty.cli.queue import queue_app
from jotty.cli.run import run
from jotty.cli.runs import runs_app
from jotty.cli.schema import schema
from jotty.cli.supervise import supervise_app
from jotty.cli.worker import worker

app = typer.Typer(
    name="jotty",
    help="Jotty: run multi-agent work, queue it durably, and learn which agent to use.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
app.add_typer(queue_app, name="queue")
app.command("worker")(worker)
app.command("run")(run)
app.add_typer(runs_app, name="runs")
app.add_typer(data_cli.data_app, name="data")
app.command("schema")(schema)
app.command("chat")(chat)
app.add_typer(learning_app, name="learning")
app.command("demo")(demo)
app.command("dashboard")(dashboard)
app.add_typer(memory_app, name="memory")
app.command("compare")(compare)
app.add_typer(supervise_app, name="supervise")


def main() -> None:
    """Console-script entry point."""
    app()
