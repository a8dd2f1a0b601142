"""Test helpers shared by several test packages (a real OpenAI-compatible server, ...)."""
