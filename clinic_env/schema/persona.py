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
TEST = "{test}"
"""Where a patient's request names the test that would confirm its belief."""
Shown = Literal["instructions", "brief"]
BeliefCue = Literal["ideas", "concerns", "expectations", "guess", "probe"]


class BiasTarget(Frozen):
    """Which wrong diagnosis a cognitive bias favours."""

    kind: Literal["drawn", "fixed", "wrong_option"] = Field(
        default="drawn",
        description="drawn: from the case's differential or options, seeded (the targeted "
        "variants); fixed: always `name` (AgentClinic's 'cancer'); wrong_option: a wrong MCQ "
        "option (BiasMedQA), drawn as 'drawn' on a case without options",
    )
    name: str | None = Field(default=None, description="the fixed target")

    @model_validator(mode="after")
    def _named_when_fixed(self) -> BiasTarget:
        if (self.kind == "fixed") != (self.name is not None):
            raise ValueError("a fixed target needs a name, and only a fixed target has one")
        return self


class BiasBehaviour(Frozen):
    """How a bias changes the offline patient (docs/biases.md describes each bias's model).

    Numbers add to the persona's and compose across biases, then are clipped. Lines may name
    the favoured diagnosis ('{target}') and, in requests, the test that would confirm it
    ('{test}')."""

    disclosure: float = Field(default=0.0, ge=-1, le=1, description="added to disclosure")
    withholds: dict[str, float] = Field(
        default_factory=dict,
        description="topic (a fact category or a sensitive topic of the lexicon) -> added to "
        "the chance of telling one of its facts, each time it is asked, while the patient is "
        "on guard",
    )
    rapport: float = Field(
        default=0.0,
        ge=0,
        le=1,
        description="share of the guard dropped by each doctor message that builds one of the "
        "`rapport_cues` (1: one such message restores full disclosure; 0: never)",
    )
    rapport_cues: tuple[str, ...] = Field(
        default=(), description="kinds of rapport (lexicon `rapport`) that ease this patient"
    )
    verbosity: float = Field(default=0.0, ge=-1, le=1, description="added to verbosity")
    patience: int = Field(default=0, description="added to patience (never below 1)")
    emotional_cues: float = Field(default=0.0, ge=-1, le=1, description="added to emotional_cues")
    says: tuple[str, ...] = Field(
        default=(), description="lines, one voiced once, on reply `voice_turn`"
    )
    voice_turn: int = Field(
        default=1,
        ge=1,
        description="the patient reply carrying the line, unless the doctor asks for the "
        "patient's own idea of the illness first",
    )
    belief: tuple[str, ...] = Field(
        default=(),
        description="lines restating the belief, said (in turn) whenever the doctor does what "
        "`belief_on` lists, until the patient yields",
    )
    belief_on: tuple[BeliefCue, ...] = Field(
        default=("ideas", "concerns", "expectations", "guess", "probe"),
        description="what brings the belief back: asking the patient's ideas, concerns or "
        "expectations, guessing at the illness, or asking the patient to name it",
    )
    pushback: tuple[str, ...] = Field(
        default=(), description="lines said when the doctor proposes a diagnosis or a plan"
    )
    yields_after: int = Field(
        default=0, ge=0, description="pushbacks before the patient accepts (0: never yields)"
    )
    concede: tuple[str, ...] = Field(default=(), description="lines said on yielding")
    requests: tuple[str, ...] = Field(
        default=(), description="lines asking for a test, referral or opinion"
    )
    request_turn: int = Field(
        default=0, ge=0, description="the reply carrying a request unasked (0: only with pushback)"
    )
    asks: tuple[str, ...] = Field(default=(), description="questions the patient asks back")
    asks_every: int = Field(
        default=0, ge=0, description="every n-th reply after the line carries one (0: never)"
    )

    @model_validator(mode="after")
    def _consistent(self) -> BiasBehaviour:
        if any(shift > 0 or shift < -1 for shift in self.withholds.values()):
            raise ValueError("withholds shifts lie between -1 and 0")
        if self.yields_after and not self.concede:
            raise ValueError("a patient that yields needs `concede` lines")
        if self.asks_every and not self.asks:
            raise ValueError("`asks_every` needs `asks` lines")
        if self.request_turn and not self.requests:
            raise ValueError("`request_turn` needs `requests` lines")
        if TEST in " ".join((*self.says, *self.belief, *self.pushback, *self.asks)):
            raise ValueError("only requests may name the {test}")
        return self

    def lines(self) -> tuple[str, ...]:
        return (*self.says, *self.belief, *self.pushback, *self.concede, *self.requests, *self.asks)


class BiasVariant(Frozen):
    """A variant of a bias kept apart for replication: the same texts and behaviour, another
    target and source (``agentclinic_recency`` is ``recency`` aimed at 'cancer')."""

    summary: str = Field(min_length=1, max_length=160)
    source: str = Field(min_length=1)
    target: BiasTarget


class Bias(Frozen):
    """A cognitive or implicit bias injected into a patient or a doctor."""

    id: str = Field(pattern=r"^[a-z0-9_]+$")
    kind: Literal["cognitive", "implicit"]
    applies_to: tuple[BiasRole, ...] = Field(min_length=1)
    summary: str = Field(min_length=1, max_length=160)
    source: str | None = None
    meaning: str | None = Field(
        default=None, description="what the source's bias means, in our words (docs table)"
    )
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
    shown_in: tuple[Shown, ...] = Field(
        default=("instructions",),
        description="where the doctor's text may be shown: a model doctor's instructions, and "
        "the brief every doctor reads first (the only place a doctor outside the simulator, a "
        "policy or a person, can meet it); a doctor bias not shown in the brief is refused for "
        "an outside doctor",
    )
    brief: str | None = Field(
        default=None, description="the doctor's text as the brief words it, where it differs"
    )
    target: BiasTarget = BiasTarget()
    variants: dict[str, BiasVariant] = Field(default_factory=dict)
    variant_of: str | None = Field(default=None, description="set on the variants a file makes")
    offline: BiasBehaviour = BiasBehaviour()

    @model_validator(mode="after")
    def _consistent(self) -> Bias:
        texts = [self.prompt, *self.prompts.values(), *self.offline.lines(), self.brief or ""]
        if self.kind == "cognitive" and not all(TARGET in self.text(r) for r in self.applies_to):
            raise ValueError("a cognitive bias must name its {target} in every role's prompt")
        if self.kind == "implicit" and any(TARGET in text for text in texts):
            raise ValueError("an implicit bias has no {target}")
        if self.kind == "implicit" and (self.target != BiasTarget() or self.variants):
            raise ValueError("an implicit bias has no target and no target variants")
        if set(self.prompts) - set(self.applies_to):
            raise ValueError("prompts may only be given for roles listed in applies_to")
        if self.placement == "case" and self.applies_to != ("doctor",):
            raise ValueError("placement 'case' is for biases that apply to the doctor alone")
        if self.placement == "case" and "brief" not in self.shown_in:
            raise ValueError("a bias placed in the case is shown in the brief")
        if self.placement == "instructions" and "instructions" not in self.shown_in:
            raise ValueError("a bias placed in the instructions is shown in them")
        if "brief" in self.shown_in and "doctor" not in self.applies_to:
            raise ValueError("only a doctor's text is shown in the brief")
        if self.brief is not None and "brief" not in self.shown_in:
            raise ValueError("a brief text needs 'brief' in shown_in")
        if "patient" not in self.applies_to and self.offline != BiasBehaviour():
            raise ValueError("offline behaviour is for biases that apply to the patient")
        return self

    def text(self, role: BiasRole, target: str | None = None) -> str:
        """The text for ``role``, with the favoured diagnosis filled in when given."""
        text = self.prompts.get(role, self.prompt).strip()
        return text.replace(TARGET, target) if target is not None else text

    def brief_text(self, target: str | None = None) -> str | None:
        """The doctor's text as the brief shows it; None where the brief may not show it."""
        if "brief" not in self.shown_in:
            return None
        text = (self.brief or self.text("doctor")).strip()
        return text.replace(TARGET, target) if target is not None else text

    def variant(self, variant_id: str) -> Bias:
        """The bias a variant names: this one's texts with the variant's target and source."""
        chosen = self.variants[variant_id]
        data = self.model_dump()
        data.update(
            id=variant_id,
            summary=chosen.summary,
            source=chosen.source,
            target=chosen.target.model_dump(),
            variants={},
            variant_of=self.id,
        )
        return Bias.model_validate(data)
