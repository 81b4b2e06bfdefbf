"""The oracle doctor: reads the whole case, ground truth included, to give an upper bound.

It exists to test evaluators and rewards: it asks about every fact in the case's own words,
orders the case's tests while turns remain, and then states the true diagnosis, so a correct
evaluator must give it full marks.
"""

from __future__ import annotations

import random

from clinic_env.agents.base import DOCTORS, DoctorObservation
from clinic_env.errors import ConfigError
from clinic_env.schema.action import Action, ActionKind
from clinic_env.schema.case import Case, DoctorView


class OracleDoctor:
    offline = True

    def __init__(self, case: Case) -> None:
        self.case = case
        self.plan = [Action(kind=ActionKind.ASK, text=fact.text) for fact in case.facts]
        self.plan += [Action(kind=ActionKind.ORDER_TEST, text=test.name) for test in case.tests]

    async def act(self, observation: DoctorObservation) -> Action:
        return self.decide(observation)

    def decide(self, observation: DoctorObservation) -> Action:
        if observation.turns_left <= 1 or not self.plan:
            truth = self.case.ground_truth
            return Action(kind=ActionKind.DIAGNOSE, differential=(truth.diagnosis,))
        return self.plan.pop(0)


@DOCTORS.register("oracle", offline=True, privileged=True)
def make_oracle_doctor(view: DoctorView, rng: random.Random, case: Case | None) -> OracleDoctor:
    """Reads the whole case and states the true diagnosis: an upper bound for evaluators."""
    if case is None:
        raise ConfigError("the oracle doctor needs the whole case; create it with create_doctor()")
    return OracleDoctor(case)
