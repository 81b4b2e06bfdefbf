"""Consultations played from the page: a person as the doctor, or as the patient.

Each play holds a :class:`~clinic_env.session.Session` in the server's event loop. As the
doctor, every message is one ``session.step``; as the patient, a scripted or model doctor
runs the consultation in a task and waits on the person's answer through a
:class:`PatientChannel`. Nothing derived from the ground truth leaves the server before the
consultation ends: observations pass the session's leak guard, the patient's notes and the
doctor's questions shown to a person playing the patient pass it too, images are relayed by
number (their names can give the answer away), and only :meth:`Play.result` names the
diagnosis. Every finished consultation is appended to the play folder's transcripts.
"""

from __future__ import annotations

import asyncio
import secrets
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from clinic_env.agents.human import HumanPatient, patient_notes
from clinic_env.errors import ClinicEnvError, UnknownNameError, UserError
from clinic_env.llm.client import ModelClient, default_client
from clinic_env.roles import AgentFactory, RoleContext, RoleSpec
from clinic_env.runner.store import TranscriptWriter
from clinic_env.schema.base import valid_texts
from clinic_env.schema.case import Case, CaseImage
from clinic_env.schema.transcript import Transcript, Turn
from clinic_env.session import Session, create_doctor, create_session, run_consultation
from clinic_env.summary import feedback, summarise
from clinic_env.web.shelf import DatasetShelf

SEED_RANGE = 2**31
ANSWER_WAIT_S = 25.0
"""How long one request waits for a model doctor's next question before the page polls."""


class PlayRequest(BaseModel):
    """What the page's set-up form sends; role agents are labels from the offered choices."""

    model_config = ConfigDict(extra="forbid")

    role: Literal["doctor", "patient"] = "doctor"
    dataset: str = "starter"
    case_id: str | None = None
    persona: str | None = None
    biases: tuple[str, ...] = ()
    patient: str = "offline"
    measurement: str = "offline"
    doctor: str = "systematic"
    seed: int | None = Field(default=None, ge=0, lt=SEED_RANGE)
    max_turns: int = Field(default=20, ge=1, le=100)

    @field_validator("*", mode="after")
    @classmethod
    def _valid_text(cls, value: object) -> object:
        return valid_texts(value)


RoleChoices = Mapping[str, Mapping[str, RoleSpec]]
"""role -> label shown on the page -> the agent name or model config behind it."""


def choose(choices: RoleChoices, role: str, label: str) -> RoleSpec:
    offered = choices.get(role, {})
    if label not in offered:
        raise UserError(f"{role}: {label!r} is not offered (choose one of {', '.join(offered)})")
    return offered[label]


class PatientChannel:
    """Where a doctor's question waits for the person playing the patient to answer."""

    def __init__(self) -> None:
        self.question: str | None = None
        self._answer: asyncio.Future[str] | None = None
        self.changed = asyncio.Event()

    @property
    def waiting(self) -> bool:
        return self._answer is not None and not self._answer.done()

    def show(self, text: str) -> None:
        self.question = text.removeprefix("Doctor: ")

    async def ask(self, prompt: str) -> str:
        self._answer = asyncio.get_running_loop().create_future()
        self.changed.set()
        return await self._answer

    def answer(self, text: str) -> None:
        if self._answer is None or self._answer.done():
            raise UserError("the doctor has not asked anything yet; wait for the question")
        self._answer.set_result(text)
        self.question = None


def public_error(error: str | None, failure: str | None) -> str | None:
    """An error as the page may show it. A protocol error (a command not understood) is
    shown as it is; an agent's failure (``failure``, the session's error) names a server
    and what it said, so the page gets its kind only and the saved transcript keeps it all."""
    if not error or error != failure:
        return error
    kind = error.split(":", 1)[0]
    return f"{kind}: an agent failed, so the consultation ended; the saved transcript says why"


def turn_payload(turn: Turn, failure: str | None) -> dict[str, Any]:
    """A turn as the person playing the doctor sees it (they know what they typed)."""
    return {
        "index": turn.index,
        "action": turn.action.kind.value if turn.action is not None else None,
        "responder": turn.responder,
        "observation": turn.observation,
        "error": public_error(turn.error, failure),
        "cost_usd": turn.cost_usd,
        "turnaround_hours": turn.turnaround_hours,
        "new_facts": len(turn.facts_revealed),
    }


@dataclass
class Play:
    """One consultation being played, and who plays what."""

    id: str
    role: str
    case: Case
    session: Session
    out: Path
    channel: PatientChannel | None = None
    task: asyncio.Task[Transcript] | None = None
    touched: float = field(default_factory=time.monotonic)
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    shown: int = 0
    """Turns already sent to a person playing the patient."""
    images_shown: bool = False
    case_chosen: bool = True
    """Whether the person picked the case; a random one's id is kept until the end."""
    saved_to: Path | None = None
    save_error: str | None = None
    abandoned: bool = False
    _result: dict[str, Any] | None = None

    @property
    def done(self) -> bool:
        return self.task.done() if self.task is not None else self.session.done

    def scrub(self, text: str) -> str:
        return self.session.guard.scrub(text)[0]

    def image_payload(self, images: tuple[CaseImage, ...]) -> list[dict[str, str]]:
        """Images by number only: a file name or URL may name the diagnosis."""
        return [
            {"kind": self.scrub(image.kind), "src": f"/api/play/{self.id}/images/{number}"}
            for number, image in enumerate(images)
        ]

    def notes(self) -> str:
        """What the person playing the patient knows, and how the persona and biases act."""
        session = self.session
        persona = session.persona
        view = session.patient_view
        lines = [patient_notes(view), ""]
        lines.append(f"Play the patient as {persona.name}: {persona.summary}")
        lines += session.bias_plan.texts("patient")
        return self.scrub("\n".join(lines))

    def start_payload(self) -> dict[str, Any]:
        session = self.session
        payload: dict[str, Any] = {
            "id": self.id,
            "role": self.role,
            "case_id": self.case.id if self.case_chosen else None,
            "persona": session.persona.id,
            "max_turns": session.limits.max_turns,
            "turns_left": session.consultation.turns_left,
        }
        if self.role == "doctor":
            view = session.doctor_view
            payload |= {
                "opening": session.opening,
                "patient": view.demographics.description,
                "has_images": view.has_images,
                "images": self.image_payload(session.observation_for_doctor("").images),
            }
        else:
            payload["notes"] = self.notes()
        return payload

    async def say_as_doctor(self, text: str) -> dict[str, Any]:
        session = self.session
        step = await session.step(text)
        turn = session.turns()[-1]
        images = session.observation_for_doctor(step.observation).images
        self.images_shown = self.images_shown or bool(images)
        payload = {
            "turn": turn_payload(turn, session.error),
            "turns_left": session.consultation.turns_left,
            "total_cost_usd": session.ledger.total_cost_usd,
            "images": self.image_payload(images),
            "done": session.done,
        }
        if session.done:
            payload["result"] = self.result()
        return payload

    async def answer_as_patient(self, text: str | None, wait_s: float) -> dict[str, Any]:
        assert self.channel is not None and self.task is not None
        if text is not None:
            self.channel.answer(text)
        await self._until_question(wait_s)
        turns = self.transcript().turns
        new, self.shown = turns[self.shown :], len(turns)
        waiting = self.channel.waiting
        payload: dict[str, Any] = {
            "turns": [
                {
                    "index": t.index,
                    "doctor_message": self.scrub(t.doctor_message),
                    "responder": t.responder,
                    "observation": self.scrub(t.observation),
                }
                for t in new
            ],
            "question": self.scrub(self.channel.question or "") if waiting else None,
            "waiting_for": "you" if waiting else (None if self.done else "doctor"),
            "turns_left": self.session.consultation.turns_left,
            "done": self.done,
        }
        if self.done:
            payload["result"] = self.result()
        return payload

    async def _until_question(self, wait_s: float) -> None:
        """Wait until the doctor asks the person something, the consultation ends, or time."""
        assert self.channel is not None and self.task is not None
        deadline = time.monotonic() + wait_s
        while not (self.channel.waiting or self.task.done()):
            self.channel.changed.clear()
            left = deadline - time.monotonic()
            if left <= 0:
                return
            changed = asyncio.ensure_future(self.channel.changed.wait())
            await asyncio.wait({self.task, changed}, timeout=left, return_when="FIRST_COMPLETED")
            changed.cancel()

    def transcript(self) -> Transcript:
        """The session's transcript; if the doctor's task ended without ending the
        consultation (it raised or was cancelled), the consultation ends as an error."""
        task, session = self.task, self.session
        if task is not None and task.done() and not session.done:
            failure = "cancelled" if task.cancelled() else repr(task.exception())
            session.abort(f"the consultation stopped: {failure}")
        return session.transcript()

    def save(self) -> None:
        """Append the finished consultation to the play folder, once. A failed write is
        kept to say on the result and tried again next time, never an error of its own."""
        if self.saved_to is not None or self.abandoned or not self.done:
            return
        try:
            with TranscriptWriter(self.out) as writer:
                writer.write(self.transcript())
        except ClinicEnvError as exc:
            self.save_error = str(exc)
            return
        self.saved_to, self.save_error = writer.path, None

    def result(self) -> dict[str, Any]:
        """The end of a consultation: the answer, the scores and feedback. Saved once."""
        if not self.done:
            raise UserError("the consultation has not ended yet; the result comes at the end")
        self.save()
        saved = {"saved_to": str(self.saved_to) if self.saved_to else None}
        if self.save_error:
            saved["save_error"] = self.save_error
        if self._result is not None:
            return self._result | saved
        transcript = self.transcript()
        doctor = "you" if self.role == "doctor" else f"the {transcript.agents['doctor']} doctor"
        summary = summarise(transcript, self.case, self.session.matcher)
        found = summary.found
        assert found is not None  # made with the case
        last = transcript.turns[-1] if transcript.turns else None
        self._result = {
            "case_id": self.case.id,
            "outcome": summary.outcome,
            "error": public_error(summary.error, summary.error),
            "validity": summary.validity,
            "closing": last.observation if last is not None else "",
            "final_message": last.doctor_message if last is not None else "",
            "differential": list(summary.differential),
            "diagnosis": found.diagnosis,
            "aliases": list(found.aliases),
            "rank": found.rank,
            "scores": [c.model_dump() for c in transcript.score.components],
            "reward": summary.reward,
            "reward_components": summary.reward_parts,
            "elicited": list(found.elicited),
            "missed": list(found.missed),
            "feedback": feedback(summary, doctor),
        }
        return self._result | saved


class PlayRoom:
    """The consultations being played on this server.

    At most ``max_open`` are under way at once; one idle for ``idle_s`` is dropped, and a
    player can abandon one (:meth:`abandon`). A finished one is saved to the play folder
    as soon as the room sees it end, and then kept only so that its result can be asked
    for again: the ``max_finished`` most recent, for at most ``finished_s``.
    """

    def __init__(
        self,
        out: Path,
        choices: RoleChoices,
        shelf: DatasetShelf,
        *,
        client: ModelClient | None = None,
        max_open: int = 200,
        idle_s: float = 4 * 3600,
        max_finished: int = 32,
        finished_s: float = 600,
    ) -> None:
        self.out = out
        self.choices = choices
        self.shelf = shelf
        self.client = client
        self.max_open = max_open
        self.idle_s = idle_s
        self.max_finished = max_finished
        self.finished_s = finished_s
        self.plays: dict[str, Play] = {}

    def get(self, play_id: str) -> Play:
        self._sweep()
        play = self.plays.get(play_id)
        if play is None:
            raise UnknownNameError(f"no consultation {play_id!r} is being played (it may expire)")
        play.touched = time.monotonic()
        return play

    def _sweep(self) -> None:
        """Save what has ended, drop what idled too long, keep few finished plays."""
        now = time.monotonic()
        finished = []
        for play in list(self.plays.values()):
            if play.done:
                play.save()
                finished.append(play)
            elif now - play.touched > self.idle_s:
                self._drop(play)
        finished.sort(key=lambda play: play.touched, reverse=True)
        for rank, play in enumerate(finished):
            saved = play.saved_to is not None
            if saved and (rank >= self.max_finished or now - play.touched > self.finished_s):
                self._drop(play)

    def _drop(self, play: Play) -> None:
        if play.task is not None:
            play.task.cancel()
        self.plays.pop(play.id, None)

    def cases(self, dataset: str) -> tuple[Case, ...]:
        """The cases of an offered dataset: the page cannot make the server read other paths.
        Blocking (a path is read on first use): call it off the event loop."""
        offered = self.shelf.offered()
        if dataset not in offered:
            choose_from = ", ".join(offered)
            raise UserError(f"dataset: {dataset!r} is not offered (choose one of {choose_from})")
        return self.shelf.cases(dataset)

    def close(self) -> None:
        """Save what has ended and stop every doctor still waiting on a person (the server
        is shutting down)."""
        for play in list(self.plays.values()):
            play.save()
            self._drop(play)

    def abandon(self, play_id: str) -> dict[str, Any]:
        """Give up a consultation: it is dropped unsaved, unless it had ended (then saved)."""
        play = self.get(play_id)
        play.save()
        play.abandoned = not play.done
        self._drop(play)
        saved = str(play.saved_to) if play.saved_to else None
        return {"abandoned": play.abandoned, "saved_to": saved}

    async def start(self, request: PlayRequest) -> dict[str, Any]:
        self._sweep()
        if sum(not play.done for play in self.plays.values()) >= self.max_open:
            raise UserError(
                f"{self.max_open} consultations are open already; finish or abandon one first"
            )
        seed = request.seed if request.seed is not None else secrets.randbelow(SEED_RANGE)
        cases = await asyncio.to_thread(self.cases, request.dataset)
        if request.case_id:
            case = next((c for c in cases if c.id == request.case_id), None)
            if case is None:
                raise UnknownNameError(
                    f"no case {request.case_id!r} in dataset {request.dataset!r}"
                )
        else:  # not drawn from the seed, which the player chooses: they could aim at a case
            case = secrets.choice(cases)
        context = RoleContext(case, seed, client=self.client or default_client())
        human_doctor = request.role == "doctor"
        doctor_spec = "human" if human_doctor else choose(self.choices, "doctor", request.doctor)
        channel = None if human_doctor else PatientChannel()
        agents = {}
        if channel is not None:
            agents["patient"] = AgentFactory(
                "human",
                lambda view, persona, rng: HumanPatient(view, ask=channel.ask, show=channel.show),
            )
        session = create_session(
            case,
            dataset=request.dataset,
            persona=request.persona,
            biases=request.biases,
            patient=choose(self.choices, "patient", request.patient) if human_doctor else "offline",
            measurement=choose(self.choices, "measurement", request.measurement),
            max_turns=request.max_turns,
            seed=seed,
            doctor=doctor_spec,
            context=context,
            agents=agents,
        )
        play = Play(secrets.token_urlsafe(16), request.role, case, session, self.out)
        play.case_chosen = bool(request.case_id)
        if channel is not None:
            play.channel = channel
            doctor = create_doctor(doctor_spec, session, context)
            play.task = asyncio.create_task(run_consultation(session, doctor))
        self.plays[play.id] = play
        try:
            payload = play.start_payload()
            if not human_doctor:
                payload |= await play.answer_as_patient(None, ANSWER_WAIT_S)
        except BaseException:
            self.plays.pop(play.id, None)
            if play.task is not None:
                play.task.cancel()
            raise
        return payload

    async def say(self, play_id: str, text: str) -> dict[str, Any]:
        play = self.get(play_id)
        if not text.strip():
            raise UserError("message: empty; type a question, a command, or a diagnosis")
        async with play.lock:
            if play.done:
                raise UserError("this consultation is over; start a new one")
            if play.role == "doctor":
                return await play.say_as_doctor(text)
            return await play.answer_as_patient(text, ANSWER_WAIT_S)

    async def poll(self, play_id: str) -> dict[str, Any]:
        """For a person playing the patient: the doctor's next question, once it comes."""
        play = self.get(play_id)
        if play.role != "patient":
            raise UserError("only a consultation played as the patient waits on its doctor")
        async with play.lock:
            return await play.answer_as_patient(None, ANSWER_WAIT_S)

    async def result(self, play_id: str) -> dict[str, Any]:
        play = self.get(play_id)
        async with play.lock:
            return play.result()

    def image(self, play_id: str, number: int) -> CaseImage:
        play = self.get(play_id)
        shown = play.session.case.images if play.images_shown else ()
        if not 0 <= number < len(shown):
            raise UnknownNameError(f"consultation {play_id!r} has no image {number}")
        return shown[number]
