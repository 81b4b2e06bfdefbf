"""TRL GRPO with the consultation as the environment.

Offline check (CPU, float32, no network): a tiny random Qwen3-shaped model and a byte tokenizer,
built in memory, take one GRPO step. The random model writes bytes and calls no tool, so each
rollout is concluded with END's penalty and every reward in the group is the same: this checks
that the pieces fit, not that anything learns.

    pip install torch "clinic-env[trl]"
    python examples/trl_grpo.py --tiny

Training a real model (a GPU, bfloat16, a tool-calling checkpoint downloaded once):

    python examples/trl_grpo.py --model Qwen/Qwen3-0.6B --max-steps 100

With neither flag it trains Qwen/Qwen3-0.6B if a GPU is present and the checkpoint is already in
the local Hugging Face cache, and runs the tiny model otherwise: nothing is downloaded unless
``--model`` names a checkpoint.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence

import torch
from datasets import Dataset
from huggingface_hub import try_to_load_from_cache
from trl import GRPOConfig, GRPOTrainer

from clinic_env.adapters.trl import ConsultationToolEnv, component_rewards
from clinic_env.datasets import load_cases
from clinic_env.testing.tiny_lm import tiny_model

CHECKPOINT = "Qwen/Qwen3-0.6B"
PROMPT = [{"role": "user", "content": "You are the doctor. Use the tools; diagnose at the end."}]
LOGGED = ("new_facts", "end.top1")  # reward parts logged beside get_reward(), at weight 0


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    which = parser.add_mutually_exclusive_group()
    which.add_argument("--tiny", action="store_true", help="a tiny random model, CPU, offline")
    which.add_argument("--model", help=f"a tool-calling checkpoint to train, e.g. {CHECKPOINT}")
    parser.add_argument("--max-steps", type=int, help="default: 1 with --tiny, 100 otherwise")
    parser.add_argument(
        "--max-completion-length",
        type=int,
        help="tokens per rollout, tool results included; default: 32 with --tiny, 2048 otherwise",
    )
    parser.add_argument("--output-dir", default="grpo-clinic")
    return parser.parse_args(argv)


def chosen_model(args: argparse.Namespace) -> str | None:
    """The checkpoint to train, or None for the tiny model: a download only when asked for."""
    if args.tiny or args.model:
        return args.model
    cached = isinstance(try_to_load_from_cache(CHECKPOINT, "config.json"), str)
    return CHECKPOINT if cached and torch.cuda.is_available() else None


def build_trainer(args: argparse.Namespace) -> GRPOTrainer:
    """The trainer for ``args``; apart from ``main`` so the test can train the same one."""
    checkpoint = chosen_model(args)
    tiny = checkpoint is None
    gpu = not tiny and torch.cuda.is_available()
    bf16 = gpu and torch.cuda.is_bf16_supported()
    config = GRPOConfig(
        output_dir=args.output_dir,
        max_steps=args.max_steps or (1 if tiny else 100),
        max_completion_length=args.max_completion_length or (32 if tiny else 2048),
        per_device_train_batch_size=2 if tiny else 8,
        num_generations=2 if tiny else 8,
        bf16=bf16,  # float32 on CPU, where TRL's default bf16 fails
        use_cpu=not gpu,
        model_init_kwargs=None if tiny else {"dtype": "bfloat16" if bf16 else "float32"},
        logging_steps=1,
        report_to=[],
        reward_weights=[0.0] * len(LOGGED),  # get_reward() (weight 1) is what is trained on
    )
    model, tokenizer = tiny_model() if tiny else (checkpoint, None)  # TRL loads a checkpoint's
    rows = Dataset.from_list([{"prompt": PROMPT, "case_id": c.id} for c in load_cases("starter")])
    return GRPOTrainer(
        model=model,
        processing_class=tokenizer,
        args=config,
        train_dataset=rows,
        environment_factory=ConsultationToolEnv,  # reward: get_reward(), the episode's return
        reward_funcs=component_rewards(LOGGED),
    )


def main(argv: Sequence[str] | None = None) -> None:
    trainer = build_trainer(parse_args(argv))
    trainer.train()
    for step in trainer.state.log_history:
        if "reward" in step:
            shown = ("reward", "reward_std", "tools/call_frequency", "loss")
            print(f"step {step['step']}: " + ", ".join(f"{k} {step[k]:+.3f}" for k in shown))


if __name__ == "__main__":
    main()
