"""The HTML shell of every page: navigation, and a ``<main>`` whose ``data-*`` attributes tell the
script which page to draw from which ``/api/...`` JSON. Values in it are escaped."""

from __future__ import annotations

from html import escape

NAV = (
    ("runs", "/", "Runs"),
    ("insights", "/insights", "Insights"),
    ("queue", "/queue", "Queue"),
    ("learning", "/learning", "Learning"),
    ("memory", "/memory", "Memory"),
)


def shell(page: str, title: str, arg: str = "") -> str:
    """The page ``page`` (runs, run, insights, queue, task, learning, memory) for argument ``arg``."""
    current = {"run": "runs", "task": "queue"}.get(page, page)
    links = "".join(
        f'<a href="{href}" class="on">{label}</a>' if name == current else f'<a href="{href}">{label}</a>'
        for name, href, label in NAV
    )
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>{escape(title)} · Jotty</title>
<link rel="icon" href="data:,"><link rel="stylesheet" href="/static/dashboard.css"></head>
<body><header><a class="brand" href="/">Jotty</a><nav>{links}</nav></header>
<main id="app" data-page="{escape(page)}" data-arg="{escape(arg)}"><p class="muted">Loading…</p></main>
<script src="/static/charts.js"></script><script src="/static/dashboard.js"></script>
</body></html>"""
