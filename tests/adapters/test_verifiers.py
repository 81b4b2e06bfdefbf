"""verifiers v1: the taskset and env load through verifiers' own plugin loader, the task data
hides the diagnosis, and verifiers' own scoring turns the recorded parts into rewards.

verifiers 0.4 cannot share an environment with openenv 0.10 (mcp pins), so CI runs this file
in a separate virtual environment with the ``verifiers`` extra.
"""

import asyncio
import sys

import pytest

pytest.importorskip("verifiers.v1")

import verifiers.v1 as vf
from verifiers.v1.trace import AgentInfo, Trace, TraceTask
from verifiers.v1.utils.loaders import environment_class, load_taskset

from clinic_env.adapters import verifiers as adapter
from clinic_env.datasets import load_cases

TASKSET_ID = "clinic_env_verifiers"


@pytest.fixture(autouse=True)
def taskset_package(monkeypatch):
    """What the top-level ``clinic_env_verifiers`` package is: a re-export of the adapter."""
    monkeypatch.setitem(sys.modules, TASKSET_ID, adapter)


def test_loader_finds_the_taskset_and_the_env():
    config = adapter.ConsultationTasksetConfig(id=TASKSET_ID, seeds=2)
    taskset = load_taskset(config)
    assert isinstance(taskset, adapter.ConsultationTaskset)
    assert environment_class(TASKSET_ID) is adapter.ConsultationEnv
    tasks = list(taskset.take(4))
    assert [t.data.case_id for t in tasks] == ["cardio-001"] * 2 + ["cardio-002"] * 2
    assert len({t.key for t in taskset}) == 2 * len(load_cases("starter"))
    truths = {c.id: c.ground_truth.diagnosis for c in load_cases("starter")}
    for task in tasks:
        wire = task.data.model_dump_json()
        assert truths[task.data.case_id] not in wire  # the ground truth stays out of the data
        assert "DIAGNOSIS READY" in task.data.system_prompt


def test_verifiers_scoring_records_each_reward_part():
    task = next(iter(load_taskset(adapter.ConsultationTasksetConfig(id=TASKSET_ID))))
    summary = {
        "components": {"new_facts": 0.25, "end.top1": 1.0},
        "score": {"top1": 1.0, "coverage": 0.5},
    }
    trace = Trace(
        task=TraceTask(type="ConsultationTask", data=task.data, key=task.key, hash=task.hash),
        agent=AgentInfo(name="doctor", config=adapter.ConsultationEnvConfig().doctor),
        info={adapter.TRACE_KEY: summary},
    )
    asyncio.run(task.score(trace))
    assert {k: r.value for k, r in trace.rewards.items()} == {"new_facts": 0.25, "end.top1": 1.0}
    assert trace.metrics["score_top1"] == 1.0
    assert isinstance(adapter.ConsultationEnvConfig().doctor, vf.AgentConfig)
