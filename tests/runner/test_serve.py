"""``clinic-env serve`` with the stub backend: servers as Ray actors, a roles file, routing."""

import _thread
import argparse
import asyncio
import json
import sys
import threading
import time
import urllib.request
from collections import Counter, defaultdict
from pathlib import Path
from typing import ClassVar

import pytest

from clinic_env.cli import serve as serve_command
from clinic_env.cli.options import RolesFile
from clinic_env.content import load_yaml_model
from clinic_env.datasets import load_cases
from clinic_env.errors import ConfigError, RunError
from clinic_env.llm.client import ModelClient
from clinic_env.llm.direct import DirectTransport
from clinic_env.runner import serve as serve_module
from clinic_env.runner.batch import Batch, plan_jobs
from clinic_env.runner.serve import ServerActor, ServeSpec, start_servers, write_roles

ray = pytest.importorskip("ray")


def served(base_url: str) -> int:
    """Chat requests a stub server has answered, from its stats endpoint."""
    url = base_url.removesuffix("/v1") + "/stub/stats"
    with urllib.request.urlopen(url, timeout=10) as response:
        return int(json.load(response)["requests"])


def answers(base_url: str) -> bool:
    try:
        with urllib.request.urlopen(base_url.removesuffix("/v1") + "/health", timeout=5):
            return True
    except OSError:
        return False


def test_stub_replicas_keep_each_conversation_on_one_server(local_ray: None, tmp_path: Path):
    group = start_servers(ServeSpec(model="stub", engine="stub", replicas=2))
    try:
        assert len(set(group.urls)) == 2
        assert all(url.startswith("http://127.0.0.1:") for url in group.urls)
        write_roles(tmp_path / "roles.yaml", group.model_config(concurrency=8), ["patient"])
        roles = load_yaml_model(tmp_path / "roles.yaml", RolesFile, ConfigError)
        assert roles.patient is not None and roles.doctor is None
        assert (roles.patient.model, roles.patient.replicas) == ("openai/stub", group.urls)

        conversations: dict[tuple[str, int], set[str]] = defaultdict(set)
        routed: Counter[str] = Counter()
        direct = DirectTransport()

        async def recording(request, api_key, timeout):
            conversations[request["role"], request["seed"]].add(request["api_base"])
            routed[request["api_base"]] += 1
            return await direct(request, api_key, timeout)

        batch = Batch(
            dataset="starter",
            doctor="systematic",
            session_options={"patient": roles.patient, "max_turns": 6},
            client=ModelClient(transport=recording),
        )
        jobs = plan_jobs(load_cases("starter")[:8], ["plain"], [0, 1])
        transcripts = asyncio.run(batch.run(jobs, concurrency=8))
        assert all(t.outcome != "error" for t in transcripts)
        assert len(conversations) == len(jobs)
        assert all(len(servers) == 1 for servers in conversations.values())
        assert set(routed) == set(group.urls), "both replicas have conversations"
        assert {url: served(url) for url in group.urls} == routed, "and served what was routed"
        ray.get(group.actors[0].stop.remote())
        assert group.dead() == [group.urls[0]], "serve notices a server that stopped"
    finally:
        group.stop()
    assert not any(answers(url) for url in group.urls)


def serve_args(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    serve_command.add_parser(parser.add_subparsers())
    return parser.parse_args(["serve", *argv])


def test_the_serve_command_writes_roles_and_stops_on_ctrl_c(local_ray: None, tmp_path: Path):
    roles_file = tmp_path / "serve-roles.yaml"
    args = serve_args("--engine", "stub", "--roles-out", str(roles_file))
    seen: dict[str, object] = {}

    def press_ctrl_c_once_written() -> None:
        deadline = time.monotonic() + 60
        while not roles_file.exists() and time.monotonic() < deadline:
            time.sleep(0.1)
        if roles_file.exists():
            seen["roles"] = roles = load_yaml_model(roles_file, RolesFile, ConfigError)
            seen["answering"] = [answers(url) for url in roles.doctor.replicas]
        _thread.interrupt_main()

    watcher = threading.Thread(target=press_ctrl_c_once_written)
    watcher.start()
    assert args.handler(args) == 0
    watcher.join()
    roles = seen["roles"]
    assert roles.doctor == roles.patient and len(roles.doctor.replicas) == 2
    assert seen["answering"] == [True, True]
    assert not any(answers(url) for url in roles.doctor.replicas), "stopped with serve"


def test_a_server_that_cannot_start_is_one_line_not_a_traceback(
    local_ray: None, tmp_path: Path, capsys: pytest.CaptureFixture[str]
):
    roles_file = tmp_path / "serve-roles.yaml"
    unassigned = "192.0.2.1"  # TEST-NET-1: no interface here has it, so binding fails at once
    args = serve_args("--engine", "stub", "--host", unassigned, "--roles-out", str(roles_file))
    assert args.handler(args) == 1
    assert f"cannot listen on {unassigned}" in capsys.readouterr().err
    assert not roles_file.exists()


class _Crashing(ServeSpec):
    def command(self, port: int) -> list[str]:
        return [sys.executable, "-c", "import sys; print('out of GPU memory'); sys.exit(3)"]


def test_a_server_that_exits_is_reported_with_its_log():
    actor = ServerActor(_Crashing(model="m", engine="stub"))  # the class itself, without Ray
    actor.start()
    with pytest.raises(RunError, match=r"(?s)server exited.*out of GPU memory"):
        actor.wait_healthy(timeout_s=30)
    assert not actor.alive()


class _PortTakenOnce(ServeSpec):
    """The first server finds its port taken (as when another process binds it first)."""

    attempts: ClassVar[list[int]] = []

    def command(self, port: int) -> list[str]:
        self.attempts.append(port)
        if len(self.attempts) == 1:
            message = "OSError: [Errno 98] Address already in use"
            return [sys.executable, "-c", f"import sys; print({message!r}); sys.exit(1)"]
        return super().command(port)


def test_a_port_taken_before_the_server_binds_it_is_retried_on_another():
    actor = ServerActor(_PortTakenOnce(model="m", engine="stub"))
    try:
        url = actor.launch(timeout_s=60)
        assert len(_PortTakenOnce.attempts) == 2
        assert url.endswith(f":{_PortTakenOnce.attempts[1]}/v1") and answers(url)
    finally:
        actor.stop()


def test_vllm_needs_a_model_name():
    args = serve_args()
    with pytest.raises(ConfigError, match="name the model"):
        args.handler(args)


def test_vllm_command_leaves_the_actors_gpus_to_vllm(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setattr(serve_module, "_console_script", lambda engine: engine)
    spec = ServeSpec(model="Qwen/Qwen2.5-0.5B-Instruct", tensor_parallel=2, engine_args=("--x",))
    assert spec.model_id == "hosted_vllm/Qwen/Qwen2.5-0.5B-Instruct" and spec.gpus == 2
    command = spec.command(8001)
    assert command[:3] == ["vllm", "serve", "Qwen/Qwen2.5-0.5B-Instruct"]
    assert command[-3:] == ["--distributed-executor-backend", "mp", "--x"]


def test_transformers_serves_with_continuous_batching_one_gpu_each(
    monkeypatch: pytest.MonkeyPatch,
):
    monkeypatch.setattr(serve_module, "_console_script", lambda engine: engine)
    spec = ServeSpec(model="/models/m", engine="transformers", engine_args=("--cb-num-blocks", "8"))
    assert (spec.model_id, spec.gpus) == ("openai//models/m", 1)
    command = spec.command(8002)
    assert command[:5] == ["transformers", "serve", "/models/m", "--host", "127.0.0.1"]
    assert "--continuous-batching" in command and "--device" not in command
    assert command[-2:] == ["--cb-num-blocks", "8"], "the user's options come last, so win"
    on_cpu = ServeSpec(model="m", engine="transformers", cpu=True)
    assert on_cpu.gpus == 0 and on_cpu.command(1)[-2:] == ["--device", "cpu"]


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ({"engine": "transformers", "tensor_parallel": 2}, "needs the vllm engine"),
        ({"engine": "vllm", "cpu": True}, "not vLLM"),
        ({"engine": "vllm", "tensor_parallel": 0}, "at least 1"),
        ({"engine": "sglang"}, "unknown engine"),
    ],
)
def test_impossible_specs_are_user_errors(spec: dict[str, object], message: str):
    with pytest.raises(ConfigError, match=message):
        ServeSpec(model="m", **spec)


def test_more_gpus_than_the_cluster_has_are_refused_before_ray_waits_for_them(
    monkeypatch: pytest.MonkeyPatch,
):
    class OneGpu:
        @staticmethod
        def cluster_resources() -> dict[str, float]:
            return {"CPU": 8.0, "GPU": 1.0}

    monkeypatch.setattr(serve_module, "import_ray", lambda: OneGpu)
    assert serve_module.replica_count(ServeSpec(model="m", engine="transformers")) == 1
    with pytest.raises(ConfigError, match="has 1 GPU"):
        serve_module.replica_count(ServeSpec(model="m", engine="transformers", replicas=2))
    assert serve_module.replica_count(ServeSpec(model="m", engine="stub")) == 2


def test_the_stub_engine_runs_by_module_path_with_its_own_flags():
    spec = ServeSpec(model="s", engine="stub", engine_args=("--latency", "0.5"))
    assert spec.model_id == "openai/s" and spec.gpus == 0
    command = spec.command(8003)
    assert command[:3] == [sys.executable, "-m", "clinic_env.testing.stub_server"]
    assert command[-4:] == ["--model-name", "s", "--latency", "0.5"]
