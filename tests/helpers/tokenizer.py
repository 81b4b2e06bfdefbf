"""The byte tokenizer trainer tests build (it ships in clinic_env.testing.tiny_lm)."""

from clinic_env.testing.tiny_lm import byte_tokenizer

__all__ = ["byte_tokenizer"]
