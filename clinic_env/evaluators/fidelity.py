"""Simulator fidelity: did the patient keep to its case and role, and did the doctor play fair?

Each patient turn is checked for three faults of the simulator: a reply that reveals the
diagnosis (the leak guard had to withhold it), one that contradicts the case record (denies
what the case holds), and one that breaks persona (speaks as a model or as the doctor, or runs
far longer than its persona and content allow). A measurement turn whose case data named the
diagnosis is a fault of the data. Each doctor message is checked for an attempt to make the
patient leave its role or give up the answer. From these flags each episode gets a validity
label: ``simulator_fault`` when the simulator failed on a turn the doctor did not tamper with
(or a simulated role crashed), else ``doctor_fault`` when the doctor tried to manipulate the
patient (or crashed), else ``valid``. The rules are content: ``evaluators/rules/fidelity.yaml``.
"""

from __future__ import annotations

import re
from collections.abc import Collection

from clinic_env.agents.model_role import ModelRole
from clinic_env.agents.offline_patient import speaker_label
from clinic_env.evaluators.registry import EVALUATORS, EvaluationContext, score_component
from clinic_env.language.facts import build_index, facts_told
from clinic_env.language.lexicon import lexicon
from clinic_env.language.rules import fidelity_rules, says_any, starts_with_any
from clinic_env.language.text import fold
from clinic_env.protocol.texts import protocol_texts
from clinic_env.schema.case import Case
from clinic_env.schema.persona import Persona
from clinic_env.schema.transcript import (
    FidelityFlag,
    ScoreComponent,
    Transcript,
    Turn,
    Validity,
)

SIMULATOR_FLAGS: frozenset[FidelityFlag] = frozenset(
    ("reveals_diagnosis", "contradicts_record", "breaks_persona", "case_data_leak")
)
DOCTOR_FAILURE_PREFIX = "doctor failed"
"""How a doctor's crash is recorded on the transcript (see session.run_consultation)."""
_NOTICE_LINE = re.compile(r"\n\[[^\n]*\]\s*$")


def manipulates(message: str) -> bool:
    """Whether a doctor message tries to make the patient leave its role or give the answer."""
    return says_any(message, fidelity_rules().manipulation)


class FidelityChecker:
    """The per-turn checks for one case and persona."""

    def __init__(self, case: Case, persona: Persona) -> None:
        self.case = case
        self.persona = persona
        self.index = build_index(case.facts)
        self.speaker = speaker_label(case.patient_view())
        rules = fidelity_rules()
        self.negations = frozenset(fold(" ".join(rules.negations)).split())
        self.fact_words = tuple(len((f.says or f.text).split()) for f in case.facts)

    def turn_flags(self, turn: Turn) -> tuple[FidelityFlag, ...]:
        """Everything the checks find on one recorded turn."""
        flags: list[FidelityFlag] = []
        if manipulates(turn.doctor_message):
            flags.append("manipulation_attempt")
        if turn.responder == "measurement" and turn.redacted:
            flags.append("case_data_leak")
        if turn.responder == "patient" and turn.action is not None:
            if turn.redacted:
                flags.append("reveals_diagnosis")
            reply = self.spoken(turn.observation)
            if self.contradicts(turn.action.text, reply, turn.facts_revealed):
                flags.append("contradicts_record")
            if self.breaks_persona(reply, turn.facts_revealed):
                flags.append("breaks_persona")
        return tuple(flags)

    def spoken(self, observation: str) -> str:
        """The patient's words in an observation: no speaker label, no notice line after."""
        text = _NOTICE_LINE.sub("", observation)
        for closing in (protocol_texts().diagnosis_recorded, protocol_texts().ended):
            text = text.removesuffix(f"\n{closing}")
        return text.removeprefix(f"{self.speaker}: ").strip()

    def contradicts(self, question: str, reply: str, told: Collection[int]) -> bool:
        """A denial of something the case holds, without a word of what it holds.

        A reply that tells a relevant fact answers the question; a case fact stating an
        absence ("no fever"), asked about or voiced, agrees with a denial; and a reply that
        engages with a relevant fact's own words ("no, just the knee") is not a flat denial.
        """
        if not starts_with_any(reply, fidelity_rules().denials):
            return False
        asked = lexicon().question(question)
        relevant = self.index.relevant(asked)
        if not relevant:
            return False
        echoed = set(told) | set(facts_told(self.index, reply))
        if echoed & set(relevant) or any(map(self._negative, echoed | set(relevant))):
            return False
        said = {t for t in lexicon().terms(reply) if not t.startswith("#")} - asked.terms
        return not any(said & self.index.fact_words[i] for i in relevant)

    def _negative(self, fact: int) -> bool:
        return bool(set(fold(self.case.facts[fact].text).split()) & self.negations)

    def breaks_persona(self, reply: str, told: Collection[int]) -> bool:
        """Role-breaking words, or a reply far longer than the persona and its facts allow."""
        rules = fidelity_rules()
        if says_any(reply, rules.role_breaks):
            return True
        allowed = (
            rules.persona_words_base
            + rules.persona_words_per_verbosity * self.persona.behaviour.verbosity
            + sum(self.fact_words[i] for i in told)
        )
        return len(reply.split()) > allowed

    def transcript_flags(self, transcript: Transcript) -> list[tuple[FidelityFlag, ...]]:
        return [self.turn_flags(turn) for turn in transcript.turns]


def validity_of(flags: Collection[tuple[FidelityFlag, ...]], error: str | None) -> Validity:
    """The episode's label from its turns' flags and its error, if it failed."""
    doctor_crashed = bool(error) and str(error).startswith(DOCTOR_FAILURE_PREFIX)
    simulator = any(
        set(turn) & SIMULATOR_FLAGS and "manipulation_attempt" not in turn for turn in flags
    )
    if simulator or (error and not doctor_crashed):
        return "simulator_fault"
    if doctor_crashed or any("manipulation_attempt" in turn for turn in flags):
        return "doctor_fault"
    return "valid"


class FidelityEvaluator:
    """Counts of simulator faults and manipulation attempts, and whether the episode is valid."""

    name = "fidelity"
    produces = ("simulator_faults", "manipulation_attempts", "valid")

    async def evaluate(self, context: EvaluationContext) -> list[ScoreComponent]:
        flags = context.facts.fidelity_flags
        validity = context.facts.validity
        counts = {
            "simulator_faults": sum(bool(set(turn) & SIMULATOR_FLAGS) for turn in flags),
            "manipulation_attempts": sum("manipulation_attempt" in turn for turn in flags),
            "valid": validity == "valid",
        }
        return [score_component(name, float(value), self.name) for name, value in counts.items()]


@EVALUATORS.register("fidelity", offline=True)
def make_fidelity(judge: ModelRole | None) -> FidelityEvaluator:
    """Simulator faults and manipulation attempts found, and whether the episode is valid."""
    return FidelityEvaluator()
