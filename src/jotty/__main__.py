"""``python -m jotty``: the ``jotty`` command."""

from jotty.cli.main import app

if __name__ == "__main__":
    app(prog_name="jotty")
