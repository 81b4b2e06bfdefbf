"""verl: the agent loop is looked up in verl's registry and built with hydra as verl's
AgentLoopWorker builds it, with verl's Continuous Token builder and a byte tokenizer made here;
a fake server manager plays a scripted doctor in place of the rollout server."""

import asyncio
from typing import Any

import pytest

pytest.importorskip("verl")

import hydra
from omegaconf import OmegaConf
from transformers import PreTrainedTokenizerFast
from verl.experimental.agent_loop.agent_loop import (
    AgentLoopOutput,
    DictConfigWrap,
    ToolListWrap,
    _agent_loop_registry,
)
from verl.utils.dataset.rl_dataset import RLHFDataset
from verl.workers.rollout.replica import TokenOutput

from clinic_env.adapters.verl import AGENT_NAME, ClinicAgentLoop
from clinic_env.datasets import load_cases
from clinic_env.session import create_session
from clinic_env.testing.tiny_lm import byte_tokenizer

CHATML = (
    "{% for m in messages %}{{ '<|im_start|>' + m['role'] + '\n' + m['content'] + "
    "'<|im_end|>\n' }}{% endfor %}{% if add_generation_prompt %}"
    "{{ '<|im_start|>assistant\n' }}{% endif %}"
)
DOCTOR = ("What brings you in today?", "REQUEST TEST: CBC", "DIAGNOSIS READY: Acute appendicitis")
ROW = {"raw_prompt": [{"role": "system", "content": "You are the doctor."}]}
ROW |= {"extra_info": {"case_id": "surg-001", "seed": 3}, "index": 0}


class ScriptedServer:
    """Stands in for verl's server manager: answers each generate call with the next line."""

    def __init__(self, tokenizer: PreTrainedTokenizerFast, lines: tuple[str, ...]) -> None:
        self.tokenizer = tokenizer
        self.lines = list(lines)
        self.prompts: list[list[int]] = []

    async def generate(
        self, *, request_id: str, prompt_ids: list[int], sampling_params: dict[str, Any], **_: Any
    ) -> TokenOutput:
        self.prompts.append(list(prompt_ids))
        text = self.lines.pop(0) + "<|im_end|>"
        ids = self.tokenizer.encode(text, add_special_tokens=False)
        return TokenOutput(token_ids=ids, log_probs=[-0.5] * len(ids), stop_reason="completed")


async def play(lines: tuple[str, ...], response_length: int) -> tuple[AgentLoopOutput, Any]:
    """Build the loop from verl's registry as AgentLoopWorker does (inside its event loop)
    and run one row."""
    tokenizer = byte_tokenizer(CHATML)
    server = ScriptedServer(tokenizer, lines)
    config = OmegaConf.create(
        {
            "actor_rollout_ref": {
                "rollout": {"prompt_length": 8192, "response_length": response_length}
            },
            "data": {},
        }
    )
    loop = hydra.utils.instantiate(
        config=_agent_loop_registry[AGENT_NAME],
        trainer_config=DictConfigWrap(config=config),
        server_manager=server,
        tokenizer=tokenizer,
        processor=None,
        hf_model_type="qwen2",
        dataset_cls=RLHFDataset,
        data_config=DictConfigWrap(config.data),
        tools=ToolListWrap([]),
    )
    assert isinstance(loop, ClinicAgentLoop)
    params = {"temperature": 1.0, "top_p": 1.0, "top_k": -1, "logprobs": True}
    return await loop.run(params, **ROW), server


def test_rollout_plays_to_a_diagnosis_with_environment_tokens_masked():
    output, server = asyncio.run(play(DOCTOR, 8192))
    tokenizer = server.tokenizer
    assert len(server.prompts) == 3 and not server.lines
    summary = output.extra_fields[AGENT_NAME]
    assert summary["outcome"] == "diagnosed" and summary["score"]["top1"] == 1.0
    assert output.num_turns == 1 + 2 * len(DOCTOR) - 1  # opening, 3 doctor turns, 2 replies

    prompt = tokenizer.decode(output.prompt_ids)
    assert prompt.startswith("<|im_start|>system\nYou are the doctor.")
    assert "22-year-old man" in prompt and prompt.endswith("<|im_start|>assistant\n")
    assert len(output.response_ids) == len(output.response_mask) == len(output.response_logprobs)
    model = [t for t, m in zip(output.response_ids, output.response_mask, strict=True) if m]
    room = [t for t, m in zip(output.response_ids, output.response_mask, strict=True) if not m]
    assert tokenizer.decode(model) == "<|im_end|>".join(DOCTOR) + "<|im_end|>"
    room_text = tokenizer.decode(room)
    assert room_text.count("<|im_start|>user\n") == 2 and "White cells" in room_text
    assert "DIAGNOSIS" not in room_text and "What brings you" not in room_text
    sequence = output.prompt_ids + output.response_ids  # what verl trains on
    assert all(sequence[: len(sent)] == sent for sent in server.prompts)

    session = create_session(
        next(c for c in load_cases("starter") if c.id == "surg-001"), dataset="starter", seed=3
    )
    expected = [asyncio.run(session.step(line)).reward for line in DOCTOR]
    assert output.reward_score == pytest.approx(sum(expected)) and output.reward_score > 1.0
    assert output.extra_fields["turn_scores"] == pytest.approx(expected)
    extra = output.extra_fields["reward_extra_info"]
    assert extra["return"] == output.reward_score and extra["finished"] == 1.0
    assert extra["reward/end.top1"] == 1.0 and extra["reward/new_facts"] > 0
    tensors = output.as_dict()
    assert tensors["rm_scores"][-1] == pytest.approx(output.reward_score)
    assert tensors["response_mask"].sum() == len(model)


def test_response_length_cuts_the_rollout_before_the_diagnosis():
    """A rollout cut short is concluded as END would be: no free exit from the penalty."""
    output, server = asyncio.run(play(DOCTOR, 64))
    assert len(server.prompts) == 1 and len(output.response_ids) <= 64
    assert output.extra_fields[AGENT_NAME]["outcome"] == "ended"
    extra = output.extra_fields["reward_extra_info"]
    assert extra["reward/end.no_diagnosis"] < 0 and output.reward_score < 0
