"""OpenEnv: the consultation as an ``Environment`` served by ``create_app``, and its client.

The action is one string, the doctor's message (free text with the protocol's commands, or
a JSON action). ``reset`` takes ``seed`` and, optionally, ``case_id`` and ``persona``. Each
observation carries the text, the turn budget and the turn's reward parts; ``reward`` is the
session's turn reward and, on the last step, ``episode`` has the return, every part's total
and the scores.

OpenEnv's HTTP ``/reset`` and ``/step`` are stateless (a fresh env per request), so a
consultation, which is multi-turn, goes through the WebSocket session that
:class:`ConsultationClient` holds::

    app = create_clinic_app(dataset="starter", persona="anxious")   # uvicorn.run(app, ...)
    with ConsultationClient(base_url="http://127.0.0.1:8000").sync() as env:
        result = env.reset(seed=0, case_id="surg-001")
        result = env.step(ConsultationAction(message="What brings you in today?"))

Each WebSocket session has its own environment (``SUPPORTS_CONCURRENT_SESSIONS``); with a
model-backed patient, ``step_async`` awaits it on the server's event loop.
"""

from __future__ import annotations

from typing import Any

try:
    from fastapi import FastAPI
    from openenv.core.client_types import StepResult as ClientStepResult
    from openenv.core.env_client import EnvClient
    from openenv.core.env_server import Action, Environment, Observation, State, create_app
except ImportError as exc:  # pragma: no cover - depends on the extra
    raise ImportError(
        'the OpenEnv adapter needs openenv: pip install "clinic-env[openenv]"'
    ) from exc
from pydantic import Field

from clinic_env.bridge import run_sync
from clinic_env.envs.episode import EpisodeRewards
from clinic_env.envs.gym_env import ClinicEnv
from clinic_env.session import StepResult, started

ENV_NAME = "clinic_env"


class ConsultationAction(Action):
    message: str = Field(description="The doctor's message: a question, a command, or JSON")


class ConsultationObservation(Observation):
    text: str = Field(description="What the doctor sees")
    turn: int = Field(0, description="Turns played so far")
    turns_left: int = Field(0, description="Turns the doctor has left")
    reward_breakdown: dict[str, float] = Field(
        default_factory=dict, description="This turn's reward parts (weight x signal)"
    )
    episode: dict[str, Any] | None = Field(
        None, description="On the last step: the return, each part's total, the scores"
    )


class ConsultationState(State):
    case_id: str | None = None
    dataset: str | None = None
    persona: str | None = None
    outcome: str | None = None


class ConsultationEnvironment(
    Environment[ConsultationAction, ConsultationObservation, ConsultationState]
):
    """One consultation per session; options are :class:`ClinicEnv`'s."""

    SUPPORTS_CONCURRENT_SESSIONS = True

    def __init__(self, **clinic_env_options: Any) -> None:
        super().__init__()
        self.env = ClinicEnv(**clinic_env_options)
        self.rewards = EpisodeRewards()
        self._state = ConsultationState()

    def reset(
        self, seed: int | None = None, episode_id: str | None = None, **kwargs: Any
    ) -> ConsultationObservation:
        options = {k: kwargs[k] for k in ("case_id", "persona") if kwargs.get(k) is not None}
        opening, info = self.env.reset(seed=seed, options=options)
        self.rewards = EpisodeRewards()
        self._state = ConsultationState(
            episode_id=episode_id or started(self.env.session).id,
            case_id=info["case_id"],
            dataset=info["dataset"],
            persona=info["persona"],
        )
        return ConsultationObservation(text=opening, turns_left=info["turns_left"], reward=0.0)

    def step(
        self, action: ConsultationAction, timeout_s: float | None = None, **kwargs: Any
    ) -> ConsultationObservation:
        return run_sync(self.step_async(action, timeout_s, **kwargs))

    async def step_async(
        self, action: ConsultationAction, timeout_s: float | None = None, **kwargs: Any
    ) -> ConsultationObservation:
        result = await started(self.env.session).step(action.message)
        return self._observe(result)

    @property
    def state(self) -> ConsultationState:
        return self._state

    def _observe(self, result: StepResult) -> ConsultationObservation:
        self.rewards.add(result)
        done = result.terminated or result.truncated
        self._state.step_count += 1
        if done:
            self._state.outcome = self.rewards.outcome
        return ConsultationObservation(
            text=result.observation,
            turn=int(result.info.get("turn", 0)),
            turns_left=int(result.info.get("turns_left", 0)),
            reward_breakdown=dict(result.info.get("reward_breakdown", {})),
            episode=self.rewards.summary() if done else None,
            reward=float(result.reward),
            done=done,
        )


def create_clinic_app(max_concurrent_envs: int = 64, **clinic_env_options: Any) -> FastAPI:
    """The OpenEnv server app; every session gets a ``ConsultationEnvironment``."""
    ClinicEnv(**clinic_env_options)  # fail here, not in the first session, on bad options
    return create_app(
        lambda: ConsultationEnvironment(**clinic_env_options),
        ConsultationAction,
        ConsultationObservation,
        env_name=ENV_NAME,
        max_concurrent_envs=max_concurrent_envs,
        state_cls=ConsultationState,
    )


class ConsultationClient(EnvClient[ConsultationAction, ConsultationObservation, ConsultationState]):
    """The typed client: holds one WebSocket session, so one consultation, at a time."""

    def _step_payload(self, action: ConsultationAction) -> dict[str, Any]:
        return action.model_dump(exclude={"metadata"})

    def _parse_result(self, payload: dict[str, Any]) -> ClientStepResult[ConsultationObservation]:
        fields = {**payload.get("observation", {})}
        fields.update(reward=payload.get("reward"), done=payload.get("done", False))
        observation = ConsultationObservation.model_validate(fields)
        return ClientStepResult(
            observation=observation,
            reward=payload.get("reward"),
            done=bool(payload.get("done", False)),
            metadata=payload.get("metadata"),
        )

    def _parse_state(self, payload: dict[str, Any]) -> ConsultationState:
        return ConsultationState.model_validate(payload)
