"""verifiers v1: the bundled cases as a taskset, the simulated patient as the env's user.

A verifiers taskset id is a top-level module name, so the ``clinic_env_verifiers`` package
re-exports this module: the taskset id is ``clinic_env_verifiers`` (see docs/rl.md).
Exported via ``__all__``: the :class:`ConsultationTaskset` (one task per case; the task data
holds the case id and seed, never the diagnosis) and the :class:`ConsultationEnv`, whose
``run`` loop plays the consultation: the env opens with the case's opening, each reply of
the ``doctor`` agent is one doctor message to the session, and the session's answer (the
simulated patient's reply, a result, or the closing text) is the next user turn, until the
consultation ends or the doctor's turn limit does.

Rewards: the env records the episode's reward parts on the doctor's trace before it
closes; the task's ``@vf.reward`` method returns them as keyed scores, so verifiers records
each part under its own name (``new_facts``, ``end.top1``, ...) and sums them as the
rollout's reward. The final scores are ``@vf.metric`` values.
"""

from __future__ import annotations

from collections.abc import Iterator

try:
    import verifiers.v1 as vf
except ImportError as exc:  # pragma: no cover - depends on the extra
    raise ImportError(
        'the verifiers adapter needs verifiers: pip install "clinic-env[verifiers]"'
    ) from exc

from clinic_env.datasets import load_cases
from clinic_env.envs.episode import EpisodeRewards
from clinic_env.llm.prompts import render_prompt
from clinic_env.session import create_session

TRACE_KEY = "clinic_env"
"""Where the env puts the episode's rewards and scores in ``trace.info``."""


class ConsultationData(vf.TaskData):
    case_id: str
    dataset: str = "starter"
    seed: int = 0


class ConsultationTask(vf.Task[ConsultationData, vf.State, vf.TaskConfig]):
    """Scores one consultation from what the env recorded on the doctor's trace."""

    @property
    def key(self) -> str:
        return f"{self.data.dataset}/{self.data.case_id}/{self.data.seed}"

    @vf.reward
    async def consultation(self, trace: vf.Trace) -> dict[str, float]:
        """Each reward part's episode total, summed by verifiers into the reward."""
        return dict(trace.info[TRACE_KEY]["components"])

    @vf.metric
    async def scores(self, trace: vf.Trace) -> dict[str, float]:
        score = trace.info[TRACE_KEY]["score"]
        return {f"score_{k}": float(v) for k, v in score.items() if v is not None}


class ConsultationTasksetConfig(vf.TasksetConfig):
    dataset: str = "starter"
    seeds: int = 1
    """Tasks per case, with seeds 0, 1, ..."""
    persona: str | None = None
    patient: str = "offline"
    """A registered patient agent, or a model id."""
    reward: str = "default"
    max_turns: int = 20


class ConsultationTaskset(vf.Taskset[ConsultationTask, ConsultationTasksetConfig]):
    def load(self) -> Iterator[ConsultationTask]:
        prompt = render_prompt("doctor", max_turns=str(self.config.max_turns), biases="")
        for case in load_cases(self.config.dataset):
            for seed in range(self.config.seeds):
                data = ConsultationData(
                    id=f"{case.id}/{seed}",
                    name=case.id,
                    system_prompt=prompt,
                    case_id=case.id,
                    dataset=self.config.dataset,
                    seed=seed,
                )
                yield ConsultationTask(data, self.config.task)


class ConsultationEnvConfig(vf.EnvConfig):
    doctor: vf.AgentConfig = vf.AgentConfig(harness={"id": "null"})
    """The policy under training: a plain chat loop, no tools."""


class ConsultationEnv(vf.Env[ConsultationEnvConfig]):
    async def run(self, task: ConsultationTask, agents: vf.Agents) -> None:
        options = self.taskset.config
        data = task.data
        case = next(c for c in load_cases(data.dataset) if c.id == data.case_id)
        session = create_session(
            case,
            dataset=data.dataset,
            persona=options.persona,
            patient=options.patient,
            reward=options.reward,
            max_turns=options.max_turns,
            seed=data.seed,
        )
        rewards = EpisodeRewards()
        async with agents.doctor.interaction(task) as doctor:
            segment = await doctor.turn(session.opening)
            while not segment.terminated:
                result = await session.step(segment.last_reply)
                rewards.add(result)
                if session.done:
                    break
                segment = await doctor.turn(result.observation)
            concluded = await session.conclude()  # no diagnosis: END's penalty
            if concluded is not None:
                rewards.add(concluded)
            doctor.trace.info[TRACE_KEY] = rewards.summary()


__all__ = ["ConsultationEnv", "ConsultationTaskset"]
