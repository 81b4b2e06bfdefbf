"""Running a grid of consultations (cases x personas x seeds) with one doctor, concurrently."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from clinic_env import agents as _agents  # noqa: F401 - registers the built-in agents
from clinic_env.asyncutil import gather_limited
from clinic_env.llm.client import ModelClient, default_client
from clinic_env.roles import RoleContext, RoleSpec
from clinic_env.schema.case import Case
from clinic_env.schema.transcript import Transcript
from clinic_env.session import create_doctor, create_session, run_consultation


@dataclass(frozen=True, slots=True)
class Job:
    """One consultation of a batch; its id is stable across runs of the same grid."""

    case: Case
    persona: str | None
    seed: int

    @property
    def id(self) -> str:
        return f"{self.case.id}/{self.persona or 'plain'}/{self.seed}"


def plan_jobs(
    cases: Sequence[Case], personas: Sequence[str | None], seeds: Sequence[int]
) -> list[Job]:
    """The grid in a fixed order: case, then persona, then seed."""
    return [Job(case, persona, seed) for case in cases for persona in personas for seed in seeds]


@dataclass
class Batch:
    """A doctor, the session options and the model client every consultation shares."""

    dataset: str
    doctor: RoleSpec
    session_options: dict[str, Any] = field(default_factory=dict)
    client: ModelClient | None = None

    async def run_one(self, job: Job) -> Transcript:
        context = RoleContext(job.case, job.seed, client=self.client or default_client())
        session = create_session(
            job.case,
            dataset=self.dataset,
            persona=job.persona,
            seed=job.seed,
            doctor=self.doctor,
            context=context,
            **self.session_options,
        )
        return await run_consultation(session, create_doctor(self.doctor, session, context))

    async def run(
        self,
        jobs: Sequence[Job],
        *,
        concurrency: int = 64,
        on_done: Callable[[Transcript], None] | None = None,
    ) -> list[Transcript]:
        return await gather_limited(jobs, self.run_one, limit=concurrency, on_result=on_done)
