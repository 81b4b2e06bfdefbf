"""The post-consultation questionnaire: a model-played patient rates the doctor, in role.

After the last turn the patient is asked, as the next message of its own conversation (so a
serving engine's prefix cache still holds it), how likely it is to follow the advice, how
much confidence it has in the doctor and whether it would come back. The items and scale are
content (``agents/prompts/questionnaire.yaml``). An offline patient has no feelings to ask
about, so the questionnaire does not apply to it and nothing is scored.
"""

from __future__ import annotations

import functools

from pydantic import Field, model_validator

from clinic_env.agents.llm_patient import LLMPatient
from clinic_env.agents.model_role import ModelRole
from clinic_env.content import content_path, load_yaml_model
from clinic_env.errors import AgentError
from clinic_env.evaluators.llm_judge import read_json_object
from clinic_env.evaluators.registry import EVALUATORS, EvaluationContext
from clinic_env.llm.prompts import render_prompt
from clinic_env.schema.base import Frozen
from clinic_env.schema.transcript import ScoreComponent


class QuestionnaireItem(Frozen):
    id: str = Field(pattern=r"^[a-z0-9_]+$")
    question: str = Field(min_length=1)
    low: str = Field(min_length=1, description="what the lowest number means")
    high: str = Field(min_length=1, description="what the highest number means")


class Questionnaire(Frozen):
    low: int
    high: int
    items: tuple[QuestionnaireItem, ...] = Field(min_length=1)

    @model_validator(mode="after")
    def _scale(self) -> Questionnaire:
        if self.high <= self.low:
            raise ValueError("high must be above low")
        return self

    def prompt(self) -> str:
        items = "\n".join(
            f"- {item.id}: {item.question} ({self.low} = {item.low}, {self.high} = {item.high})"
            for item in self.items
        )
        values = (self.high - 1, self.low + 1, (self.low + self.high) // 2)
        example = ", ".join(
            f'"{item.id}": {values[i % len(values)]}' for i, item in enumerate(self.items)
        )
        return render_prompt(
            "questionnaire", low=str(self.low), high=str(self.high), items=items, example=example
        )


@functools.cache
def questionnaire() -> Questionnaire:
    return load_yaml_model(content_path("agents", "prompts", "questionnaire.yaml"), Questionnaire)


class UnreadableAnswersError(AgentError):
    """The patient's answers to the questionnaire could not be read."""


def parse_answers(text: str, form: Questionnaire) -> dict[str, float]:
    """Each item's answer, scaled to 0..1; a missing or out-of-range answer is an error."""
    data = read_json_object(text)
    if data is None:
        raise UnreadableAnswersError(f"the answers are not a JSON object: {text[:120]!r}")
    scaled = {}
    for item in form.items:
        value = data.get(item.id)
        if isinstance(value, str) and value.strip().isdigit():
            value = int(value.strip())
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise UnreadableAnswersError(f"no number for {item.id!r} in {text[:120]!r}")
        if not form.low <= value <= form.high:
            raise UnreadableAnswersError(f"{item.id!r}: {value} is off the scale")
        scaled[item.id] = (value - form.low) / (form.high - form.low)
    return scaled


class QuestionnaireEvaluator:
    name = "questionnaire"

    def __init__(self) -> None:
        self.produces = tuple(f"questionnaire_{item.id}" for item in questionnaire().items)

    async def evaluate(self, context: EvaluationContext) -> list[ScoreComponent]:
        patient = context.patient
        if not isinstance(patient, LLMPatient):
            return []
        form = questionnaire()
        messages = [*patient.messages, {"role": "user", "content": form.prompt()}]
        completion = await patient.model.complete(messages)
        answers = parse_answers(completion.text, form)
        return [
            ScoreComponent(name=f"questionnaire_{item}", value=value, evaluator=self.name)
            for item, value in answers.items()
        ]


@EVALUATORS.register("questionnaire")
def make_questionnaire(judge: ModelRole | None) -> QuestionnaireEvaluator:
    """A model-played patient's questionnaire on the doctor (nothing for an offline one)."""
    return QuestionnaireEvaluator()
