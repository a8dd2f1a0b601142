"""Memory in every run: what a Conductor run (or a Team's member) recalls before it starts and
remembers after it ends, written behind the run (``use``: ``RunMemory``, ``MemoryReport``;
``writer``: ``MemoryWriter``). It imports ``jotty.memory`` only when memory is turned on."""

from jotty.runmemory.use import MemoryReport, Recall, RunMemory, resolve_memory, run_memory
from jotty.runmemory.writer import MemoryWriter, Remembered

__all__ = ["MemoryReport", "MemoryWriter", "Recall", "Remembered", "RunMemory", "resolve_memory", "run_memory"]
