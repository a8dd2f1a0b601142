"""The web dashboard (``jotty dashboard``, the ``jotty[dashboard]`` extra): runs, one run as a tree and
a timeline (live while it runs), insights across runs, the queue, learning and memory; read-only."""

from jotty.dashboard.app import create_app
from jotty.dashboard.reader import Reader, open_reader
from jotty.dashboard.security import TOKEN_ENV, resolve_token

__all__ = ["TOKEN_ENV", "Reader", "create_app", "open_reader", "resolve_token"]
