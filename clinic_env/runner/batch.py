"""Running many consultations concurrently, each described by a grid cell.

A :class:`Cell` names one consultation of an experiment (dataset, case, persona, biases,
doctor, seed, repeat) and gives it a stable id, so a run can be resumed and two runs
compared cell by cell. :class:`Batch` holds what every consultation shares (the roles, the
session options, the model client) and runs cells with a concurrency limit.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from pydantic import Field

from clinic_env import agents as _agents  # noqa: F401 - registers the built-in agents
from clinic_env.asyncutil import gather_limited
from clinic_env.errors import UserError
from clinic_env.llm.client import ModelClient, default_client
from clinic_env.roles import RoleContext, RoleSpec
from clinic_env.schema.base import Frozen
from clinic_env.schema.case import Case
from clinic_env.schema.transcript import Transcript
from clinic_env.session import create_doctor, create_session, run_consultation

REPEAT_STRIDE = 1_000_003
"""Repeats of a seed use seeds this far apart, so they never meet another seed's."""


class Cell(Frozen):
    """One consultation of a grid."""

    dataset: str
    case_id: str
    persona: str = "plain"
    biases: tuple[str, ...] = ()
    doctor: str = "doctor"
    seed: int = 0
    repeat: int = Field(default=0, ge=0)

    @property
    def id(self) -> str:
        return cell_id(
            dataset=self.dataset,
            case_id=self.case_id,
            persona=self.persona,
            biases=self.biases,
            doctor=self.doctor,
            seed=self.seed,
            repeat=self.repeat,
        )

    @property
    def session_seed(self) -> int:
        return self.seed + REPEAT_STRIDE * self.repeat


def cell_id(
    *,
    dataset: str,
    case_id: str,
    persona: str,
    biases: tuple[str, ...],
    doctor: str,
    seed: int,
    repeat: int,
) -> str:
    """A cell's id from its fields, without building the cell (a large grid names all of
    its cells this way)."""
    return f"{dataset}/{case_id}/{persona}/{'+'.join(biases) or 'none'}/{doctor}/{seed}.{repeat}"


def failure_transcript(cell: Cell, error: str) -> Transcript:
    """The record of a cell whose consultation could not be held or saved: its error only."""
    return Transcript(
        id=cell.id,
        case_id=cell.case_id,
        dataset=cell.dataset,
        seed=cell.session_seed,
        persona=cell.persona,
        biases=cell.biases,
        agents={"doctor": cell.doctor},
        max_turns=0,
        opening_observation="",
        outcome="error",
        error=error,
    )


@dataclass(frozen=True, slots=True, weakref_slot=True)
class Job:
    """A cell and the case it plays (weakly referable, so that a lazy grid can hand out the
    job being played again rather than a copy of it)."""

    cell: Cell
    case: Case

    @property
    def id(self) -> str:
        return self.cell.id


def plan_jobs(
    cases: Sequence[Case],
    personas: Sequence[str | None],
    seeds: Sequence[int],
    *,
    dataset: str = "starter",
    doctor: str = "doctor",
) -> list[Job]:
    """A simple grid in a fixed order: case, then persona, then seed."""
    return [
        Job(
            Cell(
                dataset=dataset,
                case_id=case.id,
                persona=persona or "plain",
                doctor=doctor,
                seed=seed,
            ),
            case,
        )
        for case in cases
        for persona in personas
        for seed in seeds
    ]


@dataclass
class Batch:
    """The roles, session options and model client every consultation of a run shares.

    ``doctor`` plays every cell unless ``doctors`` maps the cell's doctor label to a spec.
    """

    dataset: str
    doctor: RoleSpec
    session_options: dict[str, Any] = field(default_factory=dict)
    client: ModelClient | None = None
    doctors: Mapping[str, RoleSpec] = field(default_factory=dict)

    async def run_one(self, job: Job) -> Transcript:
        cell = job.cell
        doctor = self.doctors.get(cell.doctor, self.doctor)
        context = RoleContext(job.case, cell.session_seed, client=self.client or default_client())
        session = create_session(
            job.case,
            dataset=cell.dataset or self.dataset,
            persona=cell.persona,
            biases=cell.biases,
            seed=cell.session_seed,
            doctor=doctor,
            context=context,
            **self.session_options,
        )
        return await run_consultation(session, create_doctor(doctor, session, context))

    async def run(
        self,
        jobs: Sequence[Job],
        *,
        concurrency: int = 64,
        on_done: Callable[[Job, Transcript], None] | None = None,
    ) -> list[Transcript]:
        """Every job's transcript, in job order; ``on_done`` sees each as it finishes.

        A consultation that fails at run time (its transcript could not be made) is recorded
        as its cell's failure: one bad cell never ends the batch. A user error (a content
        file or a name that is wrong, the same for every cell) ends it, as does whatever
        ``on_done`` raises (the disk is full).
        """

        async def play(job: Job) -> Transcript:
            transcript = await self._transcript(job)
            if on_done is not None:
                on_done(job, transcript)
            return transcript

        return await gather_limited(jobs, play, limit=concurrency)

    async def play(
        self,
        jobs: Iterable[Job],
        *,
        concurrency: int = 64,
        on_done: Callable[[Job, Transcript], None],
    ) -> None:
        """Like :meth:`run`, keeping no transcript: each goes to ``on_done`` alone, so a run
        of any length holds only the consultations in flight. ``jobs`` is pulled one job at
        a time, so it may be a lazy grid or a generator."""

        async def play(job: Job) -> None:
            on_done(job, await self._transcript(job))
            # An offline consultation never waits, so without this the batch would hold the
            # loop until every job was played, and a Ray worker's stream would send nothing.
            await asyncio.sleep(0)

        await gather_limited(jobs, play, limit=concurrency)

    async def _transcript(self, job: Job) -> Transcript:
        """The job's transcript, or its cell's failure when one could not be made."""
        try:
            return await self.run_one(job)
        except UserError:
            raise
        except Exception as exc:  # noqa: BLE001 - recorded on the cell, never lost
            return failure_transcript(job.cell, f"{type(exc).__name__}: {exc}")
