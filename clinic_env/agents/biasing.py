"""Pointing biases at a case: the seeded wrong diagnosis, and what each role is given.

AgentClinic points every cognitive bias at one fixed disease; BiasMedQA points each at a
specific wrong answer. Here a cognitive bias favours a wrong diagnosis drawn, with the
consultation's seed, from the case's own differential or MCQ options (or, when the case has
neither, from the knowledge base's diseases of the same specialty, sex and age). One target is
drawn per case and seed, whichever biases are given, so runs of different biases on the same
case and seed are paired on the same wrong answer. The target is never the ground truth: the
matcher and the leak guard both reject any candidate that names it, and every rendered text
passes the leak guard before any agent sees it.
"""

from __future__ import annotations

import random
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

from clinic_env.agents.doctors.ranking import age_group
from clinic_env.agents.personas import parse_bias
from clinic_env.errors import ContentError
from clinic_env.language.knowledge import diseases
from clinic_env.language.leak import LeakGuard, leak_guard
from clinic_env.language.matcher import DiagnosisMatcher
from clinic_env.language.text import fold
from clinic_env.protocol.texts import protocol_texts
from clinic_env.schema.case import Case
from clinic_env.schema.persona import Bias, BiasBehaviour, BiasRole, PersonaBehaviour

BIAS_TARGET_STREAM = "bias-target"
"""The name of the random stream, per case and seed, that draws the biases' target."""


@dataclass(frozen=True, slots=True)
class BiasUse:
    """One bias given to one role of one consultation, its texts filled in."""

    bias: Bias
    role: BiasRole
    target: str | None
    text: str
    """What a model playing the role is told (or, for placement "case", the doctor reads)."""
    says: str | None = None
    """The line the offline patient voices once, if the bias gives it one."""

    @property
    def key(self) -> str:
        return f"{self.role}:{self.bias.id}"


@dataclass(frozen=True, slots=True)
class BiasPlan:
    """Every bias of one consultation, by role."""

    uses: tuple[BiasUse, ...] = ()

    def for_role(self, role: BiasRole, placement: str = "instructions") -> tuple[BiasUse, ...]:
        return tuple(u for u in self.uses if u.role == role and u.bias.placement == placement)

    def texts(self, role: BiasRole, placement: str = "instructions") -> list[str]:
        return [use.text for use in self.for_role(role, placement)]

    @property
    def targets(self) -> dict[str, str]:
        """``"role:bias" -> target`` for the cognitive biases, for the transcript."""
        return {use.key: use.target for use in self.uses if use.target is not None}


@runtime_checkable
class TakesBiases(Protocol):
    """A registered patient that can act out biases without a model (the offline patient)."""

    def take_biases(self, uses: Sequence[BiasUse]) -> None: ...


def shifted_behaviour(
    behaviour: PersonaBehaviour, shifts: Iterable[BiasBehaviour]
) -> PersonaBehaviour:
    """A persona's numbers with every bias's shifts added, clipped to their ranges."""
    disclosure, patience, cues = behaviour.disclosure, behaviour.patience, behaviour.emotional_cues
    for shift in shifts:
        disclosure += shift.disclosure
        patience += shift.patience
        cues += shift.emotional_cues
    return PersonaBehaviour(
        verbosity=behaviour.verbosity,
        disclosure=min(1.0, max(0.0, disclosure)),
        patience=max(1, patience),
        emotional_cues=min(1.0, max(0.0, cues)),
    )


def _is_truth(candidate: str, case: Case, matcher: DiagnosisMatcher, guard: LeakGuard) -> bool:
    truth = case.ground_truth
    return (
        guard.scrub(candidate)[1]
        or matcher.matches(candidate, truth.diagnosis, truth.aliases)
        or matcher.matches(truth.diagnosis, candidate)
    )


def _unique(names: Iterable[str]) -> list[str]:
    seen: set[str] = set()
    unique = []
    for name in names:
        key = fold(name)
        if key and key not in seen:
            seen.add(key)
            unique.append(name.strip())
    return unique


def target_candidates(case: Case, matcher: DiagnosisMatcher, guard: LeakGuard) -> list[str]:
    """Wrong diagnoses a cognitive bias may favour on ``case``, in a stable order (kept per
    case, since an unbiased run is scored against the target too)."""
    truth = case.ground_truth
    key = (
        case.id,
        case.specialty,
        case.demographics,
        truth,
        tuple(sorted(case.options.items())) if case.options else (),
        matcher,
    )
    found = _CANDIDATES.get(key)
    if found is None:
        found = tuple(_candidates(case, matcher, guard))
        if len(_CANDIDATES) >= _CANDIDATE_CACHE_SIZE:
            _CANDIDATES.clear()
        _CANDIDATES[key] = found
    return list(found)


_CANDIDATE_CACHE_SIZE = 4096
_CANDIDATES: dict[tuple[object, ...], tuple[str, ...]] = {}


def _candidates(case: Case, matcher: DiagnosisMatcher, guard: LeakGuard) -> list[str]:
    truth = case.ground_truth
    named = [item.diagnosis for item in truth.differentials]
    if case.options:
        options = sorted(case.options.items())
        named += [text for letter, text in options if letter != truth.answer_option]
    wrong = [n for n in _unique(named) if not _is_truth(n, case, matcher, guard)]
    if wrong:
        return wrong
    group = age_group(case.demographics.age_years)
    sex = case.demographics.sex
    fitting = [d for d in diseases() if group in d.age_groups and d.sex in ("any", sex)]
    same_specialty = [d for d in fitting if fold(d.specialty) == fold(case.specialty)]
    pool = [d.name for d in (same_specialty or fitting or diseases())]
    return [n for n in _unique(pool) if not _is_truth(n, case, matcher, guard)]


def bias_target(case: Case, rng: random.Random, matcher: DiagnosisMatcher | None = None) -> str:
    """The wrong diagnosis the cognitive biases of one consultation favour: the first draw
    from ``rng``, which the session makes a stream of its own per case and seed."""
    candidates = target_candidates(case, matcher or DiagnosisMatcher.from_content(), _guard(case))
    if not candidates:
        raise ContentError(f"case {case.id!r}: no wrong diagnosis is left to aim a bias at")
    return rng.choice(candidates)


def plan_biases(
    case: Case,
    specs: Sequence[str],
    rng: random.Random,
    matcher: DiagnosisMatcher | None = None,
) -> BiasPlan:
    """The biases ``specs`` name (``"recency"``, ``"doctor:recency"``) pointed at ``case``.

    ``rng`` draws the target (first, see :func:`bias_target`) and then the offline lines.
    """
    if not specs:
        return BiasPlan()
    guard = _guard(case)
    parsed = [parse_bias(spec) for spec in specs]
    target = None
    if any(bias.kind == "cognitive" for bias, _ in parsed):
        target = bias_target(case, rng, matcher)
    uses = []
    for bias, roles in parsed:
        aim = target if bias.kind == "cognitive" else None
        for role in roles:
            says = None
            if role == "patient" and bias.offline.says:
                says = guard.scrub(_fill(rng.choice(bias.offline.says), aim))[0]
            text = guard.scrub(bias.text(role, aim))[0]
            uses.append(BiasUse(bias, role, aim, text, says))
    keys = [use.key for use in uses]
    repeated = sorted({key for key in keys if keys.count(key) > 1})
    if repeated:
        raise ContentError(f"bias given twice to the same role: {', '.join(repeated)}")
    return BiasPlan(tuple(uses))


def _guard(case: Case) -> LeakGuard:
    truth = case.ground_truth
    return leak_guard((truth.diagnosis, *truth.aliases), protocol_texts().redacted)


def _fill(line: str, target: str | None) -> str:
    return line.replace("{target}", target) if target is not None else line
