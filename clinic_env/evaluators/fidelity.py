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

import functools
from collections.abc import Collection, Mapping

from clinic_env.agents.model_role import ModelRole
from clinic_env.agents.offline_patient import speaker_label
from clinic_env.evaluators.registry import EVALUATORS, EvaluationContext, score_component
from clinic_env.language.facts import build_index, facts_told
from clinic_env.language.lexicon import lexicon
from clinic_env.language.rules import fidelity_rules, opening_finder, phrase_finder
from clinic_env.language.text import fold
from clinic_env.protocol.texts import protocol_texts
from clinic_env.schema.action import Action
from clinic_env.schema.case import Case
from clinic_env.schema.persona import Persona
from clinic_env.schema.transcript import (
    FidelityFlag,
    Responder,
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


@functools.cache
def _manipulation() -> Mapping[str, bool]:
    return phrase_finder(fidelity_rules().manipulation)


def manipulates(message: str) -> bool:
    """Whether a doctor message tries to make the patient leave its role or give the answer."""
    return _manipulation()[message]


class FidelityChecker:
    """The per-turn checks for one case and persona, with what they need of both worked out
    once: the checks run on every turn."""

    def __init__(self, case: Case, persona: Persona) -> None:
        self.case = case
        self.persona = persona
        self.index = build_index(case.facts)
        self.speaker = speaker_label(case.patient_view())
        rules = fidelity_rules()
        self._denial = opening_finder(rules.denials)
        self._role_break = phrase_finder(rules.role_breaks)
        negations = frozenset(fold(" ".join(rules.negations)).split())
        self.negative = frozenset(
            i for i, fact in enumerate(case.facts) if negations & set(fold(fact.text).split())
        )
        """The facts stating an absence ("no fever"), which agree with a denial."""
        self.fact_words = tuple(len((f.says or f.text).split()) for f in case.facts)
        self.persona_words = (
            rules.persona_words_base
            + rules.persona_words_per_verbosity * persona.behaviour.verbosity
        )
        """The words a reply of this persona may run to before the facts it tells."""
        texts = protocol_texts()
        self._closings = tuple(f"\n{text}" for text in (texts.diagnosis_recorded, texts.ended))
        self._label = f"{self.speaker}: "

    def turn_flags(self, turn: Turn) -> tuple[FidelityFlag, ...]:
        """Everything the checks find on one recorded turn."""
        return self.flags(
            turn.doctor_message,
            turn.responder,
            turn.action,
            turn.observation,
            redacted=turn.redacted,
            told=turn.facts_revealed,
        )

    def flags(
        self,
        message: str,
        responder: Responder,
        action: Action | None,
        observation: str,
        *,
        redacted: bool,
        told: Collection[int],
    ) -> tuple[FidelityFlag, ...]:
        """Everything the checks find on one turn, from the fields its record will hold: the
        session flags a turn before it builds the record, which is then built once."""
        flags: list[FidelityFlag] = []
        if manipulates(message):
            flags.append("manipulation_attempt")
        if responder == "measurement" and redacted:
            flags.append("case_data_leak")
        if responder == "patient" and action is not None:
            if redacted:
                flags.append("reveals_diagnosis")
            reply = self.spoken(observation)
            if self.contradicts(action.text, reply, told):
                flags.append("contradicts_record")
            if self.breaks_persona(reply, told):
                flags.append("breaks_persona")
        return tuple(flags)

    def spoken(self, observation: str) -> str:
        """The patient's words in an observation: no speaker label, no notice line after."""
        text = observation
        head, newline, last = observation.rstrip().rpartition("\n")
        if newline and last.startswith("[") and last.endswith("]"):
            text = head  # a last line in brackets (the turn notice), whitespace after it too
        for closing in self._closings:
            text = text.removesuffix(closing)
        return text.removeprefix(self._label).strip()

    def contradicts(self, question: str, reply: str, told: Collection[int]) -> bool:
        """A denial of something the case holds, without a word of what it holds.

        A reply that tells a relevant fact answers the question; a case fact stating an
        absence ("no fever"), asked about or voiced, agrees with a denial; and a reply that
        engages with a relevant fact's own words ("no, just the knee") is not a flat denial.
        What the turn recorded is looked at before the reply's words are read.
        """
        if not self._denial[reply]:
            return False
        asked = lexicon().question(question)
        relevant = self.index.relevant(asked)
        if not relevant:
            return False
        if not self.negative.isdisjoint(relevant) or self._agrees(told, relevant):
            return False
        if self._agrees(facts_told(self.index, reply), relevant):
            return False
        said = {t for t in lexicon().terms(reply) if not t.startswith("#")} - asked.terms
        return not any(said & self.index.fact_words[i] for i in relevant)

    def _agrees(self, facts: Collection[int], relevant: Collection[int]) -> bool:
        """Whether ``facts`` hold a relevant fact or one stating an absence."""
        return not self.negative.isdisjoint(facts) or not set(relevant).isdisjoint(facts)

    def breaks_persona(self, reply: str, told: Collection[int]) -> bool:
        """Role-breaking words, or a reply far longer than the persona and its facts allow."""
        if self._role_break[reply]:
            return True
        allowed = self.persona_words + sum(map(self.fact_words.__getitem__, told))
        # a text of n characters holds at most (n + 1) // 2 words: most need no split
        return (len(reply) + 1) // 2 > allowed and len(reply.split()) > allowed

    def transcript_flags(self, transcript: Transcript) -> list[tuple[FidelityFlag, ...]]:
        return [self.turn_flags(turn) for turn in transcript.turns]


def validity_of(flags: Collection[tuple[FidelityFlag, ...]], error: str | None) -> Validity:
    """The episode's label from its turns' flags and its error, if it failed."""
    doctor_crashed = bool(error) and str(error).startswith(DOCTOR_FAILURE_PREFIX)
    flagged = [turn for turn in flags if turn]  # most turns have no flag
    simulator = any(
        not SIMULATOR_FLAGS.isdisjoint(turn) and "manipulation_attempt" not in turn
        for turn in flagged
    )
    if simulator or (error and not doctor_crashed):
        return "simulator_fault"
    if doctor_crashed or any("manipulation_attempt" in turn for turn in flagged):
        return "doctor_fault"
    return "valid"


def episode_flags(context: EvaluationContext) -> list[tuple[FidelityFlag, ...]]:
    """Each turn's fidelity flags: as the session recorded them when it labelled the
    episode's validity, else worked out from the transcript (read with
    ``context.derived(episode_flags)``)."""
    transcript = context.transcript
    if transcript.validity is not None:
        return [turn.fidelity for turn in transcript.turns]
    return FidelityChecker(context.case, context.persona).transcript_flags(transcript)


def episode_validity(context: EvaluationContext) -> Validity:
    """The episode's validity label: as the session recorded it, else worked out."""
    transcript = context.transcript
    if transcript.validity is not None:
        return transcript.validity
    return validity_of(context.derived(episode_flags), transcript.error)


class FidelityEvaluator:
    """Counts of simulator faults and manipulation attempts, and whether the episode is valid."""

    name = "fidelity"
    produces = ("simulator_faults", "manipulation_attempts", "valid")

    async def evaluate(self, context: EvaluationContext) -> list[ScoreComponent]:
        flags = context.derived(episode_flags)
        validity = context.derived(episode_validity)
        counts = {
            "simulator_faults": sum(not SIMULATOR_FLAGS.isdisjoint(turn) for turn in flags),
            "manipulation_attempts": sum("manipulation_attempt" in turn for turn in flags),
            "valid": validity == "valid",
        }
        return [score_component(name, float(value), self.name) for name, value in counts.items()]


@EVALUATORS.register("fidelity", offline=True)
def make_fidelity(judge: ModelRole | None) -> FidelityEvaluator:
    """Simulator faults and manipulation attempts found, and whether the episode is valid."""
    return FidelityEvaluator()
