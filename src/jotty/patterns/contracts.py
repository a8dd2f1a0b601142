"""Input and output contracts of a step: a type, a pydantic model, a typing form, or a predicate.

A broken contract is a step failure, handled by the step's error strategy. A pydantic model (or a
typing form such as ``list[int]``) also converts: the step gets, or passes on, the validated value.
"""

from __future__ import annotations

import types
import typing
from collections.abc import Callable
from typing import Any

import pydantic

from jotty.errors import ValidationError

Contract = type | Callable[[Any], Any] | Any
"""A class (``isinstance``), a pydantic model or typing form (validated and converted), or a
predicate ``fn(value)`` that returns ``False`` or raises to reject."""

Checker = Callable[[Any], tuple[Any, str | None]]
"""A compiled contract: ``value -> (value, None)`` when it holds, ``(value, reason)`` when not."""


def compile_contract(contract: Contract, where: str) -> Checker:
    """Turn a contract into a checker; ``ValidationError`` naming ``where`` when it is not one."""
    if isinstance(contract, type) and issubclass(contract, pydantic.BaseModel):
        return _model_checker(contract)
    if isinstance(contract, type) and not isinstance(contract, types.GenericAlias):
        return _class_checker(contract)
    if typing.get_origin(contract) is not None or isinstance(contract, types.UnionType):
        return _adapter_checker(contract)
    if callable(contract):
        return _predicate_checker(contract)
    raise ValidationError(
        f"{where}: {contract!r} is not a contract; give a class, a pydantic model, a typing form "
        "such as list[str], or a function that returns False for a bad value"
    )


def _short(exc: pydantic.ValidationError) -> str:
    return "; ".join(f"{'.'.join(str(p) for p in err['loc']) or 'value'}: {err['msg']}" for err in exc.errors()[:3])


def _model_checker(model: type[pydantic.BaseModel]) -> Checker:
    def check(value: Any) -> tuple[Any, str | None]:
        try:
            return model.model_validate(value), None
        except pydantic.ValidationError as exc:
            return value, f"does not match {model.__name__} ({_short(exc)})"

    return check


def _class_checker(cls: type) -> Checker:
    def check(value: Any) -> tuple[Any, str | None]:
        if isinstance(value, cls):
            return value, None
        return value, f"should be {cls.__name__}, got {type(value).__name__}"

    return check


def _adapter_checker(form: Any) -> Checker:
    adapter: pydantic.TypeAdapter[Any] = pydantic.TypeAdapter(form)

    def check(value: Any) -> tuple[Any, str | None]:
        try:
            return adapter.validate_python(value), None
        except pydantic.ValidationError as exc:
            return value, f"does not match {form} ({_short(exc)})"

    return check


def _predicate_checker(predicate: Callable[[Any], Any]) -> Checker:
    label = getattr(predicate, "__name__", repr(predicate))

    def check(value: Any) -> tuple[Any, str | None]:
        try:
            verdict = predicate(value)
        except Exception as exc:
            return value, f"failed the check {label} ({type(exc).__name__}: {exc})"
        if verdict is False:
            return value, f"failed the check {label}"
        return value, None

    return check
