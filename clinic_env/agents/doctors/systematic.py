"""The systematic doctor: a structured history, targeted exams and tests, a ranked diagnosis.

It asks the scripted history questions, examines vital signs, general appearance and the
systems of its leading candidates' specialties, orders the tests that would confirm its
leading candidates, and finally commits to the top of a differential ranked over the disease
knowledge base. It never reads the case: only what the patient and the room have told it.
"""

from __future__ import annotations

import random

from clinic_env.agents.base import DOCTORS, DoctorObservation
from clinic_env.agents.doctors.ranking import DiseaseProfile, rank_diseases
from clinic_env.agents.doctors.script import doctor_script
from clinic_env.schema.action import Action, ActionKind
from clinic_env.schema.case import Case, DoctorView

CANDIDATES_FOR_PLANNING = 3
MAX_TESTS = 5
MAX_SPECIALTY_EXAMS = 2
DIFFERENTIAL_SIZE = 5


class SystematicDoctor:
    """A deterministic history-taker that plans exams and tests from its own differential."""

    offline = True

    def __init__(self, view: DoctorView, max_tests: int = MAX_TESTS) -> None:
        self.view = view
        self.max_tests = max_tests
        self.script = doctor_script()
        self.questions = [q.text for q in self.script.history_questions]
        self.history: list[str] = [view.doctor_brief]
        self.results: list[str] = []
        self.exams_done: list[str] = []
        self.tests_done: list[str] = []
        self.last: Action | None = None

    async def act(self, observation: DoctorObservation) -> Action:
        return self.decide(observation)

    def decide(self, observation: DoctorObservation) -> Action:
        """The synchronous core of :meth:`act`."""
        self._absorb(observation.text)
        if observation.turns_left <= 1:
            return self._remember(self._diagnose())
        if self.questions:
            return self._remember(Action(kind=ActionKind.ASK, text=self.questions.pop(0)))
        ranked = rank_diseases(
            " ".join(self.history), " ".join(self.results), self.view.demographics
        )
        leading = [profile for _, profile in ranked[:CANDIDATES_FOR_PLANNING]]
        exam = self._next_exam(leading)
        if exam is not None and observation.turns_left > 2:
            self.exams_done.append(exam)
            return self._remember(Action(kind=ActionKind.EXAMINE, text=exam))
        test = self._next_test(leading)
        if test is not None and observation.turns_left > 1:
            self.tests_done.append(test)
            return self._remember(Action(kind=ActionKind.ORDER_TEST, text=test))
        return self._remember(self._diagnose(ranked))

    def _absorb(self, text: str) -> None:
        if self.last is not None and self.last.kind is ActionKind.ORDER_TEST:
            self.results.append(text)
        else:
            self.history.append(text)

    def _remember(self, action: Action) -> Action:
        self.last = action
        return action

    def _next_exam(self, leading: list[DiseaseProfile]) -> str | None:
        wanted = list(self.script.default_exams)
        specialty_exams: list[str] = []
        for profile in leading:
            for system in self.script.specialty_exams.get(profile.disease.specialty.lower(), ()):
                if system not in specialty_exams:
                    specialty_exams.append(system)
        wanted += specialty_exams[:MAX_SPECIALTY_EXAMS]
        return next((system for system in wanted if system not in self.exams_done), None)

    def _next_test(self, leading: list[DiseaseProfile]) -> str | None:
        if len(self.tests_done) >= self.max_tests:
            return None
        for profile in leading:
            for test in profile.test_names:
                if test not in self.tests_done:
                    return test
        return None

    def _diagnose(self, ranked: list[tuple[float, DiseaseProfile]] | None = None) -> Action:
        if ranked is None:
            ranked = rank_diseases(
                " ".join(self.history), " ".join(self.results), self.view.demographics
            )
        names = tuple(profile.disease.name for _, profile in ranked[:DIFFERENTIAL_SIZE])
        return Action(kind=ActionKind.DIAGNOSE, differential=names)


@DOCTORS.register("systematic")
def make_systematic_doctor(
    view: DoctorView, rng: random.Random, case: Case | None
) -> SystematicDoctor:
    return SystematicDoctor(view)
