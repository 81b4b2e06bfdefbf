"""TRL: the example's tiny path (a real GRPOTrainer, a tiny random model and a byte tokenizer
built in memory, CPU) takes the environment class, extracts its tools and reward, and trains one
step on completions that call the tools differently; the tools are then driven through the
trainer's own tool list and reward functions."""

import importlib.util
import os
from pathlib import Path
from types import ModuleType

import pytest

pytest.importorskip("trl")
torch = pytest.importorskip("torch")
pytest.importorskip("datasets")

from transformers.utils import get_json_schema  # noqa: E402

from clinic_env.adapters.trl import ConsultationToolEnv  # noqa: E402
from clinic_env.errors import ProtocolError  # noqa: E402
from clinic_env.schema import Action, ActionKind  # noqa: E402

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "trl_grpo.py"

# One group of two rollouts of the same prompt: the first doctor gives a diagnosis through the
# tool and then stops, the second writes prose and calls nothing (so get_reward() concludes it
# with END's penalty). Whatever the case, a diagnosis earns at least 0 (default reward), none -0.5.
DIAGNOSE = (
    '<tool_call>\n{"name": "diagnose", "arguments": {"diagnoses": ["Migraine"]}}\n</tool_call>'
)
FIRST_TURNS = (DIAGNOSE, "I am not sure what this is.")
AFTER_A_TOOL = "Done."


def load_example() -> ModuleType:
    spec = importlib.util.spec_from_file_location("trl_grpo_example", EXAMPLE)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


class ScriptedGenerate:
    """Stands in for ``model.generate``: the completions above in place of sampled ones, so the
    group's rewards differ for certain; the loss, its gradient and the update stay the real
    model's. It records the prompts as the trainer rendered them."""

    def __init__(self, tokenizer) -> None:
        self.tokenizer = tokenizer
        self.tool_response = tokenizer.convert_tokens_to_ids("<tool_response>")
        self.rendered: list[str] = []

    def __call__(self, input_ids, attention_mask=None, **_):
        rows = []
        for i, ids in enumerate(input_ids.tolist()):
            after_tool = self.tool_response in ids
            if not after_tool:
                self.rendered.append(self.tokenizer.decode(ids, skip_special_tokens=False))
            text = AFTER_A_TOOL if after_tool else FIRST_TURNS[i % len(FIRST_TURNS)]
            rows.append(self.tokenizer.encode(text + "<|im_end|>", add_special_tokens=False))
        width = max(map(len, rows))
        pad = self.tokenizer.pad_token_id
        completions = torch.tensor([row + [pad] * (width - len(row)) for row in rows])
        return torch.cat([input_ids, completions.to(input_ids.device)], dim=1)


@pytest.fixture(scope="module")
def example() -> ModuleType:
    return load_example()


@pytest.fixture(scope="module")
def trainer(example, tmp_path_factory):
    os.environ.setdefault("TRL_EXPERIMENTAL_SILENCE", "1")
    argv = ["--tiny", "--max-completion-length", "256"]
    return example.build_trainer(
        example.parse_args([*argv, "--output-dir", str(tmp_path_factory.mktemp("grpo"))])
    )


@pytest.fixture(scope="module")
def trained(trainer):
    """One GRPO step on the scripted group; the parameters from before it, and the script."""
    before = {name: p.detach().clone() for name, p in trainer.model.named_parameters()}
    script = ScriptedGenerate(trainer.processing_class)
    trainer.model.generate = script
    try:
        trainer.train()
    finally:
        del trainer.model.generate
    return before, script


def test_the_tiny_path_is_offline_float32_on_cpu(example, trainer):
    assert example.chosen_model(example.parse_args(["--tiny"])) is None
    assert example.chosen_model(example.parse_args(["--model", "org/any"])) == "org/any"
    assert trainer.args.use_cpu and not trainer.args.bf16
    assert {p.dtype for p in trainer.model.parameters()} == {torch.float32}


def test_the_example_runs_one_step_offline_with_no_flag(example, tmp_path, monkeypatch, capsys):
    """No GPU here, so no flag means the tiny model; HF_HUB_OFFLINE makes any download fail."""
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("TRL_EXPERIMENTAL_SILENCE", "1")
    if torch.cuda.is_available():
        pytest.skip("with a GPU and a cached checkpoint, no flag trains the real model")
    example.main(["--output-dir", str(tmp_path)])
    # the random model calls no tool: both rollouts pay END's penalty, and nothing is learnt
    assert "step 1: reward -0.500, reward_std +0.000, tools/call_frequency +0.000" in (
        capsys.readouterr().out
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


def test_one_grpo_step_pays_the_group_by_behaviour_and_updates_the_model(trainer, trained):
    before, _ = trained
    pooled = trainer._environment_pool[None]
    assert len(pooled) == 2 and trainer.state.global_step == 1
    assert len({env._env.session.case.id for env in pooled}) == 1  # one prompt, one group
    assert [env.rewards.outcome for env in pooled] == ["diagnosed", "ended"]
    assert pooled[1].rewards.components["end.no_diagnosis"] == -0.5
    assert pooled[0].rewards.total >= pooled[1].rewards.total + 0.5
    logged = trainer.state.log_history[0]
    assert logged["tools/call_frequency"] == 0.5
    assert logged["reward_std"] > 0 and logged["frac_reward_zero_std"] == 0
    changed = [n for n, p in trainer.model.named_parameters() if not torch.equal(p, before[n])]
    assert changed and "lm_head.weight" in changed


def test_the_opening_follows_the_prompt_after_a_blank_line(example, trainer, trained):
    _, script = trained
    case_id = trainer._environment_pool[None][0]._env.session.case.id
    brief = ConsultationToolEnv().reset(case_id=case_id).split("\n")[0]
    instruction = example.PROMPT[-1]["content"]
    assert script.rendered and all(f"{instruction}\n\n{brief}" in r for r in script.rendered)
    assert ConsultationToolEnv().reset(case_id=case_id, prompt=example.PROMPT).startswith("\n\n")


def test_tools_and_rewards_as_the_trainer_calls_them(trainer, trained):
    env = trainer._environment_pool[None][0]
    opening = env.reset(case_id="surg-001", seed=3, prompt=[])
    assert opening.startswith("A 22-year-old man")  # no prompt: nothing to separate from
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


def test_the_doctor_is_told_to_use_its_tools_not_typed_commands():
    env = ConsultationToolEnv()
    opening = env.reset(case_id="resp-002", seed=1)
    assert "call one tool" in opening and "REQUEST TEST" not in opening
