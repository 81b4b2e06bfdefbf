"""People in a role: a human doctor or a human patient at a terminal (or any text channel).

Input and output are injected callables, so the same agents serve the terminal, a web page
or a test. Reading a line happens in a worker thread, so the event loop keeps running.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from clinic_env.agents.base import DoctorObservation, PatientQuestion, PatientReply
from clinic_env.errors import AgentError
from clinic_env.language.facts import build_index, facts_told
from clinic_env.schema.case import PatientView

Ask = Callable[[str], Awaitable[str]]
Show = Callable[[str], None]


async def ask_terminal(prompt: str) -> str:
    """A line from standard input, read without blocking the event loop."""
    return await asyncio.to_thread(input, prompt)


class HumanDoctor:
    """You are the doctor: you see each observation and type your next message."""

    offline = False

    def __init__(
        self, ask: Ask = ask_terminal, show: Show = print, prompt: str = "doctor> "
    ) -> None:
        self.ask = ask
        self.show = show
        self.prompt = prompt

    async def act(self, observation: DoctorObservation) -> str:
        self.show(observation.text)
        try:
            return await self.ask(self.prompt)
        except EOFError:
            return "END"


def patient_notes(view: PatientView) -> str:
    """What a person playing the patient needs: who they are and what they know."""
    who = f"a {view.demographics.description}"
    if view.informant == "caregiver":
        who = f"the {view.caregiver} of {who}"
    lines = [f"You are {who}. Answer the doctor from these notes only:"]
    lines += [f"  - {fact.says or fact.text}" for fact in view.facts]
    lines.append(f'You start with: "{view.opening_statement}"')
    return "\n".join(lines)


class HumanPatient:
    """You are the patient: you see each question and type your answer."""

    offline = False

    def __init__(
        self, view: PatientView, ask: Ask = ask_terminal, show: Show = print, prompt: str = "you> "
    ) -> None:
        self.index = build_index(view.facts)
        self.ask = ask
        self.show = show
        self.prompt = prompt

    async def reply(self, question: PatientQuestion) -> PatientReply:
        self.show(f"Doctor: {question.text}")
        try:
            text = (await self.ask(self.prompt)).strip()
        except EOFError:
            raise AgentError("the human patient left (end of input)") from None
        return PatientReply(text or "...", facts_told(self.index, text))
