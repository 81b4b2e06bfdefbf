"""People in a role: a human doctor or a human patient at a terminal (or any text channel).

Input and output are injected callables, so the same agents serve the terminal, a web page
or a test. The terminal's lines are read on the event loop itself (``add_reader``), never in
a worker thread: a thread blocked in ``input()`` cannot be stopped, so Ctrl-C would wait for
Enter, whereas a wait on the loop is cancelled at once and the consultation can be saved.
"""

from __future__ import annotations

import asyncio
import functools
import os
import sys
from collections.abc import Awaitable, Callable, Sequence

from clinic_env.agents.base import DoctorObservation, PatientQuestion, PatientReply
from clinic_env.agents.biasing import BiasUse
from clinic_env.errors import AgentError
from clinic_env.language.facts import build_index, facts_told
from clinic_env.llm.prompts import render_prompt
from clinic_env.schema.case import PatientView

Ask = Callable[[str], Awaitable[str]]
Show = Callable[[str], None]
HELP_WORDS = frozenset({"help", "?"})
"""What a person playing the doctor types to see the commands; it costs no turn."""


class LineReader:
    """Lines of a file descriptor (standard input), read without blocking the event loop.

    The loop wakes when the descriptor has bytes; they are read with ``os.read`` into this
    reader's own buffer, so several lines arriving at once (a pipe) are all kept. A regular
    file, which an event loop cannot watch, is simply read (it never blocks).
    """

    def __init__(self, fd: int) -> None:
        self.fd = fd
        self._buffer = bytearray()
        self._ended = False

    async def readline(self) -> str:
        """The next line without its line ending.

        Raises:
            EOFError: the input ended with no line left.
        """
        while b"\n" not in self._buffer and not self._ended:
            await self._readable()
            chunk = os.read(self.fd, 65536)
            self._ended = not chunk
            self._buffer += chunk
        if not self._buffer:
            raise EOFError
        line, _, rest = self._buffer.partition(b"\n")
        self._buffer = bytearray(rest)
        return line.decode("utf-8", errors="replace").removesuffix("\r")

    async def _readable(self) -> None:
        loop = asyncio.get_running_loop()
        ready: asyncio.Future[None] = loop.create_future()

        def wake() -> None:
            if not ready.done():
                ready.set_result(None)

        try:
            loop.add_reader(self.fd, wake)
        except (OSError, NotImplementedError):
            return  # a regular file (always readable), or a loop that cannot watch descriptors
        try:
            await ready
        finally:
            loop.remove_reader(self.fd)


@functools.cache
def _standard_input() -> LineReader:
    return LineReader(sys.stdin.fileno())


async def ask_terminal(prompt: str) -> str:
    """A line from standard input, read without blocking the event loop (see
    :class:`LineReader`); Ctrl-C cancels the wait at once."""
    print(prompt, end="", flush=True)
    return await _standard_input().readline()


def doctor_help(turns_left: int) -> str:
    """The commands a person playing the doctor can type (``agents/prompts/play_help.md``)."""
    return render_prompt("play_help", turns_left=str(turns_left))


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
        """The person's next message; ``help``, ``?`` and empty lines cost no turn: the
        commands are shown (or the prompt repeated) and the person asked again."""
        self.show(observation.text)
        while True:
            try:
                text = await self.ask(self.prompt)
            except EOFError:
                return "END"
            if text.strip().lower() in HELP_WORDS:
                self.show(doctor_help(observation.turns_left))
            elif text.strip():
                return text


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

    def take_biases(self, uses: Sequence[BiasUse]) -> None:
        """Nothing to do: a person acts their biases out themselves, from the notes the face
        shows them (``session.bias_plan.texts("patient")``), so a biased play is accepted."""

    async def reply(self, question: PatientQuestion) -> PatientReply:
        self.show(f"Doctor: {question.text}")
        try:
            text = (await self.ask(self.prompt)).strip()
        except EOFError:
            raise AgentError("the human patient left (end of input)") from None
        return PatientReply(text or "...", facts_told(self.index, text))
