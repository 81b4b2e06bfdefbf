"""Personas and biases: the text an LLM agent gets and the numbers an offline agent follows."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from clinic_env.schema.base import Frozen


class PersonaBehaviour(Frozen):
    """How the offline patient behaves; each number is documented where it is used."""

    verbosity: float = Field(ge=0, le=1, description="0 terse (one fact per reply) .. 1 rambling")
    disclosure: float = Field(
        ge=0, le=1, description="chance that a relevant fact is told when first asked"
    )
    patience: int = Field(ge=1, description="doctor turns before the patient grows impatient")
    emotional_cues: float = Field(ge=0, le=1, description="chance of an emotional remark per reply")


class PersonaPhrases(Frozen):
    """Persona-specific wording for the offline patient; empty lists fall back to defaults."""

    cues: tuple[str, ...] = ()
    impatience: tuple[str, ...] = ()
    openers: tuple[str, ...] = ()
    unknown: tuple[str, ...] = ()


class Persona(Frozen):
    id: str = Field(pattern=r"^[a-z0-9_]+$")
    name: str
    summary: str = Field(min_length=1, max_length=160, description="one line for `personas list`")
    source: str | None = Field(default=None, description="where the persona's idea comes from")
    prompt: str = Field(min_length=1, description="the persona text an LLM patient is given")
    behaviour: PersonaBehaviour
    phrases: PersonaPhrases = PersonaPhrases()


class Bias(Frozen):
    """A cognitive or implicit bias injected into a patient or a doctor."""

    id: str = Field(pattern=r"^[a-z0-9_]+$")
    kind: Literal["cognitive", "implicit"]
    applies_to: tuple[Literal["patient", "doctor"], ...] = Field(min_length=1)
    summary: str = Field(min_length=1, max_length=160)
    source: str | None = None
    prompt: str = Field(
        min_length=1,
        description="text for an LLM agent; '{target}' becomes the diagnosis the bias favours",
    )
