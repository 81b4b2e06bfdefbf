"""The base every boundary model shares, and the text hygiene every boundary applies.

A :class:`Frozen` model is immutable, rejects unknown keys and holds only finite numbers:
JSON has no way to write ``inf`` or ``nan`` (they would come out as ``null`` and be refused
on reading), so they are refused where they enter, in every float field.

Text must be writable as UTF-8, and a lone surrogate (``"\\ud800"``, which JSON escapes and
broken model servers produce) is not. Checking every string of every model costs reading a
large run several times over, so text is made valid where it enters instead (model replies,
messages, content and case files, the page's input: :func:`valid_text`, :func:`valid_texts`)
and, as the last line, where it is stored.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable
from typing import Any, TypeVar

from pydantic import BaseModel, ConfigDict

_URL_CREDENTIALS = re.compile(r"(?i)\b([a-z][a-z0-9+.-]*://)[^\s/@\"'\\<>]+@")


def valid_text(text: str) -> str:
    """``text`` with every lone surrogate replaced by U+FFFD (the rest is left as it is)."""
    if text.isascii():
        return text
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return text.encode("utf-16", "surrogatepass").decode("utf-16", "replace")
    return text


def valid_texts(value: Any) -> Any:
    """``value`` (parsed JSON or YAML: dicts, lists, tuples, strings) with its text made valid
    by :func:`valid_text`; unchanged parts are returned as they are."""
    if isinstance(value, str):
        return valid_text(value)
    if isinstance(value, dict):
        items = [(valid_texts(key), valid_texts(item)) for key, item in value.items()]
        pairs = zip(items, value.items(), strict=True)
        changed = any(k is not k0 or v is not v0 for (k, v), (k0, v0) in pairs)
        return dict(items) if changed else value
    if isinstance(value, list | tuple):
        checked = [valid_texts(item) for item in value]
        if any(new is not old for new, old in zip(checked, value, strict=True)):
            return checked if isinstance(value, list) else tuple(checked)
    return value


def strip_url_credentials(text: str) -> str:
    """``text`` with the ``user:password@`` part of every URL in it removed."""
    return _URL_CREDENTIALS.sub(r"\1", text) if "@" in text else text


ModelT = TypeVar("ModelT", bound=BaseModel)


@functools.cache
def _field_defaults(
    model: type[BaseModel],
) -> tuple[dict[str, Any], tuple[tuple[str, Callable[[], Any]], ...]]:
    """Every field with its default, in the model's order (a default factory's field holds a
    placeholder), and the factories to call for fields a caller leaves out."""
    defaults: dict[str, Any] = {}
    factories: list[tuple[str, Callable[[], Any]]] = []
    for name, info in model.model_fields.items():
        defaults[name] = info.default
        if info.default_factory is not None:
            factories.append((name, info.default_factory))  # type: ignore[arg-type]
    return defaults, tuple(factories)


def trusted(model: type[ModelT], **values: Any) -> ModelT:
    """An instance of ``model`` from values this program computed itself, which are valid by
    construction (a turn the session records, a view of a validated case): built without
    validating again, and cheaper than pydantic's ``model_construct``, since it runs on every
    step. Never use it for data that comes from outside (files, JSON, callers)."""
    return trusted_fields(model, values)


def trusted_fields(model: type[ModelT], values: dict[str, Any]) -> ModelT:
    """:func:`trusted` from a dict of field values, which the instance takes over when it
    names every field (a turn record, built on every step, does)."""
    defaults, factories = _field_defaults(model)
    if len(values) == len(defaults) and values.keys() == defaults.keys():
        fields = values
    else:
        fields = {**defaults, **values}
        if len(fields) != len(defaults):
            unknown = ", ".join(sorted(set(values) - set(defaults)))
            raise TypeError(f"{model.__name__} has no field(s) {unknown}")
        for name, factory in factories:
            if name not in values:
                fields[name] = factory()
    instance = _new_object(model)
    _set_attribute(instance, "__dict__", fields)
    _set_attribute(instance, "__pydantic_fields_set__", set(values))
    _set_attribute(instance, "__pydantic_extra__", None)
    _set_attribute(instance, "__pydantic_private__", None)
    return instance


_new_object = object.__new__
_set_attribute = object.__setattr__
"""Bound once: :func:`trusted` runs a few times a step and frozen models refuse setattr."""


class Frozen(BaseModel):
    """Immutable data with unknown keys rejected, so a typo in a content file is an error,
    and only finite numbers."""

    model_config = ConfigDict(
        frozen=True,
        extra="forbid",
        allow_inf_nan=False,
        ser_json_inf_nan="constants",  # a value that skipped validation shows, never as null
    )
