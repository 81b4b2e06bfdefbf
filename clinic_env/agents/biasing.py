"""Pointing biases at a case: the wrong diagnosis favoured, and what each role is given.

A cognitive bias favours one wrong diagnosis, its *target*. The targeted variants draw it,
with the consultation's seed, from the case's own differential or MCQ options (or, when the
case has neither, from the knowledge base's diseases of the same specialty, sex and age); the
source-faithful variants aim where their source did: AgentClinic's at one fixed disease
("cancer"), BiasMedQA's at a wrong MCQ option. One target is drawn per case and seed, whichever
biases are given, so runs of different biases on the same case and seed are paired on the same
wrong answer.

A drawn target is never the ground truth and never shares a distinctive word with it or any of
its aliases (after folding and stemming, generic words such as "acute" or "syndrome" aside):
"Tension pneumothorax" is never aimed at on a case of primary spontaneous pneumothorax, so a
biased episode cannot hint at the answer. A fixed target is the same on every case, so it
tells nothing about any case's answer; it is kept as the source had it. Every rendered text
passes the leak guard before any agent sees it.

For a doctor outside the simulator (a Gym policy, a person), no instructions of ours reach it:
:meth:`BiasPlan.brief_texts` gives the doctor bias texts to show in the brief it reads first,
where the bias may be shown there, and refuses the others with a :class:`ConfigError`.
"""

from __future__ import annotations

import random
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

from clinic_env.agents.personas import parse_bias
from clinic_env.errors import ConfigError, ContentError
from clinic_env.language.knowledge import age_group, diseases
from clinic_env.language.leak import LeakGuard, case_guard, leak_guard
from clinic_env.language.lexicon import share_distinctive_word
from clinic_env.language.matcher import DiagnosisMatcher
from clinic_env.language.text import fold
from clinic_env.protocol.texts import protocol_texts
from clinic_env.schema.case import Case
from clinic_env.schema.persona import TARGET, TEST, Bias, BiasRole

BIAS_TARGET_STREAM = "bias-target"
"""The name of the random stream, per case and seed, that draws the biases' target."""


@dataclass(frozen=True, slots=True)
class PatientLines:
    """A patient bias's offline lines with the target and its test filled in (see
    :class:`~clinic_env.schema.persona.BiasBehaviour` for when each is said)."""

    belief: tuple[str, ...] = ()
    pushback: tuple[str, ...] = ()
    concede: tuple[str, ...] = ()
    requests: tuple[str, ...] = ()
    asks: tuple[str, ...] = ()


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
    brief: str | None = None
    """A doctor bias's text as the brief shows it, where the bias may be shown there."""
    lines: PatientLines = PatientLines()
    """The offline patient's other lines."""
    tests: tuple[str, ...] = ()
    """Tests that would confirm the target (knowledge base), first the likeliest asked for."""

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

    def brief_texts(self, outside_doctor: bool) -> list[str]:
        """The doctor bias texts to add to the brief the doctor reads first.

        Those placed in the case reach every doctor. A doctor outside the simulator (a Gym
        policy, a person) has no instructions of ours, so every other doctor bias must be shown
        in its brief too, which its ``shown_in`` must allow.

        Args:
            outside_doctor: whether the doctor is outside the simulator (no system prompt of
                ours); model and scripted doctors are not.

        Returns:
            The texts, targets filled in and leak-guarded, in the order the biases were given.

        Raises:
            ConfigError: for an outside doctor, naming a doctor bias that may not be shown in
                the brief, and why.
        """
        texts = []
        for use in self.uses:
            if use.role != "doctor":
                continue
            if use.bias.placement == "case":
                texts.append(use.text)
            elif outside_doctor:
                if use.brief is None:
                    raise ConfigError(_refusal(use.key, use.bias))
                texts.append(use.brief)
        return texts

    @property
    def targets(self) -> dict[str, str]:
        """``"role:bias" -> target`` for the cognitive biases, for the transcript."""
        return {use.key: use.target for use in self.uses if use.target is not None}


def check_outside_doctor(specs: Sequence[str]) -> None:
    """Refuse, before any case is drawn, doctor biases an outside doctor cannot be shown.

    Call it where an env or run is built whose doctor is a policy or a person.

    Raises:
        ConfigError: naming the first such bias and why.
    """
    for spec in specs:
        bias, roles = parse_bias(spec)
        if "doctor" in roles and "brief" not in bias.shown_in:
            raise ConfigError(_refusal(f"doctor:{bias.id}", bias))


def _refusal(key: str, bias: Bias) -> str:
    why = (
        "it asks the doctor to hold a prejudice about the patient"
        if bias.kind == "implicit"
        else "it is written as the doctor's own state of mind"
    )
    return (
        f"bias {key!r} cannot be given to a doctor outside the simulator (a policy or a "
        f"person): {why}, which only a model doctor's instructions can carry, and an outside "
        "doctor reads only the brief. Give it to a model doctor, or choose a bias that may be "
        "shown in the brief (`clinic-env biases list` shows where each is placed)"
    )


@runtime_checkable
class TakesBiases(Protocol):
    """A registered patient that can act out biases without a model (the offline patient)."""

    def take_biases(self, uses: Sequence[BiasUse]) -> None: ...


def _is_truth(candidate: str, case: Case, matcher: DiagnosisMatcher, guard: LeakGuard) -> bool:
    """Whether ``candidate`` names the truth, or shares a distinctive word with any of its
    names (so aiming a bias at it would hint at the answer)."""
    truth = case.ground_truth
    return (
        guard.scrub(candidate)[1]
        or matcher.matches(candidate, truth.diagnosis, truth.aliases)
        or matcher.matches(truth.diagnosis, candidate)
        or any(share_distinctive_word(candidate, n) for n in (truth.diagnosis, *truth.aliases))
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
    key = (id(case), id(matcher))
    cached = _CANDIDATES.get(key)
    if cached is not None and cached[0] is case and cached[1] is matcher:
        return list(cached[2])
    found = tuple(_candidates(case, matcher, guard))
    if len(_CANDIDATES) >= _CANDIDATE_CACHE_SIZE:
        _CANDIDATES.clear()
    _CANDIDATES[key] = (case, matcher, found)
    return list(found)


_CANDIDATE_CACHE_SIZE = 4096
_CANDIDATES: dict[tuple[int, int], tuple[Case, DiagnosisMatcher, tuple[str, ...]]] = {}
"""Per case and matcher, by identity (cases are immutable and replayed): hashing a case's
fields on every episode cost more than the lookup saved."""


def _candidates(case: Case, matcher: DiagnosisMatcher, guard: LeakGuard) -> list[str]:
    truth = case.ground_truth
    named = [item.diagnosis for item in truth.differentials] + _wrong_options(case)
    wrong = [n for n in _unique(named) if not _is_truth(n, case, matcher, guard)]
    if wrong:
        return wrong
    group = age_group(case.demographics.age_years)
    sex = case.demographics.sex
    fitting = [d for d in diseases() if group in d.age_groups and d.sex in ("any", sex)]
    same_specialty = [d for d in fitting if fold(d.specialty) == fold(case.specialty)]
    pool = [d.name for d in (same_specialty or fitting or diseases())]
    return [n for n in _unique(pool) if not _is_truth(n, case, matcher, guard)]


def _wrong_options(case: Case) -> list[str]:
    if not case.options:
        return []
    answer = case.ground_truth.answer_option
    return [text for letter, text in sorted(case.options.items()) if letter != answer]


def bias_target(case: Case, rng: random.Random, matcher: DiagnosisMatcher | None = None) -> str:
    """The wrong diagnosis the targeted cognitive biases of one consultation favour: the first
    draw from ``rng``, which the session makes a stream of its own per case and seed."""
    candidates = target_candidates(case, matcher or DiagnosisMatcher.from_content(), _guard(case))
    if not candidates:
        raise ContentError(f"case {case.id!r}: no wrong diagnosis is left to aim a bias at")
    return rng.choice(candidates)


def _option_target(
    case: Case, drawn: str, rng: random.Random, matcher: DiagnosisMatcher | None
) -> str:
    """A wrong MCQ option (BiasMedQA's target): the drawn target when it is one, else drawn
    from the options (the drawn target on a case without usable options)."""
    candidates = target_candidates(case, matcher or DiagnosisMatcher.from_content(), _guard(case))
    options = {fold(text) for text in _wrong_options(case)}
    usable = [name for name in candidates if fold(name) in options]
    if not usable or fold(drawn) in options:
        return drawn
    return rng.choice(usable)


def confirming_tests(target: str | None) -> tuple[str, ...]:
    """The knowledge base's tests that support ``target`` (none for a disease it lacks)."""
    if target is None:
        return ()
    wanted = fold(target)
    for disease in diseases():
        if wanted in {fold(name) for name in (disease.name, *disease.aliases)}:
            return tuple(test.test for test in disease.tests)
    return ()


def plan_biases(
    case: Case,
    specs: Sequence[str],
    rng: random.Random,
    matcher: DiagnosisMatcher | None = None,
) -> BiasPlan:
    """The biases ``specs`` name (``"recency"``, ``"doctor:recency"``) pointed at ``case``.

    ``rng`` draws the target (first, see :func:`bias_target`), a wrong option where a bias
    wants one, and then the offline lines.
    """
    if not specs:
        return BiasPlan()
    guard = _guard(case)
    parsed = [parse_bias(spec) for spec in specs]
    aimed = [bias.target.kind for bias, _ in parsed if bias.kind == "cognitive"]
    drawn = option = None
    if {"drawn", "wrong_option"} & set(aimed):
        drawn = bias_target(case, rng, matcher)
    if "wrong_option" in aimed and drawn is not None:
        option = _option_target(case, drawn, rng, matcher)
    uses = []
    for bias, roles in parsed:
        aim = _aim(bias, drawn, option)
        tests = confirming_tests(aim)
        for role in roles:
            says = None
            lines = PatientLines()
            if role == "patient":
                if bias.offline.says:
                    says = _fill(rng.choice(bias.offline.says), aim, tests, guard)
                lines = _patient_lines(bias, aim, tests, guard)
            text = guard.scrub(bias.text(role, aim))[0]
            brief = bias.brief_text(aim) if role == "doctor" else None
            brief = guard.scrub(brief)[0] if brief is not None else None
            uses.append(BiasUse(bias, role, aim, text, says, brief, lines, tests))
    keys = [use.key for use in uses]
    repeated = sorted({key for key in keys if keys.count(key) > 1})
    if repeated:
        raise ContentError(f"bias given twice to the same role: {', '.join(repeated)}")
    return BiasPlan(tuple(uses))


def _aim(bias: Bias, drawn: str | None, option: str | None) -> str | None:
    if bias.kind != "cognitive":
        return None
    if bias.target.kind == "fixed":
        return bias.target.name
    return option if bias.target.kind == "wrong_option" else drawn


def _patient_lines(
    bias: Bias, aim: str | None, tests: tuple[str, ...], guard: LeakGuard
) -> PatientLines:
    offline = bias.offline

    def fill(lines: tuple[str, ...]) -> tuple[str, ...]:
        return tuple(_fill(line, aim, tests, guard) for line in lines)

    return PatientLines(
        fill(offline.belief),
        fill(offline.pushback),
        fill(offline.concede),
        fill(offline.requests),
        fill(offline.asks),
    )


def _guard(case: Case) -> LeakGuard:
    """The session's guard for the case (every name the matcher scores as the answer, so no
    bias aims at a form of the answer itself); an answer that is not a diagnosis, which the
    session does not withhold, is still kept out of bias targets and lines by its own names."""
    truth = case.ground_truth
    if truth.answer_kind == "diagnosis":
        return case_guard(case, protocol_texts().redacted)
    return leak_guard((truth.diagnosis, *truth.aliases), protocol_texts().redacted)


def _fill(line: str, target: str | None, tests: tuple[str, ...], guard: LeakGuard) -> str:
    if target is not None:
        line = line.replace(TARGET, target)
    return guard.scrub(line.replace(TEST, _test_phrase(tests)))[0]


_VOWEL_SOUND_LETTERS = frozenset("AEFHILMNORSX")
"""Capitals read with a vowel sound ("an ECG", "an MRI", "an X-ray")."""


def _test_phrase(tests: tuple[str, ...]) -> str:
    """The first confirming test as a noun phrase ("an ECG", "a blood culture"), or a
    generic one when the knowledge base has none."""
    if not tests:
        return "a test"
    name = tests[0]
    head = name.split()[0]
    abbreviated = sum(c.isupper() for c in head) >= 2 or head[:2].endswith("-")
    if not abbreviated:
        name = name[:1].lower() + name[1:]
        article = "an" if name[:1] in "aeiou" else "a"
    else:
        article = "an" if name[:1] in _VOWEL_SOUND_LETTERS else "a"
    return f"{article} {name}"
