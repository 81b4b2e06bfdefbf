"""TRL: a real GRPOTrainer (tiny random model, byte tokenizer built here, CPU) takes the
environment class, extracts its tools and reward, and runs one training step with it; the
tools are then driven through the trainer's own tool list and reward functions."""

import os

import pytest

pytest.importorskip("trl")
pytest.importorskip("torch")
datasets = pytest.importorskip("datasets")

from transformers import PreTrainedTokenizerFast, Qwen3Config, Qwen3ForCausalLM  # noqa: E402
from transformers.utils import get_json_schema  # noqa: E402
from trl import GRPOConfig, GRPOTrainer  # noqa: E402
from trl.chat_template_utils import add_response_schema, qwen3_chat_template  # noqa: E402

from clinic_env.adapters.trl import ConsultationToolEnv, component_rewards  # noqa: E402
from clinic_env.errors import ProtocolError  # noqa: E402
from clinic_env.schema import Action, ActionKind  # noqa: E402
from tests.helpers.tokenizer import byte_tokenizer  # noqa: E402

QWEN3_TOKENS = ("<tool_call>", "</tool_call>", "<think>", "</think>")
QWEN3_TOKENS += ("<tool_response>", "</tool_response>")


def qwen3_tokenizer() -> PreTrainedTokenizerFast:
    """The byte tokenizer with Qwen3's chat template and tool markers."""
    return add_response_schema(byte_tokenizer(qwen3_chat_template, QWEN3_TOKENS))


@pytest.fixture(scope="module")
def trainer(tmp_path_factory):
    os.environ.setdefault("TRL_EXPERIMENTAL_SILENCE", "1")
    tokenizer = qwen3_tokenizer()
    config = Qwen3Config(
        vocab_size=len(tokenizer),
        hidden_size=16,
        intermediate_size=32,
        num_hidden_layers=1,
        num_attention_heads=2,
        num_key_value_heads=1,
        head_dim=8,
        max_position_embeddings=32768,
        pad_token_id=tokenizer.pad_token_id,
        eos_token_id=tokenizer.eos_token_id,
    )
    row = {"prompt": [{"role": "user", "content": "You are the doctor."}], "case_id": "surg-001"}
    args = GRPOConfig(
        output_dir=str(tmp_path_factory.mktemp("grpo")),
        per_device_train_batch_size=2,
        num_generations=2,
        max_completion_length=16,
        max_steps=1,
        report_to=[],
        use_cpu=True,
        reward_weights=[0.0, 0.0],  # the parts are logged; get_reward (weight 1) is trained on
    )
    return GRPOTrainer(
        model=Qwen3ForCausalLM(config),
        args=args,
        train_dataset=datasets.Dataset.from_list([row | {"seed": 0}, row | {"seed": 1}]),
        processing_class=tokenizer,
        environment_factory=ConsultationToolEnv,
        reward_funcs=component_rewards(["new_facts", "end.top1"]),
    )


def test_trainer_extracts_the_tools_and_the_reward(trainer):
    tools = {tool.__name__: tool for tool in trainer._env_tools[None]}
    assert set(tools) == {"ask", "examine", "order_test", "diagnose"}
    schema = get_json_schema(tools["diagnose"])["function"]
    assert schema["parameters"]["properties"]["diagnoses"]["type"] == "array"
    assert trainer.reward_func_names == [
        "clinic_new_facts",
        "clinic_end_top1",
        "ConsultationToolEnv",
    ]


def test_one_grpo_step_resets_the_pooled_environments(trainer):
    trainer.train()  # the random model calls no tool: the rollouts end with no turn played
    pooled = trainer._environment_pool[None]
    assert pooled and all(env._env.session.case.id == "surg-001" for env in pooled)
    assert trainer.state.global_step == 1


def test_tools_and_rewards_as_the_trainer_calls_them(trainer):
    env = trainer._environment_pool[None][0]
    opening = env.reset(case_id="surg-001", seed=3, prompt=[])
    assert "22-year-old man" in opening
    by_name = {tool.__name__: tool for tool in (getattr(env, t.__name__) for t in trainer.tools)}
    assert "belly button" in by_name["ask"](question="Where did the pain start?")
    assert "McBurney" in by_name["examine"](system="abdomen")
    assert "White cells" in by_name["order_test"](test="full blood count")
    by_name["diagnose"](diagnoses=["Acute appendicitis", "Mesenteric lymphadenitis"])
    with pytest.raises(ProtocolError, match="over"):
        by_name["ask"](question="Anything else?")
    parts, _, total = (
        f(environments=[env], prompts=[], completions=[]) for f in trainer.reward_funcs
    )
    assert parts == [env.rewards.components["new_facts"]] and parts[0] > 0
    assert total == [env.rewards.total] and total[0] > 1.0
    env.reset(case_id="resp-001")  # pooled instances are reused: nothing carries over
    assert env.rewards.total == 0.0 and env.rewards.outcome is None


def test_a_rollout_that_never_diagnoses_pays_what_end_pays():
    """Stopping without diagnose() is not a free wrong answer: get_reward() concludes the
    consultation with END's penalty, as every other face does."""
    silent = ConsultationToolEnv()
    silent.reset(case_id="resp-002", seed=5)
    silent.ask("When did it start?")
    ended = ConsultationToolEnv()
    ended.reset(case_id="resp-002", seed=5)
    ended.ask("When did it start?")
    ended._play(Action(kind=ActionKind.END))
    assert silent.get_reward() == ended.get_reward() < 0
    assert silent.rewards.outcome == "ended"
    assert silent.rewards.components["end.no_diagnosis"] < 0
