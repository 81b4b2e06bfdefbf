"""What a validator reports, and the rules file the validators share."""

from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from pydantic import Field, model_validator

from clinic_env.content import load_yaml_model
from clinic_env.schema.base import Frozen

Severity = Literal["error", "warning"]

RULES_PATH = Path(__file__).with_name("rules.yaml")


@dataclass(frozen=True, slots=True)
class Issue:
    """One problem: where it is (a case id, or ``knowledge`` for the disease files), which
    check found it, and a message naming the field."""

    subject: str
    check: str
    where: str
    message: str
    severity: Severity = "error"

    def __str__(self) -> str:
        return f"{self.subject}: {self.severity} [{self.check}] {self.where}: {self.message}"


class AcceptedAliases(Frozen):
    """Aliases the alias checks would flag, accepted for one disease or one case, and why."""

    disease: str | None = None
    case: str | None = None
    aliases: tuple[str, ...] = Field(min_length=1)
    reason: str = Field(min_length=1)

    @model_validator(mode="after")
    def _one_subject(self) -> AcceptedAliases:
        if (self.disease is None) == (self.case is None):
            raise ValueError("name either a disease or a case")
        return self


class ResultException(Frozen):
    """A recorded result that rightly holds none of the knowledge base's supporting words."""

    case: str = Field(min_length=1)
    test: str = Field(min_length=1)
    reason: str = Field(min_length=1)


class UnitSystems(Frozen):
    """Regular expressions that mark a result as written in SI or in US conventional units."""

    si: tuple[str, ...] = Field(min_length=1)
    us: tuple[str, ...] = Field(min_length=1)


class ValidationRules(Frozen):
    """Schema of ``rules.yaml``."""

    categories: tuple[str, ...] = ()
    knowledge_only: tuple[str, ...] = ()
    accepted: tuple[AcceptedAliases, ...] = ()
    result_exceptions: tuple[ResultException, ...] = ()
    units: UnitSystems


@functools.cache
def validation_rules(path: Path = RULES_PATH) -> ValidationRules:
    """The rules file, validated once per process."""
    return load_yaml_model(path, ValidationRules)
