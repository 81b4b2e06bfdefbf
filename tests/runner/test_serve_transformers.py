"""``clinic-env serve --engine transformers``: a tiny random model, built here (nothing is
downloaded), served on CPU by two ``transformers serve`` replicas as Ray actors, with model
doctors and patients consulting it through the runner."""

import _thread
import argparse
import importlib.util
import shutil
import sys
import threading
import time
from collections import Counter, defaultdict
from pathlib import Path

import pytest

from clinic_env.cli import serve as serve_command
from clinic_env.cli.options import RolesFile
from clinic_env.content import load_yaml_model
from clinic_env.errors import ConfigError
from clinic_env.llm.client import ModelClient
from clinic_env.llm.config import ModelConfig
from clinic_env.llm.direct import DirectTransport
from clinic_env.runner.experiment import Experiment
from clinic_env.runner.runner import run_experiment
from clinic_env.runner.store import RESULTS, read_records

SERVING = ("ray", "torch", "transformers", "fastapi", "uvicorn", "openai")
_missing = [name for name in SERVING if importlib.util.find_spec(name) is None]
if not (Path(sys.executable).with_name("transformers").exists() or shutil.which("transformers")):
    _missing.append("the transformers console script")
if _missing:
    pytest.skip(
        f"needs the ray and transformers extras, missing {', '.join(_missing)}: "
        "pip install -e '.[ray,transformers]'",
        allow_module_level=True,
    )

CHATML = (
    "{% for m in messages %}<|im_start|>{{ m['role'] }}\n{{ m['content'] }}<|im_end|>\n"
    "{% endfor %}{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
)
# A KV cache sized for this test: left alone, continuous batching takes most of the RAM.
SMALL_CACHE = "--cb-block-size 64 --cb-num-blocks 512 --cb-max-batch-tokens 4096"


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A two-layer Llama with random weights and a byte-level tokenizer, saved to disk."""
    import torch  # noqa: PLC0415 - only once the extras are known to be there
    from transformers import LlamaConfig, LlamaForCausalLM  # noqa: PLC0415

    from clinic_env.testing.tiny_lm import byte_tokenizer  # noqa: PLC0415

    folder = tmp_path_factory.mktemp("tiny-llama")
    tokenizer = byte_tokenizer(CHATML)
    config = LlamaConfig(
        vocab_size=len(tokenizer),
        hidden_size=64,
        intermediate_size=128,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=2,
        max_position_embeddings=32768,
        eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id,
        bos_token_id=None,
    )
    torch.manual_seed(0)
    LlamaForCausalLM(config).save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder


def serve_args(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    serve_command.add_parser(parser.add_subparsers())
    return parser.parse_args(["serve", *argv])


def consult(roles_file: Path, folder: Path) -> tuple[list, dict[tuple[str, int], set[str]]]:
    """Two cases, each with a model doctor and a scripted one, the patient a model: through
    the runner into ``folder``, recording which replica each conversation went to."""
    roles = load_yaml_model(roles_file, RolesFile, ConfigError)
    assert isinstance(roles.patient, ModelConfig)
    model = roles.patient.model_copy(update={"max_tokens": 8, "timeout_s": 120})
    experiment = Experiment.model_validate(
        {
            "name": "transformers-serve",
            "datasets": [{"name": "starter", "cases": {"limit": 2}}],
            "roles": {"patient": model, "doctors": {"model": model, "systematic": "systematic"}},
            "max_turns": 2,
            "concurrency": 4,
        }
    )
    conversations: dict[tuple[str, int], set[str]] = defaultdict(set)
    direct = DirectTransport()

    async def recording(request, api_key, timeout):
        conversations[request["role"], request["seed"]].add(request["api_base"])
        return await direct(request, api_key, timeout)

    run_experiment(experiment, folder, client=ModelClient(transport=recording), progress=False)
    return read_records(folder / RESULTS), conversations


def test_transformers_replicas_serve_consultations_through_the_runner(
    local_ray: None, tiny_model: Path, tmp_path: Path
):
    roles_file = tmp_path / "serve-roles.yaml"
    args = serve_args(
        str(tiny_model), "--engine", "transformers", "--cpu", "--replicas", "2",
        "--engine-args", SMALL_CACHE, "--roles-out", str(roles_file), "--startup-timeout", "120",
    )  # fmt: skip
    seen: dict[str, object] = {}

    def consult_once_served() -> None:
        deadline = time.monotonic() + 150
        while not roles_file.exists() and time.monotonic() < deadline:
            time.sleep(0.2)
        try:
            seen["run"] = consult(roles_file, tmp_path / "run")
        except BaseException as exc:  # noqa: BLE001 - the main thread reports it
            seen["error"] = exc
        _thread.interrupt_main()

    watcher = threading.Thread(target=consult_once_served)
    watcher.start()
    assert args.handler(args) == 0
    watcher.join()
    if "error" in seen:
        raise AssertionError("the consultations failed") from seen["error"]

    records, conversations = seen["run"]
    roles = load_yaml_model(roles_file, RolesFile, ConfigError)
    replicas = set(roles.patient.replicas)
    assert len(replicas) == 2 and roles.doctor == roles.patient
    assert len(records) == 4 and not any(record.failed for record in records)
    calls = [call for record in records for call in record.transcript.model_calls]
    assert Counter(call.role for call in calls).keys() == {"doctor", "patient"}
    assert all(call.prompt_tokens > 0 and call.completion_tokens > 0 for call in calls)
    assert all(len(servers) == 1 for servers in conversations.values()), "one replica each"
    assert set().union(*conversations.values()) == replicas, "both replicas served"
