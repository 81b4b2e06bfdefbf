"""Personas and biases: the text an LLM agent gets and the numbers an offline agent follows."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

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


BiasRole = Literal["patient", "doctor"]
TARGET = "{target}"
"""Where a cognitive bias's text names the (wrong) diagnosis it favours."""


class BiasBehaviour(Frozen):
    """How a bias changes the offline patient: shifts added to the persona's numbers, and a
    line it voices once. Shifts compose: several biases add up, then the result is clipped."""

    disclosure: float = Field(default=0.0, ge=-1, le=1, description="added to disclosure")
    patience: int = Field(default=0, description="added to patience (never below 1)")
    emotional_cues: float = Field(default=0.0, ge=-1, le=1, description="added to emotional_cues")
    says: tuple[str, ...] = Field(
        default=(), description="lines, one voiced once; '{target}' becomes the favoured diagnosis"
    )
    voice_turn: int = Field(
        default=1,
        ge=1,
        description="the patient reply carrying the line, unless the doctor asks for the "
        "patient's own idea of the illness first",
    )


class Bias(Frozen):
    """A cognitive or implicit bias injected into a patient or a doctor."""

    id: str = Field(pattern=r"^[a-z0-9_]+$")
    kind: Literal["cognitive", "implicit"]
    applies_to: tuple[BiasRole, ...] = Field(min_length=1)
    summary: str = Field(min_length=1, max_length=160)
    source: str | None = None
    prompt: str = Field(
        min_length=1,
        description="text for an LLM agent; '{target}' becomes the diagnosis the bias favours",
    )
    prompts: dict[BiasRole, str] = Field(
        default_factory=dict, description="a role's own text, where it differs from `prompt`"
    )
    placement: Literal["instructions", "case"] = Field(
        default="instructions",
        description="instructions: the agent's system prompt (and the offline patient's "
        "behaviour); case: a sentence added to the case as the doctor first reads it, so it "
        "reaches every doctor, model or not",
    )
    offline: BiasBehaviour = BiasBehaviour()

    @model_validator(mode="after")
    def _consistent(self) -> Bias:
        texts = [self.prompt, *self.prompts.values(), *self.offline.says]
        if self.kind == "cognitive" and not all(TARGET in self.text(r) for r in self.applies_to):
            raise ValueError("a cognitive bias must name its {target} in every role's prompt")
        if self.kind == "implicit" and any(TARGET in text for text in texts):
            raise ValueError("an implicit bias has no {target}")
        if set(self.prompts) - set(self.applies_to):
            raise ValueError("prompts may only be given for roles listed in applies_to")
        if self.placement == "case" and self.applies_to != ("doctor",):
            raise ValueError("placement 'case' is for biases that apply to the doctor alone")
        if "patient" not in self.applies_to and self.offline != BiasBehaviour():
            raise ValueError("offline behaviour is for biases that apply to the patient")
        return self

    def text(self, role: BiasRole, target: str | None = None) -> str:
        """The text for ``role``, with the favoured diagnosis filled in when given."""
        text = self.prompts.get(role, self.prompt).strip()
        return text.replace(TARGET, target) if target is not None else text
