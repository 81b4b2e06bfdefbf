"""Final scores of a consultation: diagnosis rank, coverage, turns, tests and their cost.

Each score is computed on its own; one that fails is recorded with its error and a ``None``
value, never as a silent zero.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Collection, Sequence

from clinic_env.evaluators.matcher import DiagnosisMatcher
from clinic_env.schema.case import Case
from clinic_env.schema.transcript import Score, ScoreComponent

TOP_KS = (1, 3, 5)
_OPTION_LETTER = re.compile(r"^\(?([A-Za-z])\)?[.)]?(?:\s|$)")


def resolve_option_letters(
    differential: Sequence[str], options: dict[str, str] | None
) -> list[str]:
    """In MCQ mode "B" or "(B) Gout" means option B's text."""
    if not options:
        return list(differential)
    resolved = []
    for entry in differential:
        match = _OPTION_LETTER.match(entry.strip())
        letter = match.group(1).upper() if match else None
        resolved.append(options.get(letter, entry) if letter else entry)
    return resolved


def diagnosis_rank(
    case: Case, differential: Sequence[str], matcher: DiagnosisMatcher
) -> int | None:
    """1-based rank of the right diagnosis in the doctor's ranked list, or None."""
    truth = case.ground_truth
    ranked = resolve_option_letters(differential, case.options)
    return matcher.rank(ranked, truth.diagnosis, truth.aliases)


def score_consultation(
    case: Case,
    differential: Sequence[str],
    rank: int | Exception | None,
    *,
    turns: int,
    revealed: Collection[int],
    test_costs: Sequence[float],
) -> Score:
    """Every final score of one consultation.

    ``rank`` is :func:`diagnosis_rank`'s result, or the exception it raised (recorded on the
    diagnosis scores); ``revealed`` holds the case facts the patient told, ``test_costs`` the
    price of each test ordered.
    """

    def within(k: int) -> Callable[[], float]:
        def compute() -> float:
            if isinstance(rank, Exception):
                raise rank
            return float(rank is not None and rank <= k)

        return compute

    computations: list[tuple[str, str, Callable[[], float]]] = [
        ("diagnosed", "outcome", lambda: float(bool(differential))),
        *((f"top{k}", "diagnosis_matcher", within(k)) for k in TOP_KS),
        ("coverage", "fact_coverage", lambda: len(revealed) / len(case.facts)),
        ("turns", "turn_count", lambda: float(turns)),
        ("tests_ordered", "test_count", lambda: float(len(test_costs))),
        ("test_cost_usd", "test_cost", lambda: float(sum(test_costs))),
    ]
    components = []
    for name, evaluator, compute in computations:
        try:
            components.append(ScoreComponent(name=name, value=compute(), evaluator=evaluator))
        except Exception as exc:  # noqa: BLE001 - a failing evaluator is recorded, not raised
            error = f"{type(exc).__name__}: {exc}"
            components.append(
                ScoreComponent(name=name, value=None, evaluator=evaluator, error=error)
            )
    return Score(components=tuple(components))
