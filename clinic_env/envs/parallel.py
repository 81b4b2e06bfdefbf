"""The PettingZoo face: doctor and patient as two agents of one parallel environment.

Turns alternate. On the doctor's turn the doctor's action is its message; exams, tests and
diagnoses are answered by the room at once, but a question goes to the patient agent, whose
next action is its reply (the doctor's action on that step is ignored). ``infos[agent]
["acting"]`` says whose action counts; the idle agent observes ``""``. The patient agent
first observes its brief (the case's history in its own words, its persona, never the
diagnosis), then each question. So a patient policy can be trained against scripted or
learned doctors, and a doctor policy against a learned patient.

The doctor's reward is the session's turn reward (``infos["doctor"]["reward_breakdown"]``
has its parts). The patient's is ``patient_reward(question, reply, facts_told)``, zero by
default: what makes a good simulated patient is for the caller to say.

Stepping drives the session's coroutine by hand and parks it while the patient agent
thinks, so the measurement agent must be offline (a registered agent, not a model).
With ``dict_observations=True`` observations are ``{"text": str}``, the shape PettingZoo's
AEC ``api_test`` accepts; :func:`aec_env` converts to the AEC form with PettingZoo's own
``parallel_to_aec``.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine, Generator, Sequence
from typing import Any

from gymnasium import spaces
from pettingzoo import AECEnv, ParallelEnv
from pettingzoo.utils.conversions import parallel_to_aec

from clinic_env.agents.base import MEASUREMENTS, PatientQuestion, PatientReply
from clinic_env.agents.llm_patient import clean_reply, patient_prompt
from clinic_env.envs.gym_env import ClinicEnv
from clinic_env.envs.spaces import FreeText
from clinic_env.errors import ConfigError, EpisodeStateError, ProtocolError
from clinic_env.language.facts import build_index, facts_told
from clinic_env.options import SessionOptions
from clinic_env.roles import AgentFactory
from clinic_env.schema.case import PatientView
from clinic_env.session import Session, StepResult

DOCTOR, PATIENT = "doctor", "patient"
PatientReward = Callable[[str, str, tuple[int, ...]], float]


class _Asked:
    """Awaited by the policy patient: yields itself to the env, resumes with the reply."""

    def __init__(self, question: PatientQuestion) -> None:
        self.question = question

    def __await__(self) -> Generator[_Asked, str, str]:
        reply = yield self
        return reply


class PolicyPatient:
    """A patient whose replies come from the patient agent's actions."""

    offline = True

    def __init__(self, view: PatientView) -> None:
        self.index = build_index(view.facts)

    async def reply(self, question: PatientQuestion) -> PatientReply:
        text = clean_reply(await _Asked(question))
        return PatientReply(text, facts_told(self.index, text))


def _no_reward(question: str, reply: str, facts: tuple[int, ...]) -> float:
    return 0.0


class ConsultationParallelEnv(ParallelEnv[str, Any, str]):
    """``ConsultationParallelEnv("starter")``: a doctor agent and a patient agent.

    Args:
        dataset, persona, cases: as for :class:`~clinic_env.envs.gym_env.ClinicEnv`.
        options: the :class:`~clinic_env.options.SessionOptions` (or its fields by keyword);
            the patient is the policy, and the measurement agent must be an offline one.
        patient_reward: the patient agent's reward for one reply, given the question, the
            reply and the indices of the case facts the reply told for the first time.
        dict_observations: observations as ``{"text": ...}`` (for the AEC form).
        render_mode: "ansi" to have ``render()`` return the transcript.
    """

    metadata = {"name": "clinic_env_consultation_v0", "render_modes": ["ansi"]}  # noqa: RUF012
    possible_agents = [DOCTOR, PATIENT]  # noqa: RUF012 - PettingZoo's API

    def __init__(
        self,
        dataset: str = "starter",
        persona: str | Sequence[str] | None = None,
        *,
        options: SessionOptions | None = None,
        cases: Sequence[str] | None = None,
        patient_reward: PatientReward = _no_reward,
        dict_observations: bool = False,
        render_mode: str | None = None,
        **option_fields: Any,
    ) -> None:
        options = SessionOptions.of(options, **option_fields)
        measurement = options.measurement
        if not isinstance(measurement, str) or measurement not in MEASUREMENTS:
            raise ConfigError(
                f"the parallel env needs an offline measurement agent "
                f"({', '.join(MEASUREMENTS.names())}), not {measurement!r}"
            )
        policy = AgentFactory("policy", lambda view, persona, rng: PolicyPatient(view))
        self._gym = ClinicEnv(
            dataset,
            persona,
            options=options,
            cases=cases,
            render_mode=render_mode,
            agents={"patient": policy},
        )
        self.render_mode = render_mode
        self.patient_reward = patient_reward
        self.dict_observations = dict_observations
        text = FreeText()
        observation = spaces.Dict({"text": text}) if dict_observations else text
        self.observation_spaces = {agent: observation for agent in self.possible_agents}
        self.action_spaces = {agent: FreeText() for agent in self.possible_agents}
        self.agents: list[str] = []
        self._pending: Coroutine[Any, Any, StepResult] | None = None
        self._question = ""

    def observation_space(self, agent: str) -> spaces.Space[Any]:
        return self.observation_spaces[agent]

    def action_space(self, agent: str) -> spaces.Space[Any]:
        return self.action_spaces[agent]

    @property
    def session(self) -> Session:
        if self._gym.session is None:
            raise EpisodeStateError("the env has not been reset")
        return self._gym.session

    @property
    def acting(self) -> str:
        return PATIENT if self._pending is not None else DOCTOR

    def reset(
        self, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[dict[str, Any], dict[str, dict[str, Any]]]:
        self._close_pending()
        opening, info = self._gym.reset(seed=seed, options=options)
        session = self.session
        self.agents = list(self.possible_agents)
        brief = patient_prompt(session.patient_view, session.persona)
        observations = {DOCTOR: opening, PATIENT: brief}
        return self._wrap(observations), self._infos({DOCTOR: info, PATIENT: dict(info)})

    def step(self, actions: dict[str, Any]) -> tuple[dict[str, Any], ...]:
        if not self.agents:
            raise EpisodeStateError("the episode is over; call reset() before stepping again")
        acting = self.acting
        if acting not in actions:
            raise ProtocolError(f"it is the {acting}'s turn, but it has no action")
        rewards = dict.fromkeys(self.possible_agents, 0.0)
        doctor_info: dict[str, Any] = {}
        patient_info: dict[str, Any] = {}
        if acting == DOCTOR:
            outcome = self._drive(self.session.step(actions[DOCTOR]), None)
        else:
            reply = actions[PATIENT]
            outcome = self._drive(self._take_pending(), reply if isinstance(reply, str) else "")
        if isinstance(outcome, _Asked):
            self._question = outcome.question.text
            observations = {DOCTOR: "", PATIENT: outcome.question.text}
        else:
            observations = {DOCTOR: outcome.observation, PATIENT: ""}
            rewards[DOCTOR] = float(outcome.reward)
            doctor_info = dict(outcome.info)
            if acting == PATIENT:
                turn = self.session.turns()[-1]
                facts = tuple(turn.facts_revealed)
                rewards[PATIENT] = self.patient_reward(self._question, actions[PATIENT], facts)
                patient_info = {"new_facts": len(facts)}
        done = self.session.done
        truncated = done and (self.session.consultation.truncated or self.session.error is not None)
        terminations = dict.fromkeys(self.possible_agents, done and not truncated)
        truncations = dict.fromkeys(self.possible_agents, truncated)
        infos = self._infos({DOCTOR: doctor_info, PATIENT: patient_info})
        if done:
            self.agents = []
        return self._wrap(observations), rewards, terminations, truncations, infos

    def render(self) -> str | None:
        return self._gym.render()

    def close(self) -> None:
        self._close_pending()
        self._gym.close()

    def state(self) -> str:
        """The whole conversation so far, as text (no ground truth)."""
        return (self._gym.render() or "") if self._gym.session is not None else ""

    def _drive(
        self, coroutine: Coroutine[Any, Any, StepResult], value: str | None
    ) -> StepResult | _Asked:
        """Run the session's step until it ends or parks on the patient agent's reply."""
        try:
            awaited = coroutine.send(value)
        except StopIteration as finished:
            return finished.value  # type: ignore[no-any-return]
        if not isinstance(awaited, _Asked):
            coroutine.close()
            raise ConfigError(
                "an agent of the parallel env waited on I/O; its measurement agent and "
                "evaluators must be offline"
            )
        self._pending = coroutine
        return awaited

    def _take_pending(self) -> Coroutine[Any, Any, StepResult]:
        pending, self._pending = self._pending, None
        assert pending is not None
        return pending

    def _close_pending(self) -> None:
        if self._pending is not None:
            self._take_pending().close()

    def _wrap(self, observations: dict[str, str]) -> dict[str, Any]:
        if not self.dict_observations:
            return observations
        return {agent: {"text": text} for agent, text in observations.items()}

    def _infos(self, extra: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
        acting = self.acting
        return {agent: {**extra[agent], "acting": agent == acting} for agent in extra}


def parallel_env(**kwargs: Any) -> ConsultationParallelEnv:
    """The PettingZoo-style constructor: ``parallel_env(dataset="starter")``."""
    return ConsultationParallelEnv(**kwargs)


def aec_env(**kwargs: Any) -> AECEnv[str, Any, str]:
    """The AEC form, through PettingZoo's ``parallel_to_aec`` (observations are dicts)."""
    kwargs.setdefault("dict_observations", True)
    return parallel_to_aec(ConsultationParallelEnv(**kwargs))
