"""The core evaluators: diagnosis rank (top-k), MCQ accuracy, coverage, tests and their cost.

Each score is computed on its own; one that fails is recorded with its error and a ``None``
value, never as a silent zero.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Sequence

from clinic_env.evaluators.registry import EVALUATORS, EvaluationContext, failed
from clinic_env.language.matcher import DiagnosisMatcher
from clinic_env.schema.action import ActionKind
from clinic_env.schema.case import Case
from clinic_env.schema.transcript import ScoreComponent, Transcript

TOP_KS = (1, 3, 5)
_OPTION_LETTER = re.compile(
    r"^(?:(?:option|answer|choice)\s*:?\s*)?\(?([A-Za-z])\)?[.):]?(?:\s|$)", re.IGNORECASE
)


def resolve_option_letters(
    differential: Sequence[str], options: dict[str, str] | None
) -> list[str]:
    """In MCQ mode "B", "(B) Gout", "B: Gout" or "Option B" means option B's text."""
    if not options:
        return list(differential)
    resolved = []
    for entry in differential:
        match = _OPTION_LETTER.match(entry.strip())
        letter = match.group(1).upper() if match else None
        resolved.append(options.get(letter, entry) if letter else entry)
    return resolved


@functools.lru_cache(maxsize=16384)
def rank_of(
    matcher: DiagnosisMatcher, ranked: tuple[str, ...], name: str, aliases: tuple[str, ...] = ()
) -> int | None:
    """``matcher.rank``, kept: one consultation's end asks it the same question several times
    (reward, scores, rubric), and replayed consultations ask it again."""
    return matcher.rank(ranked, name, aliases)


def diagnosis_rank(
    case: Case, differential: Sequence[str], matcher: DiagnosisMatcher
) -> int | None:
    """1-based rank of the right diagnosis in the doctor's ranked list, or None."""
    truth = case.ground_truth
    ranked = tuple(resolve_option_letters(differential, case.options))
    return rank_of(matcher, ranked, truth.diagnosis, truth.aliases)


def must_not_miss_listed(
    case: Case, differential: Sequence[str], matcher: DiagnosisMatcher
) -> bool | None:
    """Whether every must-not-miss diagnosis of the case is in the differential; None when
    the case flags none."""
    truth = case.ground_truth
    needed = [(d.diagnosis, ()) for d in truth.differentials if d.must_not_miss]
    if truth.must_not_miss:
        needed.append((truth.diagnosis, truth.aliases))
    if not needed:
        return None
    ranked = tuple(resolve_option_letters(differential, case.options))
    return all(rank_of(matcher, ranked, name, aliases) is not None for name, aliases in needed)


def ordered_tests(transcript: Transcript) -> list[tuple[float, float]]:
    """(cost, turnaround hours) of every test the doctor ordered."""
    return [
        (turn.cost_usd, turn.turnaround_hours)
        for turn in transcript.turns
        if turn.action is not None and turn.action.kind is ActionKind.ORDER_TEST
    ]


def _components(
    evaluator: str, computations: Sequence[tuple[str, Callable[[], float | None]]]
) -> list[ScoreComponent]:
    """Each score on its own: one that raises is recorded with its error; None is left out."""
    components = []
    for name, compute in computations:
        try:
            value = compute()
        except Exception as exc:  # noqa: BLE001 - a failing score is recorded, not raised
            components.extend(failed([name], evaluator, exc))
            continue
        if value is not None:
            components.append(ScoreComponent(name=name, value=value, evaluator=evaluator))
    return components


class DiagnosisEvaluator:
    """Top-k accuracy of the ranked differential against the ground truth and its aliases."""

    name = "diagnosis_matcher"
    produces = ("diagnosed", *(f"top{k}" for k in TOP_KS), "must_not_miss")

    async def evaluate(self, context: EvaluationContext) -> list[ScoreComponent]:
        differential = context.transcript.differential
        try:
            rank: int | Exception | None = diagnosis_rank(
                context.case, differential, context.matcher
            )
        except Exception as exc:  # noqa: BLE001 - recorded on each top-k score
            rank = exc

        def within(k: int) -> Callable[[], float]:
            def compute() -> float:
                if isinstance(rank, Exception):
                    raise rank
                return float(rank is not None and rank <= k)

            return compute

        def must_not_miss() -> float | None:
            listed = must_not_miss_listed(context.case, differential, context.matcher)
            return None if listed is None else float(listed)

        return [
            ScoreComponent(name="diagnosed", value=float(bool(differential)), evaluator="outcome"),
            *_components(
                self.name,
                [*((f"top{k}", within(k)) for k in TOP_KS), ("must_not_miss", must_not_miss)],
            ),
        ]


class MCQEvaluator:
    """Whether the first answer is the right option, on cases with options."""

    name = "mcq"
    produces = ("mcq_correct",)

    async def evaluate(self, context: EvaluationContext) -> list[ScoreComponent]:
        case = context.case
        if not case.options:
            return []

        def correct() -> float:
            first = resolve_option_letters(context.transcript.differential[:1], case.options)
            truth = case.ground_truth
            right = case.options.get(truth.answer_option or "", truth.diagnosis)
            return float(bool(first) and context.matcher.matches(first[0], right, truth.aliases))

        return _components(self.name, [("mcq_correct", correct)])


class CoverageEvaluator:
    """Share of the case's facts the patient told during the consultation."""

    name = "fact_coverage"
    produces = ("coverage",)

    async def evaluate(self, context: EvaluationContext) -> list[ScoreComponent]:
        told = {i for turn in context.transcript.turns for i in turn.facts_revealed}
        facts = context.case.facts
        return _components(self.name, [("coverage", lambda: len(told) / len(facts))])


class TestsEvaluator:
    """Turns used, tests ordered, their total price and their total turnaround."""

    name = "tests"
    produces = ("turns", "tests_ordered", "test_cost_usd", "test_turnaround_hours")

    async def evaluate(self, context: EvaluationContext) -> list[ScoreComponent]:
        transcript = context.transcript
        tests = ordered_tests(transcript)
        return [
            ScoreComponent(
                name="turns", value=float(len(transcript.turns)), evaluator="turn_count"
            ),
            ScoreComponent(name="tests_ordered", value=float(len(tests)), evaluator="test_count"),
            ScoreComponent(
                name="test_cost_usd", value=float(sum(c for c, _ in tests)), evaluator="test_cost"
            ),
            ScoreComponent(
                name="test_turnaround_hours",
                value=float(sum(h for _, h in tests)),
                evaluator="test_turnaround",
            ),
        ]


EVALUATORS.register("diagnosis")(lambda judge: DiagnosisEvaluator())
EVALUATORS.register("mcq")(lambda judge: MCQEvaluator())
EVALUATORS.register("coverage")(lambda judge: CoverageEvaluator())
EVALUATORS.register("tests")(lambda judge: TestsEvaluator())
