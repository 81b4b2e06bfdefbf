"""A model as diagnosis judge: "do these two name the same disease?", read tolerantly.

Complements the offline matcher where wording varies too much for rules (AgentClinic used
a moderator model the same way). Judging is hybrid: the matcher answers every pair it can
(same or different) and only the pairs it is unsure about go to the model, so a batch run
asks the model a handful of questions rather than one per differential entry. Each question
is its own short conversation; answers are kept per judge and, through the model client's
reply cache, across runs. A verdict that is neither yes nor no counts as a failed
judgement and is recorded, never taken as no.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from typing import Any

from clinic_env.agents.model_role import ModelRole
from clinic_env.errors import AgentError
from clinic_env.evaluators.registry import EVALUATORS, EvaluationContext
from clinic_env.language.matcher import DiagnosisMatcher, Verdict
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
    """A judge model asked one pair at a time."""

    def __init__(self, model: ModelRole) -> None:
        self.model = model

    async def same_disease(self, predicted: str, truth: str) -> bool:
        prompt = render_prompt("judge", truth=truth, predicted=predicted)
        completion = await self.model.complete([{"role": "user", "content": prompt}])
        return parse_verdict(completion.text)


class HybridJudge:
    """The offline matcher first; the model only where the matcher is unsure.

    Without a model, an unsure pair counts as different (the matcher's precision-first
    reading). Model verdicts are kept per (prediction, reference, aliases).

    Args:
        matcher: The offline matcher.
        model: The judge model, if one is configured.
    """

    def __init__(self, matcher: DiagnosisMatcher, model: LLMJudge | None = None) -> None:
        self.matcher = matcher
        self.model = model
        self.asked = 0
        """Questions put to the model (answers not already kept)."""
        self._verdicts: dict[tuple[str, str, tuple[str, ...]], bool] = {}

    async def same_disease(self, predicted: str, truth: str, aliases: Sequence[str] = ()) -> bool:
        verdict = self.matcher.verdict(predicted, truth, aliases)
        if verdict is not Verdict.UNSURE or self.model is None:
            return verdict is Verdict.SAME
        key = (predicted, truth, tuple(aliases))
        if key not in self._verdicts:
            self.asked += 1
            self._verdicts[key] = await self.model.same_disease(predicted, truth)
        return self._verdicts[key]

    async def rank(
        self, differential: Sequence[str], truth: str, aliases: Sequence[str] = (), limit: int = 5
    ) -> int | None:
        """1-based rank of the first entry judged the same, among the first ``limit``."""
        for rank, entry in enumerate(differential[:limit], start=1):
            if await self.same_disease(entry, truth, aliases):
                return rank
        return None


class LLMJudgeEvaluator:
    """The hybrid judge's view of the diagnosis: top-1 and top-3 by "same disease?"."""

    name = "llm_judge"
    produces = tuple(f"judge_top{k}" for k in JUDGE_TOP_KS)

    def __init__(self, judge: LLMJudge) -> None:
        self.judge = judge
        self._hybrid: HybridJudge | None = None

    async def evaluate(self, context: EvaluationContext) -> list[ScoreComponent]:
        if self._hybrid is None or self._hybrid.matcher is not context.matcher:
            self._hybrid = HybridJudge(context.matcher, self.judge)
        truth = context.case.ground_truth
        rank = await self._hybrid.rank(
            context.transcript.differential, truth.diagnosis, truth.aliases, max(JUDGE_TOP_KS)
        )
        return [
            ScoreComponent(
                name=f"judge_top{k}",
                value=float(rank is not None and rank <= k),
                evaluator=self.name,
            )
            for k in JUDGE_TOP_KS
        ]


@EVALUATORS.register("llm_judge", needs_judge=True)
def make_llm_judge(judge: ModelRole | None) -> LLMJudgeEvaluator:
    """Top-1 and top-3 by the hybrid judge: the matcher, then a model when it is unsure."""
    assert judge is not None  # create_evaluators checks needs_judge first
    return LLMJudgeEvaluator(LLMJudge(judge))
