"""Skills for level L2: a registry of named instructions (and tools) loaded only when chosen."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from jotty.errors import NotFoundError, ValidationError


@dataclass(frozen=True)
class Skill:
    """A skill: a name, a one-line description (what a window holds until it is chosen), the
    instructions (what a chosen skill adds) and the tools it brings. ``category`` scopes it (L3)."""

    name: str
    description: str
    instructions: str
    tools: tuple[Callable[..., Any], ...] = ()
    category: str | None = None

    def __post_init__(self) -> None:
        for label in ("name", "description", "instructions"):
            value = getattr(self, label)
            if not isinstance(value, str) or not value.strip():
                raise ValidationError(f"Skill {self.name!r}: {label} must be a non-empty string, got {value!r}")


class SkillRegistry:
    """The skills a flow may use; ``tool()`` lets an LLM agent load one itself (``load_skill``)."""

    def __init__(self, skills: Iterable[Skill] = ()) -> None:
        self._skills: dict[str, Skill] = {}
        for skill in skills:
            self.add(skill)

    def add(self, skill: Skill) -> Skill:
        """Register ``skill`` (a name once only)."""
        if not isinstance(skill, Skill):
            raise ValidationError(f"SkillRegistry.add takes a Skill, got {type(skill).__name__}")
        if skill.name in self._skills:
            raise ValidationError(f"a skill named {skill.name!r} is registered already")
        self._skills[skill.name] = skill
        return skill

    def register(
        self,
        name: str,
        description: str,
        instructions: str,
        tools: Sequence[Callable[..., Any]] = (),
        category: str | None = None,
    ) -> Skill:
        return self.add(Skill(name, description, instructions, tuple(tools), category))

    def get(self, name: str) -> Skill:
        skill = self._skills.get(name)
        if skill is None:
            raise NotFoundError(f"no skill named {name!r}; skills: {', '.join(self._skills) or 'none'}")
        return skill

    def __iter__(self) -> Any:
        return iter(self._skills.values())

    def __len__(self) -> int:
        return len(self._skills)

    def descriptions(self) -> list[dict[str, str]]:
        """What a window holds before any skill is chosen."""
        return [{"name": s.name, "description": s.description} for s in self._skills.values()]

    def tool(self) -> Callable[[str], str]:
        """A ``load_skill(name)`` function to give an ``LLMAgent`` as a tool."""

        def load_skill(name: str) -> str:
            """Load the instructions of the skill called ``name``."""
            return self.get(name).instructions

        return load_skill
