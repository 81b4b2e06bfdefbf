"""A patient played by a model: the case's facts, the persona and biases, never the diagnosis.

The system prompt is rendered from ``agents/prompts/patient.md`` with the patient's view of
the case (which has no ground-truth field), so the diagnosis cannot be in it. Which facts a
reply told is judged from the words it shares with each fact, for coverage scoring.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from clinic_env.agents.base import PatientQuestion, PatientReply
from clinic_env.agents.model_role import ModelRole
from clinic_env.language.facts import build_index, facts_told
from clinic_env.llm.prompts import render_prompt
from clinic_env.schema.case import PatientView
from clinic_env.schema.persona import Persona

_SPEAKER_PREFIX = re.compile(
    r"^\s*\**\s*(patient|mother|father|parent|caregiver|me)\s*\**\s*:\s*\**\s*", re.I
)


def patient_prompt(view: PatientView, persona: Persona, biases: Sequence[str] = ()) -> str:
    """The patient's system prompt; ``biases`` are bias texts with their targets filled in."""
    if view.informant == "caregiver":
        speaker = render_prompt(
            "patient_caregiver",
            description=view.demographics.description,
            caregiver=view.caregiver or "parent",
        )
    else:
        speaker = render_prompt("patient_self", description=view.demographics.description)
    facts = "\n".join(f"- {fact.says or fact.text}" for fact in view.facts)
    opening = f'- What you say first when asked why you came: "{view.opening_statement}"'
    return render_prompt(
        "patient",
        speaker=speaker,
        facts=f"{opening}\n{facts}",
        persona=persona.prompt.strip(),
        biases="\n".join(text.strip() for text in biases),
    )


def clean_reply(text: str) -> str:
    """The spoken words only: no "Patient:" label, no wrapping quotes."""
    cleaned = _SPEAKER_PREFIX.sub("", text.strip()).strip()
    if len(cleaned) >= 2 and cleaned[0] == cleaned[-1] == '"':
        cleaned = cleaned[1:-1].strip()
    return cleaned or "..."


class LLMPatient:
    offline = False

    def __init__(
        self, model: ModelRole, view: PatientView, persona: Persona, biases: Sequence[str] = ()
    ) -> None:
        self.model = model
        self.index = build_index(view.facts)
        self.messages: list[dict[str, Any]] = [
            {"role": "system", "content": patient_prompt(view, persona, biases)}
        ]

    async def reply(self, question: PatientQuestion) -> PatientReply:
        self.messages.append({"role": "user", "content": question.text})
        completion = await self.model.complete(self.messages)
        self.messages.append({"role": "assistant", "content": completion.text})
        text = clean_reply(completion.text)
        return PatientReply(text, facts_told(self.index, text))
