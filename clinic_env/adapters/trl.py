"""TRL: an environment class for ``GRPOTrainer(environment_factory=ConsultationToolEnv)``.

TRL makes instances with the factory, pools and reuses them, calls ``reset(**row)`` with a
dataset row before each rollout (TRL glues the returned text to the end of the prompt's last
message, so ``reset`` starts it with a blank line when the row has a prompt), exposes the
public methods as tools (their type hints and Google-style docstrings become the schema),
and calls ``get_reward()`` once the rollout ends. So ``reset`` starts a new consultation
and clears everything the previous one left.

The tools are the doctor's actions: :meth:`ask`, :meth:`examine`, :meth:`order_test` and
:meth:`diagnose`. They send structured actions, so a question that happens to contain a
command word is still a question. ``get_reward`` is the episode's return under the reward
spec's reduction. TRL takes one float per rollout from the environment; to log the reward
parts too, pass :func:`component_rewards` as ``reward_funcs`` with zero weights (or weigh them
yourself and subclass without ``get_reward``).

    trainer = GRPOTrainer(model, train_dataset=rows, environment_factory=ConsultationToolEnv)

A row may hold ``case_id``, ``seed`` and ``persona``; other columns are ignored, and
``prompt`` only decides the separator. :func:`tiny_model` builds a random model and tokenizer in
memory, for a GRPO step with no download (``examples/trl_grpo.py --tiny``).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

try:
    import trl  # noqa: F401 - the trainer this adapter is for
except ImportError as exc:  # pragma: no cover - depends on the extra
    raise ImportError('the TRL adapter needs trl: pip install "clinic-env[trl]"') from exc

from clinic_env.bridge import run_sync
from clinic_env.envs.episode import EpisodeRewards
from clinic_env.envs.gym_env import ClinicEnv
from clinic_env.schema.action import Action, ActionKind
from clinic_env.session import started

ENV_OPTIONS: dict[str, Any] = {"dataset": "starter"}
"""The :class:`ClinicEnv` options every ``ConsultationToolEnv()`` uses unless given others;
the doctor always acts through tools here, so the texts it reads say so."""


class ConsultationToolEnv:
    """One consultation at a time, driven through tools (see the module docstring)."""

    def __init__(self, **clinic_env_options: Any) -> None:
        self._env = ClinicEnv(**{**(clinic_env_options or ENV_OPTIONS), "interface": "tools"})
        self._rewards = EpisodeRewards()

    def reset(self, **row: Any) -> str:
        options = {k: row[k] for k in ("case_id", "persona") if row.get(k) is not None}
        seed = row.get("seed")
        opening, _ = self._env.reset(seed=None if seed is None else int(seed), options=options)
        self._rewards = EpisodeRewards()
        return f"\n\n{opening}" if row.get("prompt") else opening

    def ask(self, question: str) -> str:
        """Ask the patient one question, in plain words.

        Args:
            question: The question to ask the patient.

        Returns:
            The patient's answer, and how many turns are left.
        """
        return self._play(Action(kind=ActionKind.ASK, text=question))

    def examine(self, system: str) -> str:
        """Examine one part of the body, such as "abdomen", "respiratory" or "vital signs".

        Args:
            system: The body system or part to examine.

        Returns:
            The examination findings, and how many turns are left.
        """
        return self._play(Action(kind=ActionKind.EXAMINE, text=system))

    def order_test(self, test: str) -> str:
        """Order one investigation, such as "Complete blood count" or "Chest X-ray".

        Args:
            test: The name of the test to order.

        Returns:
            The test result, and how many turns are left.
        """
        return self._play(Action(kind=ActionKind.ORDER_TEST, text=test))

    def diagnose(self, diagnoses: list[str]) -> str:
        """Give the final diagnosis, which ends the consultation.

        Args:
            diagnoses: The differential diagnosis, most likely first.

        Returns:
            Confirmation that the diagnosis was recorded.
        """
        return self._play(Action(kind=ActionKind.DIAGNOSE, differential=tuple(diagnoses)))

    def get_reward(self) -> float:
        """The episode's return (the sum of its turn rewards). A rollout that stopped
        without a diagnosis is concluded first, with the same penalty as ``END``."""
        session = self._env.session
        if session is not None and not session.done:
            concluded = run_sync(session.conclude(), eager=session.offline)
            if concluded is not None:
                self._rewards.add(concluded)
        return self._rewards.total

    @property
    def rewards(self) -> EpisodeRewards:
        """This episode's turn rewards, reward parts and scores."""
        return self._rewards

    def _play(self, action: Action) -> str:
        session = started(self._env.session)
        result = run_sync(session.step(action), eager=session.offline)
        self._rewards.add(result)
        return result.observation


RewardFunc = Callable[..., list[float]]


def component_rewards(names: Sequence[str]) -> list[RewardFunc]:
    """TRL reward functions, one per reward part, read from the rollouts' environments."""

    def make(name: str) -> RewardFunc:
        def reward(environments: Sequence[ConsultationToolEnv], **_: Any) -> list[float]:
            return [env.rewards.components.get(name, 0.0) for env in environments]

        reward.__name__ = f"clinic_{name.replace('.', '_')}"
        return reward

    return [make(name) for name in names]
