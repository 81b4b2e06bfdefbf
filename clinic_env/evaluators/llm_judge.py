"""A model as diagnosis judge: "do these two name the same disease?", read tolerantly.

Complements the offline matcher where wording varies too much for rules (AgentClinic used
a moderator model the same way). Each comparison is its own short conversation. A verdict
that is neither yes nor no counts as a failed judgement and is recorded, never taken as no.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from clinic_env.agents.model_role import ModelRole
from clinic_env.errors import AgentError
from clinic_env.llm.prompts import render_prompt

_VERDICT = re.compile(r"\b(yes|no|same|different|not the same)\b", re.I)


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
