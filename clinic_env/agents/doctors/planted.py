"""The planted-effect doctor: a bias effect of known size, to check an analysis finds it.

It plays exactly as the unbiased systematic doctor, except that, given a doctor bias with a
target, its diagnosis puts that target first with probability ``PLANTED_SWITCH`` (0.5). The
draw is made once per consultation from its seeded random stream, before any bias is known,
so a run with the bias and its control (same case and seed) draw alike and differ only where
the switch was planted. It acts out none of the behaviours of :mod:`.leanings`, and a bias
without a target (an implicit one) plants nothing.

So, against the control, the bias's effect is known: the rate of naming the target first rises
by ``PLANTED_SWITCH`` times the share of controls that did not already name it, and top-1
accuracy falls by ``PLANTED_SWITCH`` times the control's accuracy (a target is never the
truth). ``tests/evaluators/test_known_effect.py`` checks that a run's report finds exactly that.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from typing import Annotated

from pydantic import Field

from clinic_env.agents.base import DOCTORS
from clinic_env.agents.biasing import BiasUse
from clinic_env.agents.doctors.systematic import DIFFERENTIAL_SIZE, Candidate, SystematicDoctor
from clinic_env.errors import ProtocolError
from clinic_env.schema.action import Action, ActionKind
from clinic_env.schema.case import Case, DoctorView

PLANTED_SWITCH = 0.5
"""The chance per consultation that a targeted bias turns the diagnosis to its target."""


class PlantedEffectDoctor(SystematicDoctor):
    """The systematic doctor whose only bias is a seeded switch to the target."""

    def __init__(self, view: DoctorView, rng: random.Random, switch: float = PLANTED_SWITCH):
        super().__init__(view)
        self.switches = rng.random() < switch
        self.target: str | None = None

    def take_biases(self, uses: Sequence[BiasUse]) -> None:
        """Keep the first doctor bias target among ``uses``; every doctor bias is accepted."""
        if self.last is not None:
            raise ProtocolError("a scripted doctor takes its biases before its first turn")
        targets = [use.target for use in uses if use.role == "doctor" and use.target]
        self.target = targets[0] if targets else None

    def _diagnose(self, ranked: list[Candidate]) -> Action:
        action = super()._diagnose(ranked)
        if not self.switches or self.target is None:
            return action
        rest = [name for name in action.differential if name != self.target]
        differential = (self.target, *rest)[:DIFFERENTIAL_SIZE]
        return Action(kind=ActionKind.DIAGNOSE, differential=differential)


@DOCTORS.register("planted", offline=True)
def make_planted_doctor(
    view: DoctorView,
    rng: random.Random,
    case: Case | None,
    *,
    switch: Annotated[float, Field(ge=0.0, le=1.0)] = PLANTED_SWITCH,
) -> PlantedEffectDoctor:
    """The systematic doctor with a planted bias effect of known size, to test analyses."""
    return PlantedEffectDoctor(view, rng, switch)
