"""SkyRL-gym: the consultation as a ``BaseTextEnv``, registered as ``clinic_env``.

SkyRL's generator makes one env per dataset row with ``skyrl_gym.make("clinic_env",
env_config=..., extras=row)``, calls ``init(prompt)`` for the first model input and then
``step(model_output)`` until ``done``. ``env_config`` holds
:class:`~clinic_env.envs.gym_env.ClinicEnv`'s options (dataset, persona, patient, reward,
max_turns, ...); the row's ``case_id`` and ``seed`` (at the top level or under
``extra_info``) pick the episode. Each step's reward is the session's turn reward (SkyRL
keeps one float per turn); its parts are in ``metadata["reward_breakdown"]`` and the
episode's totals per part in :meth:`ClinicTextEnv.get_metrics`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, cast

try:
    from skyrl_gym.envs.base_text_env import BaseTextEnv, BaseTextEnvStepOutput
    from skyrl_gym.envs.registration import register, registry
except ImportError as exc:  # pragma: no cover - depends on the extra
    raise ImportError('the SkyRL adapter needs skyrl-gym: pip install "clinic-env[skyrl]"') from exc

from clinic_env.envs.episode import EpisodeRewards
from clinic_env.envs.gym_env import ClinicEnv
from clinic_env.session import StepInfo, StepResult

ENV_ID = "clinic_env"
Conversation = list[dict[str, str]]


def episode_options(row: Mapping[str, Any]) -> tuple[int | None, dict[str, Any]]:
    """The seed and reset options a dataset row asks for (top level or ``extra_info``)."""
    merged = {**dict(row.get("extra_info") or {}), **row}
    options = {"case_id": merged["case_id"]} if merged.get("case_id") else {}
    seed = merged.get("seed")
    return (None if seed is None else int(seed)), options


class ClinicTextEnv(BaseTextEnv):
    """One consultation per instance, as SkyRL's generator uses them."""

    def __init__(
        self, env_config: Mapping[str, Any] | None = None, extras: Mapping[str, Any] | None = None
    ) -> None:
        super().__init__()
        self.env = ClinicEnv(**dict(env_config or {}))
        self.max_turns = self.env.options.max_turns
        self.seed, self.options = episode_options(extras or {})
        self.rewards = EpisodeRewards()

    def init(self, prompt: Conversation) -> tuple[Conversation, dict[str, Any]]:
        """The row's chat prompt followed by the case's opening, as the first user turn."""
        opening, info = self.env.reset(seed=self.seed, options=self.options)
        self.turns = 0
        self.rewards = EpisodeRewards()
        return [*prompt, {"role": "user", "content": opening}], info

    def step(self, action: str) -> BaseTextEnvStepOutput:
        observation, reward, terminated, truncated, info = self.env.step(action)
        self.turns += 1
        self.rewards.add(
            StepResult(observation, float(reward), terminated, truncated, cast(StepInfo, info))
        )
        done = terminated or truncated
        metadata: dict[str, Any] = {"reward_breakdown": info["reward_breakdown"]}
        if done:
            metadata["episode"] = self.rewards.summary()
        return BaseTextEnvStepOutput(
            observations=[] if done else [{"role": "user", "content": observation}],
            reward=float(reward),
            done=done,
            metadata=metadata,
        )

    def get_metrics(self) -> dict[str, Any]:
        """The episode's return, each reward part's total and the final scores."""
        scores = {f"score/{k}": v for k, v in self.rewards.score.items() if v is not None}
        parts = {f"reward/{k}": v for k, v in self.rewards.components.items()}
        return {"return": self.rewards.total, "turns": self.turns, **parts, **scores}

    def close(self) -> None:
        self.env.close()


def register_skyrl_env() -> None:
    """Make ``skyrl_gym.make("clinic_env", ...)`` work; safe to call more than once."""
    if ENV_ID not in registry:
        register(id=ENV_ID, entry_point=f"{__name__}:ClinicTextEnv")


register_skyrl_env()
