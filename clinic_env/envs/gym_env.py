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
from typing import Any, SupportsFloat, cast

import gymnasium as gym

from clinic_env import agents as _agents  # noqa: F401 - registers the built-in agents
from clinic_env.bridge import run_sync
from clinic_env.datasets import load_cases
from clinic_env.envs.spaces import FreeText
from clinic_env.errors import AgentError, ConfigError, EpisodeStateError, UnknownNameError
from clinic_env.options import SessionOptions
from clinic_env.render import format_transcript
from clinic_env.roles import AgentFactory
from clinic_env.schema.case import Case
from clinic_env.schema.transcript import Transcript
from clinic_env.session import Session, check_options, create_session, started

SEED_RANGE = 2**31 - 1
_Info = dict[str, Any]
"""Gym's ``info`` type, made once: subscripting ``dict`` builds an object on every step."""


class ClinicEnv(gym.Env[str, str]):
    """``ClinicEnv("starter", persona="anxious")``: one simulated consultation per episode.

    Args:
        dataset: a bundled dataset name or a path to case files.
        persona: a persona id, a list of ids to draw from each episode, or None (plain).
        options: the consultation options (:class:`~clinic_env.options.SessionOptions`):
            biases, the patient, measurement and judge agents or models, evaluators, reward
            spec, max_turns, show_options, ...; each may also be given by keyword
            (``biases=["patient:recency"]``, ``max_turns=10``, ``patient="openai/gpt-4o-mini"``).
        cases: restrict episodes to these case ids.
        render_mode: "ansi" (render returns text) or "human" (render prints it).
        seed: seed of the first reset when ``reset`` is given none.
        agents: ``{"patient": AgentFactory(...)}``: bring your own patient (or measurement)
            agent, made each episode from the role's view (see ``create_session``).

    Every name is checked, and every model's key and server, when the env is built.
    """

    metadata = {"render_modes": ["ansi", "human"], "render_fps": 1}  # noqa: RUF012 - Gym API

    def __init__(
        self,
        dataset: str | Path = "starter",
        persona: str | Sequence[str] | None = None,
        *,
        options: SessionOptions | None = None,
        cases: Sequence[str] | None = None,
        render_mode: str | None = None,
        seed: int | None = None,
        agents: Mapping[str, AgentFactory] | None = None,
        **option_fields: Any,
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
        self.options = SessionOptions.of(options, **option_fields)
        check_options(self.options, personas=self.personas)
        self.render_mode = render_mode
        self.observation_space = FreeText()
        self.action_space = FreeText()
        self._first_seed = seed
        self._agents = dict(agents or {})
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
            case,
            self.options,
            dataset=self.dataset,
            persona=persona,
            seed=episode_seed,
            agents=self._agents,
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
        session = started(self.session)
        result = run_sync(session.step(action), eager=session.offline)
        if result.info.get("failed"):
            raise AgentError(
                f"the consultation could not go on: {result.info['error']} (an infrastructure "
                "failure, not an outcome: env.transcript() keeps the record; reset to go on)"
            )
        if self.render_mode == "human":
            print(result.observation)
        info = cast(_Info, result.info)  # made for this step alone: no copy needed
        return result.observation, result.reward, result.terminated, result.truncated, info

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
            raise EpisodeStateError("transcript() was called before reset()")
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
