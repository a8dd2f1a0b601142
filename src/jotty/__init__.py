"""Jotty: a multi-agent runtime with a learning Conductor and a durable task queue."""

__version__ = "0.1.0"
