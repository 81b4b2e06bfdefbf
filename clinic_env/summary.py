"""One consultation summed up, derived once from its transcript (and its case) for every face.

The web page's result, the terminal's end screen, the report's rows and the trainer faces'
episode totals all need the same few numbers: how the consultation ended, where the answer
ranked, what the reward and each of its parts added up to, which facts were drawn out and
which were missed, the tests and their cost, the turns, and the model calls. They are derived
here and read from here, so two faces can never disagree about one consultation.

What needs only the transcript (the report reads thousands) is always there; what needs the
case (the answer, its rank, the facts' texts) is in :attr:`TranscriptSummary.found`, present
when the case is given. Only faces shown after the end may read it: it names the answer.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from clinic_env.evaluators.scoring import diagnosis_rank
from clinic_env.language.matcher import DiagnosisMatcher
from clinic_env.schema.action import ActionKind
from clinic_env.schema.case import Case
from clinic_env.schema.transcript import Outcome, Transcript, Validity


@dataclass(frozen=True, slots=True)
class OrderedTest:
    """One test the doctor ordered, as the room priced it."""

    name: str
    cost_usd: float
    turnaround_hours: float


@dataclass(frozen=True, slots=True)
class ModelUsage:
    """Every model call of the consultation, all roles together."""

    calls: int
    prompt_tokens: int
    completion_tokens: int
    cost_usd: float


@dataclass(frozen=True, slots=True)
class CaseFindings:
    """What only the case can say: the answer, where it ranked, the facts drawn out and missed.

    ``rank`` is None when the answer is not on the list (or no list was given); a matcher
    that failed leaves it None with ``rank_error`` saying why, never a silent miss.
    """

    diagnosis: str
    aliases: tuple[str, ...]
    rank: int | None
    rank_error: str | None
    elicited: tuple[str, ...]
    missed: tuple[str, ...]
    must_not_miss: tuple[str, ...]
    """The differentials the case flags as must-not-miss (the ones to rule out)."""


@dataclass(frozen=True, slots=True)
class TranscriptSummary:
    """How one consultation went, in numbers every face shares."""

    outcome: Outcome
    error: str | None
    validity: Validity | None
    turns: int
    differential: tuple[str, ...]
    reward: float
    """The episode's return: the sum of the turn rewards."""
    reward_parts: dict[str, float]
    """Each reward part summed over the turns, by name."""
    facts_told: frozenset[int]
    """Indices of the case facts the patient told."""
    tests: tuple[OrderedTest, ...]
    usage: ModelUsage
    found: CaseFindings | None = None

    @property
    def failed(self) -> bool:
        return self.outcome == "error"

    @property
    def test_cost_usd(self) -> float:
        return math.fsum(test.cost_usd for test in self.tests)

    @property
    def slowest_test_hours(self) -> float:
        return max((test.turnaround_hours for test in self.tests), default=0.0)


def reward_totals(
    rewards: Iterable[float], breakdowns: Iterable[Mapping[str, float]]
) -> tuple[float, dict[str, float]]:
    """The return (the turn rewards summed) and each named part summed over the turns, in
    name order: one sum for the transcript's turns and for a trainer's step results alike."""
    parts: dict[str, list[float]] = {}
    for breakdown in breakdowns:
        for name, value in breakdown.items():
            parts.setdefault(name, []).append(float(value))
    total = math.fsum(float(value) for value in rewards)
    return total, {name: math.fsum(parts[name]) for name in sorted(parts)}


def summarise(
    transcript: Transcript, case: Case | None = None, matcher: DiagnosisMatcher | None = None
) -> TranscriptSummary:
    """The summary of ``transcript``; with its ``case``, also what the case says of it.

    ``matcher`` should be the session's (the one that scored it); the content's by default.
    """
    turns = transcript.turns
    reward, parts = reward_totals(
        (turn.reward for turn in turns), (turn.reward_breakdown for turn in turns)
    )
    told = frozenset(i for turn in turns for i in turn.facts_revealed)
    calls = transcript.model_calls
    return TranscriptSummary(
        outcome=transcript.outcome,
        error=transcript.error,
        validity=transcript.validity,
        turns=len(turns),
        differential=transcript.differential,
        reward=reward,
        reward_parts=parts,
        facts_told=told,
        tests=tuple(
            OrderedTest(turn.action.text, turn.cost_usd, turn.turnaround_hours)
            for turn in turns
            if turn.action is not None and turn.action.kind is ActionKind.ORDER_TEST
        ),
        usage=ModelUsage(
            calls=len(calls),
            prompt_tokens=sum(call.prompt_tokens for call in calls),
            completion_tokens=sum(call.completion_tokens for call in calls),
            cost_usd=math.fsum(call.cost_usd for call in calls),
        ),
        found=None if case is None else _findings(case, transcript, told, matcher),
    )


def _findings(
    case: Case, transcript: Transcript, told: frozenset[int], matcher: DiagnosisMatcher | None
) -> CaseFindings:
    rank, rank_error = None, None
    if transcript.differential:
        try:
            rank = diagnosis_rank(
                case,
                transcript.differential,
                matcher or DiagnosisMatcher.from_content(),
                options_shown=transcript.options_shown,
            )
        except Exception as exc:  # noqa: BLE001 - a matcher's failure is said, not a miss
            rank_error = f"{type(exc).__name__}: {exc}"
    truth = case.ground_truth
    return CaseFindings(
        diagnosis=truth.diagnosis,
        aliases=tuple(truth.aliases),
        rank=rank,
        rank_error=rank_error,
        elicited=tuple(fact.text for i, fact in enumerate(case.facts) if i in told),
        missed=tuple(fact.text for i, fact in enumerate(case.facts) if i not in told),
        must_not_miss=tuple(d.diagnosis for d in truth.differentials if d.must_not_miss),
    )


def feedback(summary: TranscriptSummary, doctor: str) -> list[str]:
    """A few plain sentences on how the consultation went, for a person at the end of it;
    ``doctor`` is "you" when the person played the doctor, else how to name the doctor that
    interviewed them ("the systematic doctor")."""
    found = summary.found
    if found is None:
        raise ValueError("feedback needs a summary made with the case")
    truth = found.diagnosis
    whose = "your" if doctor == "you" else f"{doctor}'s"
    lines = []
    if not summary.differential:
        lines.append(f"No diagnosis was given; the answer was {truth}.")
    elif found.rank == 1:
        lines.append(f"{whose.capitalize()} leading diagnosis matched the answer, {truth}.")
    elif found.rank is not None:
        lines.append(f"The answer, {truth}, was number {found.rank} on {whose} list.")
    else:
        lines.append(f"The answer, {truth}, was not on {whose} list.")
    facts = len(found.elicited) + len(found.missed)
    share = len(found.elicited) / facts if facts else 0.0
    lines.append(
        f"{doctor.capitalize()} drew out {len(found.elicited)} of {facts} history facts "
        f"({share:.0%})."
    )
    if summary.tests:
        lines.append(
            f"{doctor.capitalize()} ordered {len(summary.tests)} test(s) costing "
            f"${summary.test_cost_usd:,.0f}; the slowest result takes "
            f"{summary.slowest_test_hours:g} h."
        )
    if found.must_not_miss:
        lines.append(
            "Must-not-miss diagnoses to rule out here: " + ", ".join(found.must_not_miss) + "."
        )
    return lines
