"""The core evaluators: diagnosis rank (top-k), MCQ accuracy, coverage, tests and their cost.

Each score is computed on its own; one that fails is recorded with its error and a ``None``
value, never as a silent zero.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Mapping, Sequence

from clinic_env.agents.model_role import ModelRole
from clinic_env.evaluators.registry import (
    EVALUATORS,
    EvaluationContext,
    failed,
    score_component,
)
from clinic_env.language.matcher import DiagnosisMatcher
from clinic_env.language.text import fold
from clinic_env.schema.action import ActionKind
from clinic_env.schema.case import Case
from clinic_env.schema.transcript import ScoreComponent

TOP_KS = (1, 3, 5)
# The forms that name an option by its letter, and nothing else: "A", "(A)", "A.", "A)",
# "Option A", "Answer: (A)". A letter followed by more words ("B cell lymphoma") is not one.
_BARE_LETTER = re.compile(
    r"^\s*(?:(?:option|answer|choice)\s*:?\s*)?[(\[]?([a-z])[)\]]?\s*[.:)]?\s*$", re.IGNORECASE
)
# "A) Gout", "(A) Gout", "A. Gout": a letter with its option's text after it.
_LETTER_AND_TEXT = re.compile(r"^\s*[(\[]?([a-z])(?:[)\]]\s*|[.:]\s+)(\S.*)$", re.IGNORECASE)


def chosen_option(entry: str, options: Mapping[str, str], matcher: DiagnosisMatcher) -> str | None:
    """The letter of the option one answer names, or None, as MediQ scores it: by letter.

    A bare letter form names its option; a letter with text names it only when the text is
    that option's. Text alone names an option only when exactly one option's text matches
    it, so two options with the same text can never be confused.
    """
    letters = {letter.upper(): letter for letter in options}
    if (match := _BARE_LETTER.match(entry)) and match.group(1).upper() in letters:
        return letters[match.group(1).upper()]
    match = _LETTER_AND_TEXT.match(entry)
    if match and match.group(1).upper() in letters:
        letter = letters[match.group(1).upper()]
        if fold(match.group(2)) == fold(options[letter]):
            return letter
    folded = fold(entry)
    same_text = [letter for letter, text in options.items() if fold(text) == folded]
    if not same_text:
        same_text = [letter for letter, text in options.items() if matcher.matches(entry, text)]
    return same_text[0] if len(same_text) == 1 else None


def option_texts(
    differential: Sequence[str], options: Mapping[str, str], matcher: DiagnosisMatcher
) -> tuple[str, ...]:
    """Each answer as the text of the option it names (unchanged when it names none)."""
    texts = []
    for entry in differential:
        letter = chosen_option(entry, options, matcher)
        texts.append(options[letter] if letter is not None else entry)
    return tuple(texts)


@functools.lru_cache(maxsize=16384)
def rank_of(
    matcher: DiagnosisMatcher, ranked: tuple[str, ...], name: str, aliases: tuple[str, ...] = ()
) -> int | None:
    """``matcher.rank``, kept: one consultation's end asks it the same question several times
    (reward, scores, rubric), and replayed consultations ask it again."""
    return matcher.rank(ranked, name, aliases)


def diagnosis_rank(
    case: Case,
    differential: Sequence[str],
    matcher: DiagnosisMatcher,
    *,
    options_shown: bool = False,
) -> int | None:
    """1-based rank of the right diagnosis in the doctor's ranked list, or None.

    Option letters are read only when the options were shown to the doctor; then an answer
    scores when it names the right option (by letter, or by text unique among the options).
    Otherwise every answer is read as a diagnosis, so "A condition I cannot name" is never
    option A. An answer that names one of the case's differentials is that differential,
    even when it would also pass for a more specific form of the truth ("tension
    pneumothorax" on a case of primary spontaneous pneumothorax that lists it as a
    differential): the case says the two are told apart.
    """
    truth = case.ground_truth
    if options_shown and case.options and truth.answer_option:
        for position, entry in enumerate(differential, 1):
            if chosen_option(entry, case.options, matcher) == truth.answer_option:
                return position
        return None
    found = rank_of(matcher, tuple(differential), truth.diagnosis, truth.aliases)
    while found is not None and names_a_differential(differential[found - 1], case, matcher):
        later = rank_of(matcher, tuple(differential[found:]), truth.diagnosis, truth.aliases)
        found = None if later is None else found + later
    return found


def names_a_differential(entry: str, case: Case, matcher: DiagnosisMatcher) -> bool:
    """Whether ``entry`` names one of the case's differentials that is not the truth itself
    or a wider name for it (the truth does not pass for it)."""
    truth = case.ground_truth.diagnosis
    return any(
        matcher.matches(entry, other.diagnosis) and not matcher.matches(truth, other.diagnosis)
        for other in case.ground_truth.differentials
    )


def must_not_miss_listed(
    case: Case,
    differential: Sequence[str],
    matcher: DiagnosisMatcher,
    *,
    options_shown: bool = False,
) -> bool | None:
    """Whether every must-not-miss diagnosis of the case is in the differential; None when
    the case flags none."""
    truth = case.ground_truth
    needed: list[tuple[str, tuple[str, ...]]] = [
        (d.diagnosis, ()) for d in truth.differentials if d.must_not_miss
    ]
    if truth.must_not_miss:
        needed.append((truth.diagnosis, truth.aliases))
    if not needed:
        return None
    ranked = tuple(differential)
    if options_shown and case.options:
        ranked = option_texts(differential, case.options, matcher)
    return all(rank_of(matcher, ranked, name, aliases) is not None for name, aliases in needed)


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
            components.append(score_component(name, value, evaluator))
    return components


def episode_must_not_miss(context: EvaluationContext) -> bool | None:
    """Whether the differential lists every must-not-miss diagnosis; None when the case
    flags none (see :func:`must_not_miss_listed`)."""
    transcript = context.transcript
    return must_not_miss_listed(
        context.case,
        transcript.differential,
        context.matcher,
        options_shown=transcript.options_shown,
    )


_ORDER_TEST = ActionKind.ORDER_TEST
"""A module name: an enum class's attributes go through its metaclass hook in 3.11, slowly."""


def episode_tests(context: EvaluationContext) -> tuple[tuple[float, float], ...]:
    """(cost, turnaround hours) of every test the doctor ordered."""
    return tuple(
        (turn.cost_usd, turn.turnaround_hours)
        for turn in context.transcript.turns
        if turn.action is not None and turn.action.kind is _ORDER_TEST
    )


def episode_coverage(context: EvaluationContext) -> float:
    """The share of the case's facts the patient told."""
    told = {i for turn in context.transcript.turns for i in turn.facts_revealed}
    return len(told) / len(context.case.facts)


class DiagnosisEvaluator:
    """Top-k accuracy of the ranked differential against the ground truth and its aliases."""

    name = "diagnosis_matcher"
    produces = ("diagnosed", *(f"top{k}" for k in TOP_KS), "must_not_miss")

    async def evaluate(self, context: EvaluationContext) -> list[ScoreComponent]:
        differential = context.transcript.differential
        shown = context.transcript.options_shown
        components = [score_component("diagnosed", float(bool(differential)), "outcome")]
        try:
            rank = diagnosis_rank(context.case, differential, context.matcher, options_shown=shown)
        except Exception as exc:  # noqa: BLE001 - recorded on each top-k score
            components.extend(failed([f"top{k}" for k in TOP_KS], self.name, exc))
        else:
            components.extend(
                score_component(f"top{k}", float(rank is not None and rank <= k), self.name)
                for k in TOP_KS
            )

        def must_not_miss() -> float | None:
            listed = context.derived(episode_must_not_miss)
            return None if listed is None else float(listed)

        components.extend(_components(self.name, [("must_not_miss", must_not_miss)]))
        return components


class MCQEvaluator:
    """Whether the first answer names the right option, when options were shown."""

    name = "mcq"
    produces = ("mcq_correct",)

    async def evaluate(self, context: EvaluationContext) -> list[ScoreComponent]:
        case = context.case
        answer = case.ground_truth.answer_option
        options = case.options
        if not (options and answer and context.transcript.options_shown):
            return []

        def correct() -> float:
            first = context.transcript.differential[:1]
            return float(
                bool(first) and chosen_option(first[0], options, context.matcher) == answer
            )

        return _components(self.name, [("mcq_correct", correct)])


class CoverageEvaluator:
    """Share of the case's facts the patient told during the consultation."""

    name = "fact_coverage"
    produces = ("coverage",)

    async def evaluate(self, context: EvaluationContext) -> list[ScoreComponent]:
        return _components(self.name, [("coverage", lambda: context.derived(episode_coverage))])


class TestsEvaluator:
    """Turns used, tests ordered, their total price and their total turnaround."""

    name = "tests"
    produces = ("turns", "tests_ordered", "test_cost_usd", "test_turnaround_hours")

    async def evaluate(self, context: EvaluationContext) -> list[ScoreComponent]:
        transcript = context.transcript
        tests = context.derived(episode_tests)
        return [
            score_component("turns", float(len(transcript.turns)), "turn_count"),
            score_component("tests_ordered", float(len(tests)), "test_count"),
            score_component("test_cost_usd", float(sum(c for c, _ in tests)), "test_cost"),
            score_component(
                "test_turnaround_hours", float(sum(h for _, h in tests)), "test_turnaround"
            ),
        ]


@EVALUATORS.register("diagnosis", offline=True)
def make_diagnosis(judge: ModelRole | None) -> DiagnosisEvaluator:
    """Top-1 and top-3 accuracy of the differential, by the terminology matcher."""
    return DiagnosisEvaluator()


@EVALUATORS.register("mcq", offline=True)
def make_mcq(judge: ModelRole | None) -> MCQEvaluator:
    """Whether the first answer names the right option, when options were shown."""
    return MCQEvaluator()


@EVALUATORS.register("coverage", offline=True)
def make_coverage(judge: ModelRole | None) -> CoverageEvaluator:
    """Share of the case's facts the patient told."""
    return CoverageEvaluator()


@EVALUATORS.register("tests", offline=True)
def make_tests(judge: ModelRole | None) -> TestsEvaluator:
    """Turns used, tests ordered, their total price and turnaround."""
    return TestsEvaluator()
