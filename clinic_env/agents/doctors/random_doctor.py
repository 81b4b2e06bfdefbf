"""The random doctor: a baseline that asks, examines and tests at random, then guesses.

It is the floor every other doctor should beat: its questions come from the scripted bank,
its exams and tests from the catalogues, and its diagnosis is three diseases drawn from the
knowledge base. Given doctor biases (:meth:`RandomDoctor.take_biases`), having no judgement of
its own it follows theirs: a bias's target becomes its first guess, and an implicit bias
(``curtailed_history`` in :mod:`.leanings`) caps its questions at that model's count, its
other turns going to exams and tests.
"""

from __future__ import annotations

import random
from collections.abc import Sequence

from clinic_env.agents.base import DOCTORS, DoctorObservation
from clinic_env.agents.biasing import BiasUse
from clinic_env.agents.doctors.leanings import Leanings, leanings_for
from clinic_env.agents.doctors.script import doctor_script
from clinic_env.language.knowledge import diseases, exam_catalog, test_catalog
from clinic_env.schema.action import Action, ActionKind
from clinic_env.schema.case import Case, DoctorView

GUESSES = 3
STOP_CHANCE = 0.05
"""Chance per turn that the random doctor stops early and guesses."""


class RandomDoctor:
    offline = True

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        script = doctor_script()
        self.questions = [q.text for q in script.history_questions] + list(script.extra_questions)
        self.exams = [system.name for system in exam_catalog().systems]
        self.tests = list(test_catalog())
        self.diseases = [disease.name for disease in diseases()]
        self.leanings = Leanings()
        self.asked = 0

    def take_biases(self, uses: Sequence[BiasUse]) -> None:
        """Follow the doctor's biases among ``uses``, in place of any given before.

        Raises:
            ConfigError: naming a doctor bias the scripted doctors have no behaviour for.
        """
        self.leanings = leanings_for(uses, doctor_script().biases)

    async def act(self, observation: DoctorObservation) -> Action:
        return self.decide(observation)

    def decide(self, observation: DoctorObservation) -> Action:
        if observation.turns_left <= 1 or self.rng.random() < STOP_CHANCE:
            guesses = self.rng.sample(self.diseases, GUESSES)
            targets = [target.name for target in self.leanings.targets]
            guesses = (targets + [g for g in guesses if g not in targets])[:GUESSES]
            return Action(kind=ActionKind.DIAGNOSE, differential=tuple(guesses))
        kind = self.rng.choice(
            (ActionKind.ASK, ActionKind.ASK, ActionKind.EXAMINE, ActionKind.ORDER_TEST)
        )
        cap = self.leanings.history_questions
        if kind is ActionKind.ASK and cap is not None and self.asked >= cap:
            kind = self.rng.choice((ActionKind.EXAMINE, ActionKind.ORDER_TEST))
        self.asked += kind is ActionKind.ASK
        pool = {ActionKind.ASK: self.questions, ActionKind.EXAMINE: self.exams}.get(
            kind, self.tests
        )
        return Action(kind=kind, text=self.rng.choice(pool))


@DOCTORS.register("random", offline=True)
def make_random_doctor(view: DoctorView, rng: random.Random, case: Case | None) -> RandomDoctor:
    """Asks, examines and tests at random, then guesses: the floor to beat."""
    return RandomDoctor(rng)
