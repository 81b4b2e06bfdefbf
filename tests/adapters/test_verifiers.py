"""verifiers v1: the taskset and env load through verifiers' own plugin loader, the task data
hides the diagnosis, verifiers' own scoring turns the recorded parts into rewards, and
``vf eval``'s runner plays a whole consultation against a stub model server.

verifiers 0.4 cannot share an environment with openenv 0.10 (mcp pins), so CI runs this file
in a separate virtual environment with the ``verifiers`` extra.
"""

import asyncio
import shutil
from collections import defaultdict

import pytest

pytest.importorskip("verifiers.v1")

import verifiers.v1 as vf
from verifiers.v1.cli.eval.runner import run_eval
from verifiers.v1.configs.cli.eval import EvalConfig
from verifiers.v1.trace import AgentInfo, Trace, TraceTask
from verifiers.v1.utils.loaders import environment_class, load_taskset

import clinic_env_verifiers
from clinic_env.adapters import verifiers as adapter
from clinic_env.datasets import load_cases
from clinic_env.session import create_session
from clinic_env.testing.stub_server import ROLE_HEADER, ReplyScript, StubModelServer

TASKSET_ID = "clinic_env_verifiers"


def test_the_taskset_package_re_exports_the_adapter():
    assert clinic_env_verifiers.__all__ == adapter.__all__
    for name in adapter.__all__:
        assert getattr(clinic_env_verifiers, name) is getattr(adapter, name)


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


MAX_TURNS = 6


async def _replay(case, doctor_messages):
    """The same consultation played on a bare session: what the doctor should have been
    told, and each reward part's total."""
    session = create_session(case, dataset="starter", max_turns=MAX_TURNS, seed=0)
    observations, parts = [session.opening], defaultdict(float)
    for message in doctor_messages:
        result = await session.step(message)
        for name, value in result.info["reward_breakdown"].items():
            parts[name] += value
        if session.done:
            return observations, dict(parts), result.info["outcome"]
        observations.append(result.observation)
    raise AssertionError("the replayed consultation did not end")


@pytest.mark.skipif(
    shutil.which("uv") is None,
    reason="verifiers' null harness runs its chat program with uv: pip install uv",
)
def test_vf_eval_plays_a_whole_consultation_against_a_stub_model(tmp_path, monkeypatch):
    """``vf eval``'s own runner, env, agent and null harness: the harness's chat program
    (a subprocess) calls verifiers' interception server, which relays each doctor turn to
    the stub over HTTP; the offline patient answers through ``ConsultationEnv.run``."""
    case = load_cases("starter")[0]
    truth = case.ground_truth.diagnosis
    script = (
        "Where exactly is the pain, and does it spread anywhere?",
        "REQUEST TEST: ECG",
        f"DIAGNOSIS READY: {truth}; Aortic dissection",
    )
    requests: list[tuple[str | None, list[dict]]] = []

    def doctor(role, body):  # the reply follows the conversation, so a retry repeats it
        requests.append((role, body["messages"]))
        said = sum(m["role"] == "assistant" for m in body["messages"])
        return script[min(said, len(script) - 1)]

    monkeypatch.setenv("VF_RUN_ID", "clinic-env-test")  # run_eval exports its run id
    with StubModelServer(replies=ReplyScript(responder=doctor)) as stub:
        config = EvalConfig(
            env={
                "taskset": {"id": TASKSET_ID, "max_turns": MAX_TURNS},
                "doctor": {"runtime": {"type": "subprocess"}},
            },
            model="clinic-env-stub",
            client={
                "type": "eval",
                "base_url": stub.base_url,
                "api_key_var": "CLINIC_ENV_STUB_API_KEY",
                "headers": {ROLE_HEADER: "doctor"},
            },
            select={"include": {"names": [case.id]}},
            push=False,
            rich=None,
            output_dir=tmp_path,
        )
        [episode] = asyncio.run(run_eval(config))

    assert episode.ok, episode.errors
    [trace] = episode.traces
    assert trace.agent.name == "doctor"
    assert trace.task.data.case_id == case.id
    assert trace.stop_condition == "user_closed"  # the env closed it: the consultation ended
    assert trace.num_turns == len(script) == len(requests)
    assert [m.content for m in trace.assistant_messages] == list(script)
    assert {role for role, _ in requests} == {"doctor"}

    observations, parts, outcome = asyncio.run(_replay(case, script))
    summary = trace.info[adapter.TRACE_KEY]
    assert outcome == summary["outcome"] == "diagnosed"
    assert summary["score"]["top1"] == 1.0
    assert {name: r.score for name, r in trace.rewards.items()} == pytest.approx(parts)
    assert parts["end.top1"] == 1.0
    assert trace.reward == pytest.approx(summary["total"])
    assert trace.metrics["score_top1"] == 1.0

    # Each request carried the whole chat so far: the last holds everything the doctor got.
    seen = requests[-1][1]
    assert [m["content"] for m in seen if m["role"] == "user"] == observations
    assert seen[0] == {"role": "system", "content": trace.task.data.system_prompt}
    for _, messages in requests:  # the diagnosis is the doctor's last reply, never sent back
        assert all(truth.casefold() not in m["content"].casefold() for m in messages)

    results = list(tmp_path.glob("*/traces.jsonl"))  # what vf eval writes for the run
    assert len(results) == 1
    assert len(results[0].read_text().splitlines()) == 1
