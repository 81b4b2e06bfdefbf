"""Many consultations stepped as one batch, for LLM-RL rollouts.

An LLM trainer generates the doctor's messages for a whole batch at once (one call to vLLM or
``model.generate``), then needs every environment's answer before it can generate again.
:meth:`ConsultationBatch.step` takes the batch of doctor messages and steps every session
concurrently, so the patient-model calls of all environments are in flight together instead
of one after another. The sync Gym face (:class:`~clinic_env.envs.gym_env.ClinicEnv`) is
unchanged; this is the async face beside it, with :meth:`ConsultationBatch.step_sync` for
sync trainers.

    batch = ConsultationBatch.create(load_cases("starter")[:64], patient=model_spec)
    observations = batch.observations
    while not batch.all_done:
        messages = policy(observations)            # None for finished consultations
        results = await batch.step(messages)
        observations = [r.observation if r else None for r in results]
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any

from clinic_env import agents as _agents  # noqa: F401 - registers the built-in agents
from clinic_env.asyncutil import gather_limited
from clinic_env.bridge import run_sync
from clinic_env.envs.episode import EpisodeRewards
from clinic_env.errors import ProtocolError
from clinic_env.llm.client import ModelClient, default_client
from clinic_env.roles import RoleContext
from clinic_env.schema.action import Action
from clinic_env.schema.case import Case
from clinic_env.schema.transcript import Transcript
from clinic_env.session import Session, StepResult, create_session

Message = str | Action | None
Policy = Callable[[list[str | None]], Awaitable[Sequence[Message]]]
"""Doctor messages for a batch of observations (None where the consultation is over)."""


@dataclass
class ConsultationBatch:
    """Sessions stepped together; at most ``concurrency`` of them are answered at once."""

    sessions: list[Session]
    concurrency: int = 256

    def __post_init__(self) -> None:
        self.rewards = [EpisodeRewards() for _ in self.sessions]
        self.observations: list[str | None] = [s.opening for s in self.sessions]

    @classmethod
    def create(
        cls,
        cases: Sequence[Case],
        *,
        seeds: Sequence[int] | None = None,
        client: ModelClient | None = None,
        concurrency: int = 256,
        **session_options: Any,
    ) -> ConsultationBatch:
        """One session per case (seeded by ``seeds``, else by position), sharing one client.

        ``session_options`` are :func:`~clinic_env.session.create_session`'s (dataset,
        persona, patient, measurement, reward, max_turns, ...).
        """
        seeds = list(range(len(cases))) if seeds is None else list(seeds)
        if len(seeds) != len(cases):
            raise ValueError(f"{len(seeds)} seeds for {len(cases)} cases")
        client = client or default_client()
        sessions = [
            create_session(
                case,
                seed=seed,
                context=RoleContext(case, seed, client=client),
                **session_options,
            )
            for case, seed in zip(cases, seeds, strict=True)
        ]
        return cls(sessions, concurrency)

    def __len__(self) -> int:
        return len(self.sessions)

    @property
    def done(self) -> list[bool]:
        return [session.done for session in self.sessions]

    @property
    def all_done(self) -> bool:
        return all(session.done for session in self.sessions)

    async def step(self, messages: Sequence[Message]) -> list[StepResult | None]:
        """Step every session that has a message, concurrently; None where there was none."""
        if len(messages) != len(self.sessions):
            raise ProtocolError(f"{len(messages)} messages for a batch of {len(self.sessions)}")
        for index, message in enumerate(messages):
            if message is not None and self.sessions[index].done:
                raise ProtocolError(f"consultation {index} is over; send None for it")
        wanted = [i for i, message in enumerate(messages) if message is not None]

        async def step_one(index: int) -> StepResult:
            message = messages[index]
            assert message is not None
            return await self.sessions[index].step(message)

        answered = await gather_limited(wanted, step_one, limit=self.concurrency)
        results: list[StepResult | None] = [None] * len(self.sessions)
        for index, result in zip(wanted, answered, strict=True):
            results[index] = result
            self.rewards[index].add(result)
            self.observations[index] = result.observation
        for index, session in enumerate(self.sessions):
            if session.done:
                self.observations[index] = None
        return results

    def step_sync(self, messages: Sequence[Message]) -> list[StepResult | None]:
        """:meth:`step` from sync code, on the bridge's event-loop thread."""
        return run_sync(self.step(messages))

    async def rollout(self, policy: Policy, *, max_rounds: int | None = None) -> list[Transcript]:
        """Let ``policy`` play every consultation to the end, one batched call per round."""
        rounds = 0
        while not self.all_done and (max_rounds is None or rounds < max_rounds):
            messages = list(await policy(list(self.observations)))
            await self.step(
                [m if not done else None for m, done in zip(messages, self.done, strict=True)]
            )
            rounds += 1
        return self.transcripts()

    def transcripts(self) -> list[Transcript]:
        return [session.transcript() for session in self.sessions]
