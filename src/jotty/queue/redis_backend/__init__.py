"""The Redis queue backend (the ``jotty[redis]`` extra): ``RedisTaskQueue`` and its Lua scripts."""

from jotty.queue.redis_backend.queue import RedisTaskQueue, parse_url

__all__ = ["RedisTaskQueue", "parse_url"]
