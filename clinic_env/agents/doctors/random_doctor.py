"""The random doctor: a baseline that asks, examines and tests at random, then guesses.

It is the floor every other doctor should beat: its questions come from the scripted bank,
its exams and tests from the catalogues, and its diagnosis is three diseases drawn from the
knowledge base.
"""

from __future__ import annotations

import random

from clinic_env.agents.base import DOCTORS, DoctorObservation
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

    async def act(self, observation: DoctorObservation) -> Action:
        return self.decide(observation)

    def decide(self, observation: DoctorObservation) -> Action:
        if observation.turns_left <= 1 or self.rng.random() < STOP_CHANCE:
            guesses = tuple(self.rng.sample(self.diseases, GUESSES))
            return Action(kind=ActionKind.DIAGNOSE, differential=guesses)
        kind = self.rng.choice(
            (ActionKind.ASK, ActionKind.ASK, ActionKind.EXAMINE, ActionKind.ORDER_TEST)
        )
        pool = {ActionKind.ASK: self.questions, ActionKind.EXAMINE: self.exams}.get(
            kind, self.tests
        )
        return Action(kind=kind, text=self.rng.choice(pool))


@DOCTORS.register("random")
def make_random_doctor(view: DoctorView, rng: random.Random, case: Case | None) -> RandomDoctor:
    return RandomDoctor(rng)
