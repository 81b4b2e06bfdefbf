"""Name -> factory registries, so configs and YAML can refer to agents by name."""

from __future__ import annotations

from collections.abc import Callable
from typing import Generic, TypeVar

from clinic_env.errors import UnknownNameError

FactoryT = TypeVar("FactoryT", bound=Callable[..., object])


class Registry(Generic[FactoryT]):
    """A named collection of factories of one kind (patients, doctors, ...)."""

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self._factories: dict[str, FactoryT] = {}

    def register(self, name: str) -> Callable[[FactoryT], FactoryT]:
        def decorate(factory: FactoryT) -> FactoryT:
            if name in self._factories:
                raise ValueError(f"{self.kind} {name!r} is registered twice")
            self._factories[name] = factory
            return factory

        return decorate

    def get(self, name: str) -> FactoryT:
        try:
            return self._factories[name]
        except KeyError:
            known = ", ".join(sorted(self._factories)) or "none"
            raise UnknownNameError(f"unknown {self.kind} {name!r} (known: {known})") from None

    def names(self) -> list[str]:
        return sorted(self._factories)

    def __contains__(self, name: object) -> bool:
        return name in self._factories
