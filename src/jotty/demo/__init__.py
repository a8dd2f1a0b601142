"""``jotty demo``: the main job on the embedded store, no API key needed.

Act 1 analyses a git repository with a durable flow (command and function agents, a parallel
fan-out, a step that falls back); act 2 queues questions about the repository's directories and
lets concurrent workers answer them while the Conductor learns which agent answers which kind.
"""
