"""OSCE-style rubrics: history taking, communication, empathy, management and safety.

A rubric (``evaluators/rubrics/*.yaml``) is a list of criteria worth points. A criterion with
a ``check`` can be scored offline from the transcript (what the doctor asked about, said,
ordered and concluded); the model judge scores every criterion, those without a check too.
A rubric's score is the share of the applicable points met, so 1.0 is a perfect station.
"""

from __future__ import annotations

import functools

from pydantic import Field, model_validator

from clinic_env.agents.model_role import ModelRole
from clinic_env.content import content_files, content_path, load_yaml_model
from clinic_env.errors import AgentError, ContentError
from clinic_env.evaluators.fidelity import manipulates
from clinic_env.evaluators.inquiry import inquiry_labels, is_question_to_patient
from clinic_env.evaluators.llm_judge import read_json_object
from clinic_env.evaluators.registry import EVALUATORS, EvaluationContext
from clinic_env.evaluators.scoring import must_not_miss_listed, ordered_tests
from clinic_env.language.lexicon import lexicon
from clinic_env.language.rules import phrase_sets, phrase_sets_in
from clinic_env.llm.prompts import render_prompt
from clinic_env.schema.action import ActionKind
from clinic_env.schema.base import Frozen
from clinic_env.schema.case import FactCategory
from clinic_env.schema.transcript import InquiryType, ScoreComponent, Transcript


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
    def test(self) -> tuple[str, object]:
        """The name of the :class:`TranscriptFacts` method that runs this check's one test,
        and the test's value."""
        name, value = next((n, v) for n, v in self if v is not None)
        return f"_{name}", value


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


class TranscriptFacts:
    """What the offline checks read off one transcript, computed once."""

    def __init__(self, context: EvaluationContext) -> None:
        self.context = context
        transcript: Transcript = context.transcript
        self.messages = [turn.doctor_message for turn in transcript.turns]
        questions = [
            t.action.text for t in transcript.turns if is_question_to_patient(t) and t.action
        ]
        self.topics = {topic for q in questions for topic in lexicon().question(q).topics}
        self.labels = set(inquiry_labels(transcript))
        self.kinds = [t.action.kind for t in transcript.turns if t.action is not None]
        told = {i for turn in transcript.turns for i in turn.facts_revealed}
        self.coverage = len(told) / len(context.case.facts)
        self.said = frozenset[str]().union(*map(phrase_sets_in, self.messages))

    def met(self, check: Check) -> bool | None:
        """Whether the check holds; None when it does not apply to this case."""
        method, value = check.test
        return getattr(self, method)(value)

    def _inquiry(self, kind: InquiryType) -> bool:
        return kind in self.labels

    def _asked_about(self, topics: tuple[FactCategory, ...]) -> bool:
        return bool(self.topics & set(topics))

    def _said(self, phrases: str) -> bool:
        return phrases in self.said

    def _coverage_at_least(self, share: float) -> bool:
        return self.coverage >= share

    def _must_not_miss_listed(self, _: bool) -> bool | None:
        context = self.context
        transcript = context.transcript
        return must_not_miss_listed(
            context.case,
            transcript.differential,
            context.matcher,
            options_shown=transcript.options_shown,
        )

    def _diagnosed(self, _: bool) -> bool:
        return bool(self.context.transcript.differential)

    def _differential_at_least(self, count: int) -> bool:
        return len(self.context.transcript.differential) >= count

    def _no_invalid_actions(self, _: bool) -> bool:
        return not any(turn.error for turn in self.context.transcript.turns)

    def _no_repeats(self, _: bool) -> bool:
        asked = [" ".join(sorted(lexicon().terms(m))) or m for m in self.messages]
        return len(set(asked)) == len(asked)

    def _no_manipulation(self, _: bool) -> bool:
        return not any(manipulates(m) for m in self.messages)

    def _examined(self, _: bool) -> bool:
        return ActionKind.EXAMINE in self.kinds

    def _investigated(self, _: bool) -> bool:
        return bool({ActionKind.EXAMINE, ActionKind.ORDER_TEST} & set(self.kinds))

    def _tests_within_usd(self, limit: float) -> bool:
        return sum(cost for cost, _ in ordered_tests(self.context.transcript)) <= limit


def rubric_score(rubric: Rubric, verdicts: dict[str, bool | None]) -> float | None:
    """Share of the applicable points met; None when no criterion applied."""
    applicable = [c for c in rubric.criteria if verdicts.get(c.id) is not None]
    total = sum(c.points for c in applicable)
    if not total:
        return None
    return sum(c.points for c in applicable if verdicts[c.id]) / total


class RubricEvaluator:
    """Every rubric scored offline, on the criteria that have a check."""

    name = "rubric_rules"

    def __init__(self) -> None:
        self.produces = tuple(f"rubric_{rubric_id}" for rubric_id in rubrics())

    async def evaluate(self, context: EvaluationContext) -> list[ScoreComponent]:
        facts = TranscriptFacts(context)
        components = []
        for rubric in rubrics().values():
            verdicts = {c.id: facts.met(c.check) for c in rubric.criteria if c.check is not None}
            score = rubric_score(rubric, verdicts)
            if score is not None:
                components.append(
                    ScoreComponent(name=f"rubric_{rubric.id}", value=score, evaluator=self.name)
                )
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
                score = rubric_score(rubric, parse_verdicts(completion.text, rubric))
            except Exception as exc:  # noqa: BLE001 - one rubric's failure spares the others
                error = f"{type(exc).__name__}: {exc}"
                components.append(
                    ScoreComponent(name=name, value=None, evaluator=self.name, error=error)
                )
                continue
            if score is not None:
                components.append(ScoreComponent(name=name, value=score, evaluator=self.name))
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
