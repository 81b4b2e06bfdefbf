"""The Gymnasium face: a consultation as a text environment.

``obs`` is what the doctor sees, ``action`` is the doctor's message (free text with the
AgentClinic-style commands, or JSON). Each episode draws a case (and a persona, when several
are given) from the env's seeded generator, so ``reset(seed=s)`` always gives the same
episode. Stepping is synchronous; see :mod:`clinic_env.bridge` for how it runs the async
engine, also inside Jupyter's running loop.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, SupportsFloat

import gymnasium as gym

from clinic_env import agents as _agents  # noqa: F401 - registers the built-in agents
from clinic_env.agents.base import MEASUREMENTS, PATIENTS
from clinic_env.agents.personas import load_bias, load_persona
from clinic_env.bridge import run_sync
from clinic_env.datasets import load_cases
from clinic_env.envs.spaces import FreeText
from clinic_env.errors import AgentError, ConfigError, ProtocolError, UnknownNameError
from clinic_env.evaluators.registry import EVALUATORS
from clinic_env.evaluators.rewards import load_reward_spec
from clinic_env.llm.client import default_client
from clinic_env.llm.config import as_model_config
from clinic_env.llm.preflight import check_model, needs_servers
from clinic_env.protocol.consultation import DEFAULT_MAX_TURNS, Limits
from clinic_env.render import format_transcript
from clinic_env.roles import RoleSpec, model_config_of
from clinic_env.schema.case import Case
from clinic_env.schema.transcript import Transcript
from clinic_env.session import Session, create_session

SEED_RANGE = 2**31 - 1


class ClinicEnv(gym.Env[str, str]):
    """``ClinicEnv("starter", persona="anxious")``: one simulated consultation per episode.

    Args:
        dataset: a bundled dataset name or a path to case files.
        persona: a persona id, a list of ids to draw from each episode, or None (plain).
        biases: bias ids applied to the patient.
        patient, measurement: a registered agent name ("offline") or a model: an id such as
            "openai/gpt-4o-mini", a ModelConfig, or its dict.
        judge: optionally a model that also judges the diagnosis (scores judge_top1/3).
        evaluators: evaluator names to score each episode with (see
            ``clinic_env.evaluators.suite``); None runs the offline defaults, and a short list
            such as ``("diagnosis",)`` makes each episode's last step cheaper for RL.
        reward: a reward spec name from ``evaluators/rewards/``.
        max_turns: doctor turns per episode; the last one must be a diagnosis.
        show_options: show MCQ options to the doctor when a case has them.
        cases: restrict episodes to these case ids.
        render_mode: "ansi" (render returns text) or "human" (render prints it).
        seed: seed of the first reset when ``reset`` is given none.
    """

    metadata = {"render_modes": ["ansi", "human"], "render_fps": 1}  # noqa: RUF012 - Gym API

    def __init__(
        self,
        dataset: str | Path = "starter",
        persona: str | Sequence[str] | None = None,
        *,
        biases: Sequence[str] = (),
        patient: RoleSpec = "offline",
        measurement: RoleSpec = "offline",
        judge: RoleSpec | None = None,
        evaluators: Sequence[str] | None = None,
        reward: str = "default",
        max_turns: int = DEFAULT_MAX_TURNS,
        show_options: bool = False,
        cases: Sequence[str] | None = None,
        render_mode: str | None = None,
        seed: int | None = None,
    ) -> None:
        if render_mode is not None and render_mode not in self.metadata["render_modes"]:
            raise ConfigError(
                f"render_mode must be one of {self.metadata['render_modes']}, not {render_mode!r}"
            )
        self.dataset = str(dataset)
        self.cases = _select_cases(load_cases(dataset), cases)
        self.personas: tuple[str | None, ...] = (
            (persona,) if persona is None or isinstance(persona, str) else tuple(persona)
        )
        if not self.personas:
            raise ConfigError("persona must be a persona id, a non-empty list of ids, or None")
        for name in self.personas:
            load_persona(name)
        for bias in biases:
            load_bias(bias)
        configs = {
            "patient": model_config_of(patient, PATIENTS),
            "measurement": model_config_of(measurement, MEASUREMENTS),
            "judge": as_model_config(dict(judge) if isinstance(judge, Mapping) else judge)
            if judge is not None
            else None,
        }
        reachable = needs_servers(default_client())
        for role, config in configs.items():
            if config is not None:
                check_model(config, role, reachable=reachable)
        load_reward_spec(reward)
        for name in evaluators or ():
            EVALUATORS.get(name)
        Limits(max_turns=max_turns)
        self.options = {
            "biases": tuple(biases),
            "patient": patient,
            "measurement": measurement,
            "judge": judge,
            "evaluators": evaluators,
            "reward": reward,
            "max_turns": max_turns,
            "show_options": show_options,
        }
        self.render_mode = render_mode
        self.observation_space = FreeText()
        self.action_space = FreeText()
        self._first_seed = seed
        self.session: Session | None = None

    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[str, dict[str, Any]]:
        if seed is None and self._first_seed is not None:
            seed, self._first_seed = self._first_seed, None
        super().reset(seed=seed)
        options = options or {}
        case = self._pick_case(options.get("case_id"))
        persona = options.get(
            "persona", self.personas[int(self.np_random.integers(len(self.personas)))]
        )
        episode_seed = int(self.np_random.integers(SEED_RANGE))
        self.session = create_session(
            case, dataset=self.dataset, persona=persona, seed=episode_seed, **self.options
        )
        info = {
            "case_id": case.id,
            "dataset": self.dataset,
            "persona": self.session.persona.id,
            "seed": episode_seed,
            "turns_left": self.session.consultation.turns_left,
        }
        return self.session.opening, info

    def step(self, action: str) -> tuple[str, SupportsFloat, bool, bool, dict[str, Any]]:
        session = self.session
        if session is None:
            raise ProtocolError("step() was called before reset(); call env.reset() first")
        if session.done:
            raise ProtocolError("the episode is over; call env.reset() before stepping again")
        result = run_sync(session.step(action), eager=session.offline)
        if result.info.get("failed"):
            raise AgentError(
                f"the consultation could not go on: {result.info['error']} (an infrastructure "
                "failure, not an outcome: env.transcript() keeps the record; reset to go on)"
            )
        if self.render_mode == "human":
            print(result.observation)
        return result.observation, result.reward, result.terminated, result.truncated, result.info

    def render(self) -> str | None:
        if self.session is None:
            return None
        text = format_transcript(self.session.transcript(), colour=self.render_mode == "human")
        if self.render_mode == "human":
            print(text)
            return None
        return text

    def transcript(self) -> Transcript:
        """The current episode's full record (ground truth not included)."""
        if self.session is None:
            raise ProtocolError("transcript() was called before reset()")
        return self.session.transcript()

    def _pick_case(self, case_id: str | None) -> Case:
        if case_id is None:
            return self.cases[int(self.np_random.integers(len(self.cases)))]
        for case in self.cases:
            if case.id == case_id:
                return case
        raise UnknownNameError(f"no case {case_id!r} in dataset {self.dataset!r}")


def _select_cases(cases: tuple[Case, ...], wanted: Sequence[str] | None) -> tuple[Case, ...]:
    if wanted is None:
        return cases
    by_id = {case.id: case for case in cases}
    missing = [case_id for case_id in wanted if case_id not in by_id]
    if missing:
        raise UnknownNameError(f"no such case ids: {', '.join(missing)}")
    return tuple(by_id[case_id] for case_id in wanted)
