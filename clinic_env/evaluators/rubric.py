"""OSCE-style rubrics: history taking, communication, empathy, management and safety.

A rubric (``evaluators/rubrics/*.yaml``) is a list of criteria worth points. A criterion with
a ``check`` can be scored offline from the transcript (what the doctor asked about, said,
ordered and concluded); the model judge scores every criterion, those without a check too.
A rubric's score is the share of the applicable points met, so 1.0 is a perfect station.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable
from typing import Any

from pydantic import Field, model_validator

from clinic_env.agents.model_role import ModelRole
from clinic_env.content import content_files, content_path, load_yaml_model
from clinic_env.errors import AgentError, ContentError
from clinic_env.evaluators.episode import EpisodeFacts, episode_facts
from clinic_env.evaluators.llm_judge import read_json_object
from clinic_env.evaluators.registry import EVALUATORS, EvaluationContext, score_component
from clinic_env.language.lexicon import lexicon
from clinic_env.language.rules import phrase_sets
from clinic_env.llm.prompts import render_prompt
from clinic_env.schema.action import ActionKind
from clinic_env.schema.base import Frozen
from clinic_env.schema.case import FactCategory
from clinic_env.schema.transcript import InquiryType, ScoreComponent, Transcript

Test = Callable[[EpisodeFacts, Any], bool | None]
"""One kind of offline check: whether it holds on an episode (None: not applicable), given
the check's value."""


class Check(Frozen):
    """One offline test of a criterion; exactly one field is set."""

    inquiry: InquiryType | None = Field(default=None, description="asked a question of this type")
    asked_about: tuple[FactCategory, ...] | None = Field(
        default=None, description="asked a question touching any of these history topics"
    )
    said: str | None = Field(default=None, description="a message holds a phrase of this set")
    coverage_at_least: float | None = Field(default=None, ge=0, le=1)
    must_not_miss_listed: bool | None = None
    diagnosed: bool | None = None
    differential_at_least: int | None = Field(default=None, ge=1)
    no_invalid_actions: bool | None = None
    no_repeats: bool | None = None
    no_manipulation: bool | None = None
    examined: bool | None = None
    investigated: bool | None = None
    tests_within_usd: float | None = Field(default=None, ge=0)

    @model_validator(mode="after")
    def _one(self) -> Check:
        chosen = [name for name, value in self if value is not None]
        if len(chosen) != 1:
            raise ValueError(f"a check sets exactly one test, not {chosen or 'none'}")
        if self.said is not None and self.said not in phrase_sets():
            raise ValueError(
                f"unknown phrase set {self.said!r} (known: {', '.join(phrase_sets())})"
            )
        return self

    @functools.cached_property
    def test(self) -> tuple[Test, Any]:
        """The function that runs this check's one test, and the test's value."""
        name, value = next((n, v) for n, v in self if v is not None)
        return _TESTS[name], value


class Criterion(Frozen):
    id: str = Field(pattern=r"^[a-z0-9_]+$")
    text: str = Field(min_length=1, description="what is looked for, as a judge reads it")
    points: int = Field(default=1, ge=1)
    check: Check | None = None


class Rubric(Frozen):
    id: str = Field(pattern=r"^[a-z0-9_]+$")
    name: str
    summary: str = Field(min_length=1)
    source: str | None = None
    criteria: tuple[Criterion, ...] = Field(min_length=1)

    @model_validator(mode="after")
    def _unique_ids(self) -> Rubric:
        ids = [criterion.id for criterion in self.criteria]
        if len(set(ids)) != len(ids):
            raise ValueError("criterion ids must be unique within a rubric")
        return self

    @functools.cached_property
    def checked(self) -> tuple[tuple[int, Test, Any], ...]:
        """The points, test and test value of each criterion the rules can score."""
        return tuple((c.points, *c.check.test) for c in self.criteria if c.check is not None)


@functools.cache
def rubrics() -> dict[str, Rubric]:
    """Every bundled rubric by id, in file-name order."""
    found: dict[str, Rubric] = {}
    for path in content_files(content_path("evaluators", "rubrics")):
        rubric = load_yaml_model(path, Rubric)
        if rubric.id != path.stem:
            raise ContentError(f"{path}: rubric id {rubric.id!r} must match the file name")
        found[rubric.id] = rubric
    return found


def _inquiry(facts: EpisodeFacts, kind: InquiryType) -> bool:
    return kind in facts.inquiry_labels


def _asked_about(facts: EpisodeFacts, topics: tuple[FactCategory, ...]) -> bool:
    return not facts.topics.isdisjoint(topics)


def _said(facts: EpisodeFacts, phrases: str) -> bool:
    return phrases in facts.said


def _coverage_at_least(facts: EpisodeFacts, share: float) -> bool:
    return facts.coverage >= share


def _must_not_miss_listed(facts: EpisodeFacts, _: bool) -> bool | None:
    return facts.must_not_miss_listed


def _diagnosed(facts: EpisodeFacts, _: bool) -> bool:
    return bool(facts.transcript.differential)


def _differential_at_least(facts: EpisodeFacts, count: int) -> bool:
    return len(facts.transcript.differential) >= count


def _no_invalid_actions(facts: EpisodeFacts, _: bool) -> bool:
    return not any(turn.error for turn in facts.transcript.turns)


def _no_repeats(facts: EpisodeFacts, _: bool) -> bool:
    asked = [_asked(m) for m in facts.messages]
    return len(set(asked)) == len(asked)


@functools.lru_cache(maxsize=65536)
def _asked(message: str) -> str:
    """What a message asks, for telling repeats apart: its terms in order, else its text
    (doctors repeat their messages across episodes, so each is read once)."""
    return " ".join(sorted(lexicon().terms(message))) or message


def _no_manipulation(facts: EpisodeFacts, _: bool) -> bool:
    return not any("manipulation_attempt" in flags for flags in facts.fidelity_flags)


def _examined(facts: EpisodeFacts, _: bool) -> bool:
    return ActionKind.EXAMINE in facts.kinds


def _investigated(facts: EpisodeFacts, _: bool) -> bool:
    return ActionKind.EXAMINE in facts.kinds or ActionKind.ORDER_TEST in facts.kinds


def _tests_within_usd(facts: EpisodeFacts, limit: float) -> bool:
    return sum(cost for cost, _ in facts.tests) <= limit


_TESTS: dict[str, Test] = {
    "inquiry": _inquiry,
    "asked_about": _asked_about,
    "said": _said,
    "coverage_at_least": _coverage_at_least,
    "must_not_miss_listed": _must_not_miss_listed,
    "diagnosed": _diagnosed,
    "differential_at_least": _differential_at_least,
    "no_invalid_actions": _no_invalid_actions,
    "no_repeats": _no_repeats,
    "no_manipulation": _no_manipulation,
    "examined": _examined,
    "investigated": _investigated,
    "tests_within_usd": _tests_within_usd,
}
"""Each :class:`Check` field's test, read off the episode's shared facts."""


def rubric_score(verdicts: Iterable[tuple[int, bool | None]]) -> float | None:
    """Share of the applicable points met, from each criterion's points and verdict (None:
    not applicable); None when no criterion applied."""
    met = total = 0
    for points, verdict in verdicts:
        if verdict is not None:
            total += points
            if verdict:
                met += points
    return met / total if total else None


class RubricEvaluator:
    """Every rubric scored offline, on the criteria that have a check."""

    name = "rubric_rules"

    def __init__(self) -> None:
        self.produces = tuple(f"rubric_{rubric_id}" for rubric_id in rubrics())

    async def evaluate(self, context: EvaluationContext) -> list[ScoreComponent]:
        facts = episode_facts(context)
        components = []
        for rubric in rubrics().values():
            score = rubric_score([(points, test(facts, v)) for points, test, v in rubric.checked])
            if score is not None:
                components.append(score_component(f"rubric_{rubric.id}", score, self.name))
        return components


class UnreadableVerdictsError(AgentError):
    """The judge's verdicts on a rubric could not be read."""


def parse_verdicts(text: str, rubric: Rubric) -> dict[str, bool | None]:
    """``{"criterion_id": true|false|null}`` for every criterion of ``rubric``."""
    data = read_json_object(text)
    if data is None:
        raise UnreadableVerdictsError(f"the judge's verdicts are not a JSON object: {text[:120]!r}")
    verdicts: dict[str, bool | None] = {}
    for criterion in rubric.criteria:
        value = data.get(criterion.id, "missing")
        if value is not None and not isinstance(value, bool):
            raise UnreadableVerdictsError(f"criterion {criterion.id!r}: {value!r} is not a verdict")
        verdicts[criterion.id] = value
    return verdicts


def render_consultation(transcript: Transcript) -> str:
    """The consultation as a judge reads it: the opening, then each message and its answer."""
    lines = [transcript.opening_observation.split("\n\n", 1)[0]]
    for turn in transcript.turns:
        lines.append(f"Doctor: {turn.doctor_message}")
        if turn.observation:
            lines.append(turn.observation)
    return "\n".join(lines)


class LLMRubricEvaluator:
    """A judge model scores every criterion of every rubric, one call per rubric."""

    name = "rubric_llm"

    def __init__(self, judge: ModelRole) -> None:
        self.judge = judge
        self.produces = tuple(f"rubric_llm_{rubric_id}" for rubric_id in rubrics())

    async def evaluate(self, context: EvaluationContext) -> list[ScoreComponent]:
        consultation = render_consultation(context.transcript)
        truth = context.case.ground_truth
        components = []
        for rubric in rubrics().values():
            name = f"rubric_llm_{rubric.id}"
            criteria = "\n".join(f"- {c.id}: {c.text}" for c in rubric.criteria)
            prompt = render_prompt(
                "rubric",
                rubric=f"{rubric.name}: {rubric.summary}",
                criteria=criteria,
                consultation=consultation,
                diagnosis=truth.diagnosis,
            )
            try:
                completion = await self.judge.complete([{"role": "user", "content": prompt}])
                verdicts = parse_verdicts(completion.text, rubric)
                score = rubric_score((c.points, verdicts[c.id]) for c in rubric.criteria)
            except Exception as exc:  # noqa: BLE001 - one rubric's failure spares the others
                error = f"{type(exc).__name__}: {exc}"
                components.append(
                    ScoreComponent(name=name, value=None, evaluator=self.name, error=error)
                )
                continue
            if score is not None:
                components.append(score_component(name, score, self.name))
        return components


@EVALUATORS.register("rubric", offline=True)
def make_rubric(judge: ModelRole | None) -> RubricEvaluator:
    """Every rubric scored by rules, on the criteria that have a check."""
    return RubricEvaluator()


@EVALUATORS.register("rubric_llm", needs_judge=True)
def make_llm_rubric(judge: ModelRole | None) -> LLMRubricEvaluator:
    """A judge model scores every criterion of every rubric."""
    assert judge is not None  # create_evaluators checks needs_judge first
    return LLMRubricEvaluator(judge)
