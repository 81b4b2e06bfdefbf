import asyncio

import pytest

from clinic_env.agents.base import PATIENTS, PatientQuestion, PatientReply
from clinic_env.bridge import run_sync
from clinic_env.envs.gym_env import ClinicEnv


async def waits_then_answers(value: int) -> int:
    await asyncio.sleep(0.001)
    return value


async def answers_at_once(value: int) -> int:
    return value


def test_loop_thread_runs_waiting_coroutines_from_sync_code():
    assert run_sync(waits_then_answers(4)) == 4


def test_loop_thread_works_inside_a_running_loop():
    async def cell() -> int:
        return run_sync(waits_then_answers(5))

    assert asyncio.run(cell()) == 5


def test_eager_mode_for_coroutines_that_never_wait():
    assert run_sync(answers_at_once(6), eager=True) == 6
    with pytest.raises(RuntimeError, match="needs the event loop"):
        run_sync(waits_then_answers(7), eager=True)


class SlowEchoPatient:
    """Stands in for a model-backed patient: it waits on I/O before answering."""

    async def reply(self, question: PatientQuestion) -> PatientReply:
        await asyncio.sleep(0.001)
        return PatientReply(f"You asked: {question.text}")


@PATIENTS.register("test-slow-echo")
def make_slow_echo(view, persona, rng) -> SlowEchoPatient:
    return SlowEchoPatient()


def test_env_with_a_waiting_agent_steps_through_the_loop_thread():
    async def notebook_cell() -> str:
        env = ClinicEnv("starter", patient="test-slow-echo")
        env.reset(seed=0)
        return env.step("Any fever?")[0]

    assert "You asked: Any fever?" in asyncio.run(notebook_cell())
