"""Name -> factory registries with metadata, so configs and YAML can refer to agents by name.

A factory is registered with a decorator that carries what the engine needs to know about it
(``@DOCTORS.register("oracle", offline=True, privileged=True)``), never in a side set. Its
parameters after the ones the role passes (``view, persona, rng`` for a patient) are the
factory parameters a config may set (``{"agent": "systematic", "max_tests": 3}``), checked
against the factory's signature and annotations.

Third-party packages register through an entry-point group (``clinic_env.agents``,
``clinic_env.evaluators``): each entry point names a module whose import registers its
factories. The group is imported on the first lookup of a name not registered yet, so a Ray
worker, which imports clinic_env fresh, finds third-party agents as the driver does.
"""

from __future__ import annotations

import functools
import inspect
import threading
import typing
from collections.abc import Callable, Mapping
from dataclasses import dataclass, fields
from importlib import metadata
from typing import Any, Generic, TypeVar

from pydantic import ConfigDict, TypeAdapter, ValidationError

from clinic_env.errors import ConfigError, UnknownNameError

FactoryT = TypeVar("FactoryT", bound=Callable[..., object])
MetaT = TypeVar("MetaT")

_LOADING = threading.RLock()
_LOADED: dict[str, tuple[str, ...]] = {}
"""Entry-point groups imported in this process, with the entry points that failed to load."""


def load_entry_points(group: str) -> tuple[str, ...]:
    """Import every module the group's entry points name, once per process.

    Returns:
        One line per entry point that failed to import (its name, value and the error); a
        broken plugin never hides the others or the built-ins.
    """
    with _LOADING:
        if group in _LOADED:
            return _LOADED[group]
        _LOADED[group] = ()  # a plugin that looks a name up while importing does not recurse
        failures = []
        for point in metadata.entry_points(group=group):
            try:
                point.load()
            except Exception as exc:  # noqa: BLE001 - reported with the unknown name
                failures.append(f"{point.name} = {point.value}: {type(exc).__name__}: {exc}")
        _LOADED[group] = tuple(failures)
        return _LOADED[group]


def summary_of(factory: Callable[..., object]) -> str:
    """The first paragraph of the factory's docstring, on one line ("" without one)."""
    doc = inspect.getdoc(factory) or ""
    return " ".join(doc.split("\n\n")[0].split())


@dataclass(frozen=True, slots=True)
class Entry(Generic[FactoryT, MetaT]):
    """One registered factory: its name, metadata and one-line summary, for listings."""

    kind: str
    name: str
    factory: FactoryT
    meta: MetaT
    summary: str
    parameters: tuple[inspect.Parameter, ...]
    """The factory parameters a config may set (those after the ones the role passes)."""

    def describe(self) -> str:
        """One line for listings: the name, the metadata flags set, the factory parameters
        with their defaults, and the summary."""
        meta: Any = self.meta  # a dataclass (see Registry's ``meta``)
        flags = [f.name for f in fields(meta) if getattr(meta, f.name) is True]
        params = [
            p.name if p.default is p.empty else f"{p.name}={p.default!r}" for p in self.parameters
        ]
        parts = [
            self.name,
            f"[{', '.join(flags)}]" if flags else "",
            f"({', '.join(params)})" if params else "",
        ]
        head = " ".join(part for part in parts if part)
        return f"{head}: {self.summary}" if self.summary else head

    def bind(self, params: Mapping[str, Any]) -> dict[str, Any]:
        """``params`` checked against the factory's signature and annotations.

        Raises:
            ConfigError: one line naming the agent and the unknown, missing or invalid
                parameter.
        """
        known = {p.name: p for p in self.parameters if p.kind is not p.VAR_KEYWORD}
        where = f"{self.kind} {self.name!r}"
        missing = [n for n, p in known.items() if p.default is p.empty and n not in params]
        if missing:
            raise ConfigError(f"{where} needs the parameter {missing[0]!r}")
        if not params:
            return {}
        unknown = [name for name in params if name not in known]
        if unknown and len(known) == len(self.parameters):  # no **kwargs to take them
            takes = ", ".join(known) or "none"
            raise ConfigError(f"{where} has no parameter {unknown[0]!r} (parameters: {takes})")
        adapters = _adapters(self.factory, tuple(known))
        bound = {}
        for name, value in params.items():
            adapter = adapters.get(name)
            try:
                bound[name] = value if adapter is None else adapter.validate_python(value)
            except ValidationError as exc:
                problem = exc.errors()[0]["msg"]
                raise ConfigError(
                    f"{where}: parameter {name!r}: {problem} (got {value!r})"
                ) from None
        return bound


@functools.cache
def _adapters(
    factory: Callable[..., object], names: tuple[str, ...]
) -> dict[str, TypeAdapter[Any]]:
    """A validator per annotated parameter among ``names``, built once; none when the
    annotations cannot be resolved (then values are passed as given)."""
    target = factory.__init__ if inspect.isclass(factory) else factory  # type: ignore[misc]
    try:
        hints = typing.get_type_hints(target, include_extras=True)
    except Exception:  # noqa: BLE001 - an unresolvable annotation is not checked
        return {}
    config = ConfigDict(arbitrary_types_allowed=True)  # a class of the author's: isinstance
    return {name: TypeAdapter(hints[name], config=config) for name in names if name in hints}


class Registry(Generic[FactoryT, MetaT]):
    """A named collection of factories of one kind (patients, doctors, evaluators, ...).

    Args:
        kind: what the factories make, for messages ("doctor agent").
        meta: the metadata dataclass; ``register``'s keywords are its fields.
        group: the entry-point group third-party factories of this kind register through.
        passes: the names of the arguments the engine passes every factory, in order
            (``("view", "rng", "case")``); the factory's later parameters are for configs.
        supplied: keywords the engine also passes (a session option), never set by configs.
    """

    def __init__(
        self,
        kind: str,
        meta: Callable[..., MetaT],
        *,
        group: str,
        passes: tuple[str, ...],
        supplied: tuple[str, ...] = (),
    ) -> None:
        self.kind = kind
        self.group = group
        self._meta = meta
        self._passes = passes
        self._supplied = supplied
        self._entries: dict[str, Entry[FactoryT, MetaT]] = {}

    def register(self, name: str, **meta: Any) -> Callable[[FactoryT], FactoryT]:
        """Register the decorated factory as ``name`` with metadata ``meta``.

        Example:
            >>> @DOCTORS.register("cautious", offline=True)
            ... def make_cautious(view, rng, case, *, max_tests: int = 2):
            ...     '''The systematic doctor with fewer tests.'''
            ...     return SystematicDoctor(view, max_tests=max_tests)
        """
        try:
            info = self._meta(**meta)
        except TypeError as exc:
            raise ValueError(f"{self.kind} {name!r}: bad registration metadata: {exc}") from None

        def decorate(factory: FactoryT) -> FactoryT:
            if name in self._entries:
                raise ValueError(f"{self.kind} {name!r} is registered twice")
            parameters = self._parameters(name, factory)
            summary = summary_of(factory)
            self._entries[name] = Entry(self.kind, name, factory, info, summary, parameters)
            return factory

        return decorate

    def _parameters(self, name: str, factory: FactoryT) -> tuple[inspect.Parameter, ...]:
        """The parameters after those the engine passes; a factory that cannot take those is
        refused when it is registered, not when a consultation first builds it."""
        signature = inspect.signature(factory)
        positional = [
            p
            for p in signature.parameters.values()
            if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)
        ]
        takes_args = any(p.kind is p.VAR_POSITIONAL for p in signature.parameters.values())
        if len(positional) < len(self._passes) and not takes_args:
            raise ValueError(
                f"{self.kind} {name!r}: its factory must take ({', '.join(self._passes)})"
            )
        rest = list(signature.parameters.values())[len(self._passes) :]
        return tuple(
            p for p in rest if p.kind is not p.VAR_POSITIONAL and p.name not in self._supplied
        )

    def entry(self, name: str) -> Entry[FactoryT, MetaT]:
        """The registration of ``name``, importing the entry-point group first if needed."""
        found = self._entries.get(name)
        if found is not None:
            return found
        failures = load_entry_points(self.group)
        found = self._entries.get(name)
        if found is not None:
            return found
        known = ", ".join(sorted(self._entries)) or "none"
        broken = "".join(f"; plugin failed: {failure}" for failure in failures)
        raise UnknownNameError(f"unknown {self.kind} {name!r} (known: {known}){broken}")

    def get(self, name: str) -> FactoryT:
        """The factory registered as ``name``."""
        return self.entry(name).factory

    def entries(self) -> list[Entry[FactoryT, MetaT]]:
        """Every registration, third-party ones included, sorted by name (for listings)."""
        load_entry_points(self.group)
        return [self._entries[name] for name in sorted(self._entries)]

    def names(self) -> list[str]:
        return [entry.name for entry in self.entries()]

    def __contains__(self, name: object) -> bool:
        if not isinstance(name, str):
            return False
        if name not in self._entries:
            load_entry_points(self.group)
        return name in self._entries
