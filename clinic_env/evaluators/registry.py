"""The evaluator extension point: registered by name, run on a finished consultation.

An evaluator is any object with a ``name``, the score names it ``produces`` and one async
method, ``evaluate(context)``, returning score components. Each is registered with
``@EVALUATORS.register("name", offline=True)`` on a factory taking the judge model (``None``
when the run has none), so configs refer to evaluators by name; one that cannot run without a
judge says ``needs_judge=True``. Third-party evaluators register the same way, through the
``clinic_env.evaluators`` entry-point group. :func:`evaluate` runs a list of them and
turns any failure into components with a ``None`` value and the error, never a silent zero.
An evaluator that does not apply to a consultation (MCQ accuracy without options, a
questionnaire for an offline patient) returns nothing.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol, TypeVar

from clinic_env.agents.base import PatientAgent
from clinic_env.agents.model_role import ModelRole
from clinic_env.language.matcher import DiagnosisMatcher
from clinic_env.registry import Registry
from clinic_env.schema.case import Case
from clinic_env.schema.persona import Persona
from clinic_env.schema.transcript import Score, ScoreComponent, Transcript

DerivedT = TypeVar("DerivedT")


@dataclass(frozen=True, slots=True)
class EvaluationContext:
    """Everything an evaluator may read: the case (ground truth included), the finished
    transcript, the persona, and the agents that can still be asked something."""

    case: Case
    transcript: Transcript
    persona: Persona
    matcher: DiagnosisMatcher = field(default_factory=DiagnosisMatcher.from_content)
    patient: PatientAgent | None = None
    """The consultation's patient, for the post-consultation questionnaire."""
    memo: dict[Callable[..., Any], Any] = field(
        default_factory=dict, init=False, repr=False, compare=False
    )
    """What evaluators worked out from this consultation, by the function that did it."""

    def derived(self, compute: Callable[[EvaluationContext], DerivedT]) -> DerivedT:
        """``compute(self)``, worked out once for this consultation however many evaluators
        read it: inquiry labels, fidelity flags, tests ordered (see evaluators.episode)."""
        memo = self.memo
        if compute not in memo:
            memo[compute] = compute(self)
        return memo[compute]  # type: ignore[no-any-return]


class Evaluator(Protocol):
    """Scores a finished consultation (see the module docstring).

    Example:
        >>> @EVALUATORS.register("turn_count", offline=True)
        ... def make(judge: ModelRole | None) -> TurnCount:
        ...     '''How many turns the doctor took.'''
        ...     return TurnCount()  # name = "turn_count", produces = ("turns",)
    """

    @property
    def name(self) -> str:
        """The evaluator's name, recorded on each component it returns."""
        ...

    @property
    def produces(self) -> tuple[str, ...]:
        """The score names it may return; each is recorded as failed if it raises."""
        ...

    async def evaluate(self, context: EvaluationContext) -> Sequence[ScoreComponent]:
        """The scores of one consultation.

        Args:
            context: the case (ground truth included), the finished transcript, the persona,
                the matcher and the patient (for a questionnaire); ``context.derived(fn)``
                gives what several evaluators read off the transcript, worked out once.

        Returns:
            Its components; none for a consultation it does not apply to.
        """
        ...


EvaluatorFactory = Callable[[ModelRole | None], Evaluator]


@dataclass(frozen=True, slots=True)
class EvaluatorInfo:
    """What an evaluator's registration says about it."""

    needs_judge: bool = False
    """It cannot run without a judge model: naming it without one is a config error."""
    offline: bool = False
    """It reads the record only (no model, no agent asked), alike on every run."""


EVALUATOR_GROUP = "clinic_env.evaluators"
"""The entry-point group third-party evaluators register in."""

EVALUATORS: Registry[EvaluatorFactory, EvaluatorInfo] = Registry(
    "evaluator", EvaluatorInfo, group=EVALUATOR_GROUP, passes=("judge",)
)


@functools.lru_cache(maxsize=4096)
def score_component(name: str, value: float, evaluator: str) -> ScoreComponent:
    """A score an evaluator computed from counts and flags (a share, a count, 0.0 or 1.0).

    Components are immutable and such values repeat from one consultation to the next, so
    each distinct component is validated once and then shared: building ~25 per episode was
    a fifth of the offline evaluators' time. ``value`` must not be -0.0, which equals 0.0
    (counts, shares and sums of them never are).
    """
    return ScoreComponent(name=name, value=value, evaluator=evaluator)


def failed(names: Sequence[str], evaluator: str, exc: BaseException) -> list[ScoreComponent]:
    """The components of an evaluator that raised, each carrying the error."""
    error = f"{type(exc).__name__}: {exc}"
    return [ScoreComponent(name=n, value=None, evaluator=evaluator, error=error) for n in names]


async def evaluate(context: EvaluationContext, evaluators: Sequence[Evaluator]) -> Score:
    """Every evaluator's components, in order; a failing one is recorded, never raised."""
    components: list[ScoreComponent] = []
    for evaluator in evaluators:
        try:
            components.extend(await evaluator.evaluate(context))
        except Exception as exc:  # noqa: BLE001 - a failing evaluator is data, not a crash
            components.extend(failed(evaluator.produces, evaluator.name, exc))
    return Score(components=tuple(components))
