"""A model as diagnosis judge: "do these two name the same disease?", read tolerantly.

Complements the offline matcher where wording varies too much for rules (AgentClinic used
a moderator model the same way). Each comparison is its own short conversation. A verdict
that is neither yes nor no counts as a failed judgement and is recorded, never taken as no.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from typing import Any

from clinic_env.agents.model_role import ModelRole
from clinic_env.errors import AgentError
from clinic_env.evaluators.registry import EVALUATORS, NEEDS_JUDGE, EvaluationContext
from clinic_env.llm.prompts import render_prompt
from clinic_env.schema.transcript import ScoreComponent

_VERDICT = re.compile(r"\b(yes|no|same|different|not the same)\b", re.I)
_JSON_OBJECT = re.compile(r"\{.*\}", re.S)
JUDGE_TOP_KS = (1, 3)


def read_json_object(text: str) -> dict[str, Any] | None:
    """The JSON object in a model's answer (fenced, or with words around it), if any."""
    match = _JSON_OBJECT.search(text)
    if match is None:
        return None
    try:
        data = json.loads(match.group(0))
    except json.JSONDecodeError:
        return None
    return data if isinstance(data, dict) else None


class UnclearVerdictError(AgentError):
    """The judge answered neither yes nor no."""


def parse_verdict(text: str) -> bool:
    """True for "Yes.", "**yes**, same disease", "Same"; False for "No", "different"."""
    match = _VERDICT.search(text)
    if match is None:
        raise UnclearVerdictError(f"the judge's answer is neither yes nor no: {text[:120]!r}")
    return match.group(1).lower() in ("yes", "same")


class LLMJudge:
    def __init__(self, model: ModelRole) -> None:
        self.model = model

    async def same_disease(self, predicted: str, truth: str) -> bool:
        prompt = render_prompt("judge", truth=truth, predicted=predicted)
        completion = await self.model.complete([{"role": "user", "content": prompt}])
        return parse_verdict(completion.text)

    async def rank(self, differential: Sequence[str], truth: str, limit: int = 5) -> int | None:
        """1-based rank of the first entry the judge accepts, among the first ``limit``."""
        for rank, entry in enumerate(differential[:limit], start=1):
            if await self.same_disease(entry, truth):
                return rank
        return None


class LLMJudgeEvaluator:
    """The judge model's view of the diagnosis: top-1 and top-3 by "same disease?" questions."""

    name = "llm_judge"
    produces = tuple(f"judge_top{k}" for k in JUDGE_TOP_KS)

    def __init__(self, judge: LLMJudge) -> None:
        self.judge = judge

    async def evaluate(self, context: EvaluationContext) -> list[ScoreComponent]:
        transcript = context.transcript
        rank = await self.judge.rank(
            transcript.differential, context.case.ground_truth.diagnosis, max(JUDGE_TOP_KS)
        )
        return [
            ScoreComponent(
                name=f"judge_top{k}",
                value=float(rank is not None and rank <= k),
                evaluator=self.name,
            )
            for k in JUDGE_TOP_KS
        ]


@EVALUATORS.register("llm_judge")
def _make_llm_judge(judge: ModelRole | None) -> LLMJudgeEvaluator:
    assert judge is not None  # create_evaluators checks NEEDS_JUDGE first
    return LLMJudgeEvaluator(LLMJudge(judge))


NEEDS_JUDGE.add("llm_judge")
