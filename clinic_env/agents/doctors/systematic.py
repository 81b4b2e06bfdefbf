"""The systematic doctor: a structured history, targeted exams and tests, a ranked diagnosis.

It asks the scripted history questions, examines vital signs, general appearance and the
systems of its leading candidates' specialties, orders the tests that would confirm its
leading candidates, and finally commits to the top of a differential ranked over the disease
knowledge base. It never reads the case: only what the patient and the room have told it.
Given doctor biases (:meth:`SystematicDoctor.take_biases`) it acts them out as
:mod:`.leanings` documents.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Annotated

from pydantic import Field

from clinic_env.agents.base import DOCTORS, DoctorObservation
from clinic_env.agents.biasing import BiasUse
from clinic_env.agents.doctors.leanings import Leanings, TargetLeaning, leanings_for
from clinic_env.agents.doctors.ranking import Evidence, profiles
from clinic_env.agents.doctors.script import doctor_script
from clinic_env.errors import ProtocolError
from clinic_env.schema.action import Action, ActionKind
from clinic_env.schema.case import Case, DoctorView

CANDIDATES_FOR_PLANNING = 3
MAX_TESTS = 5
MAX_SPECIALTY_EXAMS = 2
DIFFERENTIAL_SIZE = 5


@dataclass(frozen=True, slots=True)
class Candidate:
    """A diagnosis the doctor is weighing, with what it needs to plan for it."""

    name: str
    score: float
    specialty: str | None
    tests: tuple[str, ...]


class SystematicDoctor:
    """A deterministic history-taker that plans exams and tests from its own differential."""

    offline = True

    def __init__(self, view: DoctorView, max_tests: int = MAX_TESTS) -> None:
        self.view = view
        self.max_tests = max_tests
        self.script = doctor_script()
        self.leanings = Leanings()
        self.questions = self._history_questions()
        self.evidence = Evidence(view.demographics)
        self.evidence.add(view.doctor_brief)
        self.results_seen = 0
        self.exams_done: list[str] = []
        self.tests_done: list[str] = []
        self.last: Action | None = None

    def take_biases(self, uses: Sequence[BiasUse]) -> None:
        """Act out the doctor's biases among ``uses`` (as :mod:`.leanings` documents), in
        place of any given before; only before the first turn.

        Raises:
            ConfigError: naming a doctor bias the scripted doctors have no behaviour for.
        """
        if self.last is not None:
            raise ProtocolError("a scripted doctor takes its biases before its first turn")
        self.leanings = leanings_for(uses, self.script.biases)
        self.questions = self._history_questions()

    async def act(self, observation: DoctorObservation) -> Action:
        return self.decide(observation)

    def decide(self, observation: DoctorObservation) -> Action:
        """The synchronous core of :meth:`act`."""
        self._absorb(observation.text)
        if observation.turns_left <= 1:
            return self._remember(self._diagnose(self._ranked()))
        if self.questions:
            return self._remember(Action(kind=ActionKind.ASK, text=self.questions.pop(0)))
        ranked = self._ranked()
        leading = self._planned(ranked)
        exam = self._next_exam(leading)
        if exam is not None and observation.turns_left > 2:
            self.exams_done.append(exam)
            return self._remember(Action(kind=ActionKind.EXAMINE, text=exam))
        test = self._next_test(leading)
        if test is not None and observation.turns_left > 1:
            self.tests_done.append(test)
            return self._remember(Action(kind=ActionKind.ORDER_TEST, text=test))
        return self._remember(self._diagnose(ranked))

    def _history_questions(self) -> list[str]:
        questions = [q.text for q in self.script.history_questions]
        return questions[: self.leanings.history_questions]

    def _absorb(self, text: str) -> None:
        result = self.last is not None and self.last.kind is ActionKind.ORDER_TEST
        self.evidence.add(text, result=result)
        self.results_seen += result

    def _remember(self, action: Action) -> Action:
        self.last = action
        return action

    def _ranked(self) -> list[Candidate]:
        """The top of the differential, the biases' points included."""
        points: dict[int, float] = {}
        named: dict[int, str] = {}
        outside = []
        for target in self.leanings.targets:  # one per disease (see leanings_for)
            if target.profile is None:
                outside.append(self._candidate(target))
            else:
                evidence = self.evidence.points(target.profile)
                points[target.profile] = target.points(evidence, self.results_seen)
                named[target.profile] = target.name
        known, scores = profiles(), self.evidence.scores
        ranked = [
            Candidate(
                named.get(i, known[i].disease.name),
                scores[i] + points[i] if i in points else scores[i],
                known[i].disease.specialty,
                known[i].test_names,
            )
            for i in self.evidence.ranked(points)[:DIFFERENTIAL_SIZE]
        ]
        for candidate in outside:
            at = next((k for k, c in enumerate(ranked) if c.score < candidate.score), len(ranked))
            ranked.insert(at, candidate)
        return ranked[:DIFFERENTIAL_SIZE]

    def _candidate(self, target: TargetLeaning) -> Candidate:
        if target.profile is None:
            return Candidate(target.name, target.points(0.0, self.results_seen), None, target.tests)
        evidence = self.evidence.points(target.profile)
        score = self.evidence.scores[target.profile] + target.points(evidence, self.results_seen)
        specialty = profiles()[target.profile].disease.specialty
        return Candidate(target.name, score, specialty, target.tests)

    def _planned(self, ranked: list[Candidate]) -> list[Candidate]:
        """The candidates to plan exams and tests for, in order."""
        leading = ranked[:CANDIDATES_FOR_PLANNING]
        for target in self.leanings.targets:
            if target.plan == "first":
                leading = [self._candidate(target)] + [c for c in leading if c.name != target.name]
            elif target.plan == "also" and all(c.name != target.name for c in leading):
                leading = [*leading, self._candidate(target)]
        return leading

    def _next_exam(self, leading: list[Candidate]) -> str | None:
        wanted = list(self.script.default_exams)
        specialty_exams: list[str] = []
        for candidate in leading:
            specialty = (candidate.specialty or "").lower()
            for system in self.script.specialty_exams.get(specialty, ()):
                if system not in specialty_exams:
                    specialty_exams.append(system)
        wanted += specialty_exams[:MAX_SPECIALTY_EXAMS]
        return next((system for system in wanted if system not in self.exams_done), None)

    def _next_test(self, leading: list[Candidate]) -> str | None:
        if len(self.tests_done) >= self.max_tests:
            return None
        for candidate in leading:
            for test in candidate.tests:
                if test not in self.tests_done:
                    return test
        return None

    def _diagnose(self, ranked: list[Candidate]) -> Action:
        names = [candidate.name for candidate in ranked]
        leader = ranked[0].score
        for target in self.leanings.targets:
            margin = target.keep_margin
            if margin is not None and self._candidate(target).score >= leader - margin:
                names = [target.name] + [n for n in names if n != target.name]
            if target.listed and target.name not in names[:DIFFERENTIAL_SIZE]:
                names = [*names[: DIFFERENTIAL_SIZE - 1], target.name]
        return Action(kind=ActionKind.DIAGNOSE, differential=tuple(names[:DIFFERENTIAL_SIZE]))


@DOCTORS.register("systematic", offline=True)
def make_systematic_doctor(
    view: DoctorView,
    rng: random.Random,
    case: Case | None,
    *,
    max_tests: Annotated[int, Field(ge=0)] = MAX_TESTS,
) -> SystematicDoctor:
    """Takes a structured history, plans exams and tests from its own ranked differential."""
    return SystematicDoctor(view, max_tests)
