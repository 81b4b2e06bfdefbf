"""How the scripted doctors act out doctor-side biases: one documented behaviour per model.

Each bias that may be given to the doctor names a behaviour model in
``agents/prompts/scripted_doctor.yaml`` (``biases:``); a doctor bias that names none is refused
with a :class:`ConfigError`, never silently ignored. Every model is deterministic: the same
case, seed and biases give the same consultation.

Strengths are in the systematic doctor's ranking points (:mod:`.ranking`): a typical finding
present is worth 1, a supporting test result 2, being a common disease 0.6; by the diagnosis a
leading candidate has some 10 to 30. The *target* is the wrong diagnosis the bias favours
(:attr:`BiasUse.target`); it is matched to the knowledge base by name, and a target the
knowledge base lacks (AgentClinic's fixed "cancer") is ranked on its bias points alone.

- ``confirmation`` (a first impression looked for): the target's own evidence counts
  ``CONFIRMATION_WEIGHT`` (2) times and it gets ``CONFIRMATION_BOOST`` (12) points, from the
  first turn to the diagnosis; and the doctor plans for it first: its specialty's exams come
  first and the tests that would confirm it (:attr:`BiasUse.tests`, else the knowledge
  base's) are ordered before any other candidate's.
- ``recency`` (a recent, vivid case): ``RECENCY_BOOST`` (6) points throughout, and the target
  is always among the candidates the doctor plans exams and tests for (after its three
  leading ones), as a case fresh in mind keeps coming up.
- ``frequency`` (an inflated base rate): the target is scored as if its prior were
  ``FREQUENCY_PRIOR`` (4) instead of 0, 0.3 or 0.6; nothing else changes.
- ``false_consensus`` (everyone agrees): ``CONSENSUS_BOOST`` (2) points, and the target is
  always in the final differential (in its last place when it would not be there otherwise).
- ``status_quo`` (an existing label kept): at the diagnosis the target goes first whenever
  its score is within ``STATUS_QUO_MARGIN`` (6) points of the leader's, and otherwise stays
  in the differential (in its last place if need be); the work-up is unchanged.
- ``anchoring`` (a suggestion made at the start): ``ANCHOR_BOOST`` (8) points at first, worn
  down by ``ANCHOR_DECAY`` (1.5) per test result seen, never below 0.
- ``curtailed_history`` (an implicit prejudice about the patient; no target): the doctor asks
  only the first ``CURTAILED_QUESTIONS`` (6) of its history questions, leaving out the past
  history, medications, social and family history, in line with the shorter, less
  patient-centred talk seen with clinicians' implicit bias (Cooper et al., Am J Public Health
  2012; Hall et al., Am J Public Health 2015, a systematic review).

Several biases on one target add their points and keep each of their other effects.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from clinic_env.agents.biasing import BiasUse
from clinic_env.agents.doctors.ranking import profile_index, profiles
from clinic_env.agents.doctors.script import BiasModel
from clinic_env.errors import ConfigError
from clinic_env.language.text import fold

CONFIRMATION_BOOST = 12.0
CONFIRMATION_WEIGHT = 2.0
RECENCY_BOOST = 6.0
FREQUENCY_PRIOR = 4.0
CONSENSUS_BOOST = 2.0
STATUS_QUO_MARGIN = 6.0
ANCHOR_BOOST = 8.0
ANCHOR_DECAY = 1.5
CURTAILED_QUESTIONS = 6


@dataclass(frozen=True, slots=True)
class TargetLeaning:
    """What the biases aimed at one wrong diagnosis do to the doctor."""

    name: str
    profile: int | None
    """The target's place in :func:`.ranking.profiles`, if the knowledge base knows it."""
    tests: tuple[str, ...]
    """Tests that would confirm it, likeliest first."""
    boost: float = 0.0
    weight: float = 1.0
    """What its own evidence points count for (others' count once)."""
    anchor: float = 0.0
    plan: Literal["first", "also"] | None = None
    """Plan exams and tests for it before (first) or besides (also) the leading candidates."""
    listed: bool = False
    keep_margin: float | None = None

    def points(self, evidence: float, results_seen: int) -> float:
        """Its bias points, given its ``evidence`` points and the test results seen."""
        anchor = max(0.0, self.anchor - ANCHOR_DECAY * results_seen)
        return self.boost + (self.weight - 1.0) * evidence + anchor


@dataclass(frozen=True, slots=True)
class Leanings:
    """Every bias a scripted doctor acts out in one consultation, combined."""

    targets: tuple[TargetLeaning, ...] = ()
    history_questions: int | None = None
    """How many history questions it asks (None: all)."""


def bias_model(use: BiasUse, models: dict[str, BiasModel]) -> BiasModel:
    """The behaviour model of a doctor bias (a variant acts like the bias it varies).

    Raises:
        ConfigError: naming the bias when no model is given for it.
    """
    bias = use.bias
    model = models.get(bias.id) or models.get(bias.variant_of or bias.id)
    if model is None:
        raise ConfigError(
            f"bias {use.key!r}: the scripted doctors have no behaviour for it (add it under "
            "`biases:` in agents/prompts/scripted_doctor.yaml), so it would be silently ignored"
        )
    return model


def leanings_for(uses: Sequence[BiasUse], models: dict[str, BiasModel]) -> Leanings:
    """The doctor's biases among ``uses`` as behaviour (the patient's are left out)."""
    drafts: dict[int | str, _Draft] = {}
    questions: int | None = None
    for use in uses:
        if use.role != "doctor":
            continue
        model = bias_model(use, models)
        if model == "curtailed_history":
            questions = CURTAILED_QUESTIONS
            continue
        if use.target is None:
            raise ConfigError(f"bias {use.key!r}: behaviour {model!r} needs a target")
        profile = profile_index(use.target)
        key = fold(use.target) if profile is None else profile  # one disease, one target
        draft = drafts.setdefault(key, _Draft(use.target, profile, use.tests))
        draft.add(model)
    return Leanings(tuple(draft.build() for draft in drafts.values()), questions)


@dataclass
class _Draft:
    """One target's leaning while the biases aimed at it are added up."""

    name: str
    profile: int | None
    tests: tuple[str, ...]
    boost: float = 0.0
    weight: float = 1.0
    anchor: float = 0.0
    frequency: bool = False
    plan: Literal["first", "also"] | None = None
    listed: bool = False
    keep_margin: float | None = None

    def add(self, model: BiasModel) -> None:
        if model == "confirmation":
            self.boost += CONFIRMATION_BOOST
            self.weight *= CONFIRMATION_WEIGHT
            self.plan = "first"
        elif model == "recency":
            self.boost += RECENCY_BOOST
            self.plan = self.plan or "also"
        elif model == "frequency":
            self.frequency = True
        elif model == "false_consensus":
            self.boost += CONSENSUS_BOOST
            self.listed = True
        elif model == "status_quo":
            self.keep_margin = STATUS_QUO_MARGIN
            self.listed = True
        elif model == "anchoring":
            self.anchor = ANCHOR_BOOST

    def build(self) -> TargetLeaning:
        profile = self.profile
        known = profiles()[profile] if profile is not None else None
        boost = self.boost
        if self.frequency:
            boost += FREQUENCY_PRIOR - (known.prior if known is not None else 0.0)
        tests = self.tests or (known.test_names if known is not None else ())
        return TargetLeaning(
            name=self.name,
            profile=profile,
            tests=tests,
            boost=boost,
            weight=self.weight,
            anchor=self.anchor,
            plan=self.plan,
            listed=self.listed,
            keep_margin=self.keep_margin,
        )
