"""Tiny language models built in memory, for trainer tests and offline examples.

A byte-level tokenizer with ChatML markers and a randomly initialised Qwen3-shaped model:
enough for a real GRPO step, a verl rollout or a served model on CPU with no download. They
write random bytes: they prove the plumbing, not learning. Needs ``transformers`` (and
``trl`` for :func:`tiny_model`'s chat template), imported only when called.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from transformers import PreTrainedTokenizerBase, PreTrainedTokenizerFast, Qwen3ForCausalLM

QWEN3_TOKENS: tuple[str, ...] = (
    "<tool_call>",
    "</tool_call>",
    "<tool_response>",
    "</tool_response>",
    "<think>",
    "</think>",
)
"""The markers Qwen3's chat template writes, one token each so TRL can find tool calls."""


def tiny_model(seed: int = 0) -> tuple[Qwen3ForCausalLM, PreTrainedTokenizerBase]:
    """A randomly initialised Qwen3-shaped model (about 11k parameters) and a byte tokenizer
    with Qwen3's chat template, built in memory: a GRPO step on CPU with no download. It writes
    random bytes, so it calls no tool: it proves the plumbing, not learning."""
    import torch  # noqa: PLC0415 - heavy, optional
    from transformers import Qwen3Config, Qwen3ForCausalLM  # noqa: PLC0415
    from trl.chat_template_utils import add_response_schema, qwen3_chat_template  # noqa: PLC0415

    tokenizer = add_response_schema(byte_tokenizer(qwen3_chat_template, QWEN3_TOKENS))
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
    with torch.random.fork_rng():
        torch.manual_seed(seed)
        return Qwen3ForCausalLM(config), tokenizer


def byte_tokenizer(
    chat_template: str, extra_tokens: tuple[str, ...] = ()
) -> PreTrainedTokenizerFast:
    """Bytes as tokens, ``<|im_start|>``/``<|im_end|>`` as special tokens, and ``extra_tokens``."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers  # noqa: PLC0415
    from transformers import PreTrainedTokenizerFast  # noqa: PLC0415

    alphabet = sorted(pre_tokenizers.ByteLevel.alphabet())
    tokenizer = Tokenizer(models.BPE(vocab={c: i for i, c in enumerate(alphabet)}, merges=[]))
    tokenizer.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False)
    tokenizer.decoder = decoders.ByteLevel()
    fast = PreTrainedTokenizerFast(
        tokenizer_object=tokenizer, eos_token="<|im_end|>", pad_token="<|endoftext|>"
    )
    fast.add_special_tokens({"additional_special_tokens": ["<|im_start|>", "<|im_end|>"]})
    if extra_tokens:
        fast.add_tokens(list(extra_tokens))
    fast.chat_template = chat_template
    return fast
